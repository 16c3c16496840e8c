"""The lessons as notebooks: solved ones are the source, learner copies are made from them.

``docs/lessons/NN_*.ipynb`` are the solved lessons: the site publishes them and
nbval executes them, so every output shown is what the code does today.
Solutions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's
markers, which must pair up: a BEGIN without its END would blank the rest of the
cell). ``notebooks/NN_*.ipynb`` are what learners open: the same cells, no
outputs, each solution replaced by a blank.

A learner works in those copies, so refreshing them never overwrites one the
learner edited: ``notebooks/.generated.json`` records what was last generated,
and a copy that differs from it is kept unless ``--force`` (which saves it to
``.backups/notebooks/<date>/`` first).

    python -m course_app notebooks run [N ...]   # execute solved lessons, refresh copies
    python -m course_app notebooks copies        # refresh the learner copies only
    python -m course_app notebooks copies --check  # fail if a copy is out of date (CI)
"""

import hashlib
import json
import os
import platform
import re
import tempfile
from pathlib import Path

import nbformat

from course_app import backups
from course_app.settings import PROJECT_ROOT, get_settings

SOLVED = PROJECT_ROOT / "docs" / "lessons"
LEARNER = PROJECT_ROOT / "notebooks"
RECORD = LEARNER / ".generated.json"
BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.M | re.S)
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$", re.M)
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


def check_markers(source: str, where: str) -> None:
    """Every ``### BEGIN SOLUTION`` is closed by an ``### END SOLUTION`` before the next one."""
    expected, opened = "BEGIN", 0
    for match in MARKER.finditer(source):
        line = source[: match.start()].count("\n") + 1
        if match[1] != expected:
            unclosed = f" (the BEGIN at line {opened} is not closed)" if opened else ""
            raise ValueError(
                f"{where}, line {line}: ### {match[1]} SOLUTION where ### {expected} SOLUTION "
                f"was expected{unclosed}: markers must pair up."
            )
        expected, opened = ("END", line) if expected == "BEGIN" else ("BEGIN", 0)
    if expected == "END":
        raise ValueError(f"{where}, line {opened}: ### BEGIN SOLUTION has no ### END SOLUTION.")


# What JupyterLab writes when it opens a notebook with the ipykernel kernel: a notebook
# that says anything else opens "modified", and asks to be saved when closed untouched.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def fit_to_this_python(path: Path) -> bool:
    """Make a learner copy's kernel metadata what JupyterLab will write on this Python
    (the kernelspec, and language_info's version), so an untouched lesson stays untouched.
    Returns whether the file changed."""
    notebook = nbformat.read(path, as_version=4)
    info = notebook.metadata.setdefault("language_info", {})
    version = platform.python_version()
    if notebook.metadata.get("kernelspec") == KERNELSPEC and info.get("version") == version:
        return False
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    info.update(LANGUAGE_INFO, version=version)
    path.write_text(nbformat.writes(notebook) + "\n")
    return True


LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


def learner_copy(solved: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    copy = nbformat.from_dict(solved)
    copy.metadata["kernelspec"] = dict(KERNELSPEC)
    for number, cell in enumerate(copy.cells):
        if cell.cell_type != "code":
            continue
        check_markers(cell.source, f"{name}, cell {number}")
        writes_file = cell.source.startswith("%%writefile")
        cell.source = BLOCK.sub(lambda m, w=writes_file: blank(m, w), cell.source).rstrip("\n")
        cell.outputs = []
        cell.execution_count = None
        cell.metadata = {}
    return copy


def _digest(text: str) -> str:
    """What a copy holds, its Python version aside (``course_app open`` fits that to the
    learner's Python, and that is no edit of theirs)."""
    notebook = json.loads(text)
    notebook.get("metadata", {}).get("language_info", {}).pop("version", None)
    return hashlib.sha256(json.dumps(notebook, sort_keys=True).encode()).hexdigest()


def write_copies(check: bool = False, force: bool = False) -> tuple[list[str], list[str]]:
    """Write every learner copy; with ``check``, write nothing.

    Returns (copies out of date, copies kept because the learner edited them).
    """
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    stale, edited = [], []
    for path in solved_lessons():
        copy = nbformat.writes(learner_copy(nbformat.read(path, as_version=4), path.name)) + "\n"
        target = LEARNER / path.name
        current = target.read_text() if target.exists() else None
        if current == copy:
            record[path.name] = _digest(copy)
            continue
        stale.append(target.name)
        if check:
            continue
        if current is not None and record.get(path.name) != _digest(current) and not force:
            edited.append(target.name)
            continue
        if current is not None and record.get(path.name) != _digest(current):
            backups.save(LEARNER, [target])
        LEARNER.mkdir(exist_ok=True)
        target.write_text(copy)
        record[path.name] = _digest(copy)
    for orphan in sorted(LEARNER.glob("*.ipynb")):
        if not (SOLVED / orphan.name).exists():
            stale.append(orphan.name)
            if not check:
                backups.save(LEARNER, [orphan], move=True)
                record.pop(orphan.name, None)
    if not check:
        RECORD.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
    return stale, edited


def tidy(text: str, workspace: Path | None = None) -> str:
    """Outputs name the workspace as `workspace/`, not this machine's absolute path."""
    return text.replace(str(workspace or get_settings().workspace_dir), "workspace")


def execute(path: Path, timeout: int = 120) -> None:
    """Run a solved lesson top to bottom in a fresh kernel and store its outputs."""
    from nbclient import NotebookClient
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    os.environ["PYTHONHASHSEED"] = "0"  # kernels inherit it: stable log order (see tests)
    notebook = nbformat.read(path, as_version=4)
    # A workspace of its own, so the stored outputs show a first start (no backups).
    with tempfile.TemporaryDirectory(prefix="course-run-") as folder:
        workspace = Path(folder) / "workspace"
        saved = os.environ.get("WORKSPACE_DIR")
        os.environ["WORKSPACE_DIR"] = str(workspace)
        try:
            NotebookClient(
                notebook,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:
            if saved is None:
                os.environ.pop("WORKSPACE_DIR", None)
            else:
                os.environ["WORKSPACE_DIR"] = saved
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = tidy(output["text"], workspace)
            for key, value in output.get("data", {}).items():
                if isinstance(value, str):
                    output["data"][key] = tidy(value, workspace)
    nbformat.write(notebook, path)
