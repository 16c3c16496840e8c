"""Who waits for whom: named sessions on a lesson's database, and a live view of their locks.

Part three watches PostgreSQL's locks happen: a reader keeps a transaction open, a
migration waits for ACCESS EXCLUSIVE, and an ordinary query queues behind the migration.
Each actor is a connection with its own ``application_name`` (a process, such as
``alembic``, gets it from ``PGAPPNAME``), so that ``pg_stat_activity``, ``pg_locks`` and
``pg_blocking_pids()`` can say who is who without showing a pid that changes every run.
A statement that may wait runs in a thread, so the cell that starts it returns; and every
wait here is bounded, so no cell can hang.
"""

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text

from course_app import database
from course_app.errors import CourseError

# Each session's waits and blockers, by name (pg_blocking_pids gives pids: mapped to names).
VIEW = text("""
    SELECT a.application_name AS name, a.pid, a.state,
           l.mode AS wants, l.relation::regclass::text AS on_table,
           pg_blocking_pids(a.pid) AS blockers
    FROM pg_stat_activity a
    LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
    WHERE a.datname = current_database() AND a.application_name <> ''
      AND a.pid <> pg_backend_pid()
    ORDER BY a.backend_start
""")


@dataclass
class Seen:
    name: str
    pid: int
    state: str  # pg_stat_activity's: active, idle, idle in transaction, ...
    wants: str | None  # the lock mode it waits for, e.g. AccessExclusiveLock
    on_table: str | None
    blocked_by: list[str]


def view(database_name: str, conn=None) -> list[Seen]:
    """The named sessions on ``database_name`` now: what each waits for, and for whom.
    (``conn``: an autocommit connection there, for a loop that looks many times.)"""
    if conn is None:
        with watching(database_name) as conn:
            return view(database_name, conn)
    rows = conn.execute(VIEW).mappings().all()
    names = {row["pid"]: row["name"] for row in rows}
    return [
        Seen(
            row["name"],
            row["pid"],
            row["state"] or "",
            row["wants"],
            row["on_table"],
            sorted(names.get(pid, "another session") for pid in row["blockers"] or []),
        )
        for row in rows
    ]


@contextmanager
def watching(database_name: str):
    """One autocommit connection to look with: each look a transaction of its own, since
    pg_stat_activity is read once per transaction."""
    engine = database.engine(database_name, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def show(database_name: str) -> None:
    """Print the view as a table: one line a session."""
    lines = [("session", "state", "waits for", "blocked by")]
    for seen in view(database_name):
        wants = f"{seen.wants} on {seen.on_table}" if seen.wants else "-"
        lines.append((seen.name, seen.state, wants, ", ".join(seen.blocked_by) or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def until_waiting(database_name: str, name: str, timeout: float = 10, done=lambda: False) -> bool:
    """Wait until session ``name`` waits on a lock (True), or ``done()`` (False); bounded."""
    deadline = time.monotonic() + timeout
    with watching(database_name) as conn:
        while time.monotonic() < deadline:
            if any(s.name == name and s.wants for s in view(database_name, conn)):
                return True
            if done():
                return False
            time.sleep(0.02)
    raise CourseError(f"{name} neither waited on a lock nor finished within {timeout:.0f} s.")


def terminate(database_name: str, name: str) -> None:
    """End the server sessions named ``name``. A session waiting for a lock does not notice
    that its client has gone (killed, or a laptop closed): it waits on, and holds its place
    in the queue, until the lock comes or someone ends it."""
    engine = database.engine(database_name)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": name},
            )
    finally:
        engine.dispose()


class Session:
    """One named connection on a database, in autocommit mode: BEGIN and COMMIT are
    statements it runs, as in psql. ``start()`` runs a statement in a thread and returns
    once it is done or waits on a lock; ``finish()`` waits for it, bounded."""

    def __init__(self, database_name: str, name: str):
        self.name = name
        self._database = database_name
        self._engine = database.engine(
            database_name,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": name},
        )
        self._connection = self._engine.connect()
        self._thread: threading.Thread | None = None
        self._outcome: tuple = ()
        self.waited = 0.0  # seconds the last statement took

    def _run(self, sql: str) -> None:
        started = time.monotonic()
        try:
            result = self._connection.exec_driver_sql(sql)
            self._outcome = ("rows", result.fetchall() if result.returns_rows else None)
        except Exception as exc:  # noqa: BLE001  (PostgreSQL's words, kept for finish())
            said = str(getattr(exc, "orig", exc)).strip().splitlines()
            self._outcome = ("error", said[0] if said else type(exc).__name__)
        self.waited = time.monotonic() - started

    def start(self, sql: str, timeout: float = 10) -> str:
        if self._thread is not None and self._thread.is_alive():
            raise CourseError(f"{self.name} is still running its last statement: finish() it.")
        self._outcome = ()
        self._thread = threading.Thread(target=self._run, args=(sql,), daemon=True)
        self._thread.start()
        waits = until_waiting(
            self._database, self.name, timeout, done=lambda: not self._thread.is_alive()
        )
        return "waiting for a lock" if waits else "done"

    def finish(self, timeout: float = 30):
        """The rows the statement returned (None for a command); PostgreSQL's error, raised
        as one line, if it failed."""
        if self._thread is None:
            return None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise CourseError(
                f"{self.name} still waits after {timeout:.0f} s: see who blocks it with "
                f"lesson.locks(), and end the session that holds the lock (its COMMIT)."
            )
        self._thread = None
        kind, value = self._outcome
        if kind == "error":
            raise CourseError(f"{self.name}: {value}")
        return value

    def run(self, sql: str, timeout: float = 30):
        """Run one statement and wait for it (bounded): its rows, or None."""
        self.start(sql, timeout)
        return self.finish(timeout)

    def close(self) -> None:
        """End the session: PostgreSQL rolls back a transaction it left open."""
        if self._thread is not None and self._thread.is_alive():
            self._connection.connection.driver_connection.cancel()
            self._thread.join(5)
        self._connection.close()
        self._engine.dispose()


ERROR = re.compile(r"^(FAILED|[\w.]*(Error|Exception)\b)")  # the exception line of a failed run


class Process:
    """``alembic ARGV`` (or another command) run in a folder as a process of its own, named
    by ``PGAPPNAME`` so that the view can say who it is. Started, it returns once it waits
    on a lock or has finished; ``finish()`` waits for it (bounded) and says how it ended."""

    def __init__(self, database_name: str, name: str, kind: str, argv: list[str], cwd, env: dict):
        from course_app import processes

        self.name = name
        self._database = database_name
        self._run = processes.Run(kind, argv, cwd, {**env, "PGAPPNAME": name})
        self._started = time.monotonic()
        self.waiting = until_waiting(
            database_name, name, timeout=30, done=lambda: not self._run.running()
        )
        self.seconds = 0.0
        self.output = ""
        self.returncode: int | None = None

    def running(self) -> bool:
        return self._run.running()

    def finish(self, timeout: float = 30) -> "Process":
        if self.seconds:  # finished already: the same answer again
            return self
        done = self._run.finish(timeout)
        if done.returncode is None:  # killed: its server session would wait on, unnoticed
            terminate(self._database, self.name)
        self.seconds = time.monotonic() - self._started
        self.output, self.returncode = database.redact(done.output), done.returncode
        return self

    def __repr__(self) -> str:
        return "\n".join(self.said()) if self.seconds else f"<{self.name}, running>"

    def said(self) -> list[str]:
        """What a learner wants from the output: the revisions run, and the error if any."""
        lines = [line.strip() for line in self.output.splitlines()]
        kept = [line.split("] ", 1)[-1] for line in lines if "Running upgrade" in line]
        errors = [line for line in lines if ERROR.match(line)]
        if self.returncode is None:
            return [*kept, "still running after its timeout: stopped."]
        return [*kept, *errors[-1:], f"exit status {self.returncode}"]
