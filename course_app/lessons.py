"""Lesson workspaces: a fresh folder and a fresh database for each lesson.

``start(4)`` gives lesson 4 the state lesson 3 ends in, whatever ran before:

* ``workspace/lesson04/``, a small project of the learner's own: ``app/``
  (settings and models), ``alembic.ini``, ``alembic/`` with the revisions of
  the reference history up to the stage's revision, and a ``.env`` naming
  its database;
* ``alembic_course_lesson04``, that database, migrated to the same revision.

Databases are copied from templates (``CREATE DATABASE ... TEMPLATE``, about
20 ms), and each template is built once by running the reference history, so
"what posts looks like after lesson 4" has one source: ``alembic/versions``.
A template's name carries a hash of that history; edit a revision and the
next start builds new templates and drops the stale ones.

Starting a lesson again replaces its workspace; what the learner had changed or
added there is first copied to ``workspace/.backups/lessonNN/<date>/`` (see ``backups``).
"""

import contextlib
import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from course_app import backups, database, ready, workspace
from course_app.errors import CourseError
from course_app.settings import PROJECT_ROOT, get_settings
from course_app.stage_models import models_source

REFERENCE_DIR = PROJECT_ROOT / "alembic"
SCRATCH = re.compile(r"_(check|decoy|env)_\d+")  # a check's scratch copy: <lesson>_check_<pid>
STARTER = Path(__file__).resolve().parent / "starter"


@dataclass(frozen=True)
class Stage:
    """Where a lesson starts: which models, whether Alembic is set up, which revision."""

    models: str  # the reference revision whose models app/models.py holds (stage_models)
    alembic: bool  # has a wired alembic/ folder (else: the learner runs `alembic init`)
    revision: str | None  # reference revision the database and versions/ are at
    # Reference revisions a teammate wrote on their branch: lesson.pull() brings them in
    # (their first draft, if starter/teammate/ has one).
    teammate: tuple[str, ...] = ()
    testing: bool = False  # pytest.ini, tests/conftest.py and an empty <database>_test
    # The database was built by create_all() of the models, with rows, and Alembic has never
    # run on it (lesson 11 adopts it); versions/ starts empty.
    adopted: bool = False
    # Its checks run the learner's code in processes of their own (processes): start their
    # server with the lesson, so that it has its imports done by the first check.
    runs_processes: bool = False
    # Reference revisions already in versions/ that the database is not at yet: the
    # change the lesson deploys.
    pending: tuple[str, ...] = ()
    deploy: bool = False  # deploy.py, the deploy step a lesson of part three makes robust


STAGES: dict[int, Stage] = {
    # Part one: lessons 0 to 7 and the capstone stay at 0005 and before.
    0: Stage("0005", alembic=True, revision="0005"),
    1: Stage("0001", alembic=False, revision=None),
    2: Stage("0001", alembic=False, revision=None),
    3: Stage("0001", alembic=True, revision=None),
    4: Stage("0004", alembic=True, revision="0001"),
    5: Stage("0004", alembic=True, revision="0004"),
    6: Stage("0004", alembic=True, revision="0004"),
    7: Stage("0005", alembic=False, revision=None),
    # Part two: the history goes on past 0005 (stage_models gives each stage its models).
    8: Stage("0007", alembic=True, revision="0007", teammate=("0006",)),
    9: Stage(
        "0008", alembic=True, revision="0008", teammate=("0009",), testing=True, runs_processes=True
    ),
    10: Stage("0009", alembic=True, revision="0009", runs_processes=True),
    11: Stage("0009", alembic=True, revision=None, adopted=True),
    # Part three: changing a live database.
    12: Stage(
        "0010", alembic=True, revision="0009", pending=("0010",), runs_processes=True, deploy=True
    ),
    13: Stage("0011", alembic=True, revision="0010", runs_processes=True),
    14: Stage("0012", alembic=True, revision="0012", runs_processes=True),
    15: Stage("0015", alembic=True, revision="0014", runs_processes=True),
}


# -- reference history and templates -------------------------------------------


def reference_config() -> Config:
    """The reference history, without alembic.ini's logging setup: building a
    template should not print migration logs into the learner's first cell."""
    config = Config()
    config.set_main_option("script_location", str(REFERENCE_DIR))
    return config


def _check_beside_repository() -> None:
    """The reference history and the lessons live in the repository, beside the package: a
    copy installed into site-packages (``pip install .``) would find neither."""
    if not (PROJECT_ROOT / "alembic.ini").is_file():
        raise CourseError(
            f"The course package in {Path(__file__).parent} was installed apart from its "
            f"repository (`pip install .`): in the repository, run `pip install -e .` instead."
        )


def _history_hash() -> str:
    """What every template's name carries, so the first read of the reference history: a
    lesson start, a check's reference schema and classroom setup all come here."""
    _check_beside_repository()
    digest = hashlib.sha256()
    for path in sorted(REFERENCE_DIR.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def template_name(revision: str | None) -> str:
    return f"{database.PREFIX}tpl_{revision or 'empty'}_{_history_hash()}"


def ensure_template(revision: str | None) -> str:
    """Build the template database for a revision once; later calls reuse it."""
    name = template_name(revision)
    if database.exists(name):
        return name
    _refuse_to_build_in_class(name)
    with database.lock("templates"):  # another kernel may be building it right now
        if not database.exists(name):
            _build_template(name, revision)
    return name


# What an app that never used Alembic holds: rows in every table.
ADOPTED_ROWS = (
    "INSERT INTO users (email, password, bio) VALUES ('ada@example.com', 'x', 'Mathematician')",
    "INSERT INTO posts (title, content, owner_id, slug) VALUES ('Hello', 'Hi', 1, 'hello'), "
    "('Notes', 'On the engine', 1, 'notes')",
    "INSERT INTO votes (user_id, post_id) VALUES (1, 1)",
)


def ensure_adopted_template(models: str) -> str:
    """A database as create_all() of the models at revision ``models`` builds it, with rows,
    and no alembic_version: an app that never used Alembic."""
    name = adopted_template_name(models)
    if database.exists(name):
        return name
    _refuse_to_build_in_class(name)
    empty = ensure_template(None)  # before the lock: ensure_template takes it too
    with database.lock("templates"):
        if not database.exists(name):
            building = name + "_building"
            database.recreate(building, template=empty)
            engine = database.engine(building)
            try:
                build_adopted(engine, models)
            finally:
                engine.dispose()
            for stale in database.course_databases():
                if (
                    stale.startswith(f"{database.PREFIX}tpl_adopted_{models}_")
                    and stale != building
                ):
                    database.drop(stale)
            database.rename(building, name)
    return name


def build_adopted(engine: Engine, models: str) -> None:
    """create_all() of the models at revision ``models``, and rows in every table."""
    namespace: dict = {}
    exec(compile(models_source(models), "models.py", "exec"), namespace)
    namespace["Base"].metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in ADOPTED_ROWS:
            conn.execute(text(statement))


def adopted_template_name(models: str) -> str:
    return f"{database.PREFIX}tpl_adopted_{models}_{_history_hash()}"


def _refuse_to_build_in_class(name: str) -> None:
    """A learner of a class uses the templates the instructor built; they build none."""
    if database.classroom_role() is not None:
        raise CourseError(
            f"The class server has no template {name} for this version of the course: ask "
            f"your instructor to run `python -m course_app classroom setup` again."
        )


@contextlib.contextmanager
def readable(template: str):
    """A database to read a template's schema in: the template itself, or, for a learner of
    a class (who may not connect to the class's templates), a copy of their own."""
    if database.classroom_role() is None:
        yield template
        return
    name = database.own(f"read_{os.getpid()}")
    database.recreate(name, template=template)
    try:
        yield name
    finally:
        database.drop(name)


def stage_template(stage: "Stage") -> str:
    """The template a lesson's database is copied from."""
    return (
        ensure_adopted_template(stage.models) if stage.adopted else ensure_template(stage.revision)
    )


def _build_template(name: str, revision: str | None) -> None:
    # Built under another name and renamed when complete: a crash half-way
    # never leaves a half-migrated template behind under the real name.
    building = name + "_building"
    database.recreate(building)
    if revision is not None:
        engine = database.engine(building)
        try:
            config = reference_config()
            config.attributes["connection"] = engine
            command.upgrade(config, revision)
        finally:
            engine.dispose()
    for stale in database.course_databases():
        if stale.startswith(f"{database.PREFIX}tpl_{revision or 'empty'}_") and stale != building:
            database.drop(stale)
    database.rename(building, name)


# -- lessons -------------------------------------------------------------------


@dataclass
class Dropped:
    """What one DROP TABLE took with it."""

    rows: int
    columns: list[str]


_DROP = re.compile(r'\s*DROP TABLE (?:IF EXISTS )?"?(\w+)"?', re.I)


def pytest_environment(**extra: str) -> dict[str, str]:
    """The environment a learner's pytest runs in: only the plugins it asks for, and the same
    80 columns everywhere. pytest shortens its summary lines to the terminal's width, except
    when ``CI`` is set, where it prints them whole; without this a page would show what the
    machine it was built on happened to be."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    return {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "80", **extra}


@dataclass
class Lesson:
    """One started lesson: its folder, its database, and a few ways to look at both."""

    number: int
    path: Path
    database: str
    backup: Path | None = None  # where start() saved the learner's previous files
    dropped: dict[str, Dropped] = field(default_factory=dict)  # table -> its first DROP
    # table -> {id: row}, as the tables were after the learner's last write through
    # query(): the data migrations must keep as it is (a check compares)
    written: dict[str, dict] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def versions(self) -> Path:
        return self.path / "alembic" / "versions"

    def engine(self) -> Engine:
        """An engine on the lesson's database. It notes what each DROP TABLE takes with
        it (rows, columns), so a check can tell what a drop cost after it is done."""
        engine = database.engine(self.database)
        event.listen(engine, "before_cursor_execute", self._note_drop)
        return engine

    def _note_drop(self, conn, cursor, statement, parameters, context, executemany) -> None:
        match = _DROP.match(statement)
        if not match:
            return
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (match[1],))
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f'SELECT count(*) FROM "{match[1]}"')
        rows = cursor.fetchone()[0]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (match[1],),
        )
        # The first drop is the one the lesson asks about; a re-run cell drops an empty table.
        self.dropped.setdefault(match[1], Dropped(rows, [name for (name,) in cursor.fetchall()]))

    def revision(self, revision_id: str) -> Path:
        """The workspace's revision file with this id."""
        found = sorted(self.versions.glob(f"{revision_id}_*.py"))
        if not found:
            raise CourseError(
                f"there is no revision {revision_id} in alembic/versions yet: "
                f"the cells above create it."
            )
        return found[0]

    def show(self, relative: str, matching: str | None = None) -> None:
        """Print a workspace file (only the lines ``matching`` a regex, if given); any
        password in it masked."""
        print(workspace.show(self.path, relative, matching))

    def show_revision(self, revision_id: str) -> None:
        """Print the ``upgrade()`` and ``downgrade()`` of a workspace revision."""
        path = self.revision(revision_id)
        print(f"# alembic/versions/{path.name}\n" + workspace.functions(path))

    def edit(self, relative: str, old: str, new: str) -> None:
        """Make one change to a workspace file (``old`` must be there once); say what changed."""
        print(workspace.edit(self.path, relative, old, new))

    def append(self, relative: str, text: str) -> None:
        """Add text at the end of a workspace file."""
        print(workspace.append(self.path, relative, text))

    def delete(self, pattern: str) -> None:
        """Delete the workspace files that match a glob pattern; say which."""
        print(workspace.delete(self.path, pattern))

    def write_function(self, revision_id: str, function: str, body: str) -> None:
        """Give a revision's ``upgrade()`` or ``downgrade()`` a new body."""
        print(workspace.write_function(self.revision(revision_id), function, body))

    def pull(self) -> None:
        """Bring in a teammate's work, as ``git pull`` would: their revision files, and
        their change to ``app/models.py`` next to yours."""
        stage = STAGES[self.number]
        if not stage.teammate:
            raise CourseError("there is no teammate's branch to pull in this lesson.")
        models = self.path / "app" / "models.py"
        merged = models_source(stage.models, *stage.teammate)
        note = ""
        if models.exists() and models.read_text() not in (models_source(stage.models), merged):
            saved = backups.save(self.path, [models], reason="pull")
            note = f" Your edited app/models.py is saved in {backups.shown(saved)}."
        models.write_text(merged)
        pulled = []
        for revision in stage.teammate:
            path = next(REFERENCE_DIR.glob(f"versions/{revision}_*.py"))
            draft = STARTER / "teammate" / path.name
            (self.versions / path.name).write_bytes(
                (draft if draft.exists() else path).read_bytes()
            )
            pulled.append(f"alembic/versions/{path.name}")
        print(
            f"Pulled your teammate's branch: {', '.join(pulled)} and their change to "
            f"app/models.py.{note}"
        )

    @contextlib.contextmanager
    def against_empty_database(self):
        """For the cells inside it, the workspace's settings name an empty database instead
        of the lesson's (APP_DATABASE_URL, which the settings read before .env): what
        autogenerate compares with to write a baseline that creates every table."""
        name = f"{self.database}_empty"
        database.recreate(name, template=ensure_template(None))
        saved = os.environ.get("APP_DATABASE_URL")
        os.environ["APP_DATABASE_URL"] = database.url_for(name).render_as_string(
            hide_password=False
        )
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("APP_DATABASE_URL", None)
            else:
                os.environ["APP_DATABASE_URL"] = saved
            database.drop(name)

    def pytest(self, *args: str) -> None:
        """Run the workspace's tests, ``python -m pytest`` in its folder, and print what it says.

        Only pytest-alembic of the installed pytest plugins is loaded (this environment has
        more, for the course's own tests): the same tests, a second faster."""
        from course_app import processes

        argv = ["-p", "pytest_alembic", "--color=yes", *args]
        ran = processes.run("pytest", argv, self.path, pytest_environment(), timeout=300)
        print(database.redact(ran.output).rstrip())

    def tables(self) -> list[str]:
        """The tables in the lesson's database, sorted."""
        engine = self.engine()
        try:
            return sorted(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def columns(self, table: str) -> list[dict]:
        if table not in self.tables():
            raise CourseError(
                f"there is no {table} table in the lesson's database (it is at "
                f"{self.version() or 'base'})."
            )
        engine = self.engine()
        try:
            return inspect(engine).get_columns(table)
        finally:
            engine.dispose()

    def session(self, name: str):
        """A named connection on the lesson's database, in autocommit mode (``BEGIN`` and
        ``COMMIT`` are statements it runs): part three watches its locks."""
        from course_app import locks

        return locks.Session(self.database, name)

    def alembic_in_background(self, *argv: str, name: str = "migration"):
        """``alembic ARGV`` in the workspace, as a process of its own: %alembic runs in the
        notebook's kernel, and would block it while it waits for a lock. Returns once the
        process waits on a lock or has finished; ``.finish()`` then says how it ended."""
        from course_app import locks

        started = locks.Process(
            self.database, name, "alembic", list(argv), self.path, dict(os.environ)
        )
        print(
            f"alembic {' '.join(argv)} ({name}): "
            + ("waiting for a lock." if started.waiting else "finished.")
        )
        return started

    def measure(self, statements: dict[str, str]) -> None:
        """For each statement, run in a transaction that is then rolled back: the locks it
        took (``pg_locks``), whether it rewrote a table (its file on disk changed) and which
        tables it read through. The database is left as it was."""
        from course_app import locks

        locks.show_measured(self.database, statements)

    def squawk(self, revisions: str) -> None:
        """Lint the SQL of ``alembic upgrade REVISIONS --sql`` (a range, ``0010:0012``) with
        squawk, a linter for PostgreSQL migrations that knows which statement takes which
        lock; print what it finds, one line each."""
        import shutil
        import subprocess
        import sys

        from course_app import processes

        found = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which(
            "squawk"
        )
        if found is None:
            raise CourseError("squawk is not installed here: pip install -r requirements.txt.")
        offline = processes.run(
            "alembic", ["upgrade", revisions, "--sql"], self.path, dict(os.environ), timeout=60
        )
        if offline.returncode != 0:
            said = [line for line in offline.stderr.splitlines() if line.strip()]
            raise CourseError(
                f"`alembic upgrade {revisions} --sql` failed: "
                f"{database.redact(said[-1] if said else 'no output')}"
            )
        name = f"upgrade {revisions} --sql"
        linted = subprocess.run(
            [found, "--reporter", "gcc", "--stdin-filepath", name, "--pg-version", "18"],
            input=offline.stdout,
            capture_output=True,
            text=True,
            timeout=60,
        )
        print(linted.stdout.strip() or f"{name}: squawk finds nothing to say.")

    def locks(self) -> None:
        """Who waits for whom on the lesson's database, now: one line a named session."""
        from course_app import locks

        locks.show(self.database)

    def query(self, sql: str, **params) -> list[tuple] | None:
        """Run one SQL statement in the lesson's database; rows as tuples (None for a
        statement that returns none, such as an INSERT)."""
        engine = self.engine()
        try:
            with engine.begin() as conn:
                result = conn.execute(text(sql), params)
                rows = [tuple(row) for row in result] if result.returns_rows else None
                # Did it write (whatever it looks like: a CTE, a comment first, a cascade)?
                if conn.execute(text("SELECT txid_current_if_assigned()")).scalar() is not None:
                    self.written = rows_by_id(conn)
                return rows
        except DBAPIError as exc:
            said = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise CourseError(
                f"PostgreSQL refused the query: {said}. (The database is at "
                f"{self.version() or 'base'}.)"
            ) from None
        finally:
            engine.dispose()

    def load_models(self):
        """Import the workspace's ``app/models.py`` afresh (after you edit it)."""
        import importlib.util
        import sys

        from course_app.magics import describe

        path = self.path / "app" / "models.py"
        spec = importlib.util.spec_from_file_location(f"lesson{self.number:02d}_models", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclass-style annotations need the module registered
        try:
            spec.loader.exec_module(module)
        except FileNotFoundError:
            raise CourseError("there is no app/models.py in the workspace.") from None
        except Exception as exc:  # the learner's file: say where, in one line
            twice = re.search(r"Table '(\w+)' is already defined", str(exc))
            if twice:  # a cell that adds a model, run twice
                raise CourseError(
                    f"app/models.py defines the {twice[1]} table twice (was the cell that adds "
                    f"it run twice?): keep one of the two classes."
                ) from None
            raise CourseError(
                f"app/models.py does not import: {describe(exc, self.path)}. Fix it and run "
                f"the cell again."
            ) from None
        if not hasattr(module, "Base"):
            raise CourseError("app/models.py defines no Base: keep `class Base(DeclarativeBase)`.")
        return module

    def version(self) -> str | None:
        """What ``alembic_version`` holds: the revision the database is at."""
        if "alembic_version" not in self.tables():
            return None
        rows = self.query("SELECT version_num FROM alembic_version")
        return rows[0][0] if rows else None

    def __repr__(self) -> str:
        return f"<Lesson {self.number}: {self.path}, {self.database}>"


def rows_by_id(conn) -> dict[str, dict]:
    """Every table that has an ``id`` column: its rows by id."""
    tables = conn.execute(
        text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND column_name = 'id' ORDER BY table_name"
        )
    ).scalars()
    return {
        table: {
            r._mapping["id"]: dict(r._mapping)
            for r in conn.execute(text(f'SELECT * FROM "{table}"'))
        }
        for table in list(tables)
    }


_current: Lesson | None = None


def current() -> Lesson:
    if _current is None:
        raise CourseError(
            "No lesson is started in this notebook. Run its first cell "
            "(course_app.start(N)) and try again."
        )
    return _current


def workspace_path(number: int) -> Path:
    return get_settings().workspace_dir / f"lesson{number:02d}"


def workspace_files(stage: Stage, url: str) -> dict[str, bytes]:
    """What the course writes into a lesson's workspace: relative path -> content."""
    files = {
        "app/__init__.py": (STARTER / "app" / "__init__.py").read_bytes(),
        "app/config.py": (STARTER / "app" / "config.py").read_bytes(),
        "app/models.py": models_source(stage.models).encode(),
        ".env": (
            "# Written by the course for this lesson. Never commit a .env file.\n"
            f"APP_DATABASE_URL={url}\n"
        ).encode(),
    }
    if stage.alembic:
        files["alembic.ini"] = (STARTER / "alembic.ini").read_bytes()
        for path in sorted((STARTER / "alembic").rglob("*")):
            if path.is_file():
                files[str(path.relative_to(STARTER))] = path.read_bytes()
        files["alembic/script.py.mako"] = (REFERENCE_DIR / "script.py.mako").read_bytes()
        if stage.testing:
            for path in sorted((STARTER / "testing").rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    files[str(path.relative_to(STARTER / "testing"))] = path.read_bytes()
            files["requirements.txt"] = _app_requirements().encode()
        for revision in _revisions_up_to(stage.revision):
            files[f"alembic/versions/{revision.name}"] = revision.read_bytes()
        for pending in stage.pending:
            revision = next((REFERENCE_DIR / "versions").glob(f"{pending}_*.py"))
            files[f"alembic/versions/{revision.name}"] = revision.read_bytes()
    if stage.deploy:
        files["deploy.py"] = (STARTER / "deploy" / "deploy.py").read_bytes()
    return files


APP_PACKAGES = (
    "sqlalchemy",
    "alembic",
    "psycopg2-binary",
    "pydantic-settings",
    "pytest",
    "pytest-alembic",
)


def _app_requirements() -> str:
    """What the learner's app needs, for CI to install: the course's own pins of those."""
    pinned = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    kept = [line for line in pinned if re.split(r"[=<>; ]", line)[0].lower() in APP_PACKAGES]
    return (
        "# The app, its migrations and their tests (pins from the course's requirements.txt)\n"
        + "\n".join(kept)
        + "\n"
    )


def _write_workspace(path: Path, stage: Stage, url: str) -> Path | None:
    """Write a fresh workspace; first save what the learner changed. Returns the backup."""
    files = workspace_files(stage, url)
    backup = backups.save(path, backups.changed(path, files))
    shutil.rmtree(path, ignore_errors=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        # .env holds the database password: only its owner may read it, from the start.
        descriptor = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if name == ".env" else 0o644
        )
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
    if stage.alembic:
        (path / "alembic" / "versions").mkdir(exist_ok=True)
    return backup


def _revisions_up_to(revision: str | None) -> list[Path]:
    """The reference revision files from the first one to ``revision``, in order."""
    if revision is None:
        return []
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(reference_config())
    return [Path(s.path) for s in script.walk_revisions("base", revision)][::-1]


def lesson_databases(number: int) -> list[tuple[str, str]]:
    """A lesson's databases, each with the template it starts as: the lesson's own, and for
    the lessons on testing, the one its migration tests wipe and migrate (never its own)."""
    stage = STAGES[number]
    name = database.own(f"lesson{number:02d}")
    databases = [(name, stage_template(stage))]
    if stage.testing:
        databases.append((f"{name}_test", ensure_template(None)))
    return databases


def start(number: int) -> Lesson:
    """Give lesson ``number`` a fresh workspace and database; make it current. On a class
    server the lesson's databases were copied ahead (``ready``), and the next lesson's are."""
    global _current
    if number not in STAGES:
        raise CourseError(
            f"There is no lesson {number}; lessons are {min(STAGES)} to {max(STAGES)}."
        )
    stage = STAGES[number]
    name = database.own(f"lesson{number:02d}")
    in_class = database.classroom_role() is not None
    databases = lesson_databases(number)
    # Two kernels starting the same lesson at once take turns; both end in its start state.
    with database.lock(name):
        for each, template in databases:
            if not (in_class and ready.take(each, template)):
                database.recreate(each, template=template)
        for scratch in database.course_databases():  # left by a check that was interrupted
            if SCRATCH.fullmatch(scratch.removeprefix(name)):
                database.drop(scratch)
        url = database.url_for(name).render_as_string(hide_password=False)
        path = workspace_path(number)
        backup = _write_workspace(path, stage, url)
    following = [n for n in STAGES if n > number]
    if in_class and following:
        ready.prepare_in_background(min(following))
    if stage.runs_processes:
        from course_app import processes

        processes.warm()
    _current = Lesson(number, path, name, backup=backup)
    return _current
