"""index posts created_at

Lesson 13: an index on a table in use. A plain CREATE INDEX takes SHARE on posts for
the whole build, and every INSERT, UPDATE and DELETE waits for it. CONCURRENTLY lets
writes through, but cannot run inside a transaction, so it runs in an autocommit
block; and a concurrent build that was stopped half-way leaves an INVALID index of
the same name behind, which the next attempt drops first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # Left INVALID by an attempt that was stopped: CREATE would say "already exists".
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_posts_created_at")
        op.create_index(
            "ix_posts_created_at", "posts", ["created_at"], postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_posts_created_at", table_name="posts", postgresql_concurrently=True)
