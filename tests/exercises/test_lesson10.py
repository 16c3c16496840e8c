"""Lesson 10: deploying. The SQL file is run, the prediction measured, the lock raced."""

import subprocess
import sys

import pytest

from course_app import lessons
from course_app.exercises import lesson10 as ex
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    reference,
    right,
    wrong,
)


def prepare(exercise):
    return lessons.start(10)


def sql(*argv: str, transform=lambda text: text):
    """The SQL `alembic ARGV` prints, written to the lesson's file (after ``transform``)."""

    def step(lesson):
        ran = subprocess.run(
            [sys.executable, "-m", "alembic", *argv],
            cwd=lesson.path,
            capture_output=True,
            text=True,
        )
        (lesson.path / ex.SQL_FILE).write_text(transform(ran.stdout))

    return step


LOCK_LINE = '            connection.execute(text("SELECT pg_advisory_xact_lock(20261201)"))\n'
RUN = "        with context.begin_transaction():\n            context.run_migrations()\n\n\nif"
IMPORT = (
    "from sqlalchemy import engine_from_config, pool",
    "from sqlalchemy import engine_from_config, pool, text",
)


def env_with(block: str, *more):
    return edit("alembic/env.py", IMPORT, (RUN, block + "\n\n\nif"), *more)


S, W, M = ex.sql_for_the_dba, ex.where_it_stops, ex.one_migrator
CASES = [
    # -- the SQL file
    wrong(S, "no file", names=ex.SQL_FILE, outcome="not attempted"),
    wrong(
        S,
        "from 0001: the range starts before the database",
        sql("upgrade", "0001:0005", "--sql"),
        names="fails on a database at 0002",
    ),
    wrong(S, "to 0004 only", sql("upgrade", "0002:0004", "--sql"), names="not at 0005"),
    wrong(
        S,
        "from base, no range",
        sql("upgrade", "0005", "--sql"),
        names="fails on a database at 0002",
    ),
    wrong(S, "the output of another command", sql("history"), names="alembic_version"),
    wrong(
        S,
        "the votes table cut out by hand",
        sql(
            "upgrade",
            "0002:0005",
            "--sql",
            transform=lambda t: (
                t[: t.index("CREATE TABLE votes")]
                + t[t.index("UPDATE alembic_version SET version_num='0005'") :]
            ),
        ),
        names="votes",
    ),
    right(
        S,
        "without its comments",
        sql(
            "upgrade",
            "0002:0005",
            "--sql",
            transform=lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("--")),
        ),
    ),
    wrong(
        S,
        "a DELETE before the upgrade",
        sql("upgrade", "0002:0005", "--sql", transform=lambda t: "DELETE FROM posts;\n" + t),
        names="rows",
    ),
    reference(S, sql("upgrade", "0002:0005", "--sql")),
    # -- where it stops
    wrong(W, "both keep what ran", lambda lesson: None, "0002", "0002", names="different places"),
    wrong(W, "both at base", lambda lesson: None, None, None, names="different places"),
    wrong(W, "the other way round", lambda lesson: None, "0002", None, names="rolls back"),
    wrong(
        W,
        "the failing one counted as applied",
        lambda lesson: None,
        None,
        "0003",
        names="0003 itself rolled back",
    ),
    wrong(W, "a number", lambda lesson: None, None, 2, names="string"),
    right(W, "base by name", lambda lesson: None, "base", "0002"),
    right(W, "None in quotes, like the ids", lambda lesson: None, "None", "0002"),
    wrong(W, "an empty string", lambda lesson: None, "", "0002", names="not a revision id"),
    reference(W, lambda lesson: None, None, "0002"),
    # -- one migrator
    wrong(M, "no lock", names="advisory lock", outcome="not attempted"),
    wrong(
        M,
        "a try-lock that does not wait",
        env_with(
            RUN.removesuffix("\n\n\nif").replace(
                "            context.run_migrations()",
                LOCK_LINE.replace("pg_advisory_xact_lock", "pg_try_advisory_xact_lock")
                + "            context.run_migrations()",
            )
        ),
        names="one failed",
    ),
    wrong(
        M,
        "the lock after the migrations",
        env_with(RUN.removesuffix("\n\n\nif") + "\n" + LOCK_LINE),
        names="one failed",
    ),
    wrong(
        M,
        "a different number in each process",
        env_with(
            RUN.removesuffix("\n\n\nif").replace(
                "            context.run_migrations()",
                "            connection.execute(text(f\"SELECT pg_advisory_xact_lock({__import__('os').getpid()})\"))\n            context.run_migrations()",
            )
        ),
        names="one failed",
    ),
    wrong(
        M,
        "the lock in offline mode only",
        edit(
            "alembic/env.py",
            IMPORT,
            (
                "        compare_type=True,\n    )\n    with context.begin_transaction():\n        context.run_migrations()",
                "        compare_type=True,\n    )\n    with context.begin_transaction():\n"
                '        context.execute("SELECT pg_advisory_xact_lock(20261201)")\n        context.run_migrations()',
            ),
        ),
        names="one failed",
    ),
    right(
        M,
        "a session lock around the transaction",
        env_with(
            '        connection.execute(text("SELECT pg_advisory_lock(20261201)"))\n'
            + RUN.removesuffix("\n\n\nif")
            + '\n        connection.execute(text("SELECT pg_advisory_unlock(20261201)"))'
        ),
    ),
    wrong(
        M,
        "a session lock on a second engine, never released",
        edit(
            "alembic/env.py",
            IMPORT,
            (
                "    with engine.connect() as connection:\n",
                "    from sqlalchemy import create_engine\n"
                "    locker = create_engine(settings.database_url).connect()\n"
                '    locker.execute(text("SELECT pg_advisory_lock(7)"))\n'
                "    locker.commit()\n"
                "    with engine.connect() as connection:\n",
            ),
        ),
        names="outlives",
    ),
    wrong(
        M,
        "the xact lock with a transaction per revision: released at the first commit",
        env_with(
            RUN.removesuffix("\n\n\nif").replace(
                "            context.run_migrations()",
                LOCK_LINE + "            context.run_migrations()",
            ),
            (
                "compare_type=True)\n        with",
                "compare_type=True, transaction_per_migration=True)\n        with",
            ),
        ),
        names="one failed",
    ),
    wrong(
        M,
        "a table lock on alembic_version instead: there is none on a first deploy",
        env_with(
            RUN.removesuffix("\n\n\nif").replace(
                "            context.run_migrations()",
                "            # no advisory lock needed\n"
                '            connection.execute(text("LOCK TABLE alembic_version IN EXCLUSIVE MODE"))\n'
                "            context.run_migrations()",
            )
        ),
        names="one failed",
    ),
    wrong(
        M,
        "a try-lock, and the second replica skips migrating",
        env_with(
            "        with context.begin_transaction():\n"
            '            if not connection.execute(text("SELECT pg_try_advisory_xact_lock(42)")).scalar():\n'
            "                return\n"
            "            context.run_migrations()"
        ),
        names="exited at once",
    ),
    wrong(
        M,
        "a session lock let go before the commit",
        env_with(
            "        with context.begin_transaction():\n"
            '            connection.execute(text("SELECT pg_advisory_lock(42)"))\n'
            "            try:\n"
            "                context.run_migrations()\n"
            "            finally:\n"
            '                connection.execute(text("SELECT pg_advisory_unlock(42)"))'
        ),
        names="one failed",
    ),
    right(
        M,
        "a try-lock polled until it is free",
        env_with(
            "        with context.begin_transaction():\n"
            '            while not connection.execute(text("SELECT pg_try_advisory_xact_lock(42)")).scalar():\n'
            "                __import__('time').sleep(0.2)\n"
            "            context.run_migrations()"
        ),
    ),
    reference(M, lambda lesson: ex._write_lock(lesson)),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


APPLY_FROM = [
    c
    for c in CASES
    if c.kind == "wrong"
    and c.what in ("to 0004 only", "the other way round", "the lock after the migrations")
]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
