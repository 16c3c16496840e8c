"""Lesson 1, Why migrations: what create_all can and cannot do."""

from course_app.exercises import NotAttempted, NotYet, exercise

ROWS_INSERTED = 3  # the lesson inserts three posts before changing the model


@exercise(
    hints=[
        "Look at the inspector's output right after the second create_all().",
        "create_all() only creates tables that are missing; posts already existed.",
    ],
    solution='columns_after = ["id", "title"]   # create_all() left posts as it was',
)
def columns_after(lesson, answer):
    actual = [c["name"] for c in lesson.columns("posts")] if "posts" in lesson.tables() else []
    if "content" in actual:
        raise NotYet(
            "posts already has content in the database, so this question is over: "
            "run the lesson from its first cell to see create_all() at work again."
        )
    given = list(answer)
    if given == actual:
        return "create_all() saw that posts exists and changed nothing, not even the new column."
    if "content" in given:
        raise NotYet(
            "the model has content, but the table does not: create_all() never alters "
            "a table that already exists. Look at the inspector's output again."
        )
    raise NotYet(f"posts has the columns {actual}, in that order; your list is {given}.")


@exercise(
    hints=[
        "Count the rows with `lesson.query('SELECT count(*) FROM posts')` before and after.",
        "Three posts went in before drop_all(); count what is left after create_all().",
    ],
    solution="rows_before, rows_after = 3, 0   # drop_all() took the rows with the table",
)
def rows_lost(lesson, rows_before, rows_after):
    if "posts" not in lesson.tables():
        raise NotAttempted("there is no posts table: run the drop_all() / create_all() cell first.")
    actual = lesson.query("SELECT count(*) FROM posts")[0][0]
    if rows_before != ROWS_INSERTED:
        raise NotYet(
            f"before dropping, posts held the {ROWS_INSERTED} rows the lesson inserted, "
            f"not {rows_before}."
        )
    if rows_after != actual:
        hint = " Dropping a table drops its rows." if rows_after == ROWS_INSERTED else ""
        raise NotYet(f"posts holds {actual} rows now, not {rows_after}.{hint}")
    return f"{ROWS_INSERTED} rows before, {actual} after: re-creating the table lost every row."


@exercise(
    hints=[
        "The table has the content column now (you re-created it); insert into it.",
        "lesson.query(\"INSERT INTO posts (title, content) VALUES ('Hi', 'Hello')\")",
    ],
    solution="lesson.query(\"INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again')\")",
)
def insert_with_content(lesson):
    if "posts" not in lesson.tables():
        raise NotAttempted("there is no posts table: run the cells above first.")
    columns = [c["name"] for c in lesson.columns("posts")]
    if "content" not in columns:
        raise NotYet(
            "posts still has no content column: run the drop_all() / create_all() cell first."
        )
    rows = lesson.query("SELECT count(*) FROM posts WHERE content IS NOT NULL")[0][0]
    if rows == 0:
        raise NotAttempted("no post has content yet: insert one with lesson.query(...).")
    return "the new column works, but only because we threw the old rows away. Alembic fixes that."
