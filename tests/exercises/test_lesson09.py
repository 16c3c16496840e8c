"""Lesson 9: testing migrations. The learner's tests are run, on scratch databases, on
copies with a revision planted that they must catch."""

import pytest

from course_app import lessons
from course_app.exercises import lesson09 as ex
from course_app.exercises.checks import reference_file
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    reference,
    replace_function,
    right,
    steps,
    write,
    wrong,
)

ENGINE_LINE = '    engine = engine_from_config(configuration, prefix="sqlalchemy.", poolclass=pool.NullPool)\n'
ENV_FIX = edit(
    "alembic/env.py",
    (
        ENGINE_LINE,
        '    engine = config.attributes.get("connection") or engine_from_config(\n'
        '        configuration, prefix="sqlalchemy.", poolclass=pool.NullPool\n    )\n',
    ),
)
TESTS = write(ex.TESTS, ex.TESTS_SOURCE)
STAIRWAY = write(ex.TESTS, ex.TESTS_SOURCE + ex.STAIRWAY)


def fixed(lesson):
    (lesson.versions / reference_file("0009").name).write_text(reference_file("0009").read_text())


BEFORE = {
    ex.env_takes_the_engine: (),
    ex.builtin_tests: (ENV_FIX,),
    ex.stairway_test: (ENV_FIX, TESTS),
    ex.fixed_downgrade: (ENV_FIX, STAIRWAY),
    ex.ci_job: (ENV_FIX, STAIRWAY, fixed),
}


def prepare(exercise):
    lesson = lessons.start(9)
    lesson.pull()
    for step in BEFORE[exercise]:
        step(lesson)
    return lesson


def learner_tests(body: str):
    return write(ex.TESTS, body)


def stairway(body: str):
    return write(ex.TESTS, ex.TESTS_SOURCE + "\n\ndef test_stairway(alembic_runner):\n" + body)


def workflow(*changes):
    """The lesson's workflow with text changes: a learner's version of it."""
    source = ex.WORKFLOW_SOURCE
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new, 1)
    return write(ex.WORKFLOW, source)


def restart(*more):
    def step(lesson):
        lesson = lessons.start(9)
        lesson.pull()
        for s in more:
            s(lesson)

    return step


E, T, S, F, C = (
    ex.env_takes_the_engine,
    ex.builtin_tests,
    ex.stairway_test,
    ex.fixed_downgrade,
    ex.ci_job,
)
IGNORED = edit(
    "alembic/env.py",
    (ENGINE_LINE, '    handed = config.attributes.get("connection")  # noqa\n' + ENGINE_LINE),
)
AS_CONNECTION = edit(
    "alembic/env.py",
    (
        "    configuration = config.get_section",
        '    handed = config.attributes.get("connection")\n'
        "    if handed is not None:\n"
        "        context.configure(connection=handed, target_metadata=target_metadata)\n"
        "        with context.begin_transaction():\n"
        "            context.run_migrations()\n"
        "        return\n"
        "    configuration = config.get_section",
    ),
)
NO_FALLBACK = edit(
    "alembic/env.py",
    (ENGINE_LINE, '    engine = config.attributes["connection"]\n'),
)
CASES = [
    # -- env.py takes the engine
    wrong(E, "not edited", names="config.attributes", outcome="not attempted"),
    wrong(E, "the attribute read and ignored", IGNORED, names=r"\.env names"),
    wrong(E, "the engine used as a connection", AS_CONNECTION, names="context.configure"),
    wrong(E, "no fallback for %alembic", NO_FALLBACK, names="no longer without one"),
    wrong(
        E,
        "a syntax error in env.py",
        edit(
            "alembic/env.py",
            (ENGINE_LINE, ENGINE_LINE + '    x = config.attributes["connection"\n'),
        ),
        names="env.py",
    ),
    right(
        E,
        "an if / else, as Alembic's cookbook",
        edit(
            "alembic/env.py",
            (
                ENGINE_LINE,
                '    engine = config.attributes.get("connection", None)\n'
                "    if engine is None:\n"
                "    " + ENGINE_LINE,
            ),
        ),
    ),
    reference(E, ENV_FIX),
    # -- the built-in tests
    wrong(T, "no test file", names="no tests/test_migrations.py", outcome="not attempted"),
    wrong(
        T,
        "two of the four",
        learner_tests("from pytest_alembic.tests import test_single_head_revision, test_upgrade\n"),
        names="test_model_definitions_match_ddl",
    ),
    wrong(
        T,
        "tests of its own that always pass",
        learner_tests("".join(f"def {t}():\n    pass\n\n\n" for t in ex.BUILT_IN)),
        names="passes on a copy",
    ),
    wrong(
        T,
        "a syntax error",
        learner_tests("from pytest_alembic.tests import (\n"),
        names="collected no test",
    ),
    wrong(T, "env.py not fixed", restart(TESTS), names="env_takes_the_engine"),
    wrong(
        T,
        "a file pytest does not collect",
        steps(write("tests/migrations.py", ex.TESTS_SOURCE)),
        names="no tests/test_migrations.py",
    ),
    right(
        T,
        "one per line, and a test of its own",
        learner_tests(
            "".join(
                f"from pytest_alembic.tests import {t}  # noqa: F401\n"
                for t in reversed(ex.BUILT_IN)
            )
            + "\n\ndef test_history_has_revisions(alembic_runner):\n"
            "    assert len(alembic_runner.history.revisions) > 1\n"
        ),
    ),
    reference(T, TESTS),
    # -- the stairway
    wrong(S, "none written", names="stairway", outcome="not attempted"),
    wrong(
        S,
        "up only",
        stairway(
            "    for revision in alembic_runner.history.revisions[1:]:\n        alembic_runner.migrate_up_to(revision)\n"
        ),
        names="passes on the teammate's 0009",
    ),
    right(
        S,
        "up and down, then on to the next: its upgrade runs the one before again",
        stairway(
            "    for revision in alembic_runner.history.revisions[1:]:\n"
            "        alembic_runner.migrate_up_to(revision)\n"
            "        alembic_runner.migrate_down_one()\n"
        ),
    ),
    wrong(
        S,
        "all the way up, all the way down",
        stairway(
            '    alembic_runner.migrate_up_to("heads")\n    alembic_runner.migrate_down_to("base")\n'
        ),
        names="passes on the teammate's 0009",
    ),
    wrong(S, "a test that always fails", stairway("    assert False\n"), names="all right too"),
    wrong(S, "env.py not fixed", restart(STAIRWAY), names="env_takes_the_engine"),
    wrong(
        S,
        "migrate_up_one as many times as there are revisions",
        stairway(
            "    for _ in alembic_runner.history.revisions[1:]:\n"
            "        alembic_runner.migrate_up_one()\n"
            "        alembic_runner.migrate_down_one()\n"
            "        alembic_runner.migrate_up_one()\n"
        ),
        names="passes on the teammate's 0009",
    ),
    wrong(
        S,
        "only the head, up, down and up",
        stairway(
            '    alembic_runner.migrate_up_to("heads")\n'
            "    alembic_runner.migrate_down_one()\n"
            "    alembic_runner.migrate_up_one()\n"
        ),
        names="0004",
    ),
    reference(S, STAIRWAY),
    # -- the downgrade fixed
    wrong(F, "left as pulled", names="does not undo"),
    wrong(
        F,
        "downgrade() emptied",
        replace_function("0009_*.py", "downgrade", "pass"),
        names="does not undo",
    ),
    wrong(
        F,
        "the column name misspelled",
        replace_function(
            "0009_*.py",
            "downgrade",
            'op.drop_index(op.f("ix_posts_summary"), table_name="posts")\nop.drop_column("posts", "sumary")',
        ),
        names="fails on a copy",
    ),
    wrong(
        F,
        "the index taken out of upgrade() instead",
        replace_function(
            "0009_*.py",
            "upgrade",
            'op.add_column("posts", sa.Column("summary", sa.String(length=280), nullable=True))',
        ),
        names="Change only downgrade",
    ),
    wrong(
        F,
        "down_revision moved",
        edit("alembic/versions/0009_add_summary_to_posts.py", ('= "0008"', '= "0007"')),
        names="down_revision",
    ),
    right(
        F,
        "the column only: PostgreSQL drops its index with it",
        replace_function("0009_*.py", "downgrade", 'op.drop_column("posts", "summary")'),
    ),
    right(
        F,
        "the index by its name as a string",
        replace_function(
            "0009_*.py",
            "downgrade",
            'op.drop_index("ix_posts_summary", table_name="posts")\nop.drop_column("posts", "summary")',
        ),
    ),
    reference(F, fixed),
    # -- the CI job
    wrong(C, "no workflow", names="no .github/workflows/migrations.yml", outcome="not attempted"),
    wrong(
        C,
        "no PostgreSQL service",
        workflow(
            (
                "    services:\n      postgres:\n        image: postgres:18\n",
                "    services:\n      redis:\n        image: redis:7\n",
            )
        ),
        names="no PostgreSQL service",
    ),
    wrong(
        C,
        "the URL's password is not the service's",
        workflow(
            (
                "TEST_DATABASE_URL: postgresql+psycopg2://postgres:postgres@",
                "TEST_DATABASE_URL: postgresql+psycopg2://postgres:secret@",
            )
        ),
        names="password",
    ),
    wrong(
        C,
        "no APP_DATABASE_URL: CI has no .env",
        workflow(
            (
                "      APP_DATABASE_URL: postgresql+psycopg2://postgres:postgres@localhost:5432/postgres\n",
                "",
            )
        ),
        names="APP_DATABASE_URL",
    ),
    wrong(
        C,
        "no checkout",
        workflow(("      - uses: actions/checkout@v5\n", "")),
        names="checks the code out",
    ),
    wrong(C, "a tab in the YAML", workflow(("    runs-on:", "\truns-on:")), names="line"),
    wrong(
        C,
        "it migrates instead of testing",
        workflow(("      - run: python -m pytest\n", "      - run: alembic upgrade head\n")),
        names="runs pytest",
    ),
    wrong(
        C,
        "the port not published",
        workflow(("        ports:\n          - 5432:5432\n", "")),
        names="port",
    ),
    right(
        C,
        "the URLs on the step, pytest on PATH, 127.0.0.1",
        workflow(
            ("    env:\n      # No .env", "    x-notes:\n      # No .env"),
            (
                "      - run: python -m pytest\n",
                "      - run: pytest -q\n        env:\n"
                "          APP_DATABASE_URL: postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres\n"
                "          TEST_DATABASE_URL: postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres\n",
            ),
        ),
    ),
    wrong(
        C, "no trigger", workflow(("on: [push, pull_request]\n", "")), names="push or pull_request"
    ),
    wrong(
        C,
        "manual runs only",
        workflow(("on: [push, pull_request]", "on: workflow_dispatch")),
        names="push or pull_request",
    ),
    wrong(
        C,
        "a bare port: a random one on the machine",
        workflow(("- 5432:5432", "- 5432")),
        names="random",
    ),
    wrong(
        C,
        "no password for the service",
        workflow(
            ("        env:\n          POSTGRES_PASSWORD: postgres\n", ""),
            ("postgres:postgres@localhost", "postgres@localhost"),
            ("postgres:postgres@localhost", "postgres@localhost"),
        ),
        names="POSTGRES_PASSWORD",
    ),
    wrong(
        C,
        "pytest before the install",
        workflow(
            (
                "      - run: python -m pip install -r requirements.txt\n      - run: python -m pytest\n",
                "      - run: python -m pytest\n      - run: python -m pip install -r requirements.txt\n",
            )
        ),
        names="before the step",
    ),
    wrong(
        C,
        "a misspelt requirements file",
        workflow(("-r requirements.txt", "-r requirement.txt")),
        names="no requirement.txt",
    ),
    wrong(
        C,
        "failures allowed",
        workflow(
            (
                "      - run: python -m pytest\n",
                "      - run: python -m pytest\n        continue-on-error: true\n",
            )
        ),
        names="continue-on-error",
    ),
    right(
        C,
        "a container job, the service reached by its name",
        workflow(
            ("    timeout-minutes: 10\n", "    timeout-minutes: 10\n    container: python:3.12\n"),
            ("postgres:postgres@localhost:5432", "postgres:postgres@postgres:5432"),
            ("postgres:postgres@localhost:5432", "postgres:postgres@postgres:5432"),
        ),
    ),
    reference(C, write(ex.WORKFLOW, ex.WORKFLOW_SOURCE)),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


# apply() from the mistakes that leave the most behind: each apply() and check here runs
# the lesson's checks again, so not from every mistake, and the suite stays within its time.
WORST = (
    "the engine used as a connection",
    "tests of its own that always pass",
    "up only",
    "the index taken out of upgrade() instead",
    "a tab in the YAML",
)
APPLY_FROM = [c for c in CASES if c.kind == "wrong" and c.what in WORST]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks_from_the_worst_mistakes(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
