"""Lesson 13: indexes and constraints without downtime. The statements are measured, the
index revisions run with a writer in the way and the app writing, the NOT NULL revision
with its scans under ACCESS EXCLUSIVE watched."""

import pytest

from course_app import lessons
from course_app.exercises import lesson13 as ex
from course_app.exercises.checks import reference_file
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    ids,
    reference,
    revision_with,
    right,
    steps,
    wrong,
)


def prepare(exercise):
    lesson = lessons.start(13)
    lesson.query(ex.ROWS[0])
    if exercise is ex.views_not_null:
        ex.retry_safe.apply()
    return lesson


CREATE = (
    '        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_posts_created_at")\n'
    "        op.create_index(\n"
    '            "ix_posts_created_at", "posts", ["created_at"], postgresql_concurrently=True\n'
    "        )\n"
)
DROP_LEFTOVER = '        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_posts_created_at")\n'
DOWN = (
    '        op.drop_index("ix_posts_created_at", table_name="posts", postgresql_concurrently=True)'
)


def index(*changes):
    """0011 as the reference writes it, with a learner's changes."""
    return revision_with("0011", *changes)


def first_answer(lesson):
    """Exercise 2's answer: concurrent, but with no drop of a leftover."""
    ex.concurrent_index.apply()


PLAIN_UP = (
    "    with op.get_context().autocommit_block():\n"
    '        # Left INVALID by an attempt that was stopped: CREATE would say "already exists".\n'
    + CREATE,
    '    op.create_index("ix_posts_created_at", "posts", ["created_at"], unique=False)\n',
)
PLAIN_DOWN = (
    "    with op.get_context().autocommit_block():\n" + DOWN,
    '    op.drop_index("ix_posts_created_at", table_name="posts")',
)


def not_null(upgrade: str, downgrade: str | None = None):
    """0012 with another upgrade() (and downgrade()) body."""
    source = reference_file("0012").read_text()
    start = source.index("def upgrade() -> None:\n")
    end = source.index("def downgrade() -> None:\n")
    body = "".join(f"    {line}\n" if line else "\n" for line in upgrade.strip("\n").splitlines())
    changes = [(source[start:end], "def upgrade() -> None:\n" + body + "\n\n")]
    if downgrade is not None:
        changes.append(
            (
                '    op.alter_column("posts", "views", nullable=True, server_default=None)\n',
                f"    {downgrade}\n",
            )
        )
    return revision_with("0012", *changes)


BACKFILL = 'op.execute("UPDATE posts SET views = 0 WHERE views IS NULL")\n'
DEFAULT = 'op.alter_column("posts", "views", server_default=sa.text("0"))\n'
CHECK = (
    'op.create_check_constraint("views_not_null", "posts", "views IS NOT NULL", '
    "postgresql_not_valid=True)\n"
)
FINISH = (
    'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")\n'
    'op.alter_column("posts", "views", nullable=False)\n'
    'op.drop_constraint(op.f("ck_posts_views_not_null"), "posts", type_="check")\n'
)


def block(lines: str) -> str:
    return "with op.get_context().autocommit_block():\n" + "".join(
        f"    {line}\n" for line in lines.splitlines()
    )


W, C, S, N = ex.rewrites, ex.concurrent_index, ex.retry_safe, ex.views_not_null
RIGHT = ["add column, default random()", "views to bigint"]
CASES = [
    # -- which statements rewrite posts
    wrong(
        W,
        "a constant default too",
        lambda lesson: None,
        [*RIGHT, "add column, default 0"],
        names="default 0. rewrites nothing since PostgreSQL 11",
    ),
    wrong(
        W,
        "the type change only",
        lambda lesson: None,
        ["views to bigint"],
        names="default random.*rewrites posts as well",
    ),
    wrong(
        W,
        "the index build, which reads every row",
        lambda lesson: None,
        [*RIGHT, "create index"],
        names="create index.*does not rewrite",
    ),
    wrong(
        W,
        "a longer varchar",
        lambda lesson: None,
        [*RIGHT, "summary to varchar(500)"],
        names="varchar.*does not rewrite",
    ),
    wrong(
        W,
        "every ALTER TABLE",
        lambda lesson: None,
        ["add column", *RIGHT, "summary to varchar(500)"],
        names="does not rewrite",
    ),
    wrong(
        W,
        "a label of its own",
        lambda lesson: None,
        ["add column with default 0"],
        names="not one of the statements measured",
    ),
    wrong(W, "one string", lambda lesson: None, "views to bigint", names="one string"),
    right(W, "a tuple, the other order", lambda lesson: None, tuple(reversed(RIGHT))),
    right(W, "a label given twice", lambda lesson: None, [*RIGHT, "views to bigint"]),
    reference(W, lambda lesson: None, RIGHT),
    # -- a concurrent index
    wrong(C, "no revision yet", names="no revision 0011", outcome="not attempted"),
    wrong(
        C,
        "autogenerate's plain CREATE INDEX",
        index(PLAIN_UP, PLAIN_DOWN),
        names="plain CREATE INDEX holds SHARE",
    ),
    wrong(
        C,
        "concurrently, but inside the migration's transaction",
        index(
            (
                "    with op.get_context().autocommit_block():\n"
                '        # Left INVALID by an attempt that was stopped: CREATE would say "already exists".\n'
                + CREATE,
                '    op.create_index(\n        "ix_posts_created_at", "posts", ["created_at"], '
                "postgresql_concurrently=True\n    )\n",
            )
        ),
        names="cannot run inside a transaction block.*autocommit_block",
    ),
    wrong(
        C,
        "a concurrent build, a plain drop",
        index(PLAIN_DOWN),
        names="DROP INDEX takes ACCESS EXCLUSIVE",
    ),
    wrong(
        C,
        "the index on the wrong column",
        index(
            (
                '["created_at"], postgresql_concurrently=True',
                '["title"], postgresql_concurrently=True',
            )
        ),
        names="ix_posts_created_at",
    ),
    wrong(
        C,
        "an upgrade that builds nothing",
        index((CREATE, "        pass\n")),
        names="index",
    ),
    wrong(
        C,
        "made without --rev-id",
        steps(
            lambda lesson: ex.concurrent_index.apply(),
            lambda lesson: next(lesson.versions.glob("0011_*.py")).rename(
                lesson.versions / "3fa4c1b2d9e0_index_posts_created_at.py"
            ),
            lambda lesson: (lesson.versions / "3fa4c1b2d9e0_index_posts_created_at.py").write_text(
                (lesson.versions / "3fa4c1b2d9e0_index_posts_created_at.py")
                .read_text()
                .replace('revision: str = "0011"', 'revision: str = "3fa4c1b2d9e0"')
            ),
        ),
        names="revision id 3fa4c1b2d9e0, not 0011",
    ),
    wrong(
        C,
        "a partial index, built concurrently",
        index(
            (
                '["created_at"], postgresql_concurrently=True',
                '["created_at"], postgresql_concurrently=True, '
                "postgresql_where=sa.text(\"created_at > '2030-01-01'\")",
            ),
            ("from alembic import op\n", "import sqlalchemy as sa\nfrom alembic import op\n"),
        ),
        names="not the models'",
    ),
    wrong(
        C,
        "a hash index, which cannot sort",
        index(
            (
                '["created_at"], postgresql_concurrently=True',
                '["created_at"], postgresql_concurrently=True, postgresql_using="hash"',
            )
        ),
        names="USING hash.*btree",
    ),
    right(
        C,
        "raw SQL in autocommit blocks",
        index(
            (
                CREATE,
                '        op.execute("CREATE INDEX CONCURRENTLY ix_posts_created_at ON posts (created_at)")\n',
            ),
            (DOWN, '        op.execute("DROP INDEX CONCURRENTLY ix_posts_created_at")'),
        ),
    ),
    reference(C, first_answer),
    # -- safe to try again
    wrong(S, "exercise 2's answer: no drop of a leftover", first_answer, names="already exists"),
    wrong(
        S,
        "IF NOT EXISTS, which keeps the broken index",
        index(
            (
                CREATE,
                CREATE.replace(DROP_LEFTOVER, "").replace(
                    "postgresql_concurrently=True",
                    "postgresql_concurrently=True, if_not_exists=True",
                ),
            )
        ),
        names="IF NOT EXISTS sees the name and keeps the broken index",
    ),
    wrong(
        S,
        "a plain DROP INDEX of the leftover",
        index((DROP_LEFTOVER, '        op.execute("DROP INDEX IF EXISTS ix_posts_created_at")\n')),
        names="plain DROP INDEX takes ACCESS EXCLUSIVE",
    ),
    wrong(
        S,
        "the drop before the autocommit block",
        index(
            (
                "    with op.get_context().autocommit_block():\n"
                '        # Left INVALID by an attempt that was stopped: CREATE would say "already exists".\n'
                + DROP_LEFTOVER,
                '    op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_posts_created_at")\n'
                "    with op.get_context().autocommit_block():\n",
            )
        ),
        names="cannot run inside a transaction block",
    ),
    wrong(
        S,
        "drops the leftover concurrently, then builds it plainly",
        index(
            (
                "        op.create_index(\n"
                '            "ix_posts_created_at", "posts", ["created_at"], postgresql_concurrently=True\n'
                "        )\n",
                '        op.create_index("ix_posts_created_at", "posts", ["created_at"])\n',
            )
        ),
        names="plain CREATE INDEX holds SHARE",
    ),
    wrong(
        S,
        "REINDEX of the leftover, plainly",
        index(
            (
                DROP_LEFTOVER,
                "        if op.get_bind().exec_driver_sql(\n"
                "            \"SELECT to_regclass('ix_posts_created_at')\"\n"
                "        ).scalar():\n"
                '            op.execute("REINDEX INDEX ix_posts_created_at")\n',
            ),
            (
                "postgresql_concurrently=True\n",
                "postgresql_concurrently=True, if_not_exists=True\n",
            ),
        ),
        names="REINDEX takes SHARE",
    ),
    right(
        S,
        "REINDEX CONCURRENTLY of the leftover",
        index(
            (
                DROP_LEFTOVER,
                "        if op.get_bind().exec_driver_sql(\n"
                "            \"SELECT to_regclass('ix_posts_created_at')\"\n"
                "        ).scalar():\n"
                '            op.execute("REINDEX INDEX CONCURRENTLY ix_posts_created_at")\n',
            ),
            (
                "postgresql_concurrently=True\n",
                "postgresql_concurrently=True, if_not_exists=True\n",
            ),
        ),
    ),
    right(
        S,
        "drop_index with if_exists",
        index(
            (
                DROP_LEFTOVER,
                '        op.drop_index("ix_posts_created_at", table_name="posts", '
                "postgresql_concurrently=True, if_exists=True)\n",
            )
        ),
    ),
    right(
        S,
        "drops only an invalid leftover",
        index(
            (
                DROP_LEFTOVER,
                "        invalid = op.get_bind().exec_driver_sql(\n"
                "            \"SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('ix_posts_created_at') \"\n"
                '            "AND NOT indisvalid"\n'
                "        ).first()\n"
                "        if invalid:\n"
                '            op.execute("DROP INDEX CONCURRENTLY ix_posts_created_at")\n',
            )
        ),
    ),
    reference(S, lambda lesson: ex.retry_safe.apply()),
    # -- NOT NULL without a scan under ACCESS EXCLUSIVE
    wrong(N, "no revision yet", names="no revision 0012", outcome="not attempted"),
    wrong(
        N,
        "alter_column nullable=False: SET NOT NULL reads every row",
        not_null(
            BACKFILL
            + 'op.alter_column("posts", "views", nullable=False, server_default=sa.text("0"))'
        ),
        names="SET NOT NULL.*read every row of posts.*validated",
    ),
    wrong(
        N,
        "no backfill",
        not_null('op.alter_column("posts", "views", nullable=False, server_default=sa.text("0"))'),
        names="views are NULL.*UPDATE posts SET views = 0",
    ),
    wrong(
        N,
        "a CHECK added valid",
        not_null(
            BACKFILL + DEFAULT + CHECK.replace(", postgresql_not_valid=True", "") + block(FINISH)
        ),
        names="ADD CONSTRAINT.*NOT VALID",
    ),
    wrong(
        N,
        "all in the migration's transaction",
        not_null(BACKFILL + DEFAULT + CHECK + FINISH),
        names="VALIDATE.*same transaction.*autocommit_block",
    ),
    wrong(
        N,
        "the backfill after the default",
        not_null(DEFAULT + BACKFILL + CHECK + block(FINISH)),
        names="UPDATE posts SET views = 0.*earlier statement",
    ),
    wrong(
        N,
        "no server default",
        not_null(BACKFILL + CHECK + block(FINISH)),
        names="views",
    ),
    wrong(
        N,
        "a downgrade that leaves views NOT NULL",
        not_null(BACKFILL + DEFAULT + CHECK + block(FINISH), downgrade="pass"),
        names="downgrade\\(\\) does not undo",
    ),
    wrong(
        N,
        "a plain SET NOT NULL, in an autocommit block",
        not_null(
            block(
                BACKFILL
                + 'op.alter_column("posts", "views", nullable=False, server_default=sa.text("0"))'
            )
        ),
        names="SET NOT NULL.*read every row",
    ),
    wrong(
        N,
        "the CHECK dropped before SET NOT NULL",
        not_null(
            BACKFILL
            + DEFAULT
            + CHECK
            + block(
                'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")\n'
                'op.drop_constraint(op.f("ck_posts_views_not_null"), "posts", type_="check")\n'
                'op.alter_column("posts", "views", nullable=False)'
            )
        ),
        names="SET NOT NULL.*read every row",
    ),
    wrong(
        N,
        "NOT VALID and VALIDATE in one string: one transaction",
        not_null(
            BACKFILL
            + DEFAULT
            + block(
                'op.execute("ALTER TABLE posts ADD CONSTRAINT ck_posts_views_not_null CHECK (views IS NOT NULL) '
                'NOT VALID; ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")\n'
                'op.alter_column("posts", "views", nullable=False)\n'
                'op.drop_constraint(op.f("ck_posts_views_not_null"), "posts", type_="check")'
            )
        ),
        names="read every row of posts",
    ),
    wrong(
        N,
        "the rest in a revision 0013 after it",
        steps(
            not_null(BACKFILL + DEFAULT + CHECK),
            lambda lesson: (lesson.versions / "0013_views_validate.py").write_text(
                '"""views validate"""\nfrom alembic import op\n\nrevision = "0013"\n'
                'down_revision = "0012"\nbranch_labels = None\ndepends_on = None\n\n\n'
                "def upgrade():\n    with op.get_context().autocommit_block():\n"
                '        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")\n'
                '        op.alter_column("posts", "views", nullable=False)\n\n\n'
                "def downgrade():\n    pass\n"
            ),
        ),
        names="0013_views_validate.py after 0012.*whole change in 0012",
    ),
    right(
        N,
        "all of it in raw SQL",
        not_null(
            BACKFILL
            + 'op.execute("ALTER TABLE posts ALTER COLUMN views SET DEFAULT 0")\n'
            + 'op.execute("ALTER TABLE posts ADD CONSTRAINT ck_posts_views_not_null CHECK (views IS NOT NULL) NOT VALID")\n'
            + block(
                'op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")\n'
                'op.execute("ALTER TABLE posts ALTER COLUMN views SET NOT NULL")\n'
                'op.execute("ALTER TABLE posts DROP CONSTRAINT ck_posts_views_not_null")'
            )
        ),
    ),
    right(
        N,
        "the default last, in the autocommit block",
        not_null(BACKFILL + CHECK + block(FINISH + DEFAULT.rstrip("\n"))),
    ),
    reference(N, lambda lesson: ex.views_not_null.apply()),
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
        "autogenerate's plain CREATE INDEX",
        "IF NOT EXISTS, which keeps the broken index",
        "all in the migration's transaction",
    )
]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
