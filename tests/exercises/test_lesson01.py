"""Lesson 1: create_all's limit, and the mistakes learners make answering about it."""

import pytest

from course_app import lessons
from course_app.exercises import lesson01 as ex
from tests.exercises.catalogue import assert_case, edit, ids, query, reference, right, steps, wrong

CONTENT = (
    "    title: Mapped[str] = mapped_column(String, nullable=False)\n",
    "    title: Mapped[str] = mapped_column(String, nullable=False)\n"
    "    content: Mapped[str | None] = mapped_column(String)\n",
)


def create_all(lesson):
    models = lesson.load_models()
    engine = lesson.engine()
    models.Base.metadata.create_all(engine)
    engine.dispose()


def drop_and_create(lesson):
    """The lesson's drop_all() / create_all() cell, through the lesson's engine."""
    models = lesson.load_models()
    engine = lesson.engine()
    models.Base.metadata.drop_all(engine)
    models.Base.metadata.create_all(engine)
    engine.dispose()


INSERT = query("INSERT INTO posts (title) VALUES ('Hello'), ('Migrations'), ('Alembic')")


def prepare(exercise):
    """The cells before the exercise: create_all, three rows, content in the model,
    create_all again (and, from exercise 3 on, the drop and re-create)."""
    lesson = lessons.start(1)
    create_all(lesson)
    INSERT(lesson)
    edit("app/models.py", CONTENT)(lesson)
    create_all(lesson)
    if exercise is ex.insert_with_content:
        drop_and_create(lesson)
    return lesson


def added_in_place(lesson):
    """The learner skipped the drop cell and altered the table: a migration by hand."""
    lesson = prepare(ex.columns_after)
    lesson.query("ALTER TABLE posts ADD COLUMN content varchar")
    lesson.query("INSERT INTO posts (title, content) VALUES ('x', 'y')")


C, R, W = ex.columns_after, ex.rows_lost, ex.insert_with_content
nothing = lambda lesson: None  # noqa: E731
CASES = [
    wrong(C, "the model's columns", nothing, ["id", "title", "content"], names="never alters"),
    wrong(C, "one column", nothing, ["id"], names="title"),
    wrong(C, "one string", nothing, "id, title", names="list"),
    wrong(C, "capitals", nothing, ["ID", "Title"], names="lowercase"),
    wrong(C, "a name twice", nothing, ["id", "title", "title"], names="twice"),
    wrong(C, "a count", nothing, 2, names="list of names"),
    wrong(C, "the table's name", nothing, ["posts"], names="posts"),
    right(C, "a tuple", nothing, ("id", "title")),
    right(C, "another order", nothing, ["title", "id"]),
    right(C, "asked after the drop", drop_and_create, ["id", "title"]),
    wrong(
        C,
        "the drop cell run twice, the model's columns",
        steps(drop_and_create, drop_and_create),
        ["id", "title", "content"],
        names="never alters",
    ),
    right(C, "the drop cell run twice", steps(drop_and_create, drop_and_create), ["id", "title"]),
    reference(C, nothing, ["id", "title"]),
    wrong(R, "rows survive", drop_and_create, 3, 3, names="drops its rows"),
    wrong(R, "nothing before", drop_and_create, 0, 0, names="3 rows"),
    wrong(R, "a blank answer", drop_and_create, 3, None, names="whole number"),
    wrong(R, "the INSERT cell ran twice", steps(INSERT, drop_and_create), 3, 0, names="6 rows"),
    wrong(R, "in words", drop_and_create, "three", 0, names="whole number"),
    wrong(R, "predicted before the drop: rows survive", nothing, 3, 3, names="drops its rows"),
    wrong(R, "one answer for two", drop_and_create, "3, 0", names="2 answers"),
    right(R, "as strings", drop_and_create, "3", "0"),
    right(R, "six rows after the INSERT cell ran twice", steps(INSERT, drop_and_create), 6, 0),
    right(R, "predicted before the drop", nothing, 3, 0),
    wrong(
        R,
        "the drop cell run twice, rows survive",
        steps(drop_and_create, drop_and_create),
        0,
        0,
        names="3 rows",
    ),
    right(R, "the drop cell run twice", steps(drop_and_create, drop_and_create), 3, 0),
    reference(R, drop_and_create, 3, 0),
    wrong(W, "no content given", query("INSERT INTO posts (title) VALUES ('x')"), names="content"),
    wrong(
        W,
        "empty content",
        query("INSERT INTO posts (title, content) VALUES ('x', '')"),
        names="content",
    ),
    wrong(
        W,
        "NULL content",
        query("INSERT INTO posts (title, content) VALUES ('x', NULL)"),
        names="content",
    ),
    wrong(W, "nothing inserted", nothing, names="no post"),
    wrong(
        W,
        "the drop_all() / create_all() cell skipped",
        lambda lesson: prepare(C) and None,
        names="no content column",
    ),
    right(
        W, "two posts", query("INSERT INTO posts (title, content) VALUES ('a', 'b'), ('c', 'd')")
    ),
    right(W, "content first", query("INSERT INTO posts (content, title) VALUES ('b', 'a')")),
    right(W, "the column added in place, no drop", added_in_place),
    reference(W, query("INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again')")),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
