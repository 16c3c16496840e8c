"""archive old drafts

Lesson 15: drafts created before 2025 are archived. A bind
parameter carries the date (never a value pasted into the SQL).

The downgrade cannot know which archived posts were drafts before and which were
archived since by hand: its policy, said here, is that every archived post becomes
a draft again (hidden, as it was).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 17:00:00.000000

"""

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUTOFF = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE posts SET status = 'archived' WHERE status = 'draft' AND created_at < :cutoff"
        ).bindparams(cutoff=CUTOFF)
    )


def downgrade() -> None:
    op.execute("UPDATE posts SET status = 'draft' WHERE status = 'archived'")
