"""Lesson 0, Start here: one exercise, to see how checks work."""

from course_app.exercises import NotYet, exercise


@exercise(
    hints=[
        "Run `%alembic current`: it prints the revision the database is at.",
        "It prints something like `0005 (head)`: the answer is the id, without `(head)`.",
    ],
    solution='revision_now = "0005"   # what `%alembic current` printed',
)
def current_revision(lesson, answer):
    actual = lesson.version()
    given = str(answer).strip()
    if given == actual:
        return f"The database is at {actual}, the newest revision, so `current` also says (head)."
    if given.lower() in ("head", "(head)", "heads"):
        raise NotYet(
            "'head' is a label for the newest revision, not its id. "
            "Copy the id that `%alembic current` prints before (head)."
        )
    raise NotYet(
        f"{given!r} is not what `%alembic current` prints. Run it and copy the revision id."
    )
