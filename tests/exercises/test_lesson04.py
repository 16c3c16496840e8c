"""Lesson 4: columns, server defaults, users, a foreign key; every revision on a copy with rows."""

import pytest

from course_app import lessons
from course_app.exercises import lesson04 as ex
from tests.exercises.catalogue import (
    alembic,
    assert_case,
    copy_reference,
    ids,
    query,
    reference,
    revision_with,
    right,
    steps,
    wrong,
)

ROWS = query("INSERT INTO posts (title) VALUES ('First post'), ('Second post')")
THREE_STEPS = """    op.add_column("posts", sa.Column("content", sa.String(), nullable=True))
    op.execute("UPDATE posts SET content = '' WHERE content IS NULL")
    op.alter_column("posts", "content", nullable=False)"""
PUBLISHED = 'sa.Column("published", sa.Boolean(), server_default=sa.text("true"), nullable=False)'
BEFORE = {
    ex.add_post_columns: (),
    ex.create_users: ("0002",),
    ex.owner_foreign_key: ("0002", "0003"),
    ex.at_head: ("0002", "0003", "0004"),
}


def prepare(exercise):
    lesson = lessons.start(4)
    ROWS(lesson)
    copy_reference(*BEFORE[exercise])(lesson)
    return lesson


def stray(revision, message):
    """A first try without --rev-id (a random id), then the cell with --rev-id."""

    def step(lesson):
        before = set(lesson.versions.glob("*.py"))
        alembic("revision", "-m", message)(lesson)
        (made,) = set(lesson.versions.glob("*.py")) - before
        copy_reference(revision)(lesson)
        path = next(lesson.versions.glob(f"{revision}_*.py"))
        previous = f'"{int(revision) - 1:04d}"'
        stray_id = made.name.split("_")[0]
        path.write_text(
            path.read_text().replace(
                f"down_revision: str | Sequence[str] | None = {previous}",
                f'down_revision: str | Sequence[str] | None = "{stray_id}"',
            )
        )

    return step


A, U, F, H = ex.add_post_columns, ex.create_users, ex.owner_foreign_key, ex.at_head
CASES = [
    wrong(
        A,
        "a timestamp without time zone",
        revision_with("0002", ("sa.TIMESTAMP(timezone=True)", "sa.DateTime()")),
        names="posts.created_at",
    ),
    wrong(
        A,
        "default= where server_default= is asked",
        revision_with(
            "0002",
            (PUBLISHED, 'sa.Column("published", sa.Boolean(), default=True, nullable=False)'),
        ),
        names="posts.published",
    ),
    wrong(
        A,
        "NOT NULL content straight away",
        revision_with(
            "0002",
            (
                THREE_STEPS,
                '    op.add_column("posts", sa.Column("content", sa.String(), nullable=False))',
            ),
        ),
        names="posts.content",
    ),
    wrong(
        A,
        "downgrade forgets published",
        revision_with("0002", ('    op.drop_column("posts", "published")\n', "")),
        names="published",
    ),
    wrong(
        A,
        "create_all in the upgrade",
        revision_with(
            "0002",
            (
                THREE_STEPS,
                "    from app.models import Base\n\n    Base.metadata.create_all(op.get_bind())\n"
                + THREE_STEPS,
            ),
        ),
        names="users",
    ),
    wrong(
        A, "a stray first try without --rev-id", stray("0002", "add post columns"), names="stray"
    ),
    wrong(
        A,
        "existing rows filled with n/a",
        revision_with("0002", ("SET content = ''", "SET content = 'n/a'")),
        names="content",
    ),
    wrong(
        A,
        "published defaults to false",
        revision_with(
            "0002", ('server_default=sa.text("true")', 'server_default=sa.text("false")')
        ),
        names="posts.published",
    ),
    wrong(
        A,
        "created_at nullable without default",
        revision_with(
            "0002",
            (
                '            server_default=sa.text("now()"),\n            nullable=False,',
                "            nullable=True,",
            ),
        ),
        names="posts.created_at",
    ),
    wrong(
        A,
        "rows deleted to make room",
        revision_with("0002", (THREE_STEPS, '    op.execute("DELETE FROM posts")\n' + THREE_STEPS)),
        names="posts held 2 rows before and 0 after",
    ),
    wrong(
        A,
        "no downgrade() at all",
        revision_with("0002", ("def downgrade() -> None:", "def downgrade_() -> None:")),
        names="no downgrade",
    ),
    wrong(
        A,
        "down_revision typo",
        revision_with(
            "0002",
            (
                'down_revision: str | Sequence[str] | None = "0001"',
                'down_revision: str | Sequence[str] | None = "001"',
            ),
        ),
        names=r"0002_add_post_columns\.py, line \d+",
    ),
    right(
        A,
        "a server default for content, then dropped",
        revision_with(
            "0002",
            (
                THREE_STEPS,
                '    op.add_column("posts", sa.Column("content", sa.String(), server_default="", nullable=False))\n    op.alter_column("posts", "content", server_default=None)',
            ),
        ),
    ),
    right(
        A,
        "another order and func.now()",
        revision_with(
            "0002",
            ('sa.text("now()")', "sa.func.now()"),
            (THREE_STEPS + "\n", ""),
            ("    # A server default fills existing rows by itself.\n", THREE_STEPS + "\n"),
        ),
    ),
    right(
        A,
        "DateTime(timezone=True) and sa.true()",
        revision_with(
            "0002",
            ("sa.TIMESTAMP(timezone=True)", "sa.DateTime(timezone=True)"),
            ('sa.text("true")', "sa.true()"),
        ),
    ),
    right(
        A,
        "CURRENT_TIMESTAMP",
        revision_with("0002", ('sa.text("now()")', 'sa.text("CURRENT_TIMESTAMP")')),
    ),
    wrong(
        A,
        "titles changed on the way",
        revision_with(
            "0002",
            (THREE_STEPS, "    op.execute(\"UPDATE posts SET title = 'x'\")\n" + THREE_STEPS),
        ),
        names="posts.title",
    ),
    wrong(
        A,
        "--rev-id 2 instead of 0002",
        steps(
            lambda lesson: [p.unlink() for p in lesson.versions.glob("0002_*.py")],
            alembic("revision", "-m", "add post columns", "--rev-id", "2"),
        ),
        names="--rev-id 2",
    ),
    reference(A, copy_reference("0002")),
    wrong(
        U,
        "email not unique",
        revision_with(
            "0003", ('        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n', "")
        ),
        names="users",
    ),
    wrong(
        U,
        "password nullable",
        revision_with(
            "0003",
            (
                'sa.Column("password", sa.String(), nullable=False)',
                'sa.Column("password", sa.String(), nullable=True)',
            ),
        ),
        names="users.password",
    ),
    wrong(
        U,
        "downgrade does nothing",
        revision_with("0003", ('    op.drop_table("users")', "    pass")),
        names="downgrade",
    ),
    wrong(
        U,
        "created_at without a server default",
        revision_with("0003", ('            server_default=sa.text("now()"),\n', "")),
        names="users.created_at",
    ),
    wrong(
        U,
        "down_revision skips 0002",
        revision_with(
            "0003",
            (
                'down_revision: str | Sequence[str] | None = "0002"',
                'down_revision: str | Sequence[str] | None = "0001"',
            ),
        ),
        names=r"0003_create_users_table\.py, line \d+",
    ),
    wrong(
        U,
        "a unique index instead of a constraint",
        revision_with(
            "0003",
            (
                '        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n    )',
                '    )\n    op.create_index("ix_users_email", "users", ["email"], unique=True)',
            ),
        ),
        names="users",
    ),
    wrong(
        U,
        "the constraint under another name",
        revision_with("0003", ('name=op.f("uq_users_email")', 'name="email_unique"')),
        names="email_unique",
    ),
    wrong(
        U,
        "the table called user",
        revision_with(
            "0003",
            ('        "users",\n', '        "user",\n'),
            ('op.drop_table("users")', 'op.drop_table("user")'),
        ),
        names="users",
    ),
    right(
        U,
        "unique=True on the column",
        revision_with(
            "0003",
            (
                'sa.Column("email", sa.String(), nullable=False)',
                'sa.Column("email", sa.String(), nullable=False, unique=True)',
            ),
            ('        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n', ""),
        ),
    ),
    right(
        U,
        "primary_key=True and func.now()",
        revision_with(
            "0003",
            (
                'sa.Column("id", sa.Integer(), nullable=False)',
                'sa.Column("id", sa.Integer(), primary_key=True)',
            ),
            ('        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),\n', ""),
            ('sa.text("now()")', "sa.func.now()"),
        ),
    ),
    right(
        U,
        "the unique constraint first, unnamed",
        revision_with(
            "0003",
            ('        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n', ""),
            (
                '        sa.Column("id", sa.Integer(), nullable=False),\n',
                '        sa.Column("id", sa.Integer(), nullable=False),\n        sa.UniqueConstraint("email"),\n',
            ),
        ),
    ),
    wrong(
        U,
        "a unique index on lower(email) besides",
        revision_with(
            "0003",
            (
                '        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n    )',
                '        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n    )\n    op.execute("CREATE UNIQUE INDEX ix_users_email_lower ON users (lower(email))")',
            ),
        ),
        names="ix_users_email_lower",
    ),
    wrong(
        U,
        "a deferrable unique constraint",
        revision_with(
            "0003",
            (
                'sa.UniqueConstraint("email", name=op.f("uq_users_email"))',
                'sa.UniqueConstraint("email", name=op.f("uq_users_email"), deferrable=True)',
            ),
        ),
        names="DEFERRABLE",
    ),
    wrong(
        U,
        "NULLS NOT DISTINCT",
        revision_with(
            "0003",
            (
                'sa.UniqueConstraint("email", name=op.f("uq_users_email"))',
                'sa.UniqueConstraint("email", name=op.f("uq_users_email"), postgresql_nulls_not_distinct=True)',
            ),
        ),
        names="NULLS NOT DISTINCT",
    ),
    reference(U, copy_reference("0003")),
    wrong(
        F,
        "no ON DELETE CASCADE",
        revision_with("0004", ('        ondelete="CASCADE",\n', "")),
        names="ON DELETE",
    ),
    wrong(
        F,
        "a name of its own",
        revision_with(
            "0004",
            ('op.f("fk_posts_owner_id_users"),\n        "posts"', '"owner_fk",\n        "posts"'),
        ),
        names="owner_fk",
    ),
    wrong(
        F,
        "downgrade keeps the column",
        revision_with("0004", ('    op.drop_column("posts", "owner_id")\n', "")),
        names="owner_id",
    ),
    wrong(
        F,
        "owner_id NOT NULL on a table with rows",
        revision_with(
            "0004",
            (
                'sa.Column("owner_id", sa.Integer(), nullable=True)',
                'sa.Column("owner_id", sa.Integer(), nullable=False)',
            ),
        ),
        names="posts.owner_id",
    ),
    wrong(
        F,
        "pointing at posts",
        revision_with(
            "0004",
            ('        "users",\n        ["owner_id"]', '        "posts",\n        ["owner_id"]'),
        ),
        names="posts\\(id\\)",
    ),
    wrong(
        F,
        "dropping a constraint name that does not exist",
        revision_with(
            "0004",
            (
                'op.drop_constraint(op.f("fk_posts_owner_id_users")',
                'op.drop_constraint("posts_owner_id_fkey"',
            ),
        ),
        names="posts_owner_id_fkey",
    ),
    wrong(
        F,
        "owner_id as text",
        revision_with(
            "0004",
            (
                'sa.Column("owner_id", sa.Integer(), nullable=True)',
                'sa.Column("owner_id", sa.String(), nullable=True)',
            ),
        ),
        names="owner_id",
    ),
    right(
        F,
        "no name: the naming convention names it",
        revision_with(
            "0004", ('op.f("fk_posts_owner_id_users"),\n        "posts"', 'None,\n        "posts"')
        ),
    ),
    right(
        F,
        "the foreign key inside add_column",
        revision_with(
            "0004",
            (
                'sa.Column("owner_id", sa.Integer(), nullable=True)',
                'sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_posts_owner_id_users"), nullable=True)',
            ),
            ("    op.create_foreign_key(", "    (lambda *a, **k: None)("),
        ),
    ),
    right(
        F,
        "downgrade drops the column only",
        revision_with(
            "0004",
            (
                '    op.drop_constraint(op.f("fk_posts_owner_id_users"), "posts", type_="foreignkey")\n',
                "",
            ),
        ),
    ),
    wrong(
        F,
        "ON UPDATE CASCADE too",
        revision_with(
            "0004",
            (
                '        ondelete="CASCADE",\n',
                '        ondelete="CASCADE",\n        onupdate="CASCADE",\n',
            ),
        ),
        names="ON UPDATE CASCADE",
    ),
    wrong(
        F,
        "deferrable",
        revision_with(
            "0004",
            (
                '        ondelete="CASCADE",\n',
                '        ondelete="CASCADE",\n        deferrable=True,\n        initially="DEFERRED",\n',
            ),
        ),
        names="DEFERRABLE",
    ),
    reference(F, copy_reference("0004")),
    wrong(H, "stamp instead of upgrade", alembic("stamp", "0004"), names="stamp"),
    wrong(
        H, "upgrade 0003 only", alembic("upgrade", "0003"), names="0003", outcome="not attempted"
    ),
    wrong(
        H,
        "down to base and back up",
        steps(alembic("upgrade", "head"), alembic("downgrade", "base"), alembic("upgrade", "head")),
        names="posts table was dropped",
    ),
    wrong(
        H,
        "stamp 0004 after upgrading to 0002",
        steps(alembic("upgrade", "0002"), alembic("stamp", "0004")),
        names="0002",
    ),
    wrong(
        H,
        "a table dropped by hand",
        steps(alembic("upgrade", "head"), query("DROP TABLE users CASCADE")),
        names="users",
    ),
    wrong(
        H,
        "a wrong 0004 applied",
        steps(
            revision_with("0004", ('        ondelete="CASCADE",\n', "")), alembic("upgrade", "head")
        ),
        names="ON DELETE",
    ),
    right(H, "upgrade +3", alembic("upgrade", "+3")),
    right(H, "upgrade 0004", alembic("upgrade", "0004")),
    wrong(
        H,
        "rows deleted by a revision since fixed",
        steps(
            revision_with(
                "0002", (THREE_STEPS, '    op.execute("DELETE FROM posts")\n' + THREE_STEPS)
            ),
            alembic("upgrade", "head"),
            copy_reference("0002"),
            alembic("upgrade", "head"),
        ),
        names="gone",
    ),
    reference(H, alembic("upgrade", "head")),
]


# Found by a hunt for wrong work that passed: data, given revisions, names.
CASES += [
    wrong(
        A,
        "old posts unpublished by an UPDATE",
        revision_with(
            "0002",
            (
                "\n\n\ndef downgrade",
                '\n    op.execute("UPDATE posts SET published = false")\n\n\ndef downgrade',
            ),
        ),
        names="published",
    ),
    wrong(
        A,
        "old posts dated 1970",
        revision_with(
            "0002",
            (
                "\n\n\ndef downgrade",
                "\n    op.execute(\"UPDATE posts SET created_at = '1970-01-01'\")\n\n\ndef downgrade",
            ),
        ),
        names="created_at",
    ),
    wrong(
        A,
        "0001, which the lesson started with, edited to make another table",
        steps(
            revision_with("0001", ('"posts"', '"post"'), ('"posts"', '"post"')),
            copy_reference("0002"),
        ),
        names=r"0001_create_posts_table\.py",
    ),
    wrong(
        U,
        "the primary key named by PostgreSQL, users_pkey",
        revision_with("0003", ('name=op.f("pk_users")', 'name="users_pkey"')),
        names="users_pkey",
    ),
    wrong(
        F,
        "a foreign key left NOT VALID",
        revision_with(
            "0004", ('ondelete="CASCADE",', 'ondelete="CASCADE", postgresql_not_valid=True,')
        ),
        names="NOT VALID",
    ),
    wrong(
        H,
        "a revision that blanked the titles ran, then was fixed",
        steps(
            revision_with(
                "0002",
                (
                    "\n\n\ndef downgrade",
                    "\n    op.execute(\"UPDATE posts SET title = ''\")\n\n\ndef downgrade",
                ),
            ),
            alembic("upgrade", "head"),
            copy_reference("0002", "0003", "0004"),
            alembic("upgrade", "head"),
        ),
        names="posts.title",
    ),
    wrong(
        H,
        "two rows in alembic_version",
        steps(alembic("upgrade", "head"), query("INSERT INTO alembic_version VALUES ('0003')")),
        names="stamp --purge",
    ),
]


# Found by a second hunt: the learner's own writes are theirs; a migration's are not.
REFERENCES = copy_reference("0002", "0003", "0004")
CASES += [
    right(
        H,
        "the INSERT cell run twice, then tidied up",
        steps(ROWS, query("DELETE FROM posts WHERE id > 2"), alembic("upgrade", "head")),
    ),
    right(
        H,
        "a title fixed by the learner, with a comment first",
        steps(
            query("-- fix the capital\nUPDATE posts SET title = 'First Post' WHERE id = 1"),
            alembic("upgrade", "head"),
        ),
    ),
    right(
        H,
        "a cascade tried out: a user, their posts, then the user deleted",
        steps(
            alembic("upgrade", "head"),
            query("INSERT INTO users (email, password) VALUES ('a@b.c', 'x')"),
            query("UPDATE posts SET owner_id = 1"),
            query("DELETE FROM users"),
        ),
    ),
    wrong(
        H,
        "a wrong 0002 (content 'n/a') ran on the lesson's database, then was fixed",
        steps(
            revision_with("0002", ("SET content = ''", "SET content = 'n/a'")),
            alembic("upgrade", "0002"),
            REFERENCES,
            alembic("upgrade", "head"),
        ),
        names="there before 0002, has content 'n/a'",
    ),
]


# Found by a third hunt: a merge is no way out in a lesson whose history is one line.
CASES += [
    wrong(
        U,
        "two heads joined with merge heads",
        steps(
            revision_with(
                "0003",
                (
                    'down_revision: str | Sequence[str] | None = "0002"',
                    'down_revision: str | Sequence[str] | None = "0001"',
                ),
            ),
            alembic("merge", "heads", "-m", "merge"),
        ),
        names="merges .* this lesson's history is one line",
    ),
    wrong(
        H,
        "a stray applied, then deleted",
        steps(
            alembic("upgrade", "head"),
            alembic("revision", "-m", "stray", "--rev-id", "abc123"),
            alembic("upgrade", "head"),
            lambda lesson: next(lesson.versions.glob("abc123_*.py")).unlink(),
        ),
        names="stamp --purge 0004",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
