"""Lesson 12: locks you can watch. Every check plays the scene: a reader, the migration, the app."""

import pytest

from course_app import lessons
from course_app.exercises import lesson12 as ex
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    reference,
    right,
    write,
    wrong,
)


def prepare(exercise):
    lesson = lessons.start(12)
    if exercise is ex.retries:
        ex.fails_fast.apply()
    return lesson


RUN = "        with context.begin_transaction():\n            context.run_migrations()\n\n\nif"
IMPORT = (
    "from sqlalchemy import engine_from_config, pool",
    "from sqlalchemy import engine_from_config, pool, text",
)
SET = "            connection.execute(text(\"SET LOCAL lock_timeout = '500ms'\"))\n"


def inside(line: str):
    """env.py with ``line`` inside the migration's transaction, before run_migrations()."""
    return edit(
        "alembic/env.py",
        IMPORT,
        (
            RUN,
            RUN.replace(
                "            context.run_migrations()",
                line + "            context.run_migrations()",
            ),
        ),
    )


def before_configure(line: str):
    """env.py with ``line`` run on the connection before context.configure()."""
    return edit(
        "alembic/env.py",
        IMPORT,
        (
            "    with engine.connect() as connection:\n",
            "    with engine.connect() as connection:\n" + line,
        ),
    )


def deploy(body: str, imports: str = ""):
    """deploy.py with another migrate() body."""
    return write(
        "deploy.py",
        "import time\n\nfrom alembic import command\nfrom alembic.config import Config\n"
        "from psycopg2.errors import LockNotAvailable\nfrom sqlalchemy.exc import OperationalError\n"
        + imports
        + "\n\ndef migrate() -> None:\n"
        + body
        + '\n\nif __name__ == "__main__":\n    migrate()\n',
    )


UPGRADE = '            command.upgrade(Config("alembic.ini"), "head")\n            return\n'

Q, F, R = ex.queued_behind, ex.fails_fast, ex.retries
CASES = [
    # -- whom the read waits for
    wrong(Q, "the reader", lambda lesson: None, "reader", names="reader holds ACCESS SHARE"),
    wrong(Q, "both", lambda lesson: None, ["reader", "migration"], names="reader"),
    wrong(Q, "nobody", lambda lesson: None, None, names="does wait"),
    wrong(Q, "itself", lambda lesson: None, "app", names="the app is the one waiting"),
    wrong(Q, "the command's name", lambda lesson: None, "alembic", names="none of the sessions"),
    wrong(Q, "a pid", lambda lesson: None, 12345, names="as a string"),
    right(Q, "capitals and a list of one", lambda lesson: None, [" Migration "]),
    right(Q, "the migration, in words", lambda lesson: None, "the migration"),
    wrong(Q, "both, in one string", lambda lesson: None, "reader, migration", names="reader"),
    reference(Q, lambda lesson: None, "migration"),
    # -- lock_timeout in env.py
    wrong(F, "nothing set", names="sets no lock_timeout", outcome="not attempted"),
    wrong(
        F,
        "SET before context.configure(): a transaction Alembic never commits",
        before_configure("        connection.execute(text(\"SET lock_timeout = '500ms'\"))\n"),
        names="did not last",
    ),
    wrong(
        F,
        "statement_timeout instead",
        inside("            connection.execute(text(\"SET LOCAL statement_timeout = '500ms'\"))\n"),
        names="statement_timeout",
    ),
    wrong(
        F,
        "lock_timeout = 0: no timeout at all",
        inside('            connection.execute(text("SET LOCAL lock_timeout = 0"))\n'),
        names="still waited",
    ),
    wrong(
        F,
        "three seconds: the reads wait that long",
        inside("            connection.execute(text(\"SET LOCAL lock_timeout = '3s'\"))\n"),
        names="the app's read waited",
    ),
    wrong(
        F,
        "a typo in the setting's name",
        inside("            connection.execute(text(\"SET LOCAL lock_timout = '500ms'\"))\n"),
        names="nothing in its way.*lock_timout",
    ),
    right(
        F,
        "in the engine's connect options",
        edit(
            "alembic/env.py",
            (
                'engine_from_config(configuration, prefix="sqlalchemy.", poolclass=pool.NullPool)',
                'engine_from_config(\n        configuration, prefix="sqlalchemy.", poolclass=pool.NullPool,\n'
                '        connect_args={"options": "-c lock_timeout=500"},\n    )',
            ),
        ),
    ),
    right(
        F,
        "SET, then commit, before configure",
        before_configure(
            "        connection.execute(text(\"SET lock_timeout = '1s'\"))\n        connection.commit()\n"
        ),
    ),
    reference(F, inside(SET)),
    # -- the retry
    wrong(R, "the starter, untouched", names="does not retry yet", outcome="not attempted"),
    wrong(
        R,
        "catches LockNotAvailable itself: SQLAlchemy wraps it",
        deploy(
            "    for attempt in range(3):\n        try:\n"
            + UPGRADE
            + "        except LockNotAvailable:\n            time.sleep(0.5 * 2**attempt)\n"
            "    raise SystemExit(1)\n"
        ),
        names="OperationalError whose .orig",
    ),
    wrong(
        R,
        "retries every error",
        deploy(
            "    for attempt in range(3):\n        try:\n"
            + UPGRADE
            + "        except Exception:\n            if attempt == 2:\n                raise\n"
            "            time.sleep(0.5 * 2**attempt)\n"
        ),
        names="statement timeout",
    ),
    wrong(
        R,
        "a steady pace, no backoff",
        deploy(
            "    for attempt in range(4):\n        try:\n"
            + UPGRADE
            + "        except OperationalError as exc:\n"
            "            if not isinstance(exc.orig, LockNotAvailable) or attempt == 3:\n"
            "                raise\n            time.sleep(0.5)\n"
        ),
        names="hardly grow",
    ),
    wrong(
        R,
        "gives up quietly: exit 0 at 0009",
        deploy(
            "    for attempt in range(3):\n        try:\n"
            + UPGRADE
            + "        except OperationalError as exc:\n"
            "            if not isinstance(exc.orig, LockNotAvailable):\n                raise\n"
            "            time.sleep(0.5 * 2**attempt)\n"
            '    print("could not migrate, carrying on")\n'
        ),
        names="exited 0",
    ),
    wrong(
        R,
        "swallows a real failure",
        deploy(
            '    try:\n        command.upgrade(Config("alembic.ini"), "head")\n'
            "    except Exception as exc:\n        print(exc)\n"
        ),
        names="did not try again|exits with status 0",
    ),
    wrong(R, "runs nothing", deploy("    pass\n"), names="ran no migration"),
    wrong(
        R,
        "retries every OperationalError, a statement timeout too",
        deploy(
            "    for attempt in range(3):\n        try:\n"
            + UPGRADE
            + "        except OperationalError:\n            if attempt == 2:\n                raise\n"
            "            time.sleep(0.5 * 2**attempt)\n"
        ),
        names="statement timeout",
    ),
    right(
        R,
        "a while loop with a growing pause",
        deploy(
            "    pause, attempts = 0.4, 0\n    while True:\n        attempts += 1\n        try:\n"
            + UPGRADE.replace("            ", "            ")
            + "        except OperationalError as exc:\n"
            "            if not isinstance(exc.orig, LockNotAvailable) or attempts >= 4:\n"
            "                raise\n            time.sleep(pause)\n            pause *= 2\n"
        ),
    ),
    reference(R, lambda lesson: ex.retries.apply()),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


APPLY_FROM = [
    c
    for c in CASES
    if c.kind == "wrong"
    and c.what
    in (
        "SET before context.configure(): a transaction Alembic never commits",
        "retries every error",
    )
]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
