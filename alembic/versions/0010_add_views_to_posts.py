"""add views to posts

Part three's first change to a live table (lesson 12): ADD COLUMN is quick, but it
needs ACCESS EXCLUSIVE on posts, and while it waits for that lock every query on
posts queues behind it. A lock_timeout in env.py makes it give up instead.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("views", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("posts", "views")
