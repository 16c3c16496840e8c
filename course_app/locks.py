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
        wants = f"{seen.wants} on {seen.on_table or 'a transaction'}" if seen.wants else "-"
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


def terminate(database_name: str, name: str, how: str = "terminate") -> None:
    """End the server sessions named ``name`` (``how="cancel"``: only their statement). A
    session waiting for a lock does not notice that its client has gone (killed, or a laptop
    closed): it waits on, and holds its place in the queue, until the lock comes or someone
    ends it."""
    engine = database.engine(database_name)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"SELECT pg_{'cancel' if how == 'cancel' else 'terminate'}_backend(pid) "
                    "FROM pg_stat_activity "
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

    def attempt(self, sql: str, timeout: float = 30) -> None:
        """Run one statement and print how it went, rather than raise: for a statement that
        may give up on a lock_timeout."""
        try:
            self.run(sql, timeout)
        except CourseError as exc:
            print(f"{self.name}: failed, {str(exc).removeprefix(self.name + ': ')}.")
            return
        print(f"{self.name}: went through.")

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

    def stop(self) -> "Process":
        """Cancel what it runs on the server, as a deploy job that timed out would be: its
        statement fails at once; then finish()."""
        terminate(self._database, self.name, how="cancel")
        return self.finish()

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


# -- which lock a statement takes -------------------------------------------------------------

# PostgreSQL's table lock modes, weakest first, as the documentation writes them, and what of
# the app's each one stops: reads (SELECT) and writes (INSERT, UPDATE, DELETE).
MODES = {
    "AccessShareLock": ("ACCESS SHARE", "nothing"),
    "RowShareLock": ("ROW SHARE", "nothing"),
    "RowExclusiveLock": ("ROW EXCLUSIVE", "nothing"),
    "ShareUpdateExclusiveLock": ("SHARE UPDATE EXCLUSIVE", "nothing"),
    "ShareLock": ("SHARE", "writes"),
    "ShareRowExclusiveLock": ("SHARE ROW EXCLUSIVE", "writes"),
    "ExclusiveLock": ("EXCLUSIVE", "writes"),
    "AccessExclusiveLock": ("ACCESS EXCLUSIVE", "reads and writes"),
}
HELD = text("""
    SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relkind = 'r'
      AND c.relnamespace = 'public'::regnamespace
""")
FILES = text(
    "SELECT relname, relfilenode FROM pg_class WHERE relkind = 'r' AND relnamespace = "
    "'public'::regnamespace"
)
SCANS = text(
    "SELECT relname, pg_stat_get_xact_numscans(oid) FROM pg_class WHERE relkind = 'r' "
    "AND relnamespace = 'public'::regnamespace"
)


@dataclass
class Measured:
    """What one statement did, seen from inside its own transaction before it rolled back."""

    statement: str
    locks: dict[str, str]  # table -> the strongest lock mode it took there
    rewrote: list[str]  # tables it wrote anew (a new file on disk: relfilenode changed)
    scanned: list[str]  # tables it read through (sequential scans in its transaction)
    error: str | None = None

    def blocks(self, table: str) -> str:
        return MODES[self.locks[table]][1]


def measure(database_name: str, statement: str) -> Measured:
    """Run ``statement`` in a transaction, look at what it took, and roll it back: the
    database is as it was, whatever the statement did."""
    engine = database.engine(database_name)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            files = dict(conn.execute(FILES).all())
            scans = dict(conn.execute(SCANS).all())
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(statement)
            except Exception as exc:  # noqa: BLE001  (PostgreSQL's words, as the result)
                said = str(getattr(exc, "orig", exc)).strip().splitlines()
                return Measured(statement, {}, [], [], said[0] if said else type(exc).__name__)
            order = list(MODES)
            held: dict[str, str] = {}
            for table, mode in conn.execute(HELD).all():
                if order.index(mode) >= order.index(held.get(table, mode)):
                    held[table] = mode
            after = dict(conn.execute(FILES).all())
            scanned = [t for t, n in conn.execute(SCANS).all() if n > scans.get(t, 0)]
            transaction.rollback()
    finally:
        engine.dispose()
    rewrote = [t for t in files if after.get(t) != files[t]]
    return Measured(statement, dict(sorted(held.items())), sorted(rewrote), sorted(scanned))


def show_measured(database_name: str, statements: dict[str, str]) -> None:
    """Measure each statement, and print what it took: one line a statement."""
    lines = [("statement", "lock taken", "stops the app's", "rewrites", "reads every row of")]
    for label, statement in statements.items():
        found = measure(database_name, statement)
        if found.error:
            lines.append((label, f"failed: {found.error}", "", "", ""))
            continue
        modes = sorted(set(found.locks.values()), key=list(MODES).index)
        taken = "; ".join(
            f"{', '.join(t for t, m in found.locks.items() if m == mode)} {MODES[mode][0]}"
            for mode in modes
        )
        stops = MODES[modes[-1]][1] if modes else "nothing"
        lines.append(
            (
                label,
                taken or "-",
                stops,
                ", ".join(found.rewrote) or "-",
                ", ".join(found.scanned) or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
