"""Exercises in the style of Kaggle's learntools: ``check()``, ``hint()``, ``solution()``, ``apply()``.

Each lesson's exercises live in their own module (``exercises.lesson04``), declared
once with the ``@exercise`` decorator, next to the lesson that uses them::

    @exercise(hints=["..."], reference="0002", apply=...)
    def add_post_columns(lesson):
        ...  # raise NotYet("what is wrong, and where") or NotAttempted("...")
        return "what the learner got right"

In the notebook: ``ex.add_post_columns.check()``; ``.hint()``, ``.hint(2)``;
``.solution()``; and ``.apply()``, which puts the right state in place (files and
database) so a stuck learner can move on. Answers the learner types are passed
explicitly, ``ex.rows_lost.check(rows_before, rows_after)``; ``____`` marks one not
given yet, and each is read by a reader (``revision_id``, ``names``, ``count``) that
accepts the obvious equivalents and says which type is wanted otherwise.

Checks judge outcomes, never proxies: the tables, columns and rows the learner's
revisions really build on a scratch database, the revision graph, what ``env.py``
really hands to Alembic (see ``checks``). The result shows as a coloured box in
JupyterLab (green correct, amber not yet, grey not attempted) with a plain-text
twin; neither check(), hint(), solution(), apply() nor require() ever shows a
traceback.
"""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from inspect import signature

from course_app import lessons
from course_app.alembic_errors import sentence
from course_app.errors import CourseError


class Placeholder:
    """``____``: the blank a learner fills in."""

    def __repr__(self) -> str:
        return "____"


____ = Placeholder()


class NotYet(Exception):
    """The learner's answer or state is wrong; the message says how."""


class NotAttempted(Exception):
    """Nothing to check yet; the message says what to do."""


# -- what a check says ---------------------------------------------------------------

_LOOK = {  # outcome -> (label, mark, border, background, text): WCAG AA contrast on its own
    "correct": ("Correct!", "✔", "#1a7f37", "#e6f4ea", "#0d3318"),
    "not yet": ("Not yet:", "✘", "#9a6700", "#fff4d4", "#3b2600"),
    "not attempted": ("Not attempted:", "…", "#6e7781", "#f1f2f4", "#24292f"),
}


@dataclass(frozen=True)
class Feedback:
    """One check's verdict: shown as a coloured box in JupyterLab, as text elsewhere."""

    outcome: str  # "correct", "not yet" or "not attempted"
    message: str

    def __str__(self) -> str:
        label = _LOOK[self.outcome][0]
        return f"{label} {self.message}" if self.message else label

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        label, mark, border, background, colour = _LOOK[self.outcome]
        body = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.message, quote=False))
        return (
            f'<div class="course-check course-check-{self.outcome.replace(" ", "-")}" '
            f'role="status" style="border-left: 4px solid {border}; background: {background}; '
            f'color: {colour}; padding: 6px 10px; margin: 2px 0; line-height: 1.45;">'
            f'<span aria-hidden="true">{mark}</span> <strong>{label}</strong> {body}</div>'
        )


def show(feedback: Feedback) -> None:
    """Display in a Jupyter kernel (HTML and text); print anywhere else."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(feedback)
    else:
        print(feedback)


# -- answers a learner types -----------------------------------------------------------


def revision_id(value) -> str | None:
    """A revision id: a string such as "0005" (``0005 (head)`` as `current` prints it is fine);
    None for "no revision" (a database at base)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NotYet(f'give the revision id as a string, like "0005"; {value!r} is not one.')
    if isinstance(value, int):
        raise NotYet(
            f"revision ids are strings, written with quotes as Alembic prints them (like "
            f'"0005"), not the number {value}: a number loses the leading zeros.'
        )
    return re.sub(r"\s*\((head|heads|current|effective head)\)\s*$", "", value.strip()).strip()


def names(value) -> list[str]:
    """A list of names (tables, columns); a tuple or set is fine, one string is not."""
    if isinstance(value, str):
        raise NotYet(f'give a list of names, like ["id", "title"]; {value!r} is one string.')
    if isinstance(value, (type({}.keys()), type({}.values()))) or (
        hasattr(value, "__next__") and hasattr(value, "__iter__")  # a generator, map(), ...
    ):
        value = list(value)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise NotYet(
            f'give a list of names, like ["id", "title"]; {value!r} is a {type(value).__name__}.'
        )
    if not all(isinstance(v, str) for v in value):
        raise NotYet(f'each name is a string in quotes, like ["id", "title"]; got {list(value)!r}.')
    return [v.strip() for v in value]


def count(value) -> int:
    """A whole number; "3" for 3 is fine."""
    if isinstance(value, bool):
        raise NotYet(f"give a number of rows, like 3, not {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise NotYet(f"give a whole number of rows, like 3; {value!r} is not one.")


# -- exercises ---------------------------------------------------------------------------


class Exercise:
    """One exercise: its check, hints, reference answer and way out. Made by ``@exercise``."""

    def __init__(
        self,
        check: Callable,
        hints: list[str],
        reference: str | None = None,
        solution: str | None = None,
        apply: Callable | None = None,
        answer: Callable | None = None,
        read: tuple[Callable, ...] = (),
        after: tuple["Exercise", ...] = (),
    ):
        self._check = check
        self.name = check.__name__
        self.asks = list(signature(check).parameters)[1:]  # what the learner passes in
        self._hints = hints
        self._reference = reference
        self._solution = solution
        self._apply = apply
        self._answer = answer
        self._read = read
        self._after = after
        self._given: tuple | None = None  # the last answers that checked out, for require()

    @property
    def kind(self) -> str:
        """ "question" (the learner types an answer), "revision" or "state"."""
        return "question" if self.asks else ("revision" if self._reference else "state")

    # -- the four calls ------------------------------------------------------------

    def check(self, *answers) -> None:
        """Show whether the answer (or the lesson's state) is right, and why."""
        feedback = self.judge(*answers)
        if feedback.outcome == "correct":
            self._given = answers
        show(feedback)
        self._record(feedback.outcome)

    def _record(self, outcome: str) -> None:
        """Keep the outcome (never the answer) for ``python -m course_app progress``."""
        if lessons._current is not None:
            from course_app import progress

            progress.record(lessons._current.number, self.name, outcome)

    def judge(self, *answers) -> Feedback:
        """The verdict, without showing it."""
        if len(answers) != len(self.asks):
            wanted = f"{self.name}.check({', '.join(self.asks)})"
            if not answers:
                return Feedback(
                    "not attempted", f"pass your answer{'s' * (len(self.asks) > 1)}: {wanted}."
                )
            return Feedback(
                "not attempted",
                f"this check takes {len(self.asks) or 'no'} answer"
                f"{'s' * (len(self.asks) != 1)}: {wanted}.",
            )
        if any(isinstance(a, Placeholder) for a in answers):
            return Feedback(
                "not attempted", "replace ____ with your answer, then run the cell again."
            )
        try:
            lesson = lessons.current()
            readers = self._read or tuple(lambda a: a for _ in answers)
            values = tuple(read(a) for read, a in zip(readers, answers, strict=True))
            message = self._check(lesson, *values)
        except NotAttempted as exc:
            return Feedback("not attempted", str(exc))
        except (NotYet, CourseError) as exc:
            return Feedback("not yet", str(exc))
        except Exception as exc:  # noqa: BLE001  (a learner's file, or the course's bug: one line)
            from course_app.magics import describe

            where = lessons.current().path if lessons._current else None
            said = describe(exc, where) if where else f"{type(exc).__name__}: {exc}"
            return Feedback("not yet", f"the check stopped at an error: {said}")
        return Feedback("correct", sentence(message or ""))

    def passes(self) -> bool:
        """Solved? A question once answered right (its state may move on since); any other
        exercise, if its check passes now."""
        if self.kind == "question":
            return self._given is not None
        return self.judge().outcome == "correct"

    def require(self) -> None:
        """For a cell that builds on this exercise: stop with one clear line if it is not solved."""
        if self.kind == "question":
            if self._given is None:
                raise CourseError(
                    f"this cell builds on exercise {self.name}: check your answer to it first, "
                    f"or run ex.{self.name}.apply() to see it."
                )
            return
        feedback = self.judge()
        if feedback.outcome != "correct":
            raise CourseError(
                f"this cell builds on exercise {self.name}, which is not solved yet "
                f"({feedback.message.rstrip('.')}). Solve it, or run ex.{self.name}.apply() "
                f"to move on."
            )

    def hint(self, level: int = 1) -> None:
        try:
            level = int(level)
        except (TypeError, ValueError):
            level = 1
        level = max(1, min(level, len(self._hints)))
        more = f" (more: .hint({level + 1}))" if level < len(self._hints) else ""
        print(f"Hint {level}: {self._hints[level - 1]}{more}")

    def solution(self) -> None:
        """Show the reference answer: for a revision, the reference file's own code."""
        from course_app.exercises.checks import reference_functions

        if self._reference:
            print(reference_functions(self._reference))
        if self._solution:
            print(self._solution)

    def apply(self) -> None:
        """Put the right state in place (files, database, or the answer), to move on when stuck.

        Says in a line what it did; whatever of the learner's it replaces is backed up
        first. Afterwards the cells that build on this exercise run, and check() passes.
        """
        try:
            feedback = self._put_right()
        except CourseError as exc:
            print(f"apply() could not finish: {exc}")
            return
        except Exception as exc:  # noqa: BLE001  (never a traceback: one line, what and where)
            from course_app.magics import describe

            print(f"apply() could not finish: {describe(exc, lessons.current().path)}")
            return
        if feedback is not None and feedback.outcome != "correct":
            print(f"apply() did what it could, but the check still says: {feedback}")
            return
        self._record("applied")

    def _put_right(self) -> Feedback | None:
        for before in self._after:  # an exercise this one builds on, not solved yet
            if not before.passes():
                before._put_right()
        said = self._apply(lessons.current()) if self._apply else None
        for line in [said] if isinstance(said, str) else (said or []):
            print(line)
        if self.kind == "question":
            return self._apply_answer()
        feedback = self.judge()
        if feedback.outcome == "correct":
            self._given = ()
        return feedback

    def _apply_answer(self) -> Feedback:
        lesson = lessons.current()
        answers = self._answer(lesson)
        answers = answers if isinstance(answers, tuple) else (answers,)
        feedback = self.judge(*answers)
        if feedback.outcome != "correct":
            return feedback
        self._given = answers
        assigned = re.search(r"^\s*([A-Za-z_][\w, ]*?)\s*=[^=]", self._solution or "", re.M)
        named = assigned[1] if assigned else ", ".join(self.asks)
        given = named + " = " + ", ".join(repr(a) for a in answers)
        print(f"The answer: {given}. {feedback.message}")
        return feedback

    def __repr__(self) -> str:
        return f"<exercise {self.name}: .check() .hint() .solution() .apply()>"


def exercise(
    hints: list[str],
    reference: str | None = None,
    solution: str | None = None,
    apply: Callable | None = None,
    answer: Callable | None = None,
    read: tuple[Callable, ...] = (),
    after: tuple[Exercise, ...] = (),
) -> Callable[[Callable], Exercise]:
    """Declare an exercise from its check function.

    ``reference``: the reference revision that answers it (``solution()`` prints it).
    ``apply``: puts the right state in place; returns what it did, in a line or lines.
    ``answer`` and ``read``: for a question, the right answer from the lesson's real
    state, and how to read each typed answer. ``after``: exercises this one builds on.
    """
    return lambda check: Exercise(check, hints, reference, solution, apply, answer, read, after)


__all__ = [
    "____",
    "CourseError",
    "Exercise",
    "Feedback",
    "NotAttempted",
    "NotYet",
    "count",
    "exercise",
    "names",
    "revision_id",
]
