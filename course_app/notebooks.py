"""The lessons as notebooks: solved ones are the source, learner copies are made from them.

``docs/lessons/NN_*.ipynb`` are the solved lessons: the site publishes them and
nbval executes them, so every output shown is what the code does today.
Solutions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
markers). ``notebooks/NN_*.ipynb`` are what learners open: the same cells,
no outputs, each solution replaced by a blank.

    python -m course_app notebooks run [N ...]   # execute solved lessons, refresh copies
    python -m course_app notebooks copies        # refresh the learner copies only
    python -m course_app notebooks copies --check  # fail if a copy is out of date (CI)
"""

import os
import re
from pathlib import Path

import nbformat

from course_app.settings import PROJECT_ROOT, get_settings

SOLVED = PROJECT_ROOT / "docs" / "lessons"
LEARNER = PROJECT_ROOT / "notebooks"
BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.M | re.S)
ASSIGNMENT = re.compile(r"^([A-Za-z_][\w, ]*?)\s*=(?!=)")


def solved_lessons() -> list[Path]:
    return sorted(SOLVED.glob("[0-9][0-9]_*.ipynb"))


def blank(match: re.Match, writes_file: bool) -> str:
    """What a learner sees in place of one solution block."""
    indent, body = match[1], match[2]
    first = body.strip().splitlines()[0] if body.strip() else ""
    if writes_file:
        return f"{indent}pass  # YOUR CODE HERE\n"
    assigned = ASSIGNMENT.match(first)
    if assigned and len(body.strip().splitlines()) == 1:  # one value to give: name = ____
        names = [n.strip() for n in assigned[1].split(",")]
        return (
            f"{indent}{', '.join(names)} = {', '.join('____' for _ in names)}  # YOUR CODE HERE\n"
        )
    return f"{indent}# YOUR CODE HERE\n"


def learner_copy(solved: nbformat.NotebookNode) -> nbformat.NotebookNode:
    copy = nbformat.from_dict(solved)
    for cell in copy.cells:
        if cell.cell_type != "code":
            continue
        writes_file = cell.source.startswith("%%writefile")
        cell.source = BLOCK.sub(lambda m, w=writes_file: blank(m, w), cell.source).rstrip("\n")
        cell.outputs = []
        cell.execution_count = None
        cell.metadata = {}
    return copy


def write_copies(check: bool = False) -> list[str]:
    """Write every learner copy; with ``check``, write nothing and list the stale ones."""
    stale = []
    for path in solved_lessons():
        copy = nbformat.writes(learner_copy(nbformat.read(path, as_version=4))) + "\n"
        target = LEARNER / path.name
        if not target.exists() or target.read_text() != copy:
            stale.append(target.name)
            if not check:
                LEARNER.mkdir(exist_ok=True)
                target.write_text(copy)
    for orphan in sorted(LEARNER.glob("*.ipynb")):
        if not (SOLVED / orphan.name).exists():
            stale.append(orphan.name)
            if not check:
                orphan.unlink()
    return stale


def tidy(text: str) -> str:
    """Outputs name the workspace as `workspace/`, not this machine's absolute path."""
    return text.replace(str(get_settings().workspace_dir), "workspace")


def execute(path: Path, timeout: int = 120) -> None:
    """Run a solved lesson top to bottom in a fresh kernel and store its outputs."""
    from nbclient import NotebookClient
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    os.environ["PYTHONHASHSEED"] = "0"  # kernels inherit it: stable log order (see tests)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = tidy(output["text"])
            for key, value in output.get("data", {}).items():
                if isinstance(value, str):
                    output["data"][key] = tidy(value)
    nbformat.write(notebook, path)
