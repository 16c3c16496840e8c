"""Lesson 0, Start here: one exercise, to see how checks work."""

from course_app.exercises import NotYet, exercise, revision_id
from course_app.history import History


@exercise(
    hints=[
        "Run `%alembic current`: it prints the revision the database is at.",
        "It prints something like `0005 (head)`: the answer is the id, as a string, without `(head)`.",
    ],
    solution='revision_now = "0005"   # what `%alembic current` printed',
    answer=lambda lesson: lesson.version(),
    read=(revision_id,),
)
def current_revision(lesson, answer):
    actual = lesson.version()
    if actual is None and answer in (None, "", "base"):
        return "the database is at base: no revision is applied, so `current` prints no revision."
    if answer is None:
        raise NotYet(
            f'the database is at a revision: give its id as a string, like "{actual or "0005"}".'
        )
    if answer == actual:
        head = History(lesson.path).heads == [actual]
        return f"the database is at {actual}" + (
            ", the last revision, so `current` also says (head)." if head else "."
        )
    if answer.lower() in ("head", "heads", "base", "current"):
        raise NotYet(
            f"'{answer}' is a name Alembic understands, not an id. Copy the id that "
            f"`%alembic current` prints before (head)."
        )
    if answer.lstrip("0") and answer.lstrip("0") == (actual or "").lstrip("0"):
        raise NotYet(f'write the id exactly as Alembic prints it, leading zeros too: "{actual}".')
    if answer in History(lesson.path).by_id:
        raise NotYet(
            f"{answer} is a revision of the history, but not the one the database is at: "
            f"`history` lists them all, `current` says which one is applied."
        )
    raise NotYet(
        f"{answer!r} is not what `%alembic current` prints. Run it and copy the revision id."
    )
