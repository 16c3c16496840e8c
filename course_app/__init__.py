"""Alembic, Hands-On: the package behind the lessons.

A lesson's first cell is ``lesson = course_app.start(N)``: it prepares the
lesson's workspace and database (see ``lessons``). Inside Jupyter, importing the
package makes ``%alembic`` available (see ``magics``) and shows the course's own
errors as one line, not a traceback, from the very first cell. Everything else a
learner touches is a real tool: Alembic, SQLAlchemy, PostgreSQL.
"""

from course_app.errors import CourseError
from course_app.lessons import Lesson

__all__ = ["CourseError", "Lesson", "start"]


def start(number: int) -> Lesson:
    """Start lesson ``number`` from its own fresh state; print what is ready."""
    from course_app import backups, lessons

    try:
        lesson = lessons.start(number)
        stage = lessons.STAGES[number]
        at = stage.revision  # what start() just made (another kernel may reset it)
    except CourseError:
        raise
    except Exception as exc:  # never a traceback from the first cell
        raise CourseError(
            f"Lesson {number} could not start ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'}). "
            f"Run `python -m course_app doctor` in a terminal: it says what to fix."
        ) from None
    if lesson.backup is not None:
        print(f"Your changes from last time are saved in {backups.shown(lesson.backup)}")
    print(
        f"Lesson {number} is ready: workspace {lesson.path.relative_to(lesson.path.parent.parent)}/, "
        f"database {lesson.database}"
        + (
            f" at revision {at}."
            if at
            else " (built by create_all(), with rows; Alembic has never run on it)."
            if stage.adopted
            else " (empty)."
        )
    )
    return lesson


def _load_magics() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ipython = get_ipython()
    if ipython is not None:
        load_ipython_extension(ipython)


def load_ipython_extension(ipython) -> None:
    """``%load_ext course_app`` also works."""
    from course_app import magics

    magics.load_ipython_extension(ipython)


_load_magics()
