"""Lesson 4, growing the schema: columns, server defaults, users, a foreign key.

Each revision is run on a scratch copy of the lesson's start that holds rows, as a
production database would, and must build exactly what the reference history
builds at that revision (types, NOT NULL, server defaults, keys and names), keep
the rows, and come back down cleanly.
"""

from course_app import lessons
from course_app.exercises import NotAttempted, NotYet, exercise
from course_app.exercises.checks import (
    check_database,
    check_history,
    check_revision,
    explain_differences,
    lesson_schema,
    revision_file,
    rows_changed,
    same_table,
    stage_models_schema,
    version_has_a_file,
)
from course_app.exercises.repair import (
    bring_database_to,
    put_reference,
    start_over,
)

HISTORY = ("0001", "0002", "0003", "0004")
# The scratch database starts where the lesson does, with rows, as production would.
ROWS = ["INSERT INTO posts (title) VALUES ('First post'), ('Second post')"]


def _content_filled(trial) -> None:
    """The posts that were there before 0002 get what the exercise says: content '',
    published true, created_at the moment of the migration (as now() gives it)."""
    empty = trial.execute("SELECT count(*) FROM posts WHERE content IS DISTINCT FROM ''")[0][0]
    if empty:
        raise NotYet(
            "after upgrade 0002 the posts that were already there should have content '' "
            "(the exercise asks for ''): fill them with op.execute(\"UPDATE posts SET content = ''\")."
        )
    unpublished = trial.execute("SELECT count(*) FROM posts WHERE published IS NOT true")[0][0]
    if unpublished:
        raise NotYet(
            f"after upgrade 0002, {unpublished} of the posts that were already there are not "
            f"published: existing posts are published, as the server default true says. Give "
            f"them true (the server default does it when the column is added)."
        )
    old = trial.execute(
        "SELECT count(*) FROM posts WHERE created_at IS NULL "
        "OR created_at < now() - interval '1 hour' OR created_at > now() + interval '1 hour'"
    )[0][0]
    if old:
        raise NotYet(
            f"after upgrade 0002, {old} of the posts that were already there have a created_at "
            f'that is not the time of the migration: leave it to server_default=sa.text("now()").'
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
    apply=lambda lesson: put_reference(lesson, "0002", HISTORY, keep_if=add_post_columns.passes),
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
    apply=lambda lesson: put_reference(lesson, "0003", HISTORY, keep_if=create_users.passes),
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
    apply=lambda lesson: put_reference(lesson, "0004", HISTORY, keep_if=owner_foreign_key.passes),
    after=(create_users,),
)
def owner_foreign_key(lesson):
    revision_file(lesson, "0004", "add posts owner fk")
    check_revision(lesson, "0004", HISTORY, rows=ROWS)
    return "owner_id references users.id, ON DELETE CASCADE, under a name we chose."


def _old_posts_filled(lesson) -> str | None:
    """The posts written before 0002 ran on the lesson's database got what 0002 gives them:
    content '', published true, created_at the time of the migration (after the lesson
    started). A wrong 0002 that ran and was fixed afterwards leaves them wrong."""
    before = [k for k, row in lesson.written.get("posts", {}).items() if "content" not in row]
    if not before:
        return None
    wrong = lesson.query(
        "SELECT id, content, published, created_at < to_timestamp(:started) - interval '5 minutes' "
        "FROM posts WHERE id = ANY(:ids) ORDER BY id",
        started=lesson.started,
        ids=before,
    )
    for key, content, published, too_old in wrong:
        if content != "" or published is not True or too_old:
            what = (
                f"content {content!r}"
                if content != ""
                else (f"published {published!r}" if published is not True else "an old created_at")
            )
            return (
                f"the post with id {key}, there before 0002, has {what}; 0002 gives ''/true/now()"
            )
    return None


def _to_head_with_rows(lesson) -> list[str]:
    """The database at head with the rows the lesson started with: if a migration lost
    them (a table dropped and made again, a DELETE), start again from the lesson's start."""
    said = []
    if not same_table(lesson, "posts"):
        lost = "posts had been dropped and made again"
    elif "posts" in lesson.tables() and (rows_changed(lesson) or _old_posts_filled(lesson)):
        lost = "rows of posts had been deleted or changed by a migration"
    else:
        lost = ""
    if lost:
        kept, put_back = start_over(lesson)  # the rows as you last wrote them come back
        if not put_back:
            for statement in ROWS:
                lesson.query(statement)
        said.append(
            f"{lost.capitalize()}, so the database starts again from the lesson's start"
            f"{put_back or ', with its two posts'} (the old one is kept as database {kept})."
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
    version_has_a_file(lesson)
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
    if not same_table(lesson, "posts"):
        raise NotYet(
            "the posts table was dropped and made again on the way (a downgrade past 0001?), so the rows "
            "it held are gone: migrations keep rows only going forward. Run the lesson's first "
            "cell to start over, or apply() to put the start's posts back."
        )
    changed = rows_changed(lesson) or _old_posts_filled(lesson)
    if changed:
        raise NotYet(
            f"{changed}: a migration that ran on this database changed data it should have "
            f"left alone. apply() puts the start's posts back."
        )
    rows = lesson.query("SELECT count(*) FROM posts")[0][0]
    return (
        f"the database is at head, its tables match the revisions, and posts holds its "
        f"{rows} row{'s' * (rows != 1)} as you left {'them' if rows != 1 else 'it'}."
    )
