"""Lesson 5: going back. Where the database is, judged by its tables too."""

import pytest

from course_app import lessons
from course_app.exercises import lesson05 as ex
from tests.exercises.catalogue import (
    alembic,
    assert_case,
    ids,
    query,
    reference,
    right,
    steps,
    wrong,
)

ROWS = steps(
    query("INSERT INTO users (email, password) VALUES ('ada@example.com', 'x')"),
    query(
        "INSERT INTO posts (title, content, owner_id) VALUES ('Ada''s post', 'Hi', 1), "
        "('Orphan', 'No owner', NULL)"
    ),
)
BEFORE = {
    ex.back_to_users: (),
    ex.two_steps_down: (("downgrade", "0003"),),
    ex.tables_after_base: (("downgrade", "0003"), ("downgrade", "-2"), ("downgrade", "base")),
    ex.rows_after_round_trip: (
        ("downgrade", "0003"),
        ("downgrade", "-2"),
        ("downgrade", "base"),
        ("upgrade", "+1"),
        ("upgrade", "head"),
    ),
}


def prepare(exercise):
    lesson = lessons.start(5)
    ROWS(lesson)
    for argv in BEFORE[exercise]:
        alembic(*argv)(lesson)
    return lesson


def skip_base(lesson):
    """Down to 0001 and straight back up: the rows never left."""
    lesson = lessons.start(5)
    ROWS(lesson)
    for argv in (
        ("downgrade", "0003"),
        ("downgrade", "-2"),
        ("upgrade", "+1"),
        ("upgrade", "head"),
    ):
        alembic(*argv)(lesson)


B, T, A, R = ex.back_to_users, ex.two_steps_down, ex.tables_after_base, ex.rows_after_round_trip
base_again = steps(alembic("downgrade", "base"))
CASES = [
    wrong(B, "stamp instead of downgrade", alembic("stamp", "0003"), names="stamp"),
    wrong(B, "two steps down", alembic("downgrade", "-2"), names="past 0003"),
    wrong(B, "all the way down", alembic("downgrade", "base"), names="past 0003"),
    wrong(B, "not run", names="0004", outcome="not attempted"),
    wrong(
        B,
        "down and up again",
        steps(alembic("downgrade", "0003"), alembic("upgrade", "head")),
        names="0004",
    ),
    wrong(
        B,
        "a column dropped by hand instead",
        query("ALTER TABLE posts DROP COLUMN owner_id"),
        names="0004",
    ),
    right(B, "one step down", alembic("downgrade", "-1")),
    right(
        B, "down to 0002 and up one", steps(alembic("downgrade", "0002"), alembic("upgrade", "+1"))
    ),
    reference(B, alembic("downgrade", "0003")),
    wrong(T, "one step", alembic("downgrade", "-1"), names="0002"),
    wrong(T, "three steps", alembic("downgrade", "-3"), names="past 0001"),
    wrong(T, "stamp", alembic("stamp", "0001"), names="stamp"),
    wrong(
        T,
        "two steps from 0004",
        steps(alembic("upgrade", "head"), alembic("downgrade", "-2")),
        names="0002",
    ),
    wrong(
        T,
        "the users table dropped by hand, then stamped",
        steps(query("DROP TABLE users"), alembic("stamp", "0002")),
        names="0002",
    ),
    right(T, "by id", alembic("downgrade", "0001")),
    wrong(
        T,
        "to base and one up: posts and its rows gone",
        steps(alembic("downgrade", "base"), alembic("upgrade", "+1")),
        names="posts is not the table the lesson started with",
    ),
    reference(T, alembic("downgrade", "-2")),
    wrong(
        A,
        "asked before the downgrade",
        alembic("upgrade", "0001"),
        ["alembic_version"],
        names="downgrade base",
        outcome="not attempted",
    ),
    wrong(A, "posts kept", lambda lesson: None, ["alembic_version", "posts"], names="drops posts"),
    wrong(A, "nothing left", lambda lesson: None, [], names="(?i)one table"),
    wrong(A, "one string", lambda lesson: None, "alembic_version", names="list"),
    wrong(
        A,
        "stamp base, then the answer",
        steps(alembic("upgrade", "0001"), alembic("stamp", "base")),
        ["alembic_version"],
        names="stamp",
    ),
    wrong(
        A, "every table", lambda lesson: None, ["posts", "users", "alembic_version"], names="posts"
    ),
    right(A, "a tuple", lambda lesson: None, ("alembic_version",)),
    right(A, "a set", lambda lesson: None, {"alembic_version"}),
    wrong(
        A,
        "alembic_version dropped by hand",
        query("DROP TABLE alembic_version"),
        [],
        names="alembic_version",
    ),
    wrong(
        A,
        "a name twice",
        lambda lesson: None,
        ["alembic_version", "alembic_version"],
        names="twice",
    ),
    reference(A, lambda lesson: None, ["alembic_version"]),
    wrong(R, "the rows came back", lambda lesson: None, 2, names="empty posts table"),
    wrong(R, "still at base", base_again, 0, names="upgrade", outcome="not attempted"),
    wrong(R, "in words", lambda lesson: None, "none", names="whole number"),
    wrong(
        R,
        "stamp head instead of upgrading",
        steps(alembic("downgrade", "base"), alembic("stamp", "head")),
        0,
        names="stamp",
    ),
    wrong(
        R,
        "one step up only",
        steps(alembic("downgrade", "base"), alembic("upgrade", "+1")),
        0,
        names="0001",
        outcome="not attempted",
    ),
    right(R, "as a string", lambda lesson: None, "0"),
    right(
        R, "a post added since", query("INSERT INTO posts (title, content) VALUES ('new', 'x')"), 1
    ),
    wrong(
        R,
        "never went down to base",
        skip_base,
        2,
        names="never went down",
        outcome="not attempted",
    ),
    reference(R, lambda lesson: None, 0),
]


# Found by a hunt for wrong work that passed: down to base and up is no downgrade.
CASES += [
    wrong(
        B,
        "down to base and up to 0003: posts and its rows gone",
        steps(alembic("downgrade", "base"), alembic("upgrade", "0003")),
        names="posts is not the table the lesson started with",
    ),
    wrong(
        R,
        "0004's file deleted after the round trip",
        lambda lesson: next(lesson.versions.glob("0004_*.py")).unlink(),
        0,
        names="no revision 0004",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
