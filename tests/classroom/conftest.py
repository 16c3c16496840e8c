"""A class server for the classroom tests: a second, real PostgreSQL 18 (the embedded
server's programs), TCP on 127.0.0.1 with scram password logins, and an admin role."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from course_app.settings import PROJECT_ROOT

ADMIN_PASSWORD = "adm1n p@ss/%"


def _start(bin_dir: Path, sudo: list[str]):
    root = Path(tempfile.mkdtemp(prefix="pg-class-"))
    os.chmod(root, 0o777)
    pwfile = root / "pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    os.chmod(pwfile, 0o644)
    data = root / "data"
    subprocess.run(
        [
            *sudo,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "admin",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=utf8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        cwd="/",
    )
    pwfile.unlink()
    (data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
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
            f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
        cwd="/",
    )
    return root, data, port


@pytest.fixture(scope="session")
def class_server():
    """Yields the admin URL; the server is stopped and its files removed afterwards."""
    from course_app import server

    bin_dir = server.programs()
    sudo = ["runuser", "-u", server.ROOT_USER, "--"] if os.geteuid() == 0 else []
    root, data, port = _start(bin_dir, sudo)
    try:
        yield URL.create(
            "postgresql+psycopg2",
            username="admin",
            password=ADMIN_PASSWORD,
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


def course_env(tmp: Path, **values: str) -> dict[str, str]:
    """The environment of one person using the course: their own folders, no other
    course settings from this machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "COURSE_", "APP_DATABASE")) and k != "JUPYTERHUB_USER"
    }
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        **env,
        "COURSE_DATA_DIR": str(tmp / "data"),
        "WORKSPACE_DIR": str(tmp / "work"),
        "PYTHONPATH": str(PROJECT_ROOT),
        **values,
    }


def course(env: dict, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m course_app ARGV`` in that environment."""
    return subprocess.run(
        [sys.executable, "-m", "course_app", *argv],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
