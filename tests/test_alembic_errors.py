"""Alembic's failures, explained under its own line by %alembic: file, line, fix."""

import re

import pytest

from course_app import lessons, magics
from tests.exercises.catalogue import copy_reference, query, revision_with


def _run(lesson, argv, capfd):
    capfd.readouterr()
    status = magics.run(argv, lesson.path, version=lesson.version)
    out, err = capfd.readouterr()
    return status, out + err


def _help(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("help: ")]
    assert len(lines) == 1, output
    return lines[0]


SCENARIOS = [
    (
        "a missing downgrade",
        [revision_with("0002", ("def downgrade() -> None:", "def downgrade_() -> None:"))],
        ["upgrade", "head", "&&", "downgrade", "-1"],
        r"alembic/versions/0002_add_post_columns\.py has no downgrade\(\)",
    ),
    (
        "a typo in down_revision",
        [
            revision_with(
                "0002",
                (
                    'down_revision: str | Sequence[str] | None = "0001"',
                    'down_revision: str | Sequence[str] | None = "001"',
                ),
            )
        ],
        ["upgrade", "head"],
        r'0002_add_post_columns\.py, line 16: down_revision = "001" names no revision.*"0001"',
    ),
    (
        "two heads",
        [
            copy_reference("0002"),
            revision_with(
                "0003",
                (
                    'down_revision: str | Sequence[str] | None = "0002"',
                    'down_revision: str | Sequence[str] | None = "0001"',
                ),
            ),
        ],
        ["upgrade", "head"],
        r"Two heads: 0002 .* and 0003 .*merge heads",
    ),
    (
        "a stray file",
        [lambda lesson: (lesson.versions / "notes.py").write_text("x = 1\n")],
        ["upgrade", "head"],
        r"alembic/versions/notes\.py is not a revision",
    ),
    (
        "not up to date",
        [copy_reference("0002")],
        ["revision", "--autogenerate", "-m", "x"],
        r"The database is at 0001, and 0002 \(alembic/versions/0002_add_post_columns\.py\) is not applied yet",
    ),
    (
        "a revision the database names but no file has",
        [query("UPDATE alembic_version SET version_num = '0777'")],
        ["upgrade", "head"],
        r"alembic_version says the database is at 0777, but no file .*stamp --purge",
    ),
    (
        "an id that does not exist",
        [],
        ["upgrade", "nope"],
        r"There is no revision 'nope' in alembic/versions/ \(revisions there: 0001\)",
    ),
    (
        "NOT NULL on a table with rows",
        [
            query("INSERT INTO posts (title) VALUES ('a')"),
            revision_with("0002", ("nullable=True))", "nullable=False))")),
        ],
        ["upgrade", "head"],
        r"posts already has rows, and the new NOT NULL column posts\.content",
    ),
]


@pytest.mark.parametrize("what, setup, argv, said", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_alembics_line_stays_and_the_help_line_names_the_file_and_fix(
    what, setup, argv, said, capfd
):
    lesson = lessons.start(4)
    for step in setup:
        step(lesson)
    commands = [c.split() for c in " ".join(argv).split(" && ")]
    for command in commands[:-1]:
        _run(lesson, command, capfd)
    status, output = _run(lesson, commands[-1], capfd)
    assert status == 1
    assert re.search(r"^(FAILED|ERROR): ", output, re.M), output  # Alembic's own line
    assert re.search(said, _help(output)), _help(output)
    assert "Traceback" not in output


def test_a_revision_cell_run_again_keeps_the_file(capfd):
    lesson = lessons.start(4)
    copy_reference("0002", "0003")(lesson)
    path = next(lesson.versions.glob("0002_*.py"))
    before = path.read_text()
    status, output = _run(lesson, ["revision", "-m", "add post columns", "--rev-id", "0002"], capfd)
    assert status == 0 and path.read_text() == before
    assert output.startswith("alembic/versions/0002_add_post_columns.py exists already: kept it")
    status, output = _run(lesson, ["upgrade", "head"], capfd)
    assert status == 0, output


def test_alembic_check_names_each_difference_in_words(capfd):
    lesson = lessons.start(6)
    lesson.query("ALTER TABLE posts ALTER COLUMN created_at TYPE timestamp")
    status, output = _run(lesson, ["check"], capfd)
    assert status == 1
    assert _help(output).startswith(
        "help: The models and the database differ: posts.created_at: TIMESTAMP WITH TIME ZONE in "
        "the models, TIMESTAMP WITHOUT TIME ZONE in the database."
    )


def test_a_warning_is_one_line_without_a_library_path(capfd):
    lesson = lessons.start(4)
    revision_with(
        "0002",
        (
            'down_revision: str | Sequence[str] | None = "0001"',
            'down_revision: str | Sequence[str] | None = "001"',
        ),
    )(lesson)
    _, output = _run(lesson, ["heads"], capfd)
    assert "site-packages" not in output
    assert any(
        line.startswith("WARNING: Revision 001 referenced from") for line in output.splitlines()
    )
