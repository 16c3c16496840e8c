"""The lessons as notebooks: learner copies, one source per answer, any order, unsolved runs.

(nbval itself executes every solved lesson and compares its outputs: see pyproject.toml.)
"""

import re

import nbformat
import pytest
from nbclient import NotebookClient

from course_app import notebooks
from course_app.exercises import reference_file

SOLVED = notebooks.solved_lessons()


def test_there_is_a_lesson_per_stage_and_enough_exercises():
    from course_app.lessons import STAGES

    assert [int(p.name[:2]) for p in SOLVED] == sorted(STAGES)
    checks = sum(
        cell.source.count(".check(")
        for p in SOLVED
        for cell in nbformat.read(p, as_version=4).cells
        if cell.cell_type == "code"
    )
    assert checks >= 22


def test_learner_copies_are_current():
    stale = notebooks.write_copies(check=True)
    assert stale == [], f"run: python -m course_app notebooks copies ({stale})"


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_learner_copies_hold_no_answers_and_no_outputs(path):
    copy = nbformat.read(notebooks.LEARNER / path.name, as_version=4)
    for cell in copy.cells:
        if cell.cell_type == "code":
            assert "SOLUTION" not in cell.source
            assert cell.outputs == [] and cell.execution_count is None
    solved = nbformat.read(path, as_version=4)
    blocks = sum(len(notebooks.BLOCK.findall(c.source)) for c in solved.cells)
    blanks = sum(c.source.count("YOUR CODE HERE") for c in copy.cells)
    assert blanks == blocks > 0 or (blocks == 0 and blanks == 0)


def test_revision_cells_are_the_reference_revisions_themselves():
    """One source per answer: what a lesson writes is alembic/versions/ to the letter."""
    found = 0
    for path in SOLVED:
        for cell in nbformat.read(path, as_version=4).cells:
            match = re.match(r"%%writefile \{lesson.versions\}/((\d{4})_\w+\.py)\n", cell.source)
            if match:
                body = re.sub(
                    r"^ *### (BEGIN|END) SOLUTION(\n|$)", "", cell.source[match.end() :], flags=re.M
                )
                assert body.rstrip() == reference_file(match[2]).read_text().rstrip(), match[1]
                found += 1
    assert found >= 4


def _run(path, allow_errors=False):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return notebook


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def test_lessons_run_in_any_order_and_twice_in_a_row():
    by_number = {int(p.name[:2]): p for p in SOLVED}
    for number in (7, 3, 5, 1, 6, 0, 4, 2, 4):
        notebook = _run(by_number[number])  # raises on any error
        for cell in notebook.cells:
            if ".check(" in cell.get("source", "") and cell.cell_type == "code":
                assert "Correct!" in _printed(cell), (by_number[number].name, _printed(cell))


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_an_unsolved_learner_copy_runs_and_every_check_says_not_yet(path):
    """The learner's own path: run the copy as given; no traceback, no check says Correct."""
    notebook = _run(notebooks.LEARNER / path.name, allow_errors=True)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (path.name, cell.source[:80], errors[0]["ename"], errors[0]["evalue"])
        if ".check(" in cell.source:
            said = _printed(cell)
            assert said.startswith(("Not attempted:", "Not yet:")), (
                path.name,
                cell.source[:60],
                said,
            )
