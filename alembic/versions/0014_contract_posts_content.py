"""contract posts content

Lesson 14, the last step: once no release reads or writes content any more, drop it
and the trigger, and make body NOT NULL the way lesson 13 did (a CHECK added NOT
VALID, validated after a commit, then SET NOT NULL, which trusts it and reads
nothing). The downgrade brings content back, with the trigger, filled from body
after a commit and made NOT NULL the same way: the release before could run again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    op.execute("DROP TRIGGER posts_body_sync ON posts")
    op.execute("DROP FUNCTION posts_body_sync()")
    op.drop_column("posts", "content")
    op.create_check_constraint(
        "body_not_null", "posts", "body IS NOT NULL", postgresql_not_valid=True
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_body_not_null")
        op.alter_column("posts", "body", nullable=False)
        op.drop_constraint(op.f("ck_posts_body_not_null"), "posts", type_="check")


def downgrade() -> None:
    op.alter_column("posts", "body", nullable=True)
    op.add_column("posts", sa.Column("content", sa.String(), nullable=True))
    op.execute(SYNC)
    op.execute(
        "CREATE TRIGGER posts_body_sync BEFORE INSERT OR UPDATE ON posts "
        "FOR EACH ROW EXECUTE FUNCTION posts_body_sync()"
    )
    with op.get_context().autocommit_block():
        op.execute("UPDATE posts SET content = body WHERE content IS NULL")
        op.create_check_constraint(
            "content_not_null", "posts", "content IS NOT NULL", postgresql_not_valid=True
        )
        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_content_not_null")
        op.alter_column("posts", "content", nullable=False)
        op.drop_constraint(op.f("ck_posts_content_not_null"), "posts", type_="check")
