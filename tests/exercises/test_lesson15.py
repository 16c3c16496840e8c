"""Lesson 15: data migrations and enums. The checks run the learner's revisions on copies:
the enum type up and down, a backfill of 100,000 rows (its transactions counted by xmin,
with the models changed), and a new enum value used in the same upgrade."""

import pytest

from course_app import lessons
from course_app.exercises import lesson15 as ex
from course_app.exercises.checks import reference_file
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    reference,
    revision_with,
    right,
    steps,
    wrong,
)


def prepare(exercise):
    lesson = lessons.start(15)
    lesson.query(ex.ROWS[0])
    if exercise is ex.backfill:
        ex.status_type.apply()
    if exercise is ex.archived:
        ex.backfill.apply()
    return lesson


def body(revision: str, upgrade: str | None = None, downgrade: str | None = None):
    """The reference revision with other function bodies."""
    source = reference_file(revision).read_text()
    changes = []
    up = source.index("def upgrade() -> None:\n")
    down = source.index("def downgrade() -> None:\n")
    if upgrade is not None:
        changes.append((source[up:down], "def upgrade() -> None:\n" + _indent(upgrade) + "\n\n"))
    if downgrade is not None:
        changes.append((source[down:], "def downgrade() -> None:\n" + _indent(downgrade)))
    return revision_with(revision, *changes)


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in text.strip("\n").splitlines())


CREATE = "status.create(op.get_bind())\n"
ADD = 'op.add_column("posts", sa.Column("status", status, nullable=True))\n'
DROP = 'op.drop_column("posts", "status")\n'
DROP_TYPE = "status.drop(op.get_bind())\n"
CASE = "CASE WHEN published THEN 'published' ELSE 'draft' END::post_status"


def batches(size: int, autocommit: bool = True, case: str = CASE, top: str = "top") -> str:
    loop = (
        "top = op.get_bind().execute(sa.text('SELECT max(id) FROM posts')).scalar()\n"
        f"for low in range(0, {top}, {size}):\n"
        "    op.get_bind().execute(\n"
        f'        sa.text("UPDATE posts SET status = {case} WHERE id > :low AND id <= :high"),\n'
        f'        {{"low": low, "high": low + {size}}},\n'
        "    )\n"
    )
    if not autocommit:
        return loop
    return "with op.get_context().autocommit_block():\n" + _indent(loop)


PLAIN_ADD = "op.execute(\"ALTER TYPE post_status ADD VALUE 'archived'\")"
SAFE_ADD = "op.execute(\"ALTER TYPE post_status ADD VALUE IF NOT EXISTS 'archived'\")"


def archived_value(add: str, autocommit: bool = True):
    return body(
        "0017",
        ("with op.get_context().autocommit_block():\n    " + add) if autocommit else add,
    )


T, B, A = ex.status_type, ex.backfill, ex.archived
CASES = [
    # -- the enum type
    wrong(T, "no revision yet", names="no revision 0015", outcome="not attempted"),
    wrong(
        T, "add_column alone: no type", body("0015", ADD), names='type "post_status" does not exist'
    ),
    wrong(
        T,
        "a downgrade that leaves the type",
        body("0015", downgrade=DROP),
        names="enum type post_status is still there",
    ),
    wrong(
        T,
        "the type dropped before the column",
        body("0015", downgrade=DROP_TYPE + DROP),
        names="downgrade 0014. fails",
    ),
    wrong(
        T,
        "a string column",
        body("0015", 'op.add_column("posts", sa.Column("status", sa.String(), nullable=True))'),
        names="status",
    ),
    wrong(
        T,
        "the values in another order",
        revision_with("0015", ('sa.Enum("draft", "published"', 'sa.Enum("published", "draft"')),
        names="post_status",
    ),
    wrong(
        T,
        "a type named status",
        revision_with("0015", ('name="post_status"', 'name="status"')),
        names="status",
    ),
    right(
        T,
        "CREATE TYPE and DROP TYPE in SQL",
        body(
            "0015",
            "op.execute(\"CREATE TYPE post_status AS ENUM ('draft', 'published')\")\n"
            'op.execute("ALTER TABLE posts ADD COLUMN status post_status")',
            'op.drop_column("posts", "status")\nop.execute("DROP TYPE post_status")',
        ),
    ),
    right(
        T,
        "postgresql.ENUM with create_type=False, created with checkfirst",
        body(
            "0015",
            "from sqlalchemy.dialects import postgresql\n"
            'kind = postgresql.ENUM("draft", "published", name="post_status", create_type=False)\n'
            "kind.create(op.get_bind(), checkfirst=True)\n"
            'op.add_column("posts", sa.Column("status", kind, nullable=True))',
            'op.drop_column("posts", "status")\n'
            'sa.Enum(name="post_status").drop(op.get_bind(), checkfirst=True)',
        ),
    ),
    reference(T, lambda lesson: ex.status_type.apply()),
    # -- the backfill
    wrong(B, "no revision yet", names="no revision 0016", outcome="not attempted"),
    wrong(
        B,
        "one UPDATE in the migration's transaction",
        body("0016", f'op.execute("UPDATE posts SET status = {CASE}")'),
        names="one transaction wrote the",
    ),
    wrong(
        B,
        "one UPDATE in an autocommit block: still one transaction",
        body(
            "0016",
            f'with op.get_context().autocommit_block():\n    op.execute("UPDATE posts SET status = {CASE}")',
        ),
        names="one transaction wrote the",
    ),
    wrong(
        B,
        "batches in the migration's transaction",
        body("0016", batches(10_000, autocommit=False)),
        names="one transaction wrote the",
    ),
    wrong(B, "batches of 100", body("0016", batches(100)), names="batches that small"),
    wrong(
        B,
        "through the app's models",
        body(
            "0016",
            "from app.models import Post\n"
            "with op.get_context().autocommit_block():\n"
            "    op.get_bind().execute(\n"
            "        sa.update(Post).values(status=sa.case((Post.published, 'published'), else_='draft'))\n"
            "    )",
        ),
        names="it reads the models",
    ),
    wrong(
        B,
        "draft and published swapped",
        body(
            "0016",
            batches(
                10_000, case="CASE WHEN published THEN 'draft' ELSE 'published' END::post_status"
            ),
        ),
        names="wrong status",
    ),
    wrong(
        B,
        "the last batch missed",
        body("0016", batches(10_000, top="top - 10000")),
        names="wrong status",
    ),
    wrong(
        B,
        "batches in savepoints: nothing commits",
        body(
            "0016",
            "top = op.get_bind().execute(sa.text('SELECT max(id) FROM posts')).scalar()\n"
            "for low in range(0, top, 10_000):\n"
            "    with op.get_bind().begin_nested():\n"
            "        op.get_bind().execute(\n"
            f'            sa.text("UPDATE posts SET status = {CASE} WHERE id > :low AND id <= :high"),\n'
            '            {"low": low, "high": low + 10_000},\n'
            "        )",
        ),
        names="no batch showed before the last one was done",
    ),
    wrong(
        B,
        "a commit() of its own after each batch",
        body("0016", batches(10_000, autocommit=False) + "    op.get_bind().commit()\n"),
        names="a commit\\(\\) of your own",
    ),
    wrong(
        B,
        "a connection of its own",
        body(
            "0016",
            "engine = op.get_bind().engine\n"
            "with engine.connect() as conn:\n"
            "    top = conn.execute(sa.text('SELECT max(id) FROM posts')).scalar()\n"
            "for low in range(0, top, 10_000):\n"
            "    with engine.begin() as conn:\n"
            "        conn.execute(\n"
            f'            sa.text("UPDATE posts SET status = {CASE} WHERE id > :low AND id <= :high"),\n'
            '            {"low": low, "high": low + 10_000},\n'
            "        )",
        ),
        names="waits for good.*connection of its own",
    ),
    wrong(
        B,
        "two batches: the published, then the drafts",
        body(
            "0016",
            "with op.get_context().autocommit_block():\n"
            "    op.execute(\"UPDATE posts SET status = 'published' WHERE published\")\n"
            "    op.execute(\"UPDATE posts SET status = 'draft' WHERE NOT published\")",
        ),
        names="one batch wrote 74,",
    ),
    wrong(B, "batches of 90,000", body("0016", batches(90_000)), names="one batch wrote"),
    wrong(
        B,
        "the short last batch missed",
        body("0016", batches(10_000, top="top // 10_000 * 10_000")),
        names="wrong status",
    ),
    wrong(
        B,
        "as many batches as rows, not as the top id",
        body(
            "0016",
            batches(10_000).replace("SELECT max(id) FROM posts", "SELECT count(*) FROM posts"),
        ),
        names="wrong status",
    ),
    right(
        B,
        "sa.table and sa.case, batches of ids",
        body(
            "0016",
            "posts = sa.table('posts', sa.column('id', sa.Integer()), sa.column('published', sa.Boolean()),\n"
            "                 sa.column('status'))\n"
            "value = sa.cast(sa.case((posts.c.published, 'published'), else_='draft'),\n"
            "                sa.Enum('draft', 'published', name='post_status'))\n"
            "bind = op.get_bind()\n"
            "with op.get_context().autocommit_block():\n"
            "    while True:\n"
            "        ids = bind.execute(sa.select(posts.c.id).where(posts.c.status.is_(None))\n"
            "                           .order_by(posts.c.id).limit(20_000)).scalars().all()\n"
            "        if not ids:\n"
            "            break\n"
            "        bind.execute(posts.update().where(posts.c.id.in_(ids)).values(status=value))",
        ),
    ),
    right(B, "batches of 5,000 in plain SQL", body("0016", batches(5_000))),
    reference(B, lambda lesson: ex.backfill.apply()),
    # -- a new value, used in the same deploy
    wrong(A, "no revisions yet", names="no revision 0017", outcome="not attempted"),
    wrong(
        A,
        "the lesson's first 0017: ADD VALUE in the transaction",
        steps(lambda lesson: ex.archived.apply(), archived_value(PLAIN_ADD, autocommit=False)),
        names="unsafe use of new value",
    ),
    wrong(
        A,
        "in an autocommit block, but no IF NOT EXISTS",
        steps(lambda lesson: ex.archived.apply(), archived_value(PLAIN_ADD)),
        names="already exists.*IF NOT EXISTS",
    ),
    wrong(
        A,
        "every draft archived",
        steps(
            lambda lesson: ex.archived.apply(),
            body(
                "0018",
                "op.execute(\"UPDATE posts SET status = 'archived' WHERE status = 'draft'\")",
            ),
        ),
        names="archive only the drafts created before 2025",
    ),
    wrong(
        A,
        "archived posts published again on downgrade",
        steps(
            lambda lesson: ex.archived.apply(),
            body(
                "0018",
                downgrade="op.execute(\"UPDATE posts SET status = 'published' WHERE status = 'archived'\")",
            ),
        ),
        names="not published",
    ),
    wrong(
        A,
        "the value put first",
        steps(
            lambda lesson: ex.archived.apply(),
            archived_value(
                "op.execute(\"ALTER TYPE post_status ADD VALUE IF NOT EXISTS 'archived' BEFORE 'draft'\")"
            ),
        ),
        names="add 'archived' after",
    ),
    wrong(
        A,
        "a downgrade that leaves archived rows",
        steps(lambda lesson: ex.archived.apply(), body("0018", downgrade="pass")),
        names="after downgrade 0016",
    ),
    wrong(
        A,
        "a cutoff in 2026",
        steps(
            lambda lesson: ex.archived.apply(),
            revision_with("0018", ("datetime.datetime(2025, 1, 1", "datetime.datetime(2026, 6, 1")),
        ),
        names="archive only the drafts created before 2025",
    ),
    wrong(
        A,
        "a commit() of its own after ADD VALUE",
        steps(
            lambda lesson: ex.archived.apply(),
            archived_value(SAFE_ADD + "\nop.get_bind().commit()", autocommit=False),
        ),
        names="a commit\\(\\) of your own",
    ),
    wrong(
        A,
        "DROP TYPE CASCADE in 0017's downgrade",
        steps(
            lambda lesson: ex.archived.apply(),
            body("0017", downgrade='op.execute("DROP TYPE post_status CASCADE")'),
        ),
        names="posts.status is gone",
    ),
    right(
        A,
        "a transaction per migration in env.py instead",
        steps(
            lambda lesson: ex.archived.apply(),
            archived_value(SAFE_ADD, autocommit=False),
            edit(
                "alembic/env.py",
                (
                    "context.configure(connection=connection, target_metadata=target_metadata",
                    "context.configure(connection=connection, transaction_per_migration=True, "
                    "target_metadata=target_metadata",
                ),
            ),
        ),
    ),
    right(
        A,
        "the archive through sa.table and a bound date",
        steps(
            lambda lesson: ex.archived.apply(),
            body(
                "0018",
                "posts = sa.table('posts', sa.column('status'), sa.column('created_at'))\n"
                "op.execute(\n"
                "    posts.update()\n"
                "    .where(posts.c.status == 'draft', posts.c.created_at < CUTOFF)\n"
                "    .values(status='archived')\n"
                ")",
            ),
        ),
    ),
    reference(A, lambda lesson: ex.archived.apply()),
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
        "a downgrade that leaves the type",
        "through the app's models",
        "the lesson's first 0017: ADD VALUE in the transaction",
    )
]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
