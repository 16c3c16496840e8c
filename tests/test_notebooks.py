"""The lessons as notebooks: learner copies, one source per answer, any order, unsolved runs.

(nbval itself executes every solved lesson and compares its outputs: see pyproject.toml.)
"""

import re

import nbformat
import pytest
from nbclient import NotebookClient

from course_app import lessons, notebooks
from course_app.exercises.checks import reference_file

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
    stale, _ = notebooks.write_copies(check=True)
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
    """What a cell printed or displayed, as text (a check's verdict is displayed)."""
    return "".join(
        o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in cell.get("outputs", [])
    )


def test_lessons_run_in_any_order_and_twice_in_a_row():
    by_number = {int(p.name[:2]): p for p in SOLVED}
    for number in (7, 11, 3, 0, 4, 4):  # out of order, across both parts, one twice in a row
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


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_solution_markers_pair_up_and_revision_templates_keep_both_functions(path):
    solved = nbformat.read(path, as_version=4)
    for number, cell in enumerate(solved.cells):
        if cell.cell_type == "code":
            notebooks.check_markers(cell.source, f"{path.name}, cell {number}")
    copy = nbformat.read(notebooks.LEARNER / path.name, as_version=4)
    for cell in copy.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%writefile {lesson.versions}"):
            assert "def upgrade() -> None:" in cell.source, cell.source
            assert "def downgrade() -> None:" in cell.source, cell.source


def test_an_unpaired_marker_is_refused_with_its_line():
    with pytest.raises(
        ValueError,
        match=r"cell 3, line 4: ### BEGIN SOLUTION where ### END SOLUTION was expected \(the BEGIN at line 2",
    ):
        notebooks.check_markers("x = 1\n### BEGIN SOLUTION\ny = 2\n### BEGIN SOLUTION\n", "cell 3")
    with pytest.raises(ValueError, match="has no ### END SOLUTION"):
        notebooks.check_markers("### BEGIN SOLUTION\ny = 2\n", "cell 4")


def test_refreshing_copies_never_overwrites_a_learners_edit_without_force(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "LEARNER", tmp_path / "notebooks")
    monkeypatch.setattr(notebooks, "RECORD", tmp_path / "notebooks" / ".generated.json")
    notebooks.write_copies()
    mine = tmp_path / "notebooks" / SOLVED[3].name
    mine.write_text(mine.read_text().replace('"source": [', '"source": [\n    "# my note\\n",', 1))
    stale, edited = notebooks.write_copies()
    assert edited == [mine.name] and "# my note" in mine.read_text()
    stale, edited = notebooks.write_copies(force=True)
    assert edited == [] and "# my note" not in mine.read_text()
    saved = list((tmp_path / ".backups" / "notebooks").rglob(mine.name))
    assert len(saved) == 1 and "# my note" in saved[0].read_text()


def test_course_errors_are_one_line_from_the_first_cell():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import course_app\ncourse_app.start(42)"),
        nbformat.v4.new_code_cell("lesson = course_app.start(0)\nlesson.query(12)"),
        nbformat.v4.new_code_cell("lesson.revision('0099')"),
        nbformat.v4.new_code_cell(
            "from course_app.exercises import lesson00 as ex\nex.current_revision.hint('two')"
        ),
        nbformat.v4.new_code_cell("ex.current_revision.require()"),
        nbformat.v4.new_code_cell("1 / 0"),  # the learner's own error keeps its traceback
    ]
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(notebooks.SOLVED)}},
    ).execute()
    shown = [
        "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        + "".join("".join(o.get("traceback", [])) for o in c.outputs if o.output_type == "error")
        for c in notebook.cells
    ]
    last = max(lessons.STAGES)
    assert shown[0].strip() == f"CourseError: There is no lesson 42; lessons are 0 to {last}."
    assert (
        shown[1]
        .strip()
        .splitlines()[-1]
        .startswith(("ArgumentError", "TypeError", "ObjectNotExecutableError"))
    )
    assert "Traceback" not in shown[1] and len(shown[1].strip().splitlines()) == 2
    assert shown[2].strip().startswith("CourseError: there is no revision 0099")
    assert shown[3].startswith("Hint 1:")
    assert shown[4].strip().startswith("CourseError: this cell builds on exercise current_revision")
    assert "ZeroDivisionError" in shown[5] and "Traceback" in shown[5] or "----" in shown[5]


_LOG_LINE = re.compile(r"^(INFO|WARNING|DEBUG)\s+\[[\w.]+\] ")


def output_faults(notebook: nbformat.NotebookNode) -> list[str]:
    """What a reader must never see in a lesson's stored outputs: the migration log shown
    as an error (a stderr block of log lines only: JupyterLab paints it pink), a
    traceback, or an error output."""
    faults = []
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + "".join(
                v for v in output.get("data", {}).values() if isinstance(v, str)
            )
            lines = [line for line in text.splitlines() if line.strip()]
            if output.get("name") == "stderr" and lines and all(map(_LOG_LINE.match, lines)):
                faults.append(f"cell {number}: the migration log on stderr")
            if output.output_type == "error" or "Traceback (most recent call last)" in text:
                faults.append(f"cell {number}: a traceback")
    return faults


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_stored_outputs_show_no_log_as_an_error_and_no_traceback(path):
    assert output_faults(nbformat.read(path, as_version=4)) == []


def test_the_output_check_finds_each_fault():
    log = nbformat.v4.new_output(
        "stream", name="stderr", text="INFO  [alembic.runtime.migration] Running upgrade  -> 0001\n"
    )
    trace = nbformat.v4.new_output("error", ename="KeyError", evalue="'002'", traceback=[])
    printed = nbformat.v4.new_output(
        "stream", name="stdout", text="Traceback (most recent call last):\n"
    )
    fine = nbformat.v4.new_output("stream", name="stdout", text="INFO  [alembic] ok\n")
    cell = nbformat.v4.new_code_cell(outputs=[log, trace, printed, fine])
    faults = output_faults(nbformat.v4.new_notebook(cells=[cell]))
    assert faults == [
        "cell 0: the migration log on stderr",
        "cell 0: a traceback",
        "cell 0: a traceback",
    ]
