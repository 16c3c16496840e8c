"""add content, published and created_at to posts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # content is NOT NULL, but posts may already hold rows: add it nullable,
    # fill the existing rows, then forbid NULL.
    op.add_column("posts", sa.Column("content", sa.String(), nullable=True))
    op.execute("UPDATE posts SET content = '' WHERE content IS NULL")
    op.alter_column("posts", "content", nullable=False)
    # A server default fills existing rows by itself.
    op.add_column(
        "posts",
        sa.Column("published", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "posts",
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("posts", "created_at")
    op.drop_column("posts", "published")
    op.drop_column("posts", "content")
