"""add slug to posts

Written from 0005 while a teammate wrote 0006 from 0005 too: two heads,
merged by 0008. Nullable, so the posts already there need no slug; unique, so
two posts never share one (PostgreSQL lets many NULLs through a UNIQUE).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 10:05:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("slug", sa.String(length=200), nullable=True))
    op.create_unique_constraint(op.f("uq_posts_slug"), "posts", ["slug"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_posts_slug"), "posts", type_="unique")
    op.drop_column("posts", "slug")
