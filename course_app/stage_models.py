"""The blog app's models as they were at any revision of the reference history.

``course_app/models.py`` declares the models as the head of the reference history
builds them. A lesson that starts at an earlier revision gives the learner the
models as they were then: lesson 4 starts at 0004, before votes; lesson 8 at 0007,
with the learner's ``slug`` but not yet the teammate's ``bio``. One source, cut by
meaning rather than by text: ``SINCE`` says which reference revision brings each
model and each column that was not there from the first revision, and
``models_source(revision)`` keeps what that revision's ancestry has brought
(ancestry, not order: 0006 and 0007 are both after 0005, and neither has the
other). The imports that are no longer used go too, so each stage's file is one a
learner could have written. A test builds every stage's models and compares them
with what the reference history builds at that revision.

Add a column to ``models.py`` with a new reference revision: add it here too, or
that test names it; change one, and ``CHANGED`` keeps its line as it was before.
"""

import ast
import re
from functools import cache
from pathlib import Path

MODELS = Path(__file__).resolve().parent / "models.py"
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "alembic"
FIRST = "0001"

# "Model" or "Model.attribute" -> the reference revision that brings it (else FIRST).
SINCE = {
    "Post.body": "0002",  # as content until 0014 renames it (CHANGED)
    "Post.published": "0002",
    "Post.created_at": "0002",
    "User": "0003",
    "Post.owner_id": "0004",
    "Vote": "0005",
    "User.bio": "0006",
    "Post.slug": "0007",
    "Post.summary": "0009",
    "Post.views": "0010",
    "Post.__table_args__": "0011",
    "Post.status": "0015",
}

# "Model.attribute" -> what it was before each reference revision that changed it, in
# order: (revision, its lines before that revision).
CONTENT = "    content: Mapped[str] = mapped_column(String, nullable=False)\n"
CHANGED = {
    "Post.views": (("0012", "    views: Mapped[int | None]\n"),),
    "Post.status": (
        (
            "0017",
            "    status: Mapped[str | None] = mapped_column(\n"
            '        Enum("draft", "published", name="post_status")\n'
            "    )\n",
        ),
    ),
    # Renamed without downtime (lesson 14): 0013 adds body beside content, 0014 drops content.
    "Post.body": (
        ("0013", CONTENT),
        ("0014", CONTENT + "    body: Mapped[str | None] = mapped_column(String)\n"),
    ),
}


@cache
def ancestry(revision: str) -> frozenset[str]:
    """The revision and every revision before it, along all of its down_revisions."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(REFERENCE_DIR))
    script = ScriptDirectory.from_config(config)
    return frozenset(s.revision for s in script.iterate_revisions(revision, "base"))


def head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(REFERENCE_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def _span(node: ast.stmt, lines: list[str]) -> range:
    """A statement's lines (0-based), with the comment lines right above it."""
    start = node.lineno - 1
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    return range(start, node.end_lineno)


def _name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def models_source(*revisions: str) -> str:
    """The text of a learner's ``app/models.py`` when the history is at ``revisions`` (two
    heads: what both branches brought, as after a ``git pull`` of a teammate's branch)."""
    brought = frozenset().union(*(ancestry(r) for r in revisions))
    source = MODELS.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    dropped: set[int] = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name == "Base":
            continue
        if SINCE.get(node.name, FIRST) not in brought:
            dropped.update(_span(node, lines))
            continue
        for statement in node.body:
            name = _name(statement)
            if name and SINCE.get(f"{node.name}.{name}", FIRST) not in brought:
                dropped.update(_span(statement, lines))
            elif name:
                before = [
                    old for r, old in CHANGED.get(f"{node.name}.{name}", ()) if r not in brought
                ]
                if before:  # the attribute as it was before the first change not brought yet
                    first = statement.lineno - 1  # its comments go too: they speak of it now
                    dropped.update(i for i in _span(statement, lines) if i != first)
                    lines[first] = before[0]
    kept = "".join(line for i, line in enumerate(lines) if i not in dropped)
    kept = re.sub(r"\n{4,}", "\n\n\n", kept).rstrip() + "\n"
    # The course's docstring says what models.py is to the course; the learner's, what it is.
    kept = re.sub(r'\A""".*?"""', '"""The blog app\'s tables."""', kept, flags=re.S)
    return _without_unused_imports(kept)


def _without_unused_imports(source: str) -> str:
    tree = ast.parse(source)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if not isinstance(node, ast.ImportFrom):
            continue
        names = [a.name for a in node.names if (a.asname or a.name) in used]
        start, end = node.lineno - 1, node.end_lineno
        lines[start:end] = [f"from {node.module} import {', '.join(names)}\n"] if names else []
    return re.sub(r"\A(\"\"\".*?\"\"\"\n)\n+", r"\1\n", "".join(lines), flags=re.S)
