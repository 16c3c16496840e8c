"""Exercises in the style of Kaggle's learntools: ``check()``, ``hint()``, ``solution()``.

Each lesson's exercises live in their own module (``exercises.lesson04``),
declared once with the ``@exercise`` decorator::

    @exercise(hints=["..."], reference="0002")
    def add_post_columns(lesson):
        ...  # raise NotYet("what is wrong, and where") or NotAttempted("...")
        return "what the learner got right"

In the notebook: ``ex.add_post_columns.check()``; ``.hint()``, ``.hint(2)``;
``.solution()``; and ``.apply()``, which applies the reference solution so a
stuck learner can move on. Answers the learner types are passed explicitly,
``ex.rows_lost.check(rows_after)``; ``____`` marks one not given yet.

Checks look at what is real: the lesson's database, its ``alembic_version``,
the workspace's files, and what running the learner's revisions does (see
``trial``). Messages say what is wrong and where, in a sentence or two.
"""

import ast
import contextlib
import io
import os
import shutil
from collections.abc import Callable
from inspect import signature
from pathlib import Path

from sqlalchemy import inspect

from course_app import database, lessons, magics
from course_app.errors import CourseError


class Placeholder:
    """``____``: the blank a learner fills in."""

    def __repr__(self) -> str:
        return "____"


____ = Placeholder()


class NotYet(Exception):
    """The learner's answer or state is wrong; the message says how."""


class NotAttempted(Exception):
    """Nothing to check yet; the message says what to do."""


class Exercise:
    """One exercise: its check, hints, and reference answer. Made by ``@exercise``."""

    def __init__(
        self,
        check: Callable,
        hints: list[str],
        reference: str | None,
        solution: str | None,
        apply: Callable | None,
    ):
        self._check = check
        self.name = check.__name__
        self._hints = hints
        self._reference = reference
        self._solution = solution
        self._apply = apply
        self._given: tuple = ()  # the last answers passed to check(), for require()

    def check(self, *answers) -> None:
        """Print whether the answer (or the lesson's state) is right, and why."""
        wanted = list(signature(self._check).parameters)[1:]
        if len(answers) != len(wanted):
            print(
                f"Not attempted: pass your answer{'s' * (len(wanted) > 1)}: "
                f"{self.name}.check({', '.join(wanted)})"
            )
            return
        if any(isinstance(a, Placeholder) for a in answers):
            print("Not attempted: replace ____ with your answer, then run the cell again.")
            return
        self._given = answers
        try:
            message = self._check(lessons.current(), *answers)
        except NotAttempted as exc:
            print(f"Not attempted: {exc}")
        except NotYet as exc:
            print(f"Not yet: {exc}")
        else:
            first = message.split(" ", 1)[0] if message else ""
            if first.isalpha():  # "the database ..." -> "The database ...", but not "env.py"
                message = message[:1].upper() + message[1:]
            print(f"Correct! {message}" if message else "Correct!")

    def require(self) -> None:
        """For a cell that builds on this exercise: stop with one clear line if it is not solved."""
        if len(self._given) != len(signature(self._check).parameters) - 1:
            raise CourseError(
                f"this cell builds on exercise {self.name}: check your answer to it first."
            )
        try:
            self._check(lessons.current(), *self._given)
        except (NotYet, NotAttempted) as exc:
            raise CourseError(
                f"this cell builds on exercise {self.name}, which is not solved yet "
                f"({exc}) Solve it, or run ex.{self.name}.apply() to move on."
            ) from None

    def hint(self, level: int = 1) -> None:
        level = max(1, min(level, len(self._hints)))
        more = f" (more: .hint({level + 1}))" if level < len(self._hints) else ""
        print(f"Hint {level}: {self._hints[level - 1]}{more}")

    def solution(self) -> None:
        """Show the reference answer: for a revision, the reference file's own code."""
        if self._reference:
            print(reference_functions(self._reference))
        if self._solution:
            print(self._solution)

    def apply(self) -> None:
        """Put the reference solution in place, to move on when stuck."""
        lesson = lessons.current()
        if self._reference:
            target = copy_reference(lesson, self._reference)
            print(f"Wrote the reference revision to {target.relative_to(lesson.path)}.")
        if self._apply:
            self._apply(lesson)
        if not (self._reference or self._apply):
            print("Nothing to apply here: this exercise asks for an answer. See .solution().")

    def __repr__(self) -> str:
        return f"<exercise {self.name}: .check() .hint() .solution() .apply()>"


def exercise(
    hints: list[str],
    reference: str | None = None,
    solution: str | None = None,
    apply: Callable | None = None,
) -> Callable[[Callable], Exercise]:
    """Declare an exercise from its check function."""
    return lambda check: Exercise(check, hints, reference, solution, apply)


# -- the reference history, as answers ---------------------------------------------


def reference_file(revision: str) -> Path:
    return next(lessons.REFERENCE_DIR.glob(f"versions/{revision}_*.py"))


def reference_functions(revision: str) -> str:
    """The ``upgrade()`` and ``downgrade()`` of a reference revision, as written."""
    source = reference_file(revision).read_text()
    tree = ast.parse(source)
    parts = [
        ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in ("upgrade", "downgrade")
    ]
    return f"# alembic/versions/{reference_file(revision).name}\n" + "\n\n\n".join(parts)


def copy_reference(lesson: "lessons.Lesson", revision: str) -> Path:
    for existing in lesson.versions.glob(f"{revision}_*.py"):
        existing.unlink()
    target = lesson.versions / reference_file(revision).name
    shutil.copy(reference_file(revision), target)
    return target


# -- looking at the learner's work ---------------------------------------------------


def revision_file(
    lesson: "lessons.Lesson", revision: str, what: str, autogenerate: bool = False
) -> Path:
    """The learner's revision file with this id; NotAttempted if there is none."""
    found = sorted(lesson.versions.glob(f"{revision}_*.py"))
    if not found:
        how = "--autogenerate " if autogenerate else ""
        then = ", then review it." if autogenerate else ", then fill in upgrade() and downgrade()."
        raise NotAttempted(
            f"there is no revision {revision} in alembic/versions yet. Create it with "
            f'%alembic revision {how}-m "{what}" --rev-id {revision}{then}'
        )
    path = found[0]
    try:
        ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise NotYet(
            f"alembic/versions/{path.name} line {exc.lineno}: SyntaxError: {exc.msg}."
        ) from None
    return path


def run(lesson: "lessons.Lesson", *argv: str, url=None) -> tuple[int, str]:
    """Run an alembic command in the workspace, quietly; optionally against another database.

    Returns the exit status and the last line of interest (an ERROR or FAILED line).
    """
    saved = os.environ.get("APP_DATABASE_URL")
    if url is not None:  # the workspace's settings read APP_DATABASE_URL before .env
        os.environ["APP_DATABASE_URL"] = url.render_as_string(hide_password=False)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = magics.run(list(argv), lesson.path)
    finally:
        if url is not None:
            if saved is None:
                os.environ.pop("APP_DATABASE_URL", None)
            else:
                os.environ["APP_DATABASE_URL"] = saved
    problems = [
        line
        for line in (out.getvalue() + err.getvalue()).splitlines()
        if line.startswith(("ERROR:", "FAILED:"))
    ]
    return status, database.redact(problems[-1] if problems else "")


class Trial:
    """A scratch copy of the lesson's starting database, to run the learner's
    revisions on without touching the lesson's own database."""

    def __init__(self, lesson: "lessons.Lesson", setup_sql: list[str] = ()):
        self.lesson = lesson
        self.name = f"{lesson.database}_check"
        template = lessons.ensure_template(lessons.STAGES[lesson.number].revision)
        database.recreate(self.name, template=template)
        self.engine = database.engine(self.name)
        if setup_sql:
            with self.engine.begin() as conn:
                for statement in setup_sql:
                    conn.exec_driver_sql(statement)

    def alembic(self, *argv: str) -> None:
        status, problem = run(self.lesson, *argv, url=database.url_for(self.name))
        if status != 0:
            raise NotYet(f"`alembic {' '.join(argv)}` failed: {problem.removeprefix('ERROR: ')}")

    def inspector(self):
        return inspect(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        database.drop(self.name)

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def columns(inspector, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in inspector.get_columns(table)}


def require_table(inspector, table: str, after: str) -> dict[str, dict]:
    if table not in inspector.get_table_names():
        raise NotYet(f"after {after} there is no {table} table. Does your upgrade() create it?")
    return columns(inspector, table)


def require_column(
    cols: dict, table: str, name: str, type_name: str, nullable: bool, default: str | None = None
) -> None:
    if name not in cols:
        raise NotYet(f"{table} has no {name} column after the upgrade; add it in upgrade().")
    column = cols[name]
    if type(column["type"]).__name__.upper() not in type_name.upper().split("|"):
        raise NotYet(
            f"{table}.{name} is {column['type']}; the model says {type_name.split('|')[0]}."
        )
    if column["nullable"] != nullable:
        said = "nullable=False" if not nullable else "nullable=True"
        state = "nullable" if column["nullable"] else "NOT NULL"
        raise NotYet(f"{table}.{name} is {state}; the model says {said}.")
    if default is not None and default not in str(column.get("default") or ""):
        raise NotYet(
            f"{table}.{name} has no server default {default}; add server_default=sa.text({default!r})."
        )


def differences(lesson: "lessons.Lesson", engine=None) -> list:
    """What autogenerate would find between the workspace's models and a database
    (alembic's compare_metadata, as `alembic check` runs it), alembic_version aside.
    Without ``engine``, the lesson's own database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    models = lesson.load_models()
    own = engine is None
    engine = lesson.engine() if own else engine
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, models.Base.metadata)
    finally:
        if own:
            engine.dispose()
    return [
        d
        for d in diff
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


def describe(difference) -> str:
    """One difference from ``differences()``, in words: "add column posts.owner_id"."""
    if isinstance(difference, list):
        difference = difference[0]
    kind = difference[0]
    if kind in ("add_column", "remove_column"):
        return f"{kind.replace('_', ' ')} {difference[2]}.{difference[3].name}"
    if kind in ("add_table", "remove_table"):
        return f"{kind.replace('_', ' ')} {difference[1].name}"
    return str(kind).replace("_", " ")


__all__ = ["____", "CourseError", "Exercise", "NotAttempted", "NotYet", "exercise"]
