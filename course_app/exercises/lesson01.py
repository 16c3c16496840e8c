"""Lesson 1, Why migrations: what create_all can and cannot do.

The answers come from the lesson's real state, never from constants: run the
INSERT cell twice and posts holds six rows, and the right answer is six. What a
drop took with it is noted by the lesson's engine (``Lesson.dropped``), so the
questions can be answered after the drop too.
"""

from course_app.exercises import NotAttempted, NotYet, count, exercise, names
from course_app.stage_models import models_source

# The cell that gives the Post model its content column adds this line to the starter.
TITLE_LINE = "    title: Mapped[str] = mapped_column(String, nullable=False)\n"
CONTENT_LINE = "    content: Mapped[str | None] = mapped_column(String)\n"


def models_with_content() -> str:
    """app/models.py as the lesson's %%writefile cell leaves it."""
    return models_source("0001").replace(TITLE_LINE, TITLE_LINE + CONTENT_LINE, 1)


def _models_have_content(lesson) -> bool:
    return "content" in lesson.load_models().Base.metadata.tables["posts"].columns


def _posts_columns(lesson) -> list[str]:
    return [c["name"] for c in lesson.columns("posts")] if "posts" in lesson.tables() else []


def _columns_before_drop(lesson) -> list[str]:
    """What posts had after the second create_all(), before any drop."""
    if "posts" in lesson.dropped:
        return lesson.dropped["posts"].columns
    columns = _posts_columns(lesson)
    if not columns:
        raise NotAttempted("there is no posts table yet: run the create_all() cells above first.")
    if "content" in columns:
        raise NotYet(
            "the posts table has content already, and this kernel did not see it dropped: run the lesson "
            "from its first cell to see create_all() at work again."
        )
    return columns


@exercise(
    hints=[
        "Look at the inspector's output right after the second create_all().",
        "create_all() only creates tables that are missing; posts already existed.",
    ],
    solution='columns_after = ["id", "title"]   # create_all() left posts as it was',
    answer=lambda lesson: _columns_before_drop(lesson),
    read=(names,),
)
def columns_after(lesson, answer):
    actual = _columns_before_drop(lesson)
    if sorted(answer) == sorted(actual):
        return "create_all() saw that posts exists and changed nothing, not even the new column."
    if "content" in answer and "content" not in actual:
        raise NotYet(
            "the model has content, but the posts table does not: create_all() never alters "
            "a table that already exists. Look at the inspector's output again."
        )
    if sorted(a.lower() for a in answer) == sorted(actual):
        raise NotYet(
            "PostgreSQL's names here are lowercase: write them as the inspector prints them."
        )
    missing = [c for c in actual if c not in answer]
    extra = [c for c in answer if c not in actual]
    raise NotYet(
        "posts' columns in the database are not your list: "
        + "; ".join(
            part
            for part in (
                f"it has {', '.join(missing)}, missing from your list" if missing else "",
                f"it has no {', '.join(extra)}" if extra else "",
                "one name is there twice" if not missing and not extra else "",
            )
            if part
        )
        + "."
    )


def _rows_before(lesson) -> int:
    if "posts" in lesson.dropped:
        return lesson.dropped["posts"].rows
    if "posts" not in lesson.tables():
        raise NotAttempted("there is no posts table: run the cells above first.")
    if "content" in _posts_columns(lesson):
        raise NotAttempted(
            "this kernel did not see posts dropped: run the drop_all() / create_all() cell."
        )
    return lesson.query("SELECT count(*) FROM posts")[0][0]


@exercise(
    hints=[
        "Count the rows with `lesson.query('SELECT count(*) FROM posts')` before the drop.",
        "drop_all() drops the table and everything in it; create_all() makes a new, empty one.",
    ],
    solution="rows_before, rows_after = 3, 0   # drop_all() took the rows with the table",
    answer=lambda lesson: (_rows_before(lesson), 0),
    read=(count, count),
)
def rows_lost(lesson, rows_before, rows_after):
    actual = _rows_before(lesson)
    if rows_before != actual:
        again = " (the INSERT cell ran more than once)" if actual > 3 else ""
        raise NotYet(
            f"before the drop, posts held {actual} rows{again}, not {rows_before}: count them with "
            f"lesson.query('SELECT count(*) FROM posts')."
        )
    if rows_after != 0:
        raise NotYet(
            f"after drop_all() and create_all(), posts is a new table, and a new table is empty, "
            f"not {rows_after} rows: dropping a table drops its rows."
        )
    return f"{actual} rows before, 0 after: re-creating the table lost every row."


def _insert_one(lesson) -> list[str]:
    from course_app.exercises.repair import write_file

    said = []
    if not _models_have_content(lesson):  # the %%writefile cell did not run
        said += write_file(lesson, "app/models.py", models_with_content())
    if "content" not in _posts_columns(lesson):  # the drop / create cell did not run
        models = lesson.load_models()
        engine = lesson.engine()
        try:
            models.Base.metadata.drop_all(engine)
            models.Base.metadata.create_all(engine)
        finally:
            engine.dispose()
        said.append("Dropped and made posts again from app/models.py, as the cell above does.")
    lesson.query("INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again')")
    return [
        *said,
        "Inserted one post with content: INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again').",
    ]


@exercise(
    hints=[
        "The table has the content column now (you re-created it); insert into it.",
        "lesson.query(\"INSERT INTO posts (title, content) VALUES ('Hi', 'Hello')\")",
    ],
    solution="lesson.query(\"INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again')\")",
    apply=_insert_one,
)
def insert_with_content(lesson):
    if "posts" not in lesson.tables():
        raise NotAttempted("there is no posts table: run the cells above first.")
    if "content" not in _posts_columns(lesson):
        if not _models_have_content(lesson):
            raise NotYet(
                "app/models.py has no content column on Post, so create_all() cannot make one: "
                "run the %%writefile cell that adds it, then the drop_all() / create_all() cell."
            )
        raise NotYet(
            "the posts table still has no content column, so no post can have content: run "
            "the drop_all() / create_all() cell first."
        )
    rows, with_content = lesson.query(
        "SELECT count(*), count(*) FILTER (WHERE coalesce(trim(content), '') <> '') FROM posts"
    )[0]
    if with_content and "posts" not in lesson.dropped:
        return (
            "posts has content and a post uses it. You added the column in place (ALTER TABLE), "
            "which is what a migration does: Alembic writes and records such changes."
        )
    if with_content:
        return (
            "the new column works, but only because we threw the old rows away. Alembic fixes that."
        )
    if rows:
        raise NotYet(
            f"the posts table has {rows} post{'s' * (rows > 1)}, but none with text in its content column: "
            f"name the column, INSERT INTO posts (title, content) VALUES ('...', '...')."
        )
    raise NotAttempted(
        "there is no post in the posts table yet: insert one with lesson.query(...)."
    )
