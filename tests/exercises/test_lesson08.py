"""Lesson 8: two developers, two heads. The history is a graph; the database, every row of
alembic_version and the tables."""

import pytest

from course_app import lessons
from course_app.exercises import lesson08 as ex
from tests.exercises.catalogue import (
    alembic,
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    query,
    reference,
    right,
    steps,
    write,
)
from tests.exercises.catalogue import wrong as _wrong

ROWS = steps(
    query("INSERT INTO users (email, password) VALUES ('ada@example.com', 'x')"),
    query("INSERT INTO posts (title, content, owner_id, slug) VALUES ('Hello', 'Hi', 1, 'hello')"),
)
PULL = lambda lesson: lesson.pull()  # noqa: E731
MERGE = alembic("merge", "heads", "-m", "merge bio and slug", "--rev-id", "0008")
BEFORE = {
    ex.two_heads: (PULL,),
    ex.both_heads_applied: (PULL,),
    ex.merge_revision: (PULL, alembic("upgrade", "heads")),
    ex.at_the_merge: (PULL, alembic("upgrade", "heads"), MERGE),
}
MINE = "alembic/versions/0007_add_slug_to_posts.py"
REBASE = edit(
    MINE,
    (
        'down_revision: str | Sequence[str] | None = "0005"',
        'down_revision: str | Sequence[str] | None = "0006"',
    ),
)


def prepare(exercise):
    lesson = lessons.start(8)
    ROWS(lesson)
    for step in BEFORE[exercise]:
        step(lesson)
    return lesson


def fresh(*more):
    """Start over without the cells before the exercise: the learner skipped them."""

    def step(lesson):
        lesson = lessons.start(8)
        ROWS(lesson)
        for s in more:
            s(lesson)

    return step


def wrong(*args, **kw):
    return _wrong(*args, **kw)


def merge_file(down: str, upgrade: str = "pass", rev: str = "0008", name: str | None = None):
    return write(
        f"alembic/versions/{name or rev + '_merge_bio_and_slug.py'}",
        f'"""merge bio and slug"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{rev}"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n'
        f"def upgrade() -> None:\n    {upgrade}\n\n\ndef downgrade() -> None:\n    pass\n",
    )


H, B, M, A = ex.two_heads, ex.both_heads_applied, ex.merge_revision, ex.at_the_merge
CASES = [
    # -- which heads
    wrong(H, "only the learner's own", lambda lesson: None, ["0007"], names="0006 is one too"),
    wrong(
        H,
        "the parent too",
        lambda lesson: None,
        ["0005", "0006", "0007"],
        names="0005 is not a head",
    ),
    wrong(
        H,
        "the merge that is not there yet",
        lambda lesson: None,
        ["0008"],
        names="before the merge",
    ),
    wrong(H, "one string", lambda lesson: None, "0006 0007", names="one string"),
    wrong(H, "numbers", lambda lesson: None, [6, 7], names="strings"),
    wrong(
        H,
        "asked before the pull",
        fresh(),
        ["0006", "0007"],
        names="lesson.pull",
        outcome="not attempted",
    ),
    wrong(H, "the same id twice", lambda lesson: None, ["0006", "0006"], names="twice"),
    right(H, "as alembic heads prints them", lambda lesson: None, ["0007 (head)", "0006 (head)"]),
    right(
        H, "a tuple, after the merge", steps(alembic("upgrade", "heads"), MERGE), ("0006", "0007")
    ),
    reference(H, lambda lesson: None, ["0006", "0007"]),
    # -- upgrade heads
    wrong(B, "not run", names="upgrade heads", outcome="not attempted"),
    wrong(
        B,
        "upgrade head refused, nothing else",
        alembic("upgrade", "head"),
        names="upgrade heads",
        outcome="not attempted",
    ),
    wrong(B, "stamp heads: no bio column", alembic("stamp", "heads"), names="stamp"),
    wrong(
        B,
        "0007 taken back, 0006 run",
        steps(alembic("downgrade", "0005"), alembic("upgrade", "0006")),
        names="0007",
    ),
    wrong(B, "0007 rebased onto 0006", steps(REBASE), names="down_revision"),
    wrong(
        B,
        "the teammate's file deleted after the pull",
        steps(
            alembic("upgrade", "heads"),
            lambda lesson: next(lesson.versions.glob("0006_*.py")).unlink(),
        ),
        names="0006",
    ),
    wrong(
        B,
        "slug dropped by hand",
        steps(alembic("upgrade", "heads"), query("ALTER TABLE posts DROP COLUMN slug")),
        names="slug",
    ),
    wrong(
        B,
        "both run, then stamped back to 0007",
        steps(alembic("upgrade", "heads"), alembic("stamp", "--purge", "0007")),
        names="stamp --purge 0006 0007",
    ),
    wrong(
        B,
        "app/models.py broken, then upgrade heads",
        steps(lambda lesson: (lesson.path / "app" / "models.py").write_text("class Oops(\n")),
        names="upgrade heads",
    ),
    right(B, "upgrade 0006 from 0007", alembic("upgrade", "0006")),
    right(B, "each head by name", steps(alembic("upgrade", "0006"), alembic("upgrade", "0007"))),
    reference(B, alembic("upgrade", "heads")),
    # -- the merge revision
    wrong(M, "no merge yet", names="merge heads", outcome="not attempted"),
    wrong(
        M,
        "a merge without --rev-id",
        alembic("merge", "heads", "-m", "merge bio and slug"),
        names="--rev-id 0008",
    ),
    wrong(
        M,
        "a merge of one head and its parent",
        merge_file('("0005", "0007")'),
        names="not after the two heads",
    ),
    wrong(M, "a revision on one head only", merge_file('"0007"'), names="not after the two heads"),
    wrong(
        M,
        "a merge that adds bio again",
        merge_file('("0006", "0007")', 'op.add_column("users", sa.Column("bio", sa.Text()))'),
        names="0008",
    ),
    wrong(
        M,
        "a merge that creates the tables from the models",
        merge_file(
            '("0006", "0007")',
            "from app.models import Base; Base.metadata.create_all(op.get_bind())",
        ),
        names="0008",
    ),
    wrong(
        M, "two merges", steps(MERGE, merge_file('("0006", "0007")', rev="0009")), names="keep one"
    ),
    wrong(M, "0007 rebased instead of merged", REBASE, names="down_revision"),
    wrong(
        M,
        "a merge that deletes rows",
        merge_file('("0006", "0007")', 'op.execute("DELETE FROM posts")'),
        names="posts",
    ),
    wrong(
        M,
        "a merge that changes a column's values and adds a view",
        merge_file(
            '("0006", "0007")',
            "op.execute(\"UPDATE users SET bio = 'hacked'\"); op.execute('CREATE VIEW v AS SELECT 1 AS x')",
        ),
        names="bio|view",
    ),
    wrong(M, "the merge cell run twice", steps(MERGE, MERGE), names=r'\("0006", "0007"\)'),
    wrong(
        M,
        "a revision after the merge",
        steps(
            MERGE,
            alembic("upgrade", "head"),
            alembic("revision", "-m", "add tags", "--rev-id", "0009"),
        ),
        names="not part of this lesson",
    ),
    right(M, "parents the other way round", merge_file('("0007", "0006")')),
    right(
        M,
        "a merge by hand with another message",
        merge_file('("0006", "0007")', name="0008_merge.py"),
    ),
    reference(M, MERGE),
    # -- at the merge
    wrong(A, "still at two heads", names="upgrade head", outcome="not attempted"),
    wrong(
        A,
        "stamped to the merge from 0007",
        steps(
            alembic("downgrade", "0005"),
            alembic("upgrade", "0007"),
            alembic("stamp", "--purge", "0008"),
        ),
        names="stamp",
    ),
    wrong(
        A,
        "a second row by hand",
        steps(alembic("upgrade", "head"), query("INSERT INTO alembic_version VALUES ('0006')")),
        names="stamp --purge 0008",
    ),
    wrong(
        A,
        "the merge deleted after it ran",
        steps(
            alembic("upgrade", "head"),
            lambda lesson: next(lesson.versions.glob("0008_*.py")).unlink(),
        ),
        names="0008",
    ),
    wrong(
        A,
        "bio dropped by hand",
        steps(alembic("upgrade", "head"), query("ALTER TABLE users DROP COLUMN bio")),
        names="bio",
    ),
    wrong(
        A,
        "the merge's down_revision cut to one head after it ran",
        steps(
            alembic("upgrade", "head"),
            edit("alembic/versions/0008_merge_bio_and_slug.py", ('("0006", "0007")', '"0007"')),
        ),
        names="not after the two heads",
    ),
    right(A, "stamped once both heads ran: a merge runs nothing", alembic("stamp", "0008")),
    wrong(
        A,
        "a merge without --rev-id ran, was deleted, and 0008 written",
        steps(
            lambda lesson: next(lesson.versions.glob("0008_*.py")).unlink(),
            alembic("merge", "heads", "-m", "merge"),
            alembic("upgrade", "head"),
            lambda lesson: [p.unlink() for p in lesson.versions.glob("*_merge.py")],
            MERGE,
        ),
        names="stamp --purge 0006 0007",
    ),
    wrong(
        A,
        "the teammate's model taken out of app/models.py",
        steps(
            alembic("upgrade", "head"),
            edit("app/models.py", ("    bio: Mapped[str | None] = mapped_column(Text)\n", "")),
        ),
        names="app/models.py",
    ),
    right(A, "upgrade 0008 by id", alembic("upgrade", "0008")),
    reference(A, alembic("upgrade", "head")),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


# apply() from the mistakes that leave the most behind: each apply() and check here runs
# the lesson's checks again, so not from every mistake, and the suite stays within its time.
WORST = (
    "asked before the pull",
    "0007 rebased onto 0006",
    "the teammate's file deleted after the pull",
    "both run, then stamped back to 0007",
    "app/models.py broken, then upgrade heads",
    "a merge without --rev-id",
    "a merge that adds bio again",
    "a merge that deletes rows",
    "the merge cell run twice",
    "a revision after the merge",
    "a second row by hand",
    "the merge deleted after it ran",
    "a merge without --rev-id ran, was deleted, and 0008 written",
    "the teammate's model taken out of app/models.py",
)
APPLY_FROM = [c for c in CASES if c.kind == "wrong" and c.what in WORST]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks_from_the_worst_mistakes(case, capsys):
    """From each, apply() puts it right; the learner's rows are still there."""
    said = assert_apply_unblocks(case, prepare, capsys)
    assert lessons.current().query("SELECT count(*) FROM posts") == [(1,)], said
