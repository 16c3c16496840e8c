"""views not null

Lesson 13: NOT NULL on a table in use. SET NOT NULL alone reads every row to prove
there is no NULL, holding ACCESS EXCLUSIVE all the while. A CHECK added NOT VALID is
instant; VALIDATE then reads the rows under SHARE UPDATE EXCLUSIVE, which lets reads
and writes go on; and since PostgreSQL 12, SET NOT NULL trusts a validated CHECK
instead of reading again. Each step commits before the next: an ACCESS EXCLUSIVE
taken earlier in the same transaction would be held through the scan.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE posts SET views = 0 WHERE views IS NULL")
    op.alter_column("posts", "views", server_default=sa.text("0"))
    op.create_check_constraint(
        "views_not_null", "posts", "views IS NOT NULL", postgresql_not_valid=True
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_views_not_null")
        op.alter_column("posts", "views", nullable=False)
        op.drop_constraint(op.f("ck_posts_views_not_null"), "posts", type_="check")


def downgrade() -> None:
    op.alter_column("posts", "views", nullable=True, server_default=None)
