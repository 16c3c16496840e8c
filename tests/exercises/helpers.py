"""Helpers to assert what a check says, without going through print()."""

import re

from course_app import lessons
from course_app.exercises import NotAttempted, NotYet


def verdict(exercise, *answers) -> tuple[str, str]:
    """('correct' | 'not yet' | 'not attempted', message) for the current lesson."""
    try:
        message = exercise._check(lessons.current(), *answers)
    except NotYet as exc:
        return "not yet", str(exc)
    except NotAttempted as exc:
        return "not attempted", str(exc)
    return "correct", message or ""


def assert_verdict(exercise, outcome: str, pattern: str, *answers) -> None:
    got, message = verdict(exercise, *answers)
    assert got == outcome, f"{exercise.name}: expected {outcome}, got {got}: {message}"
    assert re.search(pattern, message), f"{exercise.name}: {message!r} does not match {pattern!r}"
    assert 0 < len(message) < 400 and message.count(". ") <= 3, f"too long: {message}"


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def write_revision(lesson, reference: str, *, replace: tuple[str, str] | None = None):
    """Copy a reference revision into the workspace, optionally with a change (a wrong answer)."""
    from course_app.exercises import copy_reference

    path = copy_reference(lesson, reference)
    if replace:
        edit(path, *replace)
    return path


def blank_revision(lesson, rev_id: str, message: str):
    from course_app.exercises import run

    status, problem = run(lesson, "revision", "-m", message, "--rev-id", rev_id)
    assert status == 0, problem
    return next(lesson.versions.glob(f"{rev_id}_*.py"))
