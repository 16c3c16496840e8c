"""What checks look at: the real outcome of the learner's work, never a line of it.

* ``run``: an alembic command in the workspace, quietly, against any database.
* ``Trial``: a scratch copy of the lesson's start database (with rows) to run the
  learner's revisions on, leaving the lesson's own database alone.
* ``check_history``: the revision graph as a whole: one head, no stray or broken
  file, each ``down_revision`` where the lesson expects it.
* ``check_revision``: a revision exercise. It runs the history up to the revision
  and back on a copy with rows, compares each schema with what it should be
  (``schema.differences``), checks the rows survive, and runs it once more with
  decoy models to prove the revision does not build its tables from the models.
* ``check_database``: a state exercise. ``alembic_version`` alone proves nothing
  (``alembic stamp`` writes it and runs nothing): the tables must be what the
  history builds at that revision.
* ``env_calls``: what ``env.py`` really hands to ``context.configure()``.
"""

import ast
import contextlib
import dataclasses
import hashlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, text

from course_app import database, lessons, magics, schema, stage_models
from course_app.exercises import NotAttempted, NotYet
from course_app.history import History

# -- the reference history, as answers ---------------------------------------------


def reference_file(revision: str) -> Path:
    return next(lessons.REFERENCE_DIR.glob(f"versions/{revision}_*.py"))


def migration_files_digest(lesson) -> str:
    """What a migration run reads from the workspace, as one hash: alembic.ini, alembic/
    and app/. A check whose verdict depends on these alone may keep a pass per digest."""
    digest = hashlib.sha256()
    root = lesson.path
    files = [root / "alembic.ini", *(root / "alembic").rglob("*.py"), *(root / "app").rglob("*.py")]
    for path in sorted(f for f in files if f.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def starter_env_with(*lines: str) -> str:
    """The starter env.py with ``lines`` inside the migration's transaction, before
    run_migrations(), and sqlalchemy's text imported: where a lock or a setting goes."""
    env = (lessons.STARTER / "alembic" / "env.py").read_text()
    return env.replace(
        "from sqlalchemy import engine_from_config, pool",
        "from sqlalchemy import engine_from_config, pool, text",
    ).replace(
        "        with context.begin_transaction():\n            context.run_migrations()\n\n\nif",
        "        with context.begin_transaction():\n"
        + "".join(lines)
        + "            context.run_migrations()\n\n\nif",
    )


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


# -- running alembic quietly ------------------------------------------------------------


@dataclass
class Ran:
    status: int
    output: str

    @property
    def said(self) -> str:
        """The course's reading of a failure, else Alembic's own line."""
        lines = self.output.splitlines()
        helps = [line.removeprefix("help: ") for line in lines if line.startswith("help: ")]
        failures = [
            line.split(": ", 1)[1] for line in lines if line.startswith(("ERROR: ", "FAILED: "))
        ]
        return (helps or failures or ["no message"])[-1]


def run(lesson, *argv: str, url=None, cwd: Path | None = None) -> Ran:
    """Run an alembic command in the workspace (or ``cwd``), output captured;
    against another database when ``url`` is given."""
    saved = os.environ.get("APP_DATABASE_URL")
    if url is not None:  # the workspace's settings read APP_DATABASE_URL before .env
        os.environ["APP_DATABASE_URL"] = url.render_as_string(hide_password=False)
    out = io.StringIO()
    version = (lambda: _version_at(url)) if url is not None else lesson.version
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = magics.run(list(argv), cwd or lesson.path, version=version)
    finally:
        if url is not None:
            if saved is None:
                os.environ.pop("APP_DATABASE_URL", None)
            else:
                os.environ["APP_DATABASE_URL"] = saved
    return Ran(status, database.redact(out.getvalue()))


def _version_at(url) -> str | None:
    engine = database.engine(url.database)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


# -- scratch databases -------------------------------------------------------------------


class Trial:
    """A scratch copy of the lesson's start database, to run the learner's revisions on."""

    def __init__(
        self,
        lesson,
        rows=(),
        workspace: Path | None = None,
        suffix: str = "check",
        template: str | None = None,
    ):
        self.lesson = lesson
        self.workspace = workspace
        self.name = f"{lesson.database}_{suffix}_{os.getpid()}"  # two kernels never share it
        database.recreate(self.name, template=template or start_template(lesson))
        self.engine = database.engine(self.name)
        for statement in rows:
            self.execute(statement)
        self.start_data = self.data()

    def alembic(self, *argv: str) -> None:
        ran = run(self.lesson, *argv, url=database.url_for(self.name), cwd=self.workspace)
        if ran.status != 0:
            raise NotYet(f"`alembic {' '.join(argv)}` fails on a copy of the database: {ran.said}")

    def execute(self, statement: str, **params):
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.fetchall() if result.returns_rows else []

    def schema(self) -> schema.Schema:
        with self.engine.connect() as conn:
            return schema.snapshot(conn)

    def data(self) -> dict[str, dict[str, list]]:
        """Every table's rows, column by column, in primary-key order."""
        found = {}
        for table, shape in self.schema().tables.items():
            order = ", ".join(f'"{c}"' for c in shape.primary_key) or "1"
            rows = self.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
            found[table] = {c: [row._mapping[c] for row in rows] for c in shape.columns}
        return found

    def close(self) -> None:
        self.engine.dispose()
        database.drop(self.name)

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_template(lesson) -> str:
    return lessons.stage_template(lessons.STAGES[lesson.number])


_schemas: dict[str, schema.Schema] = {}


def reference_schema(revision: str | None) -> schema.Schema:
    """What the reference history builds at ``revision`` (None: base, no tables)."""
    name = lessons.ensure_template(revision)
    if name not in _schemas:
        with lessons.readable(name) as readable:
            engine = database.engine(readable)
            try:
                with engine.connect() as conn:
                    _schemas[name] = schema.snapshot(conn)
            finally:
                engine.dispose()
    return _schemas[name]


def models_schema(metadata: MetaData, key: str | None = None) -> schema.Schema:
    """What ``create_all()`` of these models builds in PostgreSQL (cached under ``key``)."""
    if key and key in _schemas:
        return _schemas[key]
    name = database.own(f"models_check_{os.getpid()}")
    database.recreate(name, template=lessons.ensure_template(None))
    engine = database.engine(name)
    try:
        metadata.create_all(engine)
        with engine.connect() as conn:
            built = schema.snapshot(conn)
    finally:
        engine.dispose()
        database.drop(name)
    if key:
        _schemas[key] = built
    return built


def stage_models_schema(revision: str) -> schema.Schema:
    """What the course's models at a reference revision build (see ``stage_models``)."""
    namespace: dict = {}
    source = stage_models.models_source(revision)
    exec(compile(source, f"models_{revision}.py", "exec"), namespace)
    return models_schema(namespace["Base"].metadata, key=f"models:{revision}")


def explain_differences(want, got, wanted_by: str, found_in: str, limit: int = 2) -> str:
    said = schema.differences(want, got, wanted_by, found_in)
    extra = len(said) - limit
    more = f" (and {extra} more difference{'s' * (extra > 1)})" if extra > 0 else ""
    said = said[:1] + [d[:1].upper() + d[1:] for d in said[1:limit]]  # each its own sentence
    return " ".join(said) + more


# -- the revision graph ------------------------------------------------------------------


def revision_file(lesson, revision: str, what: str, autogenerate: bool = False) -> Path:
    """The learner's revision file with this id; NotAttempted if there is none."""
    history = History(lesson.path)
    script = history.by_id.get(revision)
    if script is not None:
        return script.path
    for other in history.scripts:
        if other.syntax_error and other.path.name.startswith(f"{revision}_"):
            raise NotYet(other.syntax_error + ".")
    how = "--autogenerate " if autogenerate else ""
    slug = "_".join(re.findall(r"\w+", what.lower()))
    for other in history.scripts:
        if other.id and other.path.stem.endswith(slug):
            made = (
                "made without --rev-id" if len(other.id) == 12 else f"made with --rev-id {other.id}"
            )
            ran = other.id == lesson.version()
            first = (
                "Take the database back with %alembic downgrade -1 (it ran this one), then d"
                if ran
                else "D"
            )
            raise NotYet(
                f"{other.name} has the revision id {other.id}, not {revision}: it was {made}. "
                f'{first}elete it, and run %alembic revision {how}-m "{what}" --rev-id {revision}.'
            )
    then = ", then review it." if autogenerate else ", then fill in upgrade() and downgrade()."
    raise NotAttempted(
        f"there is no revision {revision} in alembic/versions yet. Create it with "
        f'%alembic revision {how}-m "{what}" --rev-id {revision}{then}'
    )


def revisions_written(lesson, *wanted: tuple[str, str], autogenerate: bool = False) -> History:
    """Each (revision id, message) is in alembic/versions (NotAttempted if not, saying how to
    make it), and the history as a whole has no problem (a stray, a loop, two heads)."""
    for revision, what in wanted:
        revision_file(lesson, revision, what, autogenerate=autogenerate)
    history = History(lesson.path)
    problems = history.problems()
    if problems:
        raise NotYet(problems[0].message)
    return history


def check_history(lesson, expected: tuple[str, ...] | None, upto: str | None = None) -> History:
    """The history as a whole. ``expected``: the lesson's revision ids in order (None: any
    ids, as in the capstone, where an empty revision is a stray too)."""
    history = History(lesson.path)
    if expected and upto:
        for before in expected[: expected.index(upto)]:
            if before not in history.by_id:
                raise NotYet(
                    f"there is no revision {before} in alembic/versions/: {upto} comes after "
                    f"it. Write {before} first (its exercise comes before this one)."
                )
    problems = [p for p in history.problems() if p.kind != "heads"]
    if problems:
        raise NotYet(problems[0].message)
    for given in given_revisions(lesson, expected) if expected else ():
        if given not in history.by_id:
            raise NotYet(
                f"there is no revision {given} in alembic/versions/ any more: the lesson started "
                f"with it, and the database ran it. Put it back (apply() does, or start the "
                f"lesson again from its first cell)."
            )
    for script in history.by_id.values():
        stray = (expected and script.id not in expected) or (
            not expected and "upgrade" in script.empty and len(script.down) < 2  # a merge is empty
        )
        if stray:
            why = (
                f"it merges {' and '.join(script.down)}, and this lesson's history is one line "
                f"({', '.join(expected)}): instead of a merge, set the down_revision of the one "
                f"that comes second"
                if expected and len(script.down) > 1
                else f"revision {script.id} is not one of this lesson's ({', '.join(expected)}), "
                f"perhaps left from a `revision` run without --rev-id"
                if expected
                else "its upgrade() does nothing: a `revision` without --autogenerate, or an "
                "autogenerate against a database that had the tables already (after "
                "create_all(), it finds nothing to write)"
            )
            raise NotYet(
                f"{script.name} is a stray: {why}. Delete it (apply() moves it aside), and check "
                f"that each down_revision names the revision before it."
            )
    for i, revision in enumerate(expected or ()):
        script = history.by_id.get(revision)
        wanted = (expected[i - 1],) if i else ()
        if script is not None and script.down != wanted and (i or script.down):
            after = f'"{wanted[0]}"' if wanted else "None (it is the first)"
            raise NotYet(
                f"{script.name}, line {script.down_line}: down_revision = {script.down_text}, "
                f"but {revision} comes right after {wanted[0] if wanted else 'nothing'}: write "
                f"down_revision = {after}."
            )
    if len(history.heads) > 1:
        raise NotYet(history.problems()[-1].message)
    return history


# -- revision exercises ----------------------------------------------------------------------


def check_revision(
    lesson,
    revision: str,
    expected: tuple[str, ...],
    *,
    rows=(),
    wanted=reference_schema,
    after_upgrade=None,
    after_downgrade=None,
    blank: Exception | None = None,
    rows_at: dict | None = None,
) -> schema.Schema:
    """Run the history up to ``revision`` and back on a copy with ``rows``; every schema
    on the way must be what ``wanted(revision_id)`` says, and the rows must stay.
    ``after_upgrade(trial)`` and ``after_downgrade(trial)`` check the data; ``blank`` is what to raise for a revision
    whose functions are still empty (by default: not attempted). Returns what the upgrade built."""
    history = check_history(lesson, expected, upto=revision)
    script = history.by_id[revision]
    if {"upgrade", "downgrade"} <= script.empty:
        raise blank or NotAttempted(
            f"{script.name} still has an empty upgrade() and downgrade(): write them."
        )
    start = lessons.STAGES[lesson.number].revision
    check_given(lesson, history, expected)
    steps = list(expected[expected.index(start) + 1 if start else 0 : expected.index(revision) + 1])
    before = expected[expected.index(revision) - 1] if expected.index(revision) else None
    with Trial(lesson, rows) as trial:
        for step in steps:
            trial.alembic("upgrade", step)
            got = trial.schema()
            if got != wanted(step):
                whose = history.file(step) + ("" if step == revision else " (an exercise before)")
                raise NotYet(
                    f"{whose}: "
                    + explain_differences(
                        wanted(step), got, "the exercise", f"after upgrade {step}"
                    )
                )
            rows_kept(trial, f"upgrade {step}")
            if rows_at and step in rows_at and step != revision:  # rows for the next steps
                for statement in rows_at[step]:
                    trial.execute(statement)
                trial.start_data = trial.data()
        if after_upgrade:
            after_upgrade(trial)
        trial.alembic("downgrade", before or "base")
        back = trial.schema()
        if back != wanted(before):
            raise NotYet(
                f"{script.name}'s downgrade() does not undo its upgrade(): "
                + explain_differences(
                    wanted(before),
                    back,
                    f"revision {before}" if before else "the empty database",
                    f"after downgrade {before or 'base'}",
                )
            )
        rows_kept(trial, f"downgrade {before or 'base'}")
        if after_downgrade:
            after_downgrade(trial)
    independent_of_models(lesson, revision, script.path, rows, got, before, back)
    return got


def given_revisions(lesson, expected: tuple[str, ...]) -> list[str]:
    """The revisions the lesson started with (the database has run them)."""
    start = lessons.STAGES[lesson.number].revision
    return list(expected[: expected.index(start) + 1]) if start in expected else []


def check_given(lesson, history: History, expected: tuple[str, ...]) -> None:
    """A revision the lesson started with has run on the database already: if its file was
    edited since, it must still build and undo the same tables, or the change never reaches
    a database that ran it (run on an empty copy to see)."""
    given = given_revisions(lesson, expected)
    changed = [r for r in given if r in history.by_id and not _is_reference(history.by_id[r].path)]
    if not changed:
        return
    said = (
        f"{history.file(changed[0])} is a revision the lesson started with, and it was edited: "
        f"a database that ran it (the lesson's has) never sees the change. Put it back as it "
        f"was (apply() does) and make changes in a new revision"
    )
    with Trial(lesson, template=lessons.ensure_template(None), suffix="given") as trial:
        for step in given:
            ran = run(lesson, "upgrade", step, url=database.url_for(trial.name))
            if ran.status != 0:
                raise NotYet(f"{said}; now `upgrade {step}` fails: {ran.said}")
            if trial.schema() != reference_schema(step):
                raise NotYet(
                    f"{said}: "
                    + explain_differences(
                        reference_schema(step),
                        trial.schema(),
                        "the lesson's start",
                        f"after upgrade {step}",
                        limit=1,
                    )
                )
        ran = run(lesson, "downgrade", "base", url=database.url_for(trial.name))
        if ran.status != 0 or trial.schema() != reference_schema(None):
            raise NotYet(f"{said}: its downgrade() no longer undoes what it did.")


def rows_kept(trial: Trial, after: str) -> None:
    """The rows the copy started with are all there, with the values they had, in every
    column that is still there (a renamed column is checked by its exercise)."""
    now = trial.data()
    for table, columns in trial.start_data.items():
        if table not in now or not columns:
            continue
        before = len(next(iter(columns.values())))
        after_rows = len(next(iter(now[table].values()), []))
        if after_rows != before:
            raise NotYet(
                f"on a copy with rows, {table} held {before} rows before and {after_rows} after "
                f"{after}: a migration must keep the rows that are there."
            )
        for column, values in columns.items():
            if column in now[table] and now[table][column] != values:
                raise NotYet(
                    f"on a copy with rows, {table}.{column} changed values after {after} (it was "
                    f"{values[:3]!r}, it is {now[table][column][:3]!r}): a migration must not "
                    f"change data the exercise does not ask it to."
                )


DECOY = """

# Added by the course's check: a migration must not build its tables from the models.
import sqlalchemy as _course_sa

for _course_table in list(Base.metadata.tables.values()):
    _course_table.append_column(_course_sa.Column("course_decoy", _course_sa.Integer))
_course_sa.Table("course_decoy", Base.metadata, _course_sa.Column("id", _course_sa.Integer))
"""


def independent_of_models(
    lesson, revision: str, path, rows, built: schema.Schema, before=None, back=None, template=None
) -> None:
    """Run the upgrade (and the downgrade) once more with changed models: a migration must
    do the same. ``path``: the revision file, or the files of the revisions run."""
    with tempfile.TemporaryDirectory(prefix="course-decoy-") as folder:
        copy = Path(folder) / lesson.path.name
        shutil.copytree(lesson.path, copy, ignore=shutil.ignore_patterns("__pycache__", ".env"))
        models = copy / "app" / "models.py"
        models.write_text(models.read_text() + DECOY)
        with Trial(lesson, rows, workspace=copy, suffix="decoy", template=template) as trial:
            url = database.url_for(trial.name)
            same = run(lesson, "upgrade", revision, url=url, cwd=copy).status == 0
            same = same and trial.schema() == built
            if same and back is not None:
                # A table of the decoy models is there now: a downgrade that drops what the
                # models say (drop_all) takes it too; a migration leaves it alone.
                trial.execute("CREATE TABLE IF NOT EXISTS course_decoy (id integer)")
                ran = run(lesson, "downgrade", before or "base", url=url, cwd=copy)
                after = trial.schema()
                same = ran.status == 0 and "course_decoy" in after.tables
                same = (
                    same
                    and dataclasses.replace(
                        after,
                        tables={t: v for t, v in after.tables.items() if t != "course_decoy"},
                    )
                    == back
                )
            if same:
                return
    paths = [path] if isinstance(path, Path) else list(path)
    suspects = [
        (p, n, line.strip())
        for p in paths
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if any(s in line for s in ("create_all", "drop_all", "metadata", "app.models", "__table__"))
        and not line.lstrip().startswith("#")
    ]
    if suspects:  # the call that builds or drops, rather than the import before it
        file, number, line = min(
            suspects, key=lambda s: not any(c in s[2] for c in ("create_all", "drop_all"))
        )
        where = f"{file.relative_to(lesson.path)}, line {number} (`{line}`)"
    else:
        where = str(paths[0].relative_to(lesson.path))
    raise NotYet(
        f"{where} builds or drops its tables through app/models.py: when the models change, the "
        f"same revision would do something else. Describe the change itself, with "
        f"op.create_table(...), op.add_column(...), op.drop_table(...)."
    )


# -- state exercises ----------------------------------------------------------------------------

_built: dict[tuple, dict] = {}


def built_schemas(lesson) -> dict[str | None, schema.Schema]:
    """What the workspace's history builds at each of its revisions (None: base)."""
    history = History(lesson.path)
    chain = history.chain()
    files = tuple(
        sorted((s.name, hashlib.sha1(s.path.read_bytes()).hexdigest()) for s in history.scripts)
    )
    key = (start_template(lesson), files)
    if key in _built:
        return _built[key]
    if all(_is_reference(s.path) for s in history.scripts):
        built = {r: reference_schema(r) for r in chain}
        built[None] = reference_schema(None)
    else:
        built = _step_through(lesson, chain)
    _built[key] = built
    return built


def _is_reference(path: Path) -> bool:
    try:
        return path.read_bytes() == reference_file(path.name.split("_")[0]).read_bytes()
    except StopIteration:
        return False


def _step_through(lesson, chain: list[str]) -> dict:
    start = lessons.STAGES[lesson.number].revision
    built = {}
    with Trial(lesson) as trial:
        built[start] = trial.schema()
        position = chain.index(start) if start in chain else -1
        for revision in chain[position + 1 :]:
            trial.alembic("upgrade", revision)
            built[revision] = trial.schema()
        for revision in reversed([None, *chain[:position]]):
            trial.alembic("downgrade", revision or "base")
            built[revision] = trial.schema()
    return built


def rows_changed(lesson) -> str | None:
    """What happened to the rows the learner wrote through ``lesson.query`` (as they were
    after their last write): a sentence if a row is gone or a value changed, else None."""
    if not lesson.written:
        return None
    engine = lesson.engine()
    try:
        with engine.connect() as conn:
            tables = lessons.rows_by_id(conn)
    finally:
        engine.dispose()
    for table, rows in lesson.written.items():
        if table not in tables:  # dropped since: a downgrade's business, not this one's
            continue
        now = tables[table]
        for key, row in rows.items():
            if key not in now:
                return f"the row of {table} with id {key} is gone"
            for column, value in row.items():
                if column in now[key] and now[key][column] != value:
                    return (
                        f"{table}.{column} of the row with id {key} was {value!r} and is "
                        f"{now[key][column]!r} now"
                    )
    return None


def lesson_schema(lesson) -> schema.Schema:
    engine = lesson.engine()
    try:
        with engine.connect() as conn:
            return schema.snapshot(conn)
    finally:
        engine.dispose()


def _oid(database_name: str, table: str) -> int | None:
    engine = database.engine(database_name)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT to_regclass(:t)::oid"), {"t": table}).scalar()
    finally:
        engine.dispose()


def same_table(lesson, table: str) -> bool:
    """Is ``table`` still the one the lesson started with? A copy of a template keeps its
    tables' identities (oids); a table dropped and made again (a downgrade past its
    revision and back) has a new one, and none of its old rows."""
    return _oid(lesson.database, table) == _oid(start_template(lesson), table)


def tables_match(lesson, built: dict, actual: schema.Schema | None = None) -> list:
    """The revisions (None: base) at which the history builds the tables the lesson's
    database has, in history order: the last is where the database really is."""
    actual = lesson_schema(lesson) if actual is None else actual
    return [r for r in [None, *History(lesson.path).chain()] if built.get(r) == actual]


def version_has_a_file(lesson, at: str | None = None, built: dict | None = None) -> None:
    """``alembic_version`` names a revision no file has (a stray that ran, then was
    deleted): every command that reads the history fails on it, `upgrade head` too, so say
    the one way out before any other advice."""
    at = lesson.version() if at is None else at
    if at is None or at in History(lesson.path).by_id:
        return
    matches = tables_match(lesson, built_schemas(lesson) if built is None else built)
    fix = (
        f"The tables are those of {matches[-1] or 'base'}: run %alembic stamp --purge "
        f"{matches[-1] or 'base'}"
        if matches
        else "Run %alembic stamp --purge with the revision the tables match"
    )
    raise NotYet(
        f"alembic_version says {at}, and no file in alembic/versions/ has that revision (a "
        f"file deleted after it ran?). {fix} (--purge, since Alembic cannot find {at}), or "
        f"apply() does it."
    )


def check_database(lesson, expected: tuple[str, ...] | None = None) -> str | None:
    """``alembic_version`` and the tables agree; returns the revision the database is at."""
    check_history(lesson, expected)
    at = lesson.version()
    if at is not None and len(rows := lesson.query("SELECT version_num FROM alembic_version")) > 1:
        held = ", ".join(sorted(r[0] for r in rows))
        raise NotYet(
            f"alembic_version holds {len(rows)} rows ({held}): one line of history has one row. "
            f"Put it right with %alembic stamp --purge {at}, then check the tables."
        )
    built = built_schemas(lesson)
    version_has_a_file(lesson, at, built)
    actual = lesson_schema(lesson)
    if actual == built[at]:
        return at
    matches = tables_match(lesson, built, actual)
    if matches:
        real = matches[-1]
        chain = [None, *History(lesson.path).chain()]
        move = "upgrade" if chain.index(at) > chain.index(real) else "downgrade"
        raise NotYet(
            f"alembic_version says {at or 'base'}, but the tables are those of "
            f"{real or 'base'}: `alembic stamp` moves alembic_version and runs nothing. Put it "
            f"right with %alembic stamp {real or 'base'}, then %alembic {move} {at or 'base'}."
        )
    raise NotYet(
        f"the database is at {at or 'base'} by alembic_version, but its tables are not what "
        f"the revisions build there: "
        + explain_differences(built[at], actual, f"revision {at or 'base'}", "in the database")
    )


# -- what env.py does ------------------------------------------------------------------------------


def env_calls(lesson, *argv: str, url=None, cwd: Path | None = None) -> tuple[Ran, list[dict]]:
    """Run an alembic command and record every ``context.configure(**kw)`` env.py makes."""
    from alembic.runtime.environment import EnvironmentContext

    calls: list[dict] = []
    original = EnvironmentContext.configure

    def recording(self, *args, **kw):
        calls.append(kw)
        return original(self, *args, **kw)

    EnvironmentContext.configure = recording
    try:
        ran = run(lesson, *argv, url=url, cwd=cwd)
    finally:
        EnvironmentContext.configure = original
    return ran, calls
