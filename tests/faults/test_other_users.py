"""Another user on the same machine can neither reach a learner's server nor read the
password in a workspace's .env. (Run as root, the tests make throwaway users.)"""

import os
import pwd
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from course_app import database, lessons, server
from course_app.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make throwaway users")


@pytest.fixture
def stranger():
    """A throwaway unprivileged user, with a home of its own (removed afterwards)."""
    name = f"course-{uuid.uuid4().hex[:8]}"
    home = Path("/tmp") / name
    done = subprocess.run(
        ["useradd", "--home-dir", str(home), "--create-home", "--shell", "/bin/sh", name],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot make a throwaway user: {done.stderr.strip()}")
    yield name, home
    subprocess.run(["pkill", "-u", name], capture_output=True)
    subprocess.run(["userdel", "--remove", name], capture_output=True)


def _as(
    user: str, *command: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", user, "--", *command],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
        env=env,
        cwd=cwd or "/",
    )


def _psql() -> str:
    return str(server.programs() / "psql")


def test_a_stranger_cannot_reach_roots_server_nor_read_the_env_file(env, stranger):
    env(DATABASE_URL=None)
    database._embedded = None
    lesson = lessons.start(4)
    user, _ = stranger
    socket_dir = server.layout().socket_dir
    tried = _as(user, _psql(), "-h", str(socket_dir), "-U", "postgres", "-w", "-c", "SELECT 1")
    assert tried.returncode != 0 and (
        "Permission denied" in tried.stderr or "No such file" in tried.stderr
    ), tried.stderr
    read = _as(user, "cat", str(lesson.path / ".env"))
    assert read.returncode != 0 and "Permission denied" in read.stderr
    read = _as(user, "cat", str(server.layout().password_file))
    assert read.returncode != 0


def _python_for(user: str, env: dict) -> str | None:
    """A Python the other user can run with this project's packages: this one, or the
    system's of the same version with the virtual environment's packages on its path
    (a Python installed under root's 0700 home is out of their reach)."""
    import site
    import sysconfig

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = [sysconfig.get_paths()["purelib"], *site.getsitepackages(), str(PROJECT_ROOT)]
    for python, extra in (
        (sys.executable, {}),
        (f"/usr/bin/{version}", {"PYTHONPATH": os.pathsep.join(packages)}),
    ):
        probe = _as(user, python, "-c", "import course_app, psycopg2", env={**env, **extra})
        if probe.returncode == 0:
            env.update(extra)
            return python
    return None


def test_an_ordinary_user_gets_a_private_server_even_on_a_long_path(stranger):
    """The learner's own path, as a non-root user: a socket only they can enter, in a short
    private folder when the data folder's path is too long, found again by status."""
    user, home = stranger
    course = home / ("très-long-dossier-" * 6) / ".course"  # over 107 bytes with the socket
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "COURSE_DATA_DIR": str(course),
        "WORKSPACE_DIR": str(home / "workspace"),
    }
    python = _python_for(user, env)
    if python is None:
        pytest.skip("no Python with this project's packages that another user may run here")

    def course_app(*args: str) -> subprocess.CompletedProcess:
        return _as(user, python, *args, env=env, cwd=PROJECT_ROOT)

    try:
        started = course_app("-m", "course_app", "server", "start")
        assert started.returncode == 0, started.stderr[-500:]
        status = course_app("-m", "course_app", "server", "status")
        assert "running (pid" in status.stdout, status.stdout + status.stderr
        line = next(x for x in status.stdout.splitlines() if "socket in" in x)
        socket_dir = Path(line.split("socket in ", 1)[1].split(" (", 1)[0])
        assert len(os.fsencode(socket_dir / ".s.PGSQL.5432")) <= 107
        info = socket_dir.stat()
        assert info.st_uid == pwd.getpwnam(user).pw_uid and info.st_mode & 0o077 == 0
        assert (course / "password").stat().st_mode & 0o077 == 0
        lesson = course_app("-c", "import course_app; course_app.start(2)")
        assert lesson.returncode == 0 and "Lesson 2 is ready" in lesson.stdout, lesson.stderr[-500:]
        assert "trust" not in (course / "pgdata" / "pg_hba.conf").read_text()
        tried = subprocess.run(  # root aside, nobody else gets in: try as 'nobody'
            [
                "runuser",
                "-u",
                "nobody",
                "--",
                _psql(),
                "-h",
                str(socket_dir),
                "-U",
                "postgres",
                "-w",
                "-c",
                "SELECT 1",
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert tried.returncode != 0, tried.stdout
    finally:
        course_app("-m", "course_app", "server", "stop")
