"""The course as Binder and JupyterHub run it: an ordinary user whose home is the only place
they may write. Lessons 0 to 2 run under nbval as that user, and their embedded server
stays theirs: no TCP port, and another user cannot reach its socket.

As root (CI, a container) the test makes a throwaway OS user and removes it afterwards; its
Python is the system's, of the same version, given this run's installed packages through
a .pth file (read-only for it). Where that cannot be arranged the test skips and says why."""

import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import psutil
import pytest

from course_app.settings import PROJECT_ROOT

LESSONS = ["00_start_here.ipynb", "01_why_migrations.ipynb", "02_alembic_init.ipynb"]
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="makes a throwaway OS user: runs as root (CI, containers) only",
)


def _as(user: str, *argv: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RUNUSER, "-u", user, "--", *argv], capture_output=True, text=True, **options
    )


@pytest.fixture
def learner_account():
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"no {SYSTEM_PYTHON} for an unprivileged user to run the course with")
    name = f"course-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/sh", name], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot create a throwaway user: {made.stderr.strip()}")
    home = Path(f"/home/{name}")
    try:
        site = sysconfig.get_paths()["purelib"]
        if _as(name, "test", "-r", site, "-a", "-x", site).returncode != 0:
            pytest.skip(f"this run's packages ({site}) are not readable by another user")
        yield name, home, site
    finally:
        for process in psutil.process_iter(["username"]):
            if process.info["username"] == name:  # its server, if a step failed half-way
                process.kill()
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_lessons_0_to_2_run_as_an_unprivileged_user_and_the_server_is_private(learner_account):
    name, home, site = learner_account
    copy = home / "alembic-hands-on"
    ignore = shutil.ignore_patterns(
        ".git",
        ".course",
        "workspace",
        ".venv*",
        "venv",
        "site",
        "__pycache__",
        "*.egg-info",
        ".ruff_cache",
        "screenshots",
    )
    shutil.copytree(PROJECT_ROOT, copy, ignore=ignore)
    venv = home / "venv"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    own_site = next(venv.glob("lib/python3*/site-packages"))
    (own_site / "course-run.pth").write_text(site + "\n")
    subprocess.run(["chown", "-R", f"{name}:{name}", str(home)], check=True)
    env = {
        "HOME": str(home),
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
        "PYTHONPATH": str(copy),
    }
    python = str(venv / "bin" / "python")
    ran = _as(
        name,
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "tests/nbval_sanitize.cfg",
        *(f"docs/lessons/{lesson}" for lesson in LESSONS),
        "-q",
        cwd=copy,
        env=env,
        timeout=600,
    )
    assert ran.returncode == 0 and " passed" in ran.stdout, ran.stdout[-3000:] + ran.stderr[-2000:]

    started = _as(
        name, python, "-m", "course_app", "server", "start", cwd=copy, env=env, timeout=180
    )
    assert started.returncode == 0, started.stderr
    try:
        postmaster = next(
            p
            for p in psutil.process_iter(["username", "name", "ppid"])
            if p.info["username"] == name
            and p.info["name"] == "postgres"
            and psutil.Process(p.info["ppid"]).name() != "postgres"
        )
        listening = [
            c for c in postmaster.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
        ]
        assert listening == []  # no TCP port at all
        socket_dir = next(
            Path(c.laddr).parent for c in postmaster.net_connections(kind="unix") if c.laddr
        )
        assert (socket_dir.stat().st_mode & 0o077) == 0
        peek = _as(
            "nobody",
            python,
            "-c",
            f"import psycopg2; psycopg2.connect(host={str(socket_dir)!r}, "
            f"user='postgres', dbname='postgres', connect_timeout=3)",
            env=env,
        )
        assert peek.returncode != 0 and (
            "Permission denied" in peek.stderr or "No such file" in peek.stderr
        ), peek.stderr
    finally:
        _as(name, python, "-m", "course_app", "server", "stop", cwd=copy, env=env, timeout=120)
