"""Lesson 4, growing the schema: columns, server defaults, users, a foreign key.

Each revision is run on a scratch copy of the lesson's start that holds rows, as a
production database would, and must build exactly what the reference history
builds at that revision (types, NOT NULL, server defaults, keys and names), keep
the rows, and come back down cleanly.
"""

from course_app import database, lessons
from course_app.exercises import NotAttempted, NotYet, exercise
from course_app.exercises.checks import (
    check_database,
    check_history,
    check_revision,
    explain_differences,
    lesson_schema,
    revision_file,
    stage_models_schema,
    start_template,
)
from course_app.exercises.repair import bring_database_to, put_reference, save_database

HISTORY = ("0001", "0002", "0003", "0004")
# The scratch database starts where the lesson does, with rows, as production would.
ROWS = ["INSERT INTO posts (title) VALUES ('First post'), ('Second post')"]


def _content_filled(trial) -> None:
    empty = trial.execute("SELECT count(*) FROM posts WHERE content IS DISTINCT FROM ''")[0][0]
    if empty:
        raise NotYet(
            "after upgrade 0002 the posts that were already there should have content '' "
            "(the exercise asks for ''): fill them with op.execute(\"UPDATE posts SET content = ''\")."
        )


@exercise(
    hints=[
        'Three op.add_column("posts", sa.Column(...)) calls; downgrade() drops them in reverse.',
        'published: server_default=sa.text("true"); created_at: sa.TIMESTAMP(timezone=True), '
        'server_default=sa.text("now()"). Both nullable=False.',
        'content is NOT NULL with no default: add it nullable, op.execute("UPDATE posts SET '
        'content = \'\' ..."), then op.alter_column("posts", "content", nullable=False).',
    ],
    reference="0002",
    apply=lambda lesson: put_reference(lesson, "0002", HISTORY),
)
def add_post_columns(lesson):
    revision_file(lesson, "0002", "add post columns")
    check_revision(lesson, "0002", HISTORY, rows=ROWS, after_upgrade=_content_filled)
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
    apply=lambda lesson: put_reference(lesson, "0003", HISTORY),
    after=(add_post_columns,),
)
def create_users(lesson):
    revision_file(lesson, "0003", "create users table")
    check_revision(lesson, "0003", HISTORY, rows=ROWS)
    return "users(id, email unique, password, created_at) comes and goes with its revision."


@exercise(
    hints=[
        "Two steps: op.add_column for owner_id, then op.create_foreign_key to users.id.",
        'op.create_foreign_key("fk_posts_owner_id_users", "posts", "users", ["owner_id"], '
        '["id"], ondelete="CASCADE"); downgrade() drops the constraint by that name, '
        "then the column.",
    ],
    reference="0004",
    apply=lambda lesson: put_reference(lesson, "0004", HISTORY),
    after=(create_users,),
)
def owner_foreign_key(lesson):
    revision_file(lesson, "0004", "add posts owner fk")
    check_revision(lesson, "0004", HISTORY, rows=ROWS)
    return "owner_id references users.id, ON DELETE CASCADE, under a name we chose."


def _posts_oid(name: str) -> int | None:
    engine = database.engine(name)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT to_regclass('posts')::oid").scalar()
    finally:
        engine.dispose()


def _same_posts_table(lesson) -> bool:
    """Is posts still the table the lesson started with? A copy of a template keeps its
    tables' identities (oids); a table dropped and made again (downgrade past 0001 and
    back) gets a new one, and its rows are gone."""
    return _posts_oid(lesson.database) == _posts_oid(start_template(lesson))


def _to_head_with_rows(lesson) -> list[str]:
    said = []
    if not _same_posts_table(lesson):
        kept = save_database(lesson)
        database.recreate(lesson.database, template=start_template(lesson))
        for statement in ROWS:
            lesson.query(statement)
        said.append(
            f"posts had been dropped and made again, so its first rows were gone: the database "
            f"starts again from the lesson's start, with its two posts (the old one is kept as "
            f"database {kept})."
        )
    return said + bring_database_to(lesson, "0004", HISTORY)


@exercise(
    hints=[
        "Apply everything you wrote: %alembic upgrade head.",
        "Then `%alembic check` should say: No new upgrade operations detected.",
    ],
    solution="%alembic upgrade head",
    apply=_to_head_with_rows,
    after=(owner_foreign_key,),
)
def at_head(lesson):
    check_history(lesson, HISTORY)
    at = lesson.version()
    if at != "0004":
        raise NotAttempted(
            f"the lesson's database is at {at or 'base'}: run %alembic upgrade head "
            f"once your three revisions check out."
        )
    check_database(lesson, HISTORY)
    models = stage_models_schema(lessons.STAGES[lesson.number].models)
    if lesson_schema(lesson) != models:
        raise NotYet(
            "the database is at 0004 but differs from app/models.py, so `alembic check` would "
            "fail: "
            + explain_differences(models, lesson_schema(lesson), "the models", "in the database")
        )
    if not _same_posts_table(lesson):
        raise NotYet(
            "the posts table was dropped and made again on the way (a downgrade past 0001?), so the rows "
            "it held are gone: migrations keep rows only going forward. Run the lesson's first "
            "cell to start over, or apply() to put the start's posts back."
        )
    rows = lesson.query("SELECT count(*) FROM posts")[0][0]
    return f"the database is at head, its tables match the revisions, and the {rows} posts from the start are still there."
