"""add archived status

Lesson 15: ALTER TYPE ... ADD VALUE may run in a transaction (PostgreSQL 12 and
later), but the new value cannot be used until that transaction has committed; and
`alembic upgrade head` runs this revision and the next, which uses it, in one. So it
runs in an autocommit block, committed at once.

PostgreSQL cannot drop a value from an enum. The downgrade leaves it, unused (0018's
downgrade takes it off every row), and the upgrade adds it IF NOT EXISTS, so that up,
down and up again works.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 16:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE post_status ADD VALUE IF NOT EXISTS 'archived'")


def downgrade() -> None:
    pass
