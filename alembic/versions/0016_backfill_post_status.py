"""backfill post status

Lesson 15: a data migration. It describes the columns it needs with sa.table(), not by
importing app/models.py: the models will change (a column renamed, a table split), and
this revision must do in a year what it does today. It fills the rows in batches, each
committed on its own: in one transaction, every row it updated would stay locked until
the last one was done, and a writer would wait for all of them.

The downgrade has nothing to undo: published still says what status says, and 0015's
downgrade drops the column.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 15:00:00.000000

"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

posts = sa.table("posts", sa.column("id", sa.Integer()))
BATCH = 10_000
FILL = sa.text(
    "UPDATE posts SET status = CASE WHEN published THEN 'published' ELSE 'draft' END"
    "::post_status WHERE id > :low AND id <= :high AND status IS NULL"
)


def upgrade() -> None:
    bind = op.get_bind()
    with op.get_context().autocommit_block():  # each statement its own transaction
        top = bind.execute(sa.select(sa.func.max(posts.c.id))).scalar() or 0
        for low in range(0, top, BATCH):
            started = time.monotonic()
            done = bind.execute(FILL, {"low": low, "high": low + BATCH}).rowcount
            print(
                f"ids {low + 1} to {low + BATCH}: {done} rows in {time.monotonic() - started:.2f} s"
            )


def downgrade() -> None:
    pass
