"""add post status

Lesson 15: a PostgreSQL enum on a table that exists. op.create_table would create the
type with the table; op.add_column does not, so the type is created first. And
op.drop_column leaves the type behind (as op.drop_table does): the downgrade drops
it, or the next upgrade fails on a type that already exists.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 14:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

status = sa.Enum("draft", "published", name="post_status")


def upgrade() -> None:
    status.create(op.get_bind())
    op.add_column("posts", sa.Column("status", status, nullable=True))


def downgrade() -> None:
    op.drop_column("posts", "status")
    status.drop(op.get_bind())
