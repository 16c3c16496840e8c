"""The scenes part three's checks play: a scratch database at a reference revision, with
rows, a copy of the learner's workspace pointed at it, and sessions that get in the way.

A lock-safe migration is one that lets the app work while it runs, so a check proves it
by running it with the app's sessions around it (a reader in a transaction, a writer with
a short lock_timeout), never by reading the revision's source.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from course_app import database, lessons, locks, processes, schema


@contextlib.contextmanager
def scene(lesson, tag: str, revision: str, rows: tuple[str, ...] = ()):
    """A scratch database at ``revision`` with ``rows`` (INSERT statements), and a copy of
    the workspace for ``alembic`` to run in (``env()`` points it at the database)."""
    name = f"{lesson.database}_check_{os.getpid()}{tag}"
    database.recreate(name, template=lessons.ensure_template(revision))
    try:
        if rows:
            engine = database.engine(name)
            try:
                with engine.begin() as conn:
                    for statement in rows:
                        conn.execute(text(statement))
            finally:
                engine.dispose()
        with tempfile.TemporaryDirectory(prefix="course-scene-") as folder:
            copy = Path(folder) / lesson.path.name
            shutil.copytree(lesson.path, copy, ignore=shutil.ignore_patterns("__pycache__"))
            yield name, copy
    finally:
        database.drop(name)


def env(name: str) -> dict[str, str]:
    """The environment a run in the copy needs: its settings name the scratch database."""
    url = database.url_for(name).render_as_string(hide_password=False)
    return {**os.environ, "APP_DATABASE_URL": url}


def scalars(name: str, sql: str, **params) -> list:
    """The first column of what ``sql`` returns on the scratch database ``name``."""
    engine = database.engine(name)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).scalars())
    finally:
        engine.dispose()


def snapshot(name: str) -> schema.Schema:
    """The tables, columns, indexes, constraints, triggers and enums of the scratch database."""
    engine = database.engine(name)
    try:
        with engine.connect() as conn:
            return schema.snapshot(conn)
    finally:
        engine.dispose()


def unvalidated(name: str, table: str = "posts") -> list[str]:
    """The constraints on ``table`` added NOT VALID and never validated (a NOT NULL too,
    since PostgreSQL 18: the column then says NOT NULL, and old rows may hold NULL)."""
    return scalars(
        name,
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:table) "
        "AND NOT convalidated ORDER BY 1",
        table=table,
    )


def version(name: str) -> list[str]:
    if scalars(name, "SELECT to_regclass('alembic_version')") == [None]:
        return []
    return scalars(name, "SELECT version_num FROM alembic_version")


def error(output: str) -> str:
    """The one line of a failed run a learner needs: the exception, or Alembic's FAILED."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    found = [
        line
        for line in lines
        if line.startswith(("sqlalchemy.exc.", "psycopg2.", "FAILED", "SyntaxError"))
        or "Error:" in line.split(" ")[0]
    ]
    return database.redact((found or lines or ["no output"])[-1])[:240]


@contextlib.contextmanager
def reader_on(name: str, table: str = "posts"):
    """A session that has read ``table`` in a transaction it keeps open: ACCESS SHARE, held."""
    reader = locks.Session(name, "reader")
    try:
        reader.run("BEGIN")
        reader.run(f"SELECT count(*) FROM {table}")
        yield reader
    finally:
        reader.close()


@contextlib.contextmanager
def writer_on(name: str, insert: str):
    """A session that has written a row (``insert``) in a transaction it keeps open: ROW
    EXCLUSIVE on the table, held, and a transaction any index build must wait for."""
    writer = locks.Session(name, "writer")
    try:
        writer.run("BEGIN")
        writer.run(insert)
        yield writer
    finally:
        writer.close()


def gets_through(name: str, statement: str, timeout_ms: int = 300) -> str | None:
    """Run the app's ``statement`` with a short lock_timeout: None if it went through, else
    PostgreSQL's reason (``canceling statement due to lock timeout``)."""
    app = locks.Session(name, "app")
    try:
        app.run(f"SET lock_timeout = '{timeout_ms}ms'")
        app.run(statement, timeout=10)
        return None
    except Exception as exc:  # noqa: BLE001  (CourseError: "app: <PostgreSQL's words>")
        return str(exc).removeprefix("app: ")
    finally:
        app.close()


# What runs in the migration's process: around each statement, on the same connection and in
# the same transaction, the table's scan count (pg_stat_get_xact_numscans: counts not yet
# flushed, so only a difference within one transaction means anything), and after it,
# whether the transaction holds ACCESS EXCLUSIVE on the table. A statement run in autocommit
# mode (an autocommit_block) is its own transaction, over before anyone can look: it is
# first tried in a transaction that is rolled back, and looked at there. (One that cannot
# run in a transaction, CONCURRENTLY, is not: it takes no ACCESS EXCLUSIVE anyway.)
SCANS_PROBE = """
import json, os, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from alembic.config import main

TABLE, OUT = os.environ["COURSE_PROBE_TABLE"], os.environ["COURSE_PROBE_OUT"]
LOG = os.environ["COURSE_PROBE_LOG"]
SCANS = "SELECT coalesce(pg_stat_get_xact_numscans(to_regclass(%s)), 0)"
HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = "
    "'relation' AND relation = to_regclass(%s) AND mode = 'AccessExclusiveLock')"
)
before = {}


def look(cursor, query):
    cursor.execute(query, (TABLE,))
    return cursor.fetchone()[0]


def note(statement):
    with open(OUT, "a") as out:
        out.write(json.dumps(" ".join(statement.split())) + "\\n")


@event.listens_for(Engine, "before_cursor_execute")
def ahead(conn, cursor, statement, parameters, context, executemany):
    raw = conn.connection.dbapi_connection
    with open(LOG, "a") as log:  # a statement in autocommit mode is a transaction of its own
        said = ("[autocommit] " if raw.autocommit else "") + " ".join(statement.split())
        log.write(json.dumps(said) + "\\n")
    if not raw.autocommit:
        with raw.cursor() as probe:
            before[id(raw)] = look(probe, SCANS)
        return
    if executemany:
        return
    raw.autocommit = False
    try:
        with raw.cursor() as trial:
            scans = look(trial, SCANS)
            trial.execute(statement, parameters)
            if look(trial, HELD) and look(trial, SCANS) > scans:
                note(statement)
    except Exception:
        pass
    finally:
        raw.rollback()
        raw.autocommit = True


@event.listens_for(Engine, "after_cursor_execute")
def after(conn, cursor, statement, parameters, context, executemany):
    raw = conn.connection.dbapi_connection
    if raw.autocommit or id(raw) not in before:
        return
    with raw.cursor() as probe:
        if look(probe, HELD) and look(probe, SCANS) > before.pop(id(raw)):
            note(statement)


@event.listens_for(Engine, "commit")
def committed(conn):
    with open(LOG, "a") as log:
        log.write(json.dumps("COMMIT") + "\\n")


sys.argv = ["alembic", *sys.argv[1:]]
main(argv=sys.argv[1:], prog="alembic")
"""


@dataclass
class Probed:
    """A migration run under the probe: how it ended, the statements that read the table
    through under ACCESS EXCLUSIVE, and every statement it ran, in order."""

    run: "processes.Finished"
    scanned: list[str]
    statements: list[str]

    def first(self, pattern: str) -> int | None:
        """Where the first statement matching ``pattern`` (a regex, any case) ran."""
        found = [i for i, s in enumerate(self.statements) if re.search(pattern, s, re.I)]
        return found[0] if found else None

    def committed_between(self, first: int, then: int) -> bool:
        """Did a commit come between the two statements (so that others saw the first
        without the second)?"""
        between = self.statements[first + 1 : then + 1]
        return any(s == "COMMIT" or s.startswith("[autocommit]") for s in between) or (
            self.statements[first].startswith("[autocommit]")
        )


def scans_under_exclusive(
    copy: Path, environment: dict, argv: list[str], table: str = "posts", timeout: float = 60
) -> Probed:
    """Run ``alembic ARGV`` in ``copy`` and note each statement that read all of ``table``
    while its transaction held ACCESS EXCLUSIVE on it: minutes of a site down, on a big
    table, whatever else the migration got right."""
    with tempfile.TemporaryDirectory(prefix="course-probe-") as folder:
        out, log = Path(folder) / "scans", Path(folder) / "log"
        for path in (out, log):
            path.touch(mode=0o600)
        env = {
            **environment,
            "COURSE_PROBE_TABLE": table,
            "COURSE_PROBE_OUT": str(out),
            "COURSE_PROBE_LOG": str(log),
        }
        ran = processes.run("python", [SCANS_PROBE, *argv], copy, env, timeout=timeout)
        return Probed(
            ran,
            [json.loads(line) for line in out.read_text().splitlines()],
            [json.loads(line) for line in log.read_text().splitlines()],
        )
