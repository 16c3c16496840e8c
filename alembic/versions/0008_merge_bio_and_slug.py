"""merge bio and slug

Generated with `alembic merge heads -m "merge bio and slug" --rev-id 0008`.
A merge changes no table: it only joins the two lines of history, so that
there is one head again and `alembic_version` holds one row.

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-11-30 10:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
