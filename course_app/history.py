"""A workspace's revision files, read as the graph Alembic will make of them.

Alembic reads ``alembic/versions/`` at every command and stops at the first thing
it cannot make sense of, often with a message about a file the learner never
touched (``alembic/env.py, line 45 ... KeyError: '002'``). Reading the files here,
with ``ast`` rather than importing them, finds the same problems without running
anything, and names the learner's file and line: a ``down_revision`` that names no
revision (a typo), a loop (a ``revision --rev-id`` cell run twice), two heads, a
file that is not a revision, a missing ``downgrade()``.

Order in a history comes from ``down_revision`` alone: never from ids or file names.
"""

import ast
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

# Which files Alembic reads as revisions (alembic.script.base._only_source_rev_file).
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


@dataclass
class Script:
    """One file in alembic/versions/, as far as reading it (not running it) tells."""

    path: Path
    name: str  # "alembic/versions/0002_add_post_columns.py", for messages
    id: str | None = None
    down: tuple[str, ...] = ()
    id_line: int = 0
    down_line: int = 0
    functions: dict[str, int] = field(default_factory=dict)  # "upgrade" -> line
    empty: set[str] = field(default_factory=set)  # functions whose body does nothing
    syntax_error: str | None = None

    @property
    def down_text(self) -> str:
        if not self.down:
            return "None"
        if len(self.down) == 1:
            return f'"{self.down[0]}"'
        return "(" + ", ".join(f'"{d}"' for d in self.down) + ")"


@dataclass
class Problem:
    kind: str  # syntax, not_revision, duplicate, dangling, loop, no_function, heads
    message: str  # one or two sentences: what is wrong, where, and the fix
    scripts: list[Script] = field(default_factory=list)


def _count(n: int) -> str:
    return {2: "two", 3: "three", 4: "four"}.get(n, str(n))


def _value(node: ast.expr):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e) for e in node.elts)
    return ...  # something computed: not a literal we can read


def _does_nothing(body: list[ast.stmt]) -> bool:
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in body
    )


def read_script(path: Path, workspace: Path) -> Script:
    script = Script(
        path, str(path.relative_to(workspace)) if path.is_relative_to(workspace) else path.name
    )
    try:
        tree = ast.parse(path.read_text(errors="replace"), filename=str(path))
    except SyntaxError as exc:
        script.syntax_error = f"{script.name}, line {exc.lineno}: SyntaxError: {exc.msg}"
        return script
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            targets = [node.target.id]
        if "revision" in targets:
            value = _value(node.value)
            script.id = str(value) if isinstance(value, (str, int)) else None
            script.id_line = node.lineno
        if "down_revision" in targets:
            value = _value(node.value)
            script.down_line = node.lineno
            if isinstance(value, str):
                script.down = (value,)
            elif isinstance(value, tuple):
                script.down = tuple(str(v) for v in value if v is not None)
        if isinstance(node, ast.FunctionDef) and node.name in ("upgrade", "downgrade"):
            script.functions[node.name] = node.lineno
            if _does_nothing(node.body):
                script.empty.add(node.name)
    return script


class History:
    """Every revision file of one workspace, and what is wrong with them as a whole."""

    def __init__(self, workspace: Path, versions: Path | None = None):
        self.workspace = workspace
        self.versions = versions or workspace / "alembic" / "versions"
        files = (
            sorted(p for p in self.versions.glob("*.py") if _REVISION_FILE.fullmatch(p.name))
            if self.versions.is_dir()
            else []
        )
        self.scripts = [read_script(p, workspace) for p in files]
        self.by_id: dict[str, Script] = {}
        for script in self.scripts:
            if script.id is not None:
                self.by_id.setdefault(script.id, script)

    # -- the graph -------------------------------------------------------------------

    @property
    def heads(self) -> list[str]:
        """Revisions no other revision builds on: the tips of the down_revision graph."""
        parents = {d for s in self.by_id.values() for d in s.down}
        return sorted(r for r in self.by_id if r not in parents)

    def chain(self) -> list[str]:
        """The revisions from base to the single head, in order ([] if not one clean line)."""
        heads = self.heads
        if len(heads) != 1 or self.problems():
            return []
        order, at = [], heads[0]
        while at is not None and at not in order:
            order.append(at)
            down = self.by_id[at].down
            at = down[0] if len(down) == 1 else None
        return order[::-1]

    def file(self, revision: str) -> str:
        script = self.by_id.get(revision)
        return script.name if script else f"revision {revision}"

    # -- what is wrong ------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """What would stop Alembic, or make it do something else than meant; worst first."""
        found = [
            Problem("syntax", s.syntax_error + ". Fix it, then run the cell again.", [s])
            for s in self.scripts
            if s.syntax_error
        ]
        for s in self.scripts:
            if not s.syntax_error and s.id is None:
                found.append(
                    Problem(
                        "not_revision",
                        f'{s.name} is not a revision (it sets no `revision = "..."`), and '
                        f"Alembic refuses to run while it is in alembic/versions/. Move it out "
                        f"of that folder, or delete it.",
                        [s],
                    )
                )
        seen: dict[str, Script] = {}
        for s in self.scripts:
            if s.id is None:
                continue
            if s.id in seen:
                found.append(
                    Problem(
                        "duplicate",
                        f'{seen[s.id].name} and {s.name} both say revision = "{s.id}": '
                        f"Alembic uses one and ignores the other. Delete the one you don't want.",
                        [seen[s.id], s],
                    )
                )
            seen[s.id] = s
        found.extend(self._dangling())
        found.extend(self._loops())
        for s in self.by_id.values():
            for function in ("upgrade", "downgrade"):
                if not s.syntax_error and function not in s.functions:
                    found.append(
                        Problem(
                            "no_function",
                            f"{s.name} has no {function}(): `alembic "
                            f"{function} ...` cannot go through it. Add `def {function}() -> "
                            f"None:` that {'makes the change' if function == 'upgrade' else 'undoes upgrade()'}.",
                            [s],
                        )
                    )
        if not found and len(self.heads) > 1:
            found.append(self._heads_problem())
        return found

    def _dangling(self) -> list[Problem]:
        found = []
        for s in self.by_id.values():
            for down in s.down:
                if down not in self.by_id:
                    close = difflib.get_close_matches(down, list(self.by_id), n=1, cutoff=0.5)
                    guess = f' Did you mean "{close[0]}"?' if close else ""
                    found.append(
                        Problem(
                            "dangling",
                            f'{s.name}, line {s.down_line}: down_revision = "{down}" names no '
                            f"revision in alembic/versions/.{guess} It must be the `revision` "
                            f"of the file this one comes after.",
                            [s],
                        )
                    )
        return found

    def _loops(self) -> list[Problem]:
        found, reported = [], set()
        for start in self.by_id:
            path, at = [], start
            while at in self.by_id and at not in path:
                path.append(at)
                downs = self.by_id[at].down
                at = downs[0] if downs else None
            if at is None or at not in path:
                continue
            loop = path[path.index(at) :]
            if frozenset(loop) in reported:
                continue
            reported.add(frozenset(loop))
            # The file written last is the one a re-run cell rewrote.
            culprit = max((self.by_id[r] for r in loop), key=lambda s: s.path.stat().st_mtime)
            circle = " → ".join([culprit.id, *self._around(loop, culprit.id)])
            found.append(
                Problem(
                    "loop",
                    f"{culprit.name}, line {culprit.down_line}: down_revision = "
                    f"{culprit.down_text} makes a loop ({circle}), so there is no first or last "
                    f"revision. A `revision --rev-id {culprit.id}` cell run again rewrites the "
                    f"file on top of the head: set down_revision back to the revision it "
                    f"comes after.",
                    [culprit],
                )
            )
        return found

    def _around(self, loop: list[str], start: str) -> list[str]:
        order, at = [], start
        for _ in loop:
            at = self.by_id[at].down[0]
            order.append(at)
        return order

    def _heads_problem(self) -> Problem:
        heads = [self.by_id[h] for h in self.heads]
        listed = " and ".join(f"{h.id} ({h.name})" for h in heads)
        first, second = heads[0], heads[1]
        return Problem(
            "heads",
            f"{_count(len(heads))} heads: {listed} {'both ' if len(heads) == 2 else ''}end "
            f"the history, so `upgrade head` cannot choose. Two branches of work (yours and a "
            f'teammate\'s): join them with %alembic merge heads -m "merge". One revision written '
            f"from the wrong parent: put them in one line (in {second.name}, line "
            f'{second.down_line}: down_revision = "{first.id}").',
            heads,
        )
