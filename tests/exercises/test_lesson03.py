"""Lesson 3: the first revision by hand, heads and current, autogenerate writes a script."""

import pytest

from course_app import lessons
from course_app.exercises import lesson03 as ex
from tests.exercises.catalogue import (
    alembic,
    assert_case,
    copy_reference,
    edit,
    ids,
    reference,
    revision_with,
    right,
    steps,
    wrong,
)

CREATE = """    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )"""
CONTENT = (
    "    title: Mapped[str] = mapped_column(String, nullable=False)\n",
    "    title: Mapped[str] = mapped_column(String, nullable=False)\n"
    "    content: Mapped[str | None] = mapped_column(String)\n",
)


def prepare(exercise):
    lesson = lessons.start(3)
    if exercise is ex.create_posts:
        return lesson
    copy_reference("0001")(lesson)
    alembic("upgrade", "0001")(lesson)
    alembic("revision", "-m", "add content column", "--rev-id", "0002")(lesson)
    if exercise is ex.columns_now:
        alembic("upgrade", "head")(lesson)
        edit("app/models.py", CONTENT)(lesson)
        alembic("revision", "--autogenerate", "-m", "add content", "--rev-id", "0003")(lesson)
    return lesson


def stray_first_try(lesson):
    """`revision` without --rev-id first (a random id), then the cell with --rev-id 0001."""
    alembic("revision", "-m", "create posts table")(lesson)
    copy_reference("0001")(lesson)


P, D, U, C = ex.create_posts, ex.db_revision, ex.upgrade_head, ex.columns_now
CASES = [
    wrong(
        P,
        "create_all instead of a migration",
        revision_with(
            "0001",
            (
                CREATE,
                "    from app.models import Base\n\n    Base.metadata.create_all(op.get_bind())",
            ),
        ),
        names=r"0001_create_posts_table\.py, line \d+",
    ),
    wrong(
        P,
        "title nullable",
        revision_with(
            "0001",
            (
                'sa.Column("title", sa.String(), nullable=False)',
                'sa.Column("title", sa.String(), nullable=True)',
            ),
        ),
        names="posts.title",
    ),
    wrong(
        P,
        "downgrade does nothing",
        revision_with("0001", ('    op.drop_table("posts")', "    pass")),
        names="downgrade",
    ),
    wrong(
        P,
        "no primary key",
        revision_with(
            "0001", ('        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),\n', "")
        ),
        names="primary key of posts",
    ),
    wrong(P, "a stray first try without --rev-id", stray_first_try, names=r"stray"),
    wrong(
        P,
        "a syntax error",
        revision_with("0001", ('op.drop_table("posts")', 'op.drop_table("posts"')),
        names=r"0001_create_posts_table\.py, line \d+",
    ),
    wrong(
        P,
        "sa.column, lower case",
        revision_with(
            "0001",
            (
                'sa.Column("id", sa.Integer(), nullable=False)',
                'sa.column("id", sa.Integer(), nullable=False)',
            ),
        ),
        names=r"0001_create_posts_table\.py, line \d+",
    ),
    wrong(
        P,
        "the table called post",
        revision_with(
            "0001", ('"posts",\n', '"post",\n'), ('op.drop_table("posts")', 'op.drop_table("post")')
        ),
        names="posts",
    ),
    wrong(
        P,
        "id as a string",
        revision_with(
            "0001",
            (
                'sa.Column("id", sa.Integer(), nullable=False)',
                'sa.Column("id", sa.String(), nullable=False)',
            ),
        ),
        names="posts.id",
    ),
    wrong(
        P,
        "no downgrade() at all",
        revision_with("0001", ('def downgrade() -> None:\n    op.drop_table("posts")\n', "")),
        names="no downgrade",
    ),
    wrong(
        P,
        "a typo in down_revision",
        revision_with(
            "0001",
            (
                "down_revision: str | Sequence[str] | None = None",
                'down_revision: str | Sequence[str] | None = "0000"',
            ),
        ),
        names=r"0001_create_posts_table\.py, line \d+",
    ),
    wrong(
        P,
        "still the empty template",
        alembic("revision", "-m", "create posts table", "--rev-id", "0001"),
        names="empty",
        outcome="not attempted",
    ),
    right(
        P,
        "primary_key=True on the column",
        revision_with(
            "0001",
            (
                CREATE,
                '    op.create_table(\n        "posts",\n        sa.Column("id", sa.Integer(), primary_key=True),\n        sa.Column("title", sa.String(), nullable=False),\n    )',
            ),
        ),
    ),
    right(
        P,
        "VARCHAR and type classes",
        revision_with(
            "0001",
            (
                'sa.Column("id", sa.Integer(), nullable=False)',
                'sa.Column("id", sa.Integer, nullable=False)',
            ),
            ("sa.String()", "sa.VARCHAR()"),
        ),
    ),
    right(
        P,
        "columns in another order",
        revision_with(
            "0001",
            (
                '        sa.Column("id", sa.Integer(), nullable=False),\n        sa.Column("title", sa.String(), nullable=False),\n',
                '        sa.Column("title", sa.String(), nullable=False),\n        sa.Column("id", sa.Integer(), nullable=False),\n',
            ),
        ),
    ),
    wrong(
        P,
        "an extra expression index",
        revision_with(
            "0001",
            (
                CREATE,
                CREATE
                + '\n    op.execute("CREATE INDEX ix_posts_title_lower ON posts (lower(title))")',
            ),
        ),
        names="ix_posts_title_lower",
    ),
    wrong(
        P,
        "downgrade through the models",
        revision_with(
            "0001",
            (
                '    op.drop_table("posts")',
                "    from app.models import Base\n\n    Base.metadata.drop_all(op.get_bind())",
            ),
        ),
        names=r"0001_create_posts_table\.py, line \d+",
    ),
    reference(P, copy_reference("0001")),
    wrong(D, "what heads says", lambda lesson: None, "0002", names="heads"),
    wrong(D, "head", lambda lesson: None, "head", names="head"),
    wrong(D, "a number", lambda lesson: None, 1, names="strings.*leading zeros"),
    wrong(D, "a revision that does not exist", lambda lesson: None, "0003", names="current"),
    wrong(D, "base", lambda lesson: None, "base", names="current"),
    right(D, "with spaces", lambda lesson: None, " 0001 "),
    right(D, "after upgrading, the new revision", alembic("upgrade", "head"), "0002"),
    reference(D, lambda lesson: None, "0001"),
    wrong(
        U,
        "stamp head on an empty database",
        steps(alembic("downgrade", "base"), alembic("stamp", "head")),
        names="stamp",
    ),
    wrong(
        U, "upgrade 0001 only", lambda lesson: None, names="head is 0002", outcome="not attempted"
    ),
    wrong(
        U, "downgraded to base", alembic("downgrade", "base"), names="base", outcome="not attempted"
    ),
    wrong(
        U,
        "a second try without --rev-id left behind",
        steps(alembic("revision", "-m", "add content column"), alembic("upgrade", "head")),
        names="stray",
    ),
    wrong(
        U,
        "a table dropped by hand",
        steps(alembic("upgrade", "head"), lambda lesson: lesson.query("DROP TABLE posts")),
        names="stamp",
    ),
    right(U, "upgrade +1", alembic("upgrade", "+1")),
    right(U, "upgrade 0002", alembic("upgrade", "0002")),
    wrong(
        U,
        "0002 deleted so that 0001 is head",
        lambda lesson: [p.unlink() for p in lesson.versions.glob("0002_*.py")],
        names="0002",
    ),
    reference(U, alembic("upgrade", "head")),
    wrong(
        C,
        "the model's columns",
        lambda lesson: None,
        ["id", "title", "content"],
        names="did not touch",
    ),
    wrong(C, "one string", lambda lesson: None, "id, title", names="list"),
    wrong(C, "one column", lambda lesson: None, ["id"], names="columns"),
    wrong(C, "the table", lambda lesson: None, ["posts"], names="columns"),
    right(C, "another order", lambda lesson: None, ("title", "id")),
    right(
        C,
        "after upgrading, the new columns",
        alembic("upgrade", "head"),
        ["id", "title", "content"],
    ),
    reference(C, lambda lesson: None, ["id", "title"]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
