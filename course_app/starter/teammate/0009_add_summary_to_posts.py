"""add summary to posts

A teammate's revision after the merge. Its first draft's downgrade() dropped
the index and forgot the column (lesson 9): pytest-alembic's built-in tests
all passed on it, and a stairway test (each revision up, down, up again)
failed on it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("summary", sa.String(length=280), nullable=True))
    op.create_index(op.f("ix_posts_summary"), "posts", ["summary"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_posts_summary"), table_name="posts")
