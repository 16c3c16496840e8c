"""expand posts body

Lesson 14, the first of three steps that rename posts.content to body with the app
running. Expand: add body, and keep the two columns in step with a trigger, so that
the release that writes content and the one that writes body both work on this
schema; then copy the old rows over, after a commit (the ADD COLUMN's ACCESS
EXCLUSIVE is held to the end of its transaction, and the copy reads every row).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whichever column a release writes, the other one gets the same text.
SYNC = """
CREATE FUNCTION posts_body_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.body := coalesce(NEW.body, NEW.content);
        NEW.content := coalesce(NEW.content, NEW.body);
    ELSIF NEW.content IS DISTINCT FROM OLD.content THEN
        NEW.body := NEW.content;
    ELSIF NEW.body IS DISTINCT FROM OLD.body THEN
        NEW.content := NEW.body;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.add_column("posts", sa.Column("body", sa.String(), nullable=True))
    op.execute(SYNC)
    op.execute(
        "CREATE TRIGGER posts_body_sync BEFORE INSERT OR UPDATE ON posts "
        "FOR EACH ROW EXECUTE FUNCTION posts_body_sync()"
    )
    with op.get_context().autocommit_block():
        op.execute("UPDATE posts SET body = content WHERE body IS NULL")


def downgrade() -> None:
    op.execute("DROP TRIGGER posts_body_sync ON posts")
    op.execute("DROP FUNCTION posts_body_sync()")
    op.drop_column("posts", "body")
