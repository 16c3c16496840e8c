"""add owner_id to posts, a foreign key to users

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("owner_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_posts_owner_id_users"),
        "posts",
        "users",
        ["owner_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    # The constraint has a name we chose (the naming convention), so we can drop it.
    op.drop_constraint(op.f("fk_posts_owner_id_users"), "posts", type_="foreignkey")
    op.drop_column("posts", "owner_id")
