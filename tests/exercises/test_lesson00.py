"""Lesson 0's one question, and the mistakes learners make with it."""

import pytest

from course_app import lessons
from course_app.exercises import lesson00 as ex
from tests.exercises.catalogue import alembic, assert_case, ids, reference, right, wrong


def prepare(exercise):
    return lessons.start(0)


E = ex.current_revision
CASES = [
    wrong(E, "head, the label", lambda lesson: None, "head", names="head"),
    wrong(E, "an older revision", lambda lesson: None, "0004", names="0004"),
    wrong(E, "a number", lambda lesson: None, 5, names='"0005"'),
    wrong(E, "without leading zeros", lambda lesson: None, "5", names="leading zeros"),
    wrong(E, "the first revision", lambda lesson: None, "0001", names="0001"),
    wrong(E, "the table's name", lambda lesson: None, "alembic_version", names="current"),
    wrong(E, "a stale answer after a downgrade", alembic("downgrade", "-1"), "0005", names="0005"),
    wrong(E, "a list", lambda lesson: None, ["0005"], names="string"),
    right(E, "as current prints it", lambda lesson: None, "0005 (head)"),
    right(E, "with spaces", lambda lesson: None, " 0005 "),
    right(E, "after a downgrade, the real revision", alembic("downgrade", "-1"), "0004"),
    right(E, "at base, no revision", alembic("downgrade", "base"), None),
    wrong(E, "None while it is at a revision", lambda lesson: None, None, names='"0005"'),
    reference(E, lambda lesson: None, "0005"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
