"""What a learner has solved: every ``check()`` and ``apply()`` leaves a line here.

Only the outcome is kept (lesson, exercise, outcome, time), never the answer: a
learner's work stays theirs. It lives where starting a lesson never drops it:

* alone on a machine: ``.course/progress.jsonl`` (COURSE_DATA_DIR), readable by the
  learner only;
* in a class: the class database's ``progress`` table, where row-level security lets
  each learner write and read their own rows only, and the instructor read them all
  (``classroom progress``).

Recording never stops a check: if the store cannot be written, the check's verdict is
shown anyway, with one line that says progress was not kept.
"""

import json
import os
from datetime import datetime, timezone

from course_app import database
from course_app.errors import CourseError
from course_app.settings import get_settings

OUTCOMES = ("correct", "not yet", "not attempted", "applied")
_warned = False


def _file():
    return get_settings().course_data_dir / "progress.jsonl"


def record(lesson: int, exercise: str, outcome: str) -> None:
    """Keep one outcome; say so in one line (once) if it cannot be kept."""
    global _warned
    try:
        if database.classroom_role() is not None:
            database.class_execute(
                "INSERT INTO progress (lesson, exercise, outcome) VALUES (:l, :e, :o)",
                l=lesson,
                e=exercise,
                o=outcome,
            )
            return
        path = _file()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "lesson": lesson,
            "exercise": exercise,
            "outcome": outcome,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a") as file:
            file.write(json.dumps(line) + "\n")
    except (OSError, CourseError) as exc:
        if not _warned:
            _warned = True
            print(f"(Your progress was not recorded: {database.redact(str(exc))})")


def read() -> list[dict]:
    """This learner's outcomes, oldest first."""
    if database.classroom_role() is not None:
        rows = database.class_execute(
            "SELECT lesson, exercise, outcome, at FROM progress ORDER BY at, id"
        )
        return [
            dict(zip(("lesson", "exercise", "outcome", "at"), row, strict=True)) for row in rows
        ]
    try:
        lines = _file().read_text().splitlines()
    except FileNotFoundError:
        return []
    kept = []
    for line in lines:
        try:
            kept.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a full disk: skip it
            continue
    return kept


def catalogue() -> dict[int, list[str]]:
    """Every lesson's checked exercises, in the order its module declares them."""
    import importlib

    from course_app.exercises import Exercise
    from course_app.lessons import STAGES

    found = {}
    for number in STAGES:
        module = importlib.import_module(f"course_app.exercises.lesson{number:02d}")
        found[number] = [
            value.name for value in vars(module).values() if isinstance(value, Exercise)
        ]
    return found


def status(outcomes: list[dict]) -> dict[tuple[int, str], str]:
    """(lesson, exercise) -> "solved", "applied" (the answer was put in place for them)
    or "tried". A solved exercise stays solved."""
    kept: dict[tuple[int, str], str] = {}
    for row in outcomes:
        key = (row["lesson"], row["exercise"])
        if row["outcome"] == "correct":
            kept[key] = "solved"
        elif row["outcome"] == "applied" and kept.get(key) != "solved":
            kept[key] = "applied"
        elif row["outcome"] == "not yet":
            kept.setdefault(key, "tried")
    return kept


MARKS = {"solved": "✔", "applied": "↪", "tried": "✘", None: "·"}


def table(outcomes: list[dict]) -> str:
    """The learner's table: one line a lesson, a mark an exercise."""
    done = status(outcomes)
    lines = ["✔ solved   ↪ apply() used   ✘ tried, not solved yet   · not tried", ""]
    for number, names in catalogue().items():
        if not names:
            continue
        solved = sum(done.get((number, name)) == "solved" for name in names)
        marks = "  ".join(f"{MARKS[done.get((number, name))]} {name}" for name in names)
        lines.append(f"Lesson {number:2d}  {solved}/{len(names)}  {marks}")
    return "\n".join(lines)
