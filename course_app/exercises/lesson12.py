"""Lesson 12, locks you can watch: who queues behind whom, a lock_timeout, a bounded retry.

Each check plays the scene for real, on scratch databases at 0009 with rows: a reader
holding a transaction open on posts, the learner's migration (``alembic upgrade head``, or
``python deploy.py``, run from a copy of the workspace as a process of its own named
"migration"), and the app's read. What is judged is what happens: who waited for whom,
whether the migration gave up in time and the read went on, how many attempts a retry
made and how far apart; never how the learner's file reads.
"""

import contextlib
import os
import re
import time
from pathlib import Path

from course_app import database, lessons, locks, processes
from course_app.exercises import NotAttempted, NotYet, exercise, scenes
from course_app.exercises.checks import migration_files_digest, starter_env_with
from course_app.exercises.repair import write_file

PENDING = "0010"  # adds posts.views: the change deployed
ROWS = "INSERT INTO posts (title, content) VALUES ('Hello', 'Hi'), ('Again', 'Hi again')"
WAIT = 5  # seconds a migration may wait for its lock in a check before it counts as stuck
DEPLOY = "import runpy; runpy.run_path('deploy.py', run_name='__main__')"
RUNNING = f"Running upgrade 0009 -> {PENDING}"


# -- the scene --------------------------------------------------------------------------------


@contextlib.contextmanager
def scene(lesson, tag: str, plant: str | None = None):
    """A scratch database at 0009 with rows, and a copy of the workspace pointed at it
    (``plant``: a line put first in 0010's upgrade())."""
    with scenes.scene(lesson, tag, "0009", rows=(ROWS,)) as (name, copy):
        if plant:
            path = next((copy / "alembic" / "versions").glob(f"{PENDING}_*.py"))
            planted, found = re.subn(
                r"^def upgrade\(\)[^:\n]*:\n",
                lambda m: f"{m[0]}    {plant}\n",
                path.read_text(),
                count=1,
                flags=re.M,
            )
            if not found:
                raise NotYet(f"{path.name} has no upgrade() function.")
            path.write_text(planted)
        yield name, copy


_env, _version, _error, reader_on = scenes.env, scenes.version, scenes.error, scenes.reader_on


# -- 1. who the read queues behind ----------------------------------------------------------------

_measured: dict = {}


def measured(lesson=None) -> str:
    """Whom the app's SELECT waits for, with a reader in a transaction and an ALTER TABLE
    waiting for its lock: played once on a scratch database, and asked of pg_blocking_pids()."""
    if "blocker" not in _measured:
        name = f"{lessons.current().database}_check_{os.getpid()}q"
        database.recreate(name, template=lessons.ensure_template("0009"))
        try:
            with reader_on(name):
                migration, app = locks.Session(name, "migration"), locks.Session(name, "app")
                try:
                    migration.start("ALTER TABLE posts ADD COLUMN views integer")
                    app.start("SELECT count(*) FROM posts")
                    seen = {s.name: s for s in locks.view(name)}
                    _measured["blocker"] = ", ".join(seen["app"].blocked_by) or None
                finally:
                    app.close()
                    migration.close()
        finally:
            database.drop(name)
    return _measured["blocker"]


def _who(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        names = sorted({str(v).strip().lower() for v in value})
        return names[0] if len(names) == 1 else names
    if not isinstance(value, str):
        raise NotYet(f'give the session\'s name as a string, like "reader"; got {value!r}.')
    value = value.strip().strip("'\"").lower()
    if "," in value or " and " in value:
        return _who(re.split(r",|\band\b", value))
    return value.removeprefix("the ").strip() or None


@exercise(
    hints=[
        "Read the `blocked by` column of lesson.locks() on the app's line.",
        "A lock request waits for every conflicting lock held, and for every conflicting "
        "request ahead of it in the queue: ACCESS SHARE conflicts only with ACCESS EXCLUSIVE.",
    ],
    solution='blocker = "migration"   # queued behind its ACCESS EXCLUSIVE request',
    answer=measured,
    read=(_who,),
)
def queued_behind(lesson, blocker):
    actual = measured()
    if blocker == actual:
        return (
            "the app's SELECT waits for the migration, not for the reader: its ACCESS SHARE "
            "does not conflict with the reader's, but it queues behind the ACCESS EXCLUSIVE "
            "the migration is waiting for. Every query on posts now waits as long as the reader."
        )
    if blocker == "reader" or (isinstance(blocker, list) and "reader" in blocker):
        raise NotYet(
            "the reader holds ACCESS SHARE, and so does the app want: the two never conflict "
            "(two reads run together). Read the app's `blocked by` again."
        )
    if blocker in (None, "nobody", "none", "no one"):
        raise NotYet(
            "the app's SELECT does wait: lesson.locks() shows it active, waiting for "
            "AccessShareLock on posts. Whose lock is in its way?"
        )
    if blocker == "app":
        raise NotYet("the app is the one waiting: for whom?")
    raise NotYet(f"{blocker!r} is none of the sessions: reader, migration or app.")


# -- 2. the migration gives up in time --------------------------------------------------------


def _attempted(lesson) -> bool:
    """env.py changed since the lesson started, or 0010's code (below its docstring)
    mentions a lock_timeout."""
    env = (lesson.path / "alembic" / "env.py").read_text()
    pending = [p.read_text() for p in lesson.versions.glob(f"{PENDING}_*.py")]
    code = [text.partition("def upgrade")[2] for text in pending]
    starter = (lessons.STARTER / "alembic" / "env.py").read_text()
    return env != starter or any("lock_timeout" in c for c in code)


def _unhindered(lesson):
    with scene(lesson, "1") as (free, copy):
        ran = processes.run("alembic", ["upgrade", "head"], copy, _env(free), timeout=60)
        return ran, _version(free)


def _behind_a_reader(lesson):
    with scene(lesson, "2") as (held, copy), reader_on(held):
        app = locks.Session(held, "app")
        try:
            migration = locks.Process(
                held, "migration", "alembic", ["upgrade", "head"], copy, _env(held)
            )
            if migration.waiting:
                app.start("SELECT count(*) FROM posts", timeout=WAIT)
            migration.finish(timeout=WAIT)
            app.finish(timeout=WAIT)
        finally:
            app.close()
        return migration, app.waited, _version(held)


_timeout_passed: set[str] = set()  # digests of the files a lock_timeout that passed ran with


def _gives_up(lesson) -> None:
    """Both runs of the migration, at once: unhindered it must commit; behind a reader it
    must fail with lock_timeout's error soon enough for the queued read to go on."""
    from concurrent.futures import ThreadPoolExecutor

    key = migration_files_digest(lesson)
    if key in _timeout_passed:
        return
    with ThreadPoolExecutor(2) as pool:
        played = [pool.submit(f, lesson) for f in (_unhindered, _behind_a_reader)]
        (ran, free), (migration, waited, after) = [p.result() for p in played]
    if ran.returncode != 0:
        raise NotYet(f"with nothing in its way, `alembic upgrade head` fails: {_error(ran.output)}")
    if free != [PENDING]:
        raise NotYet(
            f"with nothing in its way, `alembic upgrade head` ran 0010 but it did not "
            f"last: the database is still at {', '.join(free) or 'nothing'}. A "
            f"statement on the connection before context.configure() opens a transaction "
            f"Alembic takes for the caller's, and never commits: set the timeout inside "
            f"`with context.begin_transaction():`."
        )
    said = migration.output
    if migration.returncode is None:
        raise NotYet(
            f"behind a reader, the migration still waited for its lock after {WAIT} s, and "
            f"every read of posts with it: no lock_timeout was in effect on the migration's "
            f"connection. Set it in run_migrations_online(), inside the transaction."
        )
    if "statement timeout" in said:
        raise NotYet(
            "the migration gave up on statement_timeout, which cancels any statement that runs "
            "long (a backfill too, with no one in its way). Use lock_timeout: it bounds only "
            "the wait for a lock."
        )
    if migration.returncode == 0 or "lock timeout" not in said:
        raise NotYet(
            f"behind a reader, the migration should fail with `canceling statement due to lock "
            f"timeout`; it ended with status {migration.returncode}: {_error(said)}"
        )
    if after != ["0009"]:
        raise NotYet(f"the failed migration left alembic_version at {after}, not 0009.")
    if waited > 1.3:
        raise NotYet(
            f"the migration gave up, but the app's read waited {waited:.1f} s behind it "
            f"first: every query on posts would. Keep lock_timeout to a second or less."
        )
    _timeout_passed.add(key)


LOCK_LINE = "            connection.execute(text(\"SET LOCAL lock_timeout = '500ms'\"))\n"


def _write_timeout(lesson) -> list[str]:
    comment = (
        "            # Give up on a lock not granted in time: queries queue behind the wait.\n"
    )
    return write_file(lesson, "alembic/env.py", starter_env_with(comment, LOCK_LINE))


@exercise(
    hints=[
        "lock_timeout bounds how long a statement waits for a lock; SET LOCAL keeps it to "
        "the migration's transaction.",
        "In run_migrations_online(), inside `with context.begin_transaction():`, before "
        "run_migrations(): connection.execute(text(\"SET LOCAL lock_timeout = '500ms'\")) "
        "(and import text from sqlalchemy).",
    ],
    solution=(
        "# alembic/env.py: `from sqlalchemy import engine_from_config, pool, text`, then in\n"
        "# run_migrations_online():\n"
        "        with context.begin_transaction():\n"
        "            # Give up on a lock not granted in time: queries queue behind the wait.\n"
        + LOCK_LINE
        + "            context.run_migrations()"
    ),
    apply=_write_timeout,
)
def fails_fast(lesson):
    if not _attempted(lesson):
        raise NotAttempted(
            "alembic/env.py sets no lock_timeout yet: set it in run_migrations_online()."
        )
    _gives_up(lesson)
    return (
        "unhindered, the migration commits; behind a reader it gives up with `canceling "
        "statement due to lock timeout`, and the read queued behind it goes on within about "
        "a second. The database stays at 0009, ready for another try."
    )


# -- 3. a bounded retry with backoff ---------------------------------------------------------------


def _attempts(output: str) -> int:
    return output.count(RUNNING)


def _watch(name: str, deploy: locks.Process, timeout: float) -> list[float]:
    """When each attempt (a new migration session) first waited on a lock, in seconds."""
    seen: dict[int, float] = {}
    start = time.monotonic()
    deadline = start + timeout
    with locks.watching(name) as conn:
        while deploy.running() and time.monotonic() < deadline:
            for session in locks.view(name, conn):
                if session.name == "migration" and session.wants and session.pid not in seen:
                    seen[session.pid] = time.monotonic() - start
            time.sleep(0.02)
    return sorted(seen.values())


def _deploy(copy: Path, name: str) -> locks.Process:
    return locks.Process(name, "migration", "python", [DEPLOY], copy, _env(name))


STARTER_DEPLOY = (lessons.STARTER / "deploy" / "deploy.py").read_text()

DEPLOY_SOURCE = '''\
"""The deploy step: `python deploy.py` brings the database to head before the new
release starts (the app's replicas never migrate themselves).

A migration that gets no lock within env.py's lock_timeout fails with LockNotAvailable:
worth a few more tries, each after a longer pause, since the transaction in its way
usually ends soon. Any other error is a real failure: it stops the deploy at once.
"""

import time

from alembic import command
from alembic.config import Config
from psycopg2.errors import LockNotAvailable
from sqlalchemy.exc import OperationalError

ATTEMPTS = 3
FIRST_PAUSE = 0.5  # seconds, doubled after each failed attempt


def migrate() -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            command.upgrade(Config("alembic.ini"), "head")
            return
        except OperationalError as exc:
            if not isinstance(exc.orig, LockNotAvailable) or attempt == ATTEMPTS:
                raise
            pause = FIRST_PAUSE * 2 ** (attempt - 1)
            print(f"Attempt {attempt} got no lock; trying again in {pause} s.")
            time.sleep(pause)


if __name__ == "__main__":
    migrate()
'''


def _released_after_one(lesson) -> tuple[locks.Process, list[str]]:
    """The reader lets go once the first attempt has failed: a retry must then succeed."""
    with scene(lesson, "3") as (name, copy), reader_on(name) as reader:
        deploy = _deploy(copy, name)
        if deploy.waiting:
            deadline = time.monotonic() + WAIT  # the first attempt waits, and gives up
            with locks.watching(name) as conn:
                while time.monotonic() < deadline and any(
                    s.name == "migration" and s.wants for s in locks.view(name, conn)
                ):
                    time.sleep(0.02)
            reader.run("COMMIT")
        deploy.finish(timeout=30)
        return deploy, _version(name)


def _unfixable(lesson) -> locks.Process:
    """A failure no wait can fix, with no one in the way: a statement timeout, which
    SQLAlchemy raises as an OperationalError too, like LockNotAvailable."""
    plant = 'op.execute("SET LOCAL statement_timeout = 1"); op.execute("SELECT pg_sleep(1)")'
    with scene(lesson, "4", plant=plant) as (name, copy):
        return _deploy(copy, name).finish(timeout=30)


def _never_released(lesson) -> tuple[locks.Process, list[float], list[str]]:
    """The reader never lets go: when each attempt started, and where the database ends."""
    with scene(lesson, "5") as (name, copy), reader_on(name):
        deploy = _deploy(copy, name)
        starts = _watch(name, deploy, timeout=12)
        deploy.finish(timeout=5)
        return deploy, starts, _version(name)


@exercise(
    hints=[
        "Call command.upgrade() in a loop of a few attempts; after a failure that is a "
        "LockNotAvailable, sleep, twice as long each time, then try again; re-raise anything "
        "else, and the last failure.",
        "SQLAlchemy wraps the driver's error: catch sqlalchemy.exc.OperationalError and test "
        "isinstance(exc.orig, psycopg2.errors.LockNotAvailable).",
    ],
    solution="# deploy.py\n" + DEPLOY_SOURCE,
    apply=lambda lesson: write_file(lesson, "deploy.py", DEPLOY_SOURCE),
    after=(fails_fast,),
)
def retries(lesson):
    from concurrent.futures import ThreadPoolExecutor

    path = lesson.path / "deploy.py"
    if not path.exists() or path.read_text() == STARTER_DEPLOY:
        raise NotAttempted("deploy.py does not retry yet: write migrate()'s loop.")
    fails_fast.require()
    with ThreadPoolExecutor(3) as pool:  # three scenes at once, each its own database
        played = [
            pool.submit(f, lesson) for f in (_released_after_one, _unfixable, _never_released)
        ]
        (deploy, released), broken, (never, starts, after) = [p.result() for p in played]
    if _attempts(deploy.output) == 0 and _attempts(never.output) == 0:
        raise NotYet(
            f"deploy.py ran no migration ({_error(deploy.output)}): migrate() must call "
            f'command.upgrade(Config("alembic.ini"), "head").'
        )
    if deploy.returncode != 0 or released != [PENDING]:
        tried = _attempts(deploy.output)
        raise NotYet(
            "the reader let go after the first attempt failed, but deploy.py "
            + ("did not try again" if tried < 2 else f"still ended with status {deploy.returncode}")
            + f": {_error(deploy.output)}. Catch the OperationalError whose .orig is a "
            f"LockNotAvailable, pause, and try again."
        )
    if _attempts(broken.output) != 1 or broken.returncode in (0, None):
        raise NotYet(
            "deploy.py retried a revision that fails with `canceling statement due to "
            "statement timeout` (an OperationalError too), which no waiting fixes: try again "
            "only when exc.orig is a LockNotAvailable."
            if _attempts(broken.output) > 1
            else f"deploy.py exits with status {broken.returncode} after a revision failed: "
            f"the deploy must stop there, with the error."
        )
    if never.returncode is None:
        raise NotYet(
            "with the lock never free, deploy.py was still trying after 12 s: stop after a "
            "few attempts (three, say), and let the last error end the deploy."
        )
    if never.returncode == 0:
        raise NotYet(
            f"with the lock never free, deploy.py gave up but exited 0 with the database at "
            f"{', '.join(after)}: a deploy that carries on would start code the schema is not "
            f"ready for. Raise the last error."
        )
    if not 3 <= len(starts) <= 10:
        raise NotYet(
            f"with the lock never free, deploy.py made {len(starts)} attempts: make 3 to 10."
        )
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    if gaps[-1] < gaps[0] + 0.2:
        raise NotYet(
            f"the pauses between deploy.py's attempts hardly grow "
            f"({', '.join(f'{g:.1f}' for g in gaps)} s from one start to the next): back "
            f"off, pausing clearly longer after each failure (half a second, then one)."
        )
    return (
        "deploy.py tried again once the reader let go, and succeeded; with the lock never "
        "free it made a few attempts, further apart each time, then stopped with the error; "
        "and a revision that fails for another reason stopped it at once."
    )
