"""The catalogue of learner mistakes, and how each entry is run.

Every exercise has entries of three kinds, declared next to each other in
``test_lessonNN.py``:

* ``wrong(...)``: a plausible mistake a learner makes. The check must not pass, and
  its message must name what is at fault (``names``: the file, table or column).
* ``right(...)``: a correct answer in another form than the reference (another
  order of operations, another spelling of the same type or default). It must pass.
* ``reference(...)``: the lesson's own answer. It must pass.

An entry's ``setup`` brings a freshly started lesson to the state the learner left
it in (it runs after the lesson's ``prepare``, which does the cells before the
exercise). ``test_catalogue.py`` fails if an exercise has fewer than four mistakes.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from course_app import lessons
from course_app.exercises import Exercise, Feedback
from course_app.exercises.checks import reference_file, run


@dataclass
class Case:
    kind: str  # "wrong", "right", "reference"
    exercise: Exercise
    what: str
    setup: Callable = lambda lesson: None
    answers: tuple = ()
    names: str = ""  # a regex the message must match: the file, table or column at fault
    outcome: str | None = None  # "not yet" / "not attempted" for wrong; default: either
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.exercise.name}-{self.kind}-{self.what}".replace(" ", "_")


def wrong(exercise, what, setup=lambda lesson: None, *answers, names="", outcome=None) -> Case:
    return Case("wrong", exercise, what, setup, answers, names, outcome)


def right(exercise, what, setup=lambda lesson: None, *answers) -> Case:
    return Case("right", exercise, what, setup, answers)


def reference(exercise, setup=lambda lesson: None, *answers) -> Case:
    return Case("reference", exercise, "the lesson's answer", setup, answers)


def judge(case: Case, prepare: Callable) -> Feedback:
    lesson = prepare(case.exercise)
    case.setup(lesson)
    return case.exercise.judge(*case.answers)


def assert_case(case: Case, prepare: Callable) -> None:
    feedback = judge(case, prepare)
    said = f"{case.id}: {feedback}"
    if case.kind == "wrong":
        assert feedback.outcome != "correct", said
        if case.outcome:
            assert feedback.outcome == case.outcome, said
        assert re.search(case.names, feedback.message), f"{said}\n  does not name {case.names!r}"
    else:
        assert feedback.outcome == "correct", said
    assert 0 < len(feedback.message) < 480, f"too long: {said}"
    assert "Traceback" not in feedback.message and 'File "' not in feedback.message, said


def assert_apply_unblocks(case: Case, prepare: Callable, capsys) -> str:
    """From the learner's mistake, apply() puts things right: it finishes, and the check
    passes afterwards. Returns what apply() said."""
    lesson = prepare(case.exercise)
    case.setup(lesson)
    case.exercise.apply()
    said = capsys.readouterr().out
    assert "could not finish" not in said and "did what it could" not in said, said
    assert case.exercise.passes(), (said, case.exercise.judge(*(case.exercise._given or ())))
    return said


# -- small helpers to write a learner's state -----------------------------------------------


def alembic(*argv):
    """Run an alembic command in the current lesson's workspace, as %alembic does."""

    def step(lesson):
        ran = run(lesson, *argv)
        return ran

    return step


def steps(*functions):
    def step(lesson):
        for function in functions:
            function(lesson)

    return step


def query(sql):
    return lambda lesson: lesson.query(sql)


def copy_reference(*revisions):
    def step(lesson):
        for revision in revisions:
            path = reference_file(revision)
            lesson.versions.mkdir(parents=True, exist_ok=True)
            for old in lesson.versions.glob(f"{revision}_*.py"):
                old.unlink()
            (lesson.versions / path.name).write_bytes(path.read_bytes())

    return step


def revision_with(revision: str, *changes: tuple[str, str], name: str | None = None):
    """Write the reference revision with text changes: a learner's version of it."""

    def step(lesson):
        source = reference_file(revision).read_text()
        for old, new in changes:
            assert old in source, f"{old!r} not in {revision}"
            source = source.replace(old, new, 1)
        for old in lesson.versions.glob(f"{revision}_*.py"):
            old.unlink()
        (lesson.versions / (name or reference_file(revision).name)).write_text(source)

    return step


def edit(relative: str, *changes: tuple[str, str]):
    """Change a workspace file, as a learner would in the editor."""

    def step(lesson):
        path = lesson.path / relative
        source = path.read_text()
        for old, new in changes:
            assert old in source, f"{old!r} not in {relative}"
            source = source.replace(old, new, 1)
        path.write_text(source)

    return step


def write(relative: str, text: str):
    def step(lesson):
        path = lesson.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return step


def replace_function(revision_path_glob: str, function: str, body: str):
    """Replace one function of a workspace revision file (upgrade or downgrade)."""

    def step(lesson):
        path = next(lesson.versions.glob(revision_path_glob))
        source = path.read_text()
        start = source.index(f"def {function}() -> None:")
        end = source.find("\ndef ", start + 1)
        end = len(source) if end == -1 else end
        new = f"def {function}() -> None:\n" + "".join(
            f"    {line}\n" if line else "\n" for line in body.strip("\n").splitlines()
        )
        path.write_text(
            source[:start] + new + ("\n\n" + source[end:].lstrip("\n") if end < len(source) else "")
        )

    return step


def current_lesson():
    return lessons.current()


def cases_by_exercise(cases: list[Case]) -> dict[str, list[Case]]:
    found: dict[str, list[Case]] = {}
    for case in cases:
        found.setdefault(case.exercise.name, []).append(case)
    return found


def ids(cases: list[Case]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for case in cases:
        name = re.sub(r"[^\w.-]+", "_", case.id)
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
