"""Lesson 4, growing the schema: columns, server defaults, users, a foreign key."""

from course_app.exercises import (
    NotAttempted,
    NotYet,
    Trial,
    describe,
    differences,
    exercise,
    require_column,
    require_table,
    revision_file,
    run,
)

# The scratch database starts where the lesson does, with rows, as production would.
ROWS = ["INSERT INTO posts (title) VALUES ('First post'), ('Second post')"]


def _trial_upgrade(lesson, revision: str) -> Trial:
    trial = Trial(lesson, ROWS)
    try:
        trial.alembic("upgrade", revision)
    except NotYet as exc:
        trial.close()
        if "contains null values" in str(exc):
            raise NotYet(
                "the upgrade fails on a table with rows: a new NOT NULL column has no value "
                "for them. Give it a server_default, or add it nullable, fill it with an "
                "UPDATE, then op.alter_column(..., nullable=False)."
            ) from None
        raise
    return trial


@exercise(
    hints=[
        'Three op.add_column("posts", sa.Column(...)) calls; downgrade() drops them in reverse.',
        'published: server_default=sa.text("true"); created_at: sa.TIMESTAMP(timezone=True), '
        'server_default=sa.text("now()"). Both nullable=False.',
        'content is NOT NULL with no default: add it nullable, op.execute("UPDATE posts SET '
        'content = \'\' ..."), then op.alter_column("posts", "content", nullable=False).',
    ],
    reference="0002",
)
def add_post_columns(lesson):
    revision_file(lesson, "0002", "add post columns")
    with _trial_upgrade(lesson, "0002") as trial:
        columns = require_table(trial.inspector(), "posts", "upgrade 0002")
        require_column(columns, "posts", "content", "VARCHAR", nullable=False)
        require_column(columns, "posts", "published", "BOOLEAN", nullable=False, default="true")
        require_column(columns, "posts", "created_at", "TIMESTAMP", nullable=False, default="now()")
        with trial.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM posts").scalar_one()
        if rows != 2:
            raise NotYet(
                f"the two posts that were there before the upgrade became {rows}: an "
                f"upgrade must keep existing rows."
            )
        trial.alembic("downgrade", "0001")
        left = (
            set(columns)
            & {"content", "published", "created_at"}
            & {c["name"] for c in trial.inspector().get_columns("posts")}
        )
        if left:
            raise NotYet(
                f"after downgrade 0001, posts still has {', '.join(sorted(left))}: "
                f"drop every column upgrade() added, with op.drop_column."
            )
    return (
        "three columns added, the existing rows kept and filled, and a downgrade that removes them."
    )


@exercise(
    hints=[
        'op.create_table("users", ...) like posts in lesson 3; downgrade() drops it.',
        'email: sa.String, nullable=False, and a sa.UniqueConstraint("email"); '
        'created_at with server_default=sa.text("now()").',
    ],
    reference="0003",
)
def create_users(lesson):
    revision_file(lesson, "0003", "create users table")
    with _trial_upgrade(lesson, "0003") as trial:
        columns = require_table(trial.inspector(), "users", "upgrade 0003")
        require_column(columns, "users", "id", "INTEGER", nullable=False)
        require_column(columns, "users", "email", "VARCHAR", nullable=False)
        require_column(columns, "users", "password", "VARCHAR", nullable=False)
        require_column(columns, "users", "created_at", "TIMESTAMP", nullable=False, default="now()")
        unique = [u["column_names"] for u in trial.inspector().get_unique_constraints("users")]
        if ["email"] not in unique:
            raise NotYet(
                'two users could share an email: add sa.UniqueConstraint("email") '
                "(or unique=True on the column)."
            )
        trial.alembic("downgrade", "0002")
        if "users" in trial.inspector().get_table_names():
            raise NotYet('your downgrade() does not drop users: add op.drop_table("users").')
    return "users(id, email unique, password, created_at) comes and goes with its revision."


@exercise(
    hints=[
        "Two steps: op.add_column for owner_id, then op.create_foreign_key to users.id.",
        'op.create_foreign_key("fk_posts_owner_id_users", "posts", "users", ["owner_id"], '
        '["id"], ondelete="CASCADE"); downgrade() drops the constraint by that name, '
        "then the column.",
    ],
    reference="0004",
)
def owner_foreign_key(lesson):
    revision_file(lesson, "0004", "add posts owner fk")
    with _trial_upgrade(lesson, "0004") as trial:
        columns = require_table(trial.inspector(), "posts", "upgrade 0004")
        require_column(columns, "posts", "owner_id", "INTEGER", nullable=True)
        keys = trial.inspector().get_foreign_keys("posts")
        if not keys:
            raise NotYet(
                "posts.owner_id has no foreign key: add op.create_foreign_key(...) to users.id."
            )
        key = keys[0]
        if (key["referred_table"], key["referred_columns"]) != ("users", ["id"]):
            raise NotYet(
                f"the foreign key points at {key['referred_table']}.{key['referred_columns']}; "
                f"it should point at users.id."
            )
        if (key.get("options") or {}).get("ondelete", "").upper() != "CASCADE":
            raise NotYet('deleting a user would fail while they own posts: add ondelete="CASCADE".')
        if key["name"] != "fk_posts_owner_id_users":
            raise NotYet(
                f"the constraint is named {key['name']}; name it fk_posts_owner_id_users, as "
                f"the naming convention does, so the downgrade can drop it by name."
            )
        trial.alembic("downgrade", "0003")
        if "owner_id" in {c["name"] for c in trial.inspector().get_columns("posts")}:
            raise NotYet(
                "after downgrade 0003 posts still has owner_id: drop the constraint, "
                "then the column."
            )
    return "owner_id references users.id, ON DELETE CASCADE, under a name we chose."


@exercise(
    hints=[
        "Apply everything you wrote: %alembic upgrade head.",
        "Then `%alembic check` should say: No new upgrade operations detected.",
    ],
    solution="%alembic upgrade head",
    apply=lambda lesson: run(lesson, "upgrade", "head"),
)
def at_head(lesson):
    at = lesson.version()
    if at != "0004":
        raise NotAttempted(
            f"the lesson's database is at {at or 'base'}: run %alembic upgrade head "
            f"once your three revisions check out."
        )
    diff = differences(lesson)
    if diff:
        raise NotYet(
            f"the database is at 0004 but differs from app/models.py: {describe(diff[0])}."
        )
    rows = lesson.query("SELECT count(*) FROM posts")[0][0]
    return f"the database matches the models, and the {rows} posts from the start are still there."
