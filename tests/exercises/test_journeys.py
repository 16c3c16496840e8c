"""A learner's journey through each lesson, in a real kernel: mistakes, then the way out.

For each lesson a scripted learner runs the solved notebook cell by cell, but gets
two things wrong on the way: the check says "Not yet", the learner asks for a
hint and tries again, or calls ``apply()``; then goes on. Every later check must
say "Correct!", no cell may raise, and the lesson's last cell must be reached.
"""

import importlib
import re
from dataclasses import dataclass

import nbformat
import pytest
from nbclient import NotebookClient

from course_app import notebooks


@dataclass
class Detour:
    exercise: str  # the exercise whose check shows the mistake
    cell: str  # a piece of the cell to get wrong (its first cell containing it)
    changes: list[tuple[str, str]]  # how the learner got it wrong
    recover: str  # "hint" (then the right cell again) or "apply"


JOURNEYS = {
    0: [
        Detour("current_revision", 'revision_now = "0005"', [('"0005"', '"head"')], "hint"),
        Detour("current_revision", 'revision_now = "0005"', [('"0005"', "5")], "apply"),
    ],
    1: [
        Detour(
            "columns_after",
            "columns_after = [",
            [('["id", "title"]', '["id", "title", "content"]')],
            "hint",
        ),
        Detour("rows_lost", "rows_before, rows_after =", [("3, 0", "3, 3")], "apply"),
    ],
    2: [
        Detour("init", "%alembic init alembic", [("init alembic", "init migrations")], "apply"),
        Detour(
            "target_metadata",
            '"target_metadata = None",',
            [
                (
                    "from app.models import Base\\n\\ntarget_metadata = Base.metadata",
                    "from sqlalchemy import MetaData\\n\\ntarget_metadata = MetaData()",
                )
            ],
            "apply",
        ),
    ],
    3: [
        Detour(
            "create_posts",
            "%%writefile {lesson.versions}/0001",
            [
                (
                    'sa.Column("title", sa.String(), nullable=False)',
                    'sa.Column("title", sa.String(), nullable=True)',
                )
            ],
            "apply",
        ),
        Detour("db_revision", 'db_revision = "0001"', [('"0001"', '"0002"')], "hint"),
    ],
    4: [
        Detour(
            "add_post_columns",
            "%%writefile {lesson.versions}/0002",
            [("sa.TIMESTAMP(timezone=True)", "sa.DateTime()")],
            "apply",
        ),
        Detour(
            "at_head",
            "ex.at_head.check()",
            [("%alembic upgrade head", "%alembic stamp head")],
            "apply",
        ),
    ],
    5: [
        Detour(
            "back_to_users",
            "%alembic downgrade 0003",
            [("downgrade 0003", "downgrade -2")],
            "apply",
        ),
        Detour(
            "tables_after_base",
            "tables_after_base = [",
            [('["alembic_version"]', '["alembic_version", "posts"]')],
            "hint",
        ),
    ],
    6: [
        Detour(
            "vote_model",
            "lesson.append(",
            [
                (
                    ', ondelete="CASCADE"), primary_key=True\n    )\n    post_id',
                    "), primary_key=True\n    )\n    post_id",
                )
            ],
            "apply",
        ),
        Detour(
            "rename_keeps_data",
            'lesson.write_function("0006"',
            [
                ("lesson.write_function(", "(lambda *args: None)("),
                ("lesson.write_function(", "(lambda *args: None)("),
            ],
            "apply",
        ),
    ],
    7: [
        Detour(
            "wired",
            "%alembic init alembic",
            [
                (
                    '"from app.models import Base\\n\\ntarget_metadata = Base.metadata"',
                    '"target_metadata = None"',
                )
            ],
            "apply",
        ),
        Detour(
            "history_builds_models",
            "%alembic revision --autogenerate",
            [("revision --autogenerate -m", "revision -m")],
            "apply",
        ),
    ],
}


def _said(cell) -> str:
    return "".join(
        o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in cell.get("outputs", [])
    )


def _code(source: str, role: str, exercise: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["journey"] = {"role": role, "exercise": exercise}
    return cell


def _strip_markers(source: str) -> str:
    return re.sub(r"^ *### (BEGIN|END) SOLUTION\n", "", source, flags=re.M)


def journey(number: int) -> nbformat.NotebookNode:
    """The solved lesson with the learner's detours spliced in."""
    path = next(p for p in notebooks.solved_lessons() if p.name.startswith(f"{number:02d}_"))
    exercises = importlib.import_module(f"course_app.exercises.lesson{number:02d}")
    solved = nbformat.read(path, as_version=4)
    cells, detours = [], list(JOURNEYS[number])
    for cell in solved.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        source = _strip_markers(cell.source)
        again = True  # run the lesson's own (right) cell after the detours
        while detours and detours[0].cell in source:
            detour = detours.pop(0)
            name = detour.exercise
            wrong = source
            for old, new in detour.changes:
                assert old in wrong, (number, detour, old)
                wrong = wrong.replace(old, new, 1)
            cells.append(_code(wrong, "wrong", name))
            if f"ex.{name}.check(" not in wrong:
                cells.append(_code(f"ex.{name}.check()", "wrong", name))
            cells.append(_code(f"ex.{name}.{detour.recover}()", "recover", name))
            if detour.recover == "apply" and getattr(exercises, name).kind != "question":
                cells.append(_code(f"ex.{name}.check()", "retry", name))
                again = f"ex.{name}.check(" not in source
        if again:
            cells.append(_code(source, "lesson"))
    assert not detours, f"lesson {number}: detours not placed: {detours}"
    solved.cells = cells
    return solved


@pytest.mark.parametrize("number", sorted(JOURNEYS))
def test_a_learner_recovers_from_two_mistakes_and_finishes_the_lesson(number):
    notebook = journey(number)
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebooks.SOLVED)}},
    ).execute()  # raises if any cell raises: every cell, the last one too, ran
    recovered = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        role = cell.metadata.get("journey", {}).get("role")
        name = cell.metadata.get("journey", {}).get("exercise")
        said = _said(cell)
        if role == "wrong" and ".check(" in cell.source:
            assert said.strip().splitlines()[-1].startswith(("Not yet:", "Not attempted:")), (
                number,
                cell.source[:60],
                said,
            )
        elif role == "recover":
            assert said.strip(), (number, name, "apply() or hint() said nothing")
            recovered.add(name)
        elif ".check(" in cell.source:
            assert "Correct!" in said, (number, cell.source[:60], said)
    assert recovered == {d.exercise for d in JOURNEYS[number]}
