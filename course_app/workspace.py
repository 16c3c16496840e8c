"""Looking at and changing a lesson's workspace files, one visible step per cell.

``lesson.show("alembic.ini")`` prints a file (a password in it masked),
``lesson.show_revision("0005")`` the ``upgrade()`` and ``downgrade()`` of a revision,
``lesson.edit("app/models.py", old, new)`` one named change to a file, said in a line.
A lesson cell that calls one of these does one thing a learner can see, where string
surgery (``.split("depends_on")[1]``, ``str.replace`` on a file) would hide it.
"""

import ast
import re
from pathlib import Path

from course_app.errors import CourseError

# A password in a URL; not alembic.ini's placeholder, driver://user:pass@localhost/dbname.
_PASSWORD_IN_URL = re.compile(r"(?<!driver)(://[^:/@\s]*:)([^@\s]+)(@)")


def inside(root: Path, relative: str) -> Path:
    """A path in the workspace; one that leads out of it (``../lesson04/...``) is refused."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise CourseError(
            f"{relative} is outside this lesson's workspace: the helpers stay inside it."
        )
    return root / relative


def read(root: Path, relative: str) -> str:
    path = inside(root, relative)
    if path.is_dir():
        raise CourseError(f"{relative} is a folder: name a file in it.")
    try:
        return path.read_text()
    except FileNotFoundError:
        raise CourseError(f"there is no {relative} in the workspace yet.") from None


def show(root: Path, relative: str, matching: str | None = None) -> str:
    """A workspace file as text, passwords in URLs masked; with ``matching`` (a regular
    expression), only the lines that match."""
    text = _PASSWORD_IN_URL.sub(r"\1***\3", read(root, relative))
    if matching:
        text = "\n".join(line for line in text.splitlines() if re.search(matching, line))
    return f"# {relative}\n{text.rstrip()}"


def functions(path: Path, names=("upgrade", "downgrade")) -> str:
    """The source of a module's functions, as written."""
    source = path.read_text()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise CourseError(f"{path.name}, line {exc.lineno}: SyntaxError: {exc.msg}") from None
    parts = [
        ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in names
    ]
    return "\n\n\n".join(parts)


def append(root: Path, relative: str, text: str) -> str:
    if not text.strip():
        raise CourseError("there is nothing to add: give the text to append.")
    path = root / relative
    before = read(root, relative)
    path.write_text(before.rstrip("\n") + "\n\n" + text.strip("\n") + "\n")
    first = text.strip().splitlines()[0]
    return f"{relative}: added {first}" + (" ..." if len(text.strip().splitlines()) > 1 else "")


def delete(root: Path, pattern: str) -> str:
    """Delete the files that match (folders are left alone), inside the workspace only."""
    inside(root, pattern.split("*")[0] or ".")
    found = [
        p
        for p in sorted(root.glob(pattern))
        if p.is_file() and p.resolve().is_relative_to(root.resolve())
    ]
    for path in found:
        path.unlink()
    names = ", ".join(str(p.relative_to(root)) for p in found) or "nothing (no such file)"
    return f"Deleted {names}."


def write_function(path: Path, name: str, body: str) -> str:
    """Replace the body of one top-level function of a file (``upgrade``, ``downgrade``)."""
    if not body.strip():
        raise CourseError(f"give {name}() a body: at least `pass`.")
    source = path.read_text()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise CourseError(f"{path.name}, line {exc.lineno}: SyntaxError: {exc.msg}.") from None
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if node is None:
        raise CourseError(f"{path.name} has no {name}() to write.")
    if node.body[0].lineno == node.lineno:
        raise CourseError(
            f"{path.name}, line {node.lineno}: {name}() is written on one line; put its body on "
            f"a line of its own (as the template does), then run this again."
        )
    lines = source.splitlines(keepends=True)
    head = "".join(lines[: node.body[0].lineno - 1])
    tail = "".join(lines[node.end_lineno :])
    indented = "".join(
        f"    {line}\n" if line.strip() else "\n" for line in body.strip("\n").splitlines()
    )
    path.write_text(head + indented + tail)
    return f"{path.name}: {name}() is now {body.strip().splitlines()[0]}" + (
        " ..." if len(body.strip().splitlines()) > 1 else ""
    )


def edit(root: Path, relative: str, old: str, new: str) -> str:
    """Replace one piece of a workspace file with another; say what changed."""
    if not old:
        raise CourseError("say what to replace: the text to change is empty.")
    text = read(root, relative)
    found = text.count(old)
    if found != 1:
        first = old.strip().splitlines()[0] if old.strip() else "(nothing)"
        where = "is not in" if not found else f"is {found} times in"
        raise CourseError(
            f"{first!r} {where} {relative}: was it changed already? Open the file, or start the "
            f"lesson again from its first cell."
        )
    (root / relative).write_text(text.replace(old, new, 1))
    removed = [line.strip() for line in old.splitlines() if line.strip()]
    added = [line.strip() for line in new.splitlines() if line.strip()]
    change = ", ".join(f"- {line}" for line in removed if line not in added)
    change += (", " if change else "") + ", ".join(
        f"+ {line}" for line in added if line not in removed
    )
    return f"{relative}: {change}"
