"""Lesson 10, deploying: SQL scripts for a DBA, one transaction or one per revision, and
an advisory lock so that two replicas starting at once migrate once.

Each is judged by running it: the learner's SQL file on a scratch database at 0002;
the prediction about a failing third revision against two real runs; the lock by two
``alembic upgrade head`` processes started together on an empty scratch database. Their
0001 waits at a gate (an advisory lock the check holds) until the other process waits
too, so they always meet mid-migration; and the first one's COMMIT waits at a second
gate (a deferred trigger on alembic_version) until the other has gone as far as it can,
so that a lock let go before the commit is caught every time. No timing to get lucky
with, however slow the machine.
"""

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from course_app import database, lessons, processes
from course_app.exercises import NotAttempted, NotYet, exercise, revision_id
from course_app.exercises.checks import explain_differences, reference_schema, starter_env_with
from course_app.exercises.repair import write_file

SQL_FILE = "upgrade_0002_0005.sql"
GATE, COMMIT_GATE = 1000001, 1000002  # the advisory lock keys of the race's two gates
GATED = "\n    ".join(
    (
        "# planted by the check: wait until both replicas are here, and at COMMIT again",
        f'op.execute("SELECT pg_advisory_xact_lock_shared({GATE})")',
        'op.execute("CREATE FUNCTION course_gate() RETURNS trigger LANGUAGE plpgsql AS '
        f'$$ BEGIN PERFORM pg_advisory_xact_lock_shared({COMMIT_GATE}); RETURN NULL; END $$")',
        'op.execute("CREATE CONSTRAINT TRIGGER course_gate AFTER INSERT OR UPDATE ON '
        "alembic_version DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
        'course_gate()")',
    )
)
FAILING = 'op.execute("SELECT 1 / 0")  # planted by the check: the third revision fails'


def _scratch(suffix: str, revision: str | None) -> str:
    name = f"{lessons.current().database}_{suffix}_{os.getpid()}"
    database.recreate(name, template=lessons.ensure_template(revision))
    return name


def _state_of(name: str):
    from course_app import schema

    engine = database.engine(name)
    try:
        with engine.connect() as conn:
            got = schema.snapshot(conn)
            has = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            rows = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                if has
                else []
            )
    finally:
        engine.dispose()
    return got, rows


def _copy(lesson, folder: str) -> Path:
    copy = Path(folder) / lesson.path.name
    shutil.copytree(lesson.path, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _plant(copy: Path, revision: str, line: str) -> None:
    path = next((copy / "alembic" / "versions").glob(f"{revision}_*.py"))
    source = path.read_text()
    path.write_text(
        source.replace("def upgrade() -> None:\n", f"def upgrade() -> None:\n    {line}\n", 1)
    )


def _against(name: str) -> dict[str, str]:
    """The environment of a process whose app settings name database ``name``."""
    url = database.url_for(name).render_as_string(hide_password=False)
    return {**os.environ, "APP_DATABASE_URL": url}


def _alembic(copy: Path, name: str, *argv: str) -> processes.Run:
    """Start ``alembic ARGV`` in ``copy``, against database ``name``, as a process of its own."""
    return processes.Run("alembic", list(argv), copy, _against(name))


# -- 1. the SQL for a DBA -----------------------------------------------------------------------


@exercise(
    hints=[
        "`alembic upgrade A:B --sql` prints the SQL from A to B without connecting to run it; "
        "`>` sends it to a file.",
        f"!cd {{lesson.path}} && {{sys.executable}} -m alembic upgrade 0002:0005 --sql > {SQL_FILE}",
    ],
    solution=f"!cd {{lesson.path}} && {{sys.executable}} -m alembic upgrade 0002:0005 --sql > {SQL_FILE}",
    apply=lambda lesson: _write_sql(lesson),
)
def sql_for_the_dba(lesson):
    path = lesson.path / SQL_FILE
    if not path.exists() or not path.read_text().strip():
        raise NotAttempted(
            f"there is no {SQL_FILE} in the workspace yet (or it is empty): write it."
        )
    sql = path.read_text()
    if "alembic_version" not in sql:
        raise NotYet(
            f"{SQL_FILE} does not update alembic_version: write it with `alembic upgrade 0002:0005 --sql`."
        )
    name = _scratch("check", "0002")
    try:
        engine = database.engine(name)
        try:
            with engine.begin() as conn:  # a production database has rows
                conn.execute(text("INSERT INTO posts (title, content) VALUES ('Hello', 'Hi')"))
            with engine.connect() as conn:  # as psql -f would: the script's own BEGIN and COMMIT
                conn.connection.driver_connection.autocommit = True
                with conn.connection.driver_connection.cursor() as cursor:
                    cursor.execute(sql)
        except Exception as exc:  # noqa: BLE001  (the learner's SQL: one line, PostgreSQL's words)
            said = str(getattr(exc, "pgerror", None) or exc).strip().splitlines()[0]
            raise NotYet(f"{SQL_FILE} fails on a database at 0002: {said}.") from None
        finally:
            engine.dispose()
        got, rows = _state_of(name)
        engine = database.engine(name)
        try:
            with engine.connect() as conn:
                kept = conn.execute(text("SELECT title, content FROM posts")).all()
        finally:
            engine.dispose()
    finally:
        database.drop(name)
    if [tuple(r) for r in kept] != [("Hello", "Hi")]:
        raise NotYet(
            f"{SQL_FILE} changes the rows of a database at 0002 (a post it held is "
            f"{'gone' if not kept else 'changed'}): the SQL of upgrade 0002:0005 only changes tables."
        )
    if rows != ["0005"] or got != reference_schema("0005"):
        where = f"alembic_version says {', '.join(rows) or 'nothing'}"
        differences = (
            explain_differences(
                reference_schema("0005"), got, "revision 0005", "after the script", limit=1
            )
            if got != reference_schema("0005")
            else "the tables are right."
        )
        raise NotYet(
            f"run on a database at 0002, {SQL_FILE} leaves it not at 0005: {where}; "
            f"{differences[0].lower() + differences[1:]} Write it from 0002 to 0005: "
            f"`upgrade 0002:0005 --sql`."
        )
    return (
        f"{SQL_FILE}, run on a database at 0002, builds 0005 and leaves alembic_version at 0005: "
        f"a DBA can read it, and run it with psql."
    )


def _write_sql(lesson) -> list[str]:
    ran = processes.run("alembic", ["upgrade", "0002:0005", "--sql"], lesson.path, os.environ, 120)
    return write_file(lesson, SQL_FILE, ran.stdout)


# -- 2. one transaction, or one per revision ---------------------------------------------------------

_measured: dict = {}


def measured(lesson) -> tuple[str | None, str | None]:
    """Where a database at base stops when `upgrade 0005` meets a failing 0003: run for real,
    once with env.py as the course wrote it, once with transaction_per_migration=True."""
    if "stops" in _measured:
        return _measured["stops"]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # the two runs at once: each its own copy and database
        stops = list(
            pool.map(lambda per_migration: _stops_at(lesson, per_migration), (False, True))
        )
    _measured["stops"] = tuple(stops)
    return _measured["stops"]


def _stops_at(lesson, per_migration: bool) -> str | None:
    with tempfile.TemporaryDirectory(prefix="course-deploy-") as folder:
        copy = _copy(lesson, folder)
        env = (lessons.STARTER / "alembic" / "env.py").read_text()
        if per_migration:
            env = env.replace(
                "target_metadata=target_metadata, compare_type=True)\n        with",
                "target_metadata=target_metadata, compare_type=True,\n"
                "            transaction_per_migration=True,\n        )\n        with",
            )
        (copy / "alembic" / "env.py").write_text(env)
        _plant(copy, "0003", FAILING)
        name = _scratch(f"check{int(per_migration)}", None)
        try:
            _alembic(copy, name, "upgrade", "0005").finish(timeout=120)
            _, rows = _state_of(name)
        finally:
            database.drop(name)
    return rows[0] if rows else None


def _stop(value):
    if isinstance(value, str) and value.strip().strip("'\"").lower() == "none":
        return None  # "None" in quotes, like the revision ids around it: base all the same
    value = revision_id(value)
    if value == "":
        raise NotYet('"" is not a revision id: give one like "0002", or None for base.')
    return None if value in (None, "base") else value


@exercise(
    hints=[
        "By default Alembic runs the whole `upgrade` in one transaction: on PostgreSQL, DDL "
        "rolls back too.",
        "With transaction_per_migration=True each revision commits on its own: 0001 and 0002 stay.",
    ],
    solution='one_transaction, per_migration = None, "0002"   # None: base, nothing applied',
    answer=measured,
    read=(_stop, _stop),
)
def where_it_stops(lesson, one_transaction, per_migration):
    actual = measured(lesson)
    if (one_transaction, per_migration) == actual:
        return (
            "measured just now on two scratch databases: in one transaction, the failure of 0003 "
            "rolls back 0001 and 0002 too, and the database stays at base; one transaction per "
            "revision keeps what committed, 0002."
        )
    if one_transaction == per_migration:
        raise NotYet(
            "the two runs stop in different places: the setting changes what a failure undoes."
        )
    if one_transaction is not None:
        raise NotYet(
            f"in one transaction nothing commits before the end: 0003's failure rolls back 0001 "
            f"and 0002 as well (PostgreSQL's DDL is transactional), so not {one_transaction}."
        )
    raise NotYet(
        f"with a transaction per revision, 0001 and 0002 each committed before 0003 failed, and "
        f"0003 itself rolled back: not {per_migration}."
    )


# -- 3. two replicas, one migration ----------------------------------------------------------------


def race(lesson) -> tuple[list[int | None], list[str], list[str], object, bool]:
    """Two `alembic upgrade head` at once on an empty copy (a first deploy: nine revisions to
    run, alembic_version not there yet). Returns their statuses and outputs, where the
    database ends, and whether one ended before the other had migrated."""
    with tempfile.TemporaryDirectory(prefix="course-race-") as folder:
        copy = _copy(lesson, folder)
        _plant(copy, "0001", GATED)
        name = _scratch("race", None)
        try:
            engine = database.engine(name)
            try:
                with engine.connect() as gate:
                    gate.execute(
                        text(f"SELECT pg_advisory_lock({GATE}), pg_advisory_lock({COMMIT_GATE})")
                    )
                    gate.commit()
                    replicas = [_alembic(copy, name, "upgrade", "head") for _ in range(2)]
                    _until_both_wait(gate, replicas, GATE)
                    early = any(not r.running() for r in replicas)
                    _open(gate, GATE)
                    _until_both_wait(gate, replicas, COMMIT_GATE)
                    _open(gate, COMMIT_GATE)
                    deadline = time.monotonic() + 60
                    done = [
                        r.finish(timeout=max(1.0, deadline - time.monotonic())) for r in replicas
                    ]
                    gate.execute(text("DROP TRIGGER IF EXISTS course_gate ON alembic_version"))
                    gate.execute(text("DROP FUNCTION IF EXISTS course_gate()"))
                    gate.commit()
            finally:
                engine.dispose()
            got, rows = _state_of(name)
        finally:
            database.drop(name)
    return [d.returncode for d in done], [d.output for d in done], rows, got, early


def _open(gate, key: int) -> None:
    gate.execute(text(f"SELECT pg_advisory_unlock({key})"))
    gate.commit()


WAITING = text("""
    SELECT count(*) FILTER (WHERE l.locktype = 'advisory' AND l.objid = :key) AS at_gate,
           count(*) FILTER (WHERE a.wait_event_type = 'Lock' OR a.state = 'idle in transaction')
    FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
""")


def _until_both_wait(gate, replicas, key: int, timeout: float = 15) -> None:
    """Return once one replica waits at gate ``key`` and the other has gone as far as it can
    (it waits on a lock, or holds a transaction open while it polls for one), three looks
    in a row; or once a replica has ended. Bounded: after ``timeout`` the gate opens anyway."""
    deadline, steady = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and all(r.running() for r in replicas):
        at_gate, waiting = gate.execute(WAITING, {"key": key}).one()
        gate.commit()  # pg_stat_activity is read once per transaction
        steady = steady + 1 if at_gate >= 1 and waiting >= 2 else 0
        if steady >= 3:
            return
        time.sleep(0.02)


RELEASED = """
import os

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

command.current(Config("alembic.ini"))  # as %alembic runs it, in the notebook's process
engine = create_engine(os.environ["APP_DATABASE_URL"])
with engine.connect() as conn:  # a scratch database: only this process's sessions are there
    held = conn.execute(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ))
    print("HELD" if held.scalar() else "RELEASED")
"""


def _released(lesson) -> bool:
    """Whether the lock is gone once the command that took it is done, in the same process
    (as %alembic runs commands, in the notebook's): if not, the next %alembic, with an
    engine of its own, waits for ever."""
    name = _scratch("env", "0009")
    try:
        ran = processes.run("python", [RELEASED], lesson.path, _against(name), timeout=60)
    finally:
        database.drop(name)
    return "RELEASED" in ran.stdout


def _lock_said(outputs: list[str]) -> str:
    for output in outputs:
        for line in output.splitlines():
            if "Error" in line or line.startswith("FAILED"):
                return database.redact(re.sub(r"^\S+: ", "", line.strip()))[:200]
    return "no message"


@exercise(
    hints=[
        "Take a PostgreSQL advisory lock in env.py before Alembic reads alembic_version: a "
        "second process waits there, then finds the database at head and does nothing.",
        "Inside `with context.begin_transaction():`, before run_migrations(): "
        'connection.execute(text("SELECT pg_advisory_xact_lock(20261201)"))',
    ],
    solution=(
        "# alembic/env.py: `from sqlalchemy import engine_from_config, pool, text`, then in\n"
        "# run_migrations_online():\n"
        "        with context.begin_transaction():\n"
        "            # One migrator at a time: another waits here, then finds nothing to do.\n"
        '            connection.execute(text("SELECT pg_advisory_xact_lock(20261201)"))\n'
        "            context.run_migrations()"
    ),
    apply=lambda lesson: _write_lock(lesson),
)
def one_migrator(lesson):
    env = (lesson.path / "alembic" / "env.py").read_text()
    if "advisory" not in env:
        raise NotAttempted(
            "alembic/env.py takes no advisory lock yet: add one in run_migrations_online()."
        )
    statuses, outputs, rows, got, early = race(lesson)
    if None in statuses:
        raise NotYet(
            "two `alembic upgrade head` started together did not finish within a minute: they "
            "wait for each other. A lock taken twice, on two connections, waits for ever: take "
            "one, on the migration's connection, inside context.begin_transaction()."
        )
    if early and 0 in statuses:
        raise NotYet(
            "one of two `alembic upgrade head` started together exited at once, while the other "
            "was still migrating: a replica that starts then serves requests with the schema "
            "half-built. Wait for the lock (pg_advisory_xact_lock), don't skip when it is taken."
        )
    if statuses != [0, 0]:
        raise NotYet(
            f"two `alembic upgrade head` started together: one failed ({_lock_said(outputs)}). "
            f"The lock must be taken before Alembic reads alembic_version, in the same "
            f"transaction as the migration (inside context.begin_transaction())."
        )
    ran = sum(output.count("Running upgrade  -> 0001") for output in outputs)
    if rows != ["0009"] or got != reference_schema("0009"):
        raise NotYet(
            f"two `alembic upgrade head` started together both exit 0, but the database is at "
            f"{', '.join(rows) or 'nothing'}: the migration did not last. Take the lock inside "
            f"context.begin_transaction()."
        )
    if ran != 1:
        raise NotYet(f"0001 ran {ran} times: the second process must find it done.")
    if not _released(lesson):
        raise NotYet(
            "the lock outlives the command that took it: a second %alembic in the same notebook "
            "waits for ever. Take pg_advisory_xact_lock in the migration's transaction, so that "
            "its commit releases it."
        )
    return (
        "two processes started together on an empty database: one migrated, the other waited "
        "on the lock, then found the database at 0009 and did nothing. Both exit 0."
    )


def _write_lock(lesson) -> list[str]:
    env = starter_env_with(
        "            # One migrator at a time: another waits here, then finds nothing to do.\n",
        '            connection.execute(text("SELECT pg_advisory_xact_lock(20261201)"))\n',
    )
    return write_file(lesson, "alembic/env.py", env)


def two_replicas(lesson) -> None:
    """Show what two `alembic upgrade head` started together do with the workspace's env.py
    (as two replicas of the app starting at once), on an empty scratch database."""
    statuses, outputs, rows, _, _ = race(lesson)
    ran = sum(output.count("Running upgrade  -> 0001") for output in outputs)
    if statuses == [0, 0]:
        print(
            f"Both exited 0; the history ran {ran} time{'s' * (ran != 1)}; alembic_version: {', '.join(rows)}."
        )
    elif sorted(statuses, key=str) == [0, 1]:
        print(
            f"One exited 0 after running the history; the other exited 1: {_lock_said(outputs)}\n"
            f"alembic_version: {', '.join(rows) or 'nothing'}."
        )
    else:
        shown = ", ".join("still running (stopped)" if s is None else str(s) for s in statuses)
        print(f"Exit statuses: {shown}; alembic_version: {', '.join(rows) or 'nothing'}.")
