"""Lesson 2, alembic init: create the Alembic folder and wire env.py to the app.

env.py is judged by what it does, not by the lines it contains: the metadata it
really hands to ``context.configure()`` must hold the models' tables, and the
database it really connects to must follow the app's settings (the check points
``.env`` at another database and watches where env.py goes). Lesson 7 uses the
same two checks.
"""

import ast
import configparser
import difflib
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import alembic
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url

from course_app import database
from course_app.exercises import NotAttempted, NotYet, exercise
from course_app.exercises.checks import Trial, env_calls, run
from course_app.exercises.repair import save_files, write_file
from course_app.settings import PROJECT_ROOT

TEMPLATES = Path(alembic.__file__).parent / "templates"
METADATA_SNIPPET = "from app.models import Base\n\ntarget_metadata = Base.metadata"
SETTINGS_SNIPPET = """from app.config import settings

# The URL comes from the app's settings, not from alembic.ini. ConfigParser
# reads % as the start of an interpolation, so double it.
config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))"""


# -- exercise 1: alembic init ---------------------------------------------------------------


def _template_of(env_py: Path) -> str | None:
    """Which of Alembic's templates env.py came from: the closest one, even after edits."""
    text = env_py.read_text()
    scores = {
        template.name: difflib.SequenceMatcher(
            None, text, (template / "env.py").read_text()
        ).ratio()
        for template in sorted(TEMPLATES.iterdir())
        if (template / "env.py").is_file()
    }
    best = max(scores, key=scores.get) if scores else None
    return best if best and scores[best] > 0.6 else None


def _init(lesson) -> list[str]:
    said = []
    if init.judge().outcome == "correct":
        return ["alembic init has run already: alembic.ini and alembic/ are in place."]
    made = [p for p in (lesson.path / "alembic.ini", lesson.path / "pyproject.toml") if p.exists()]
    folders = [p for p in lesson.path.iterdir() if p.is_dir() and (p / "env.py").exists()]
    files = made + [f for folder in folders for f in folder.rglob("*") if f.is_file()]
    if files:
        said.append(save_files(lesson, files))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    ran = run(lesson, "init", "alembic")
    said.insert(0, "Ran %alembic init alembic." if ran.status == 0 else f"init failed: {ran.said}")
    return said


@exercise(
    hints=[
        "The command is `alembic init <folder>`, here with `%alembic`, and the folder is called alembic.",
        "%alembic init alembic",
    ],
    solution="%alembic init alembic",
    apply=_init,
)
def init(lesson):
    ini = lesson.path / "alembic.ini"
    if not ini.exists():
        elsewhere = [
            p
            for p in (Path.cwd() / "alembic.ini",)
            if p.exists() and p.parent not in (lesson.path, PROJECT_ROOT)
        ]
        if elsewhere:
            raise NotYet(
                f"there is an alembic.ini in {elsewhere[0].parent}, not in the workspace: `!alembic` "
                f"runs in the notebook's folder. Use %alembic init alembic, which runs in "
                f"workspace/lesson{lesson.number:02d}/ (and delete the stray one)."
            )
        raise NotAttempted(
            "there is no alembic.ini in the workspace yet: run %alembic init alembic."
        )
    parser = configparser.ConfigParser()
    parser.read(ini)
    location = parser.get("alembic", "script_location", raw=True, fallback="")
    # Alembic reads a relative script_location from the folder it runs in: the workspace.
    place = Path(location.replace("%(here)s", str(lesson.path)).strip() or ".")
    place = place if place.is_absolute() else lesson.path / place
    folder = (
        "alembic"
        if place.resolve() == (lesson.path / "alembic").resolve()
        else location.replace("%(here)s/", "").replace("%(here)s", "").strip("/")
    )
    if (lesson.path / "pyproject.toml").exists() and not location:
        raise NotYet(
            "init used the pyproject template, which keeps the settings in pyproject.toml. The "
            "course uses the generic one: delete alembic/, alembic.ini and pyproject.toml, then "
            "run %alembic init alembic (apply() does it)."
        )
    if folder != "alembic":
        raise NotYet(
            f"your migrations folder is {folder!r} (alembic.ini, script_location); the course "
            f"calls it 'alembic'. Delete alembic.ini and {folder}/, then run %alembic init alembic."
        )
    for needed in ("env.py", "script.py.mako", "versions"):
        if not (lesson.path / "alembic" / needed).exists():
            raise NotYet(
                f"alembic/{needed} is missing: delete alembic/ and alembic.ini, then run "
                f"%alembic init alembic again."
            )
    template = _template_of(lesson.path / "alembic" / "env.py")
    if template not in (None, "generic", "pyproject"):
        raise NotYet(
            f"alembic/env.py comes from the {template} template; this project needs the generic "
            f"one (a plain, synchronous engine). Delete alembic/ and alembic.ini, then run "
            f"%alembic init alembic without -t."
        )
    ran = run(lesson, "history")
    if ran.status != 0:
        raise NotYet(f"Alembic cannot read the new folder: {ran.said}")
    return "alembic.ini, alembic/env.py, alembic/script.py.mako and alembic/versions/ are in place."


# -- what env.py does -------------------------------------------------------------------------


def _env_source(lesson) -> str:
    path = lesson.path / "alembic" / "env.py"
    if not path.exists():
        raise NotAttempted("there is no alembic/env.py: run %alembic init alembic first.")
    try:
        template = _template_of(path)
    except UnicodeDecodeError:  # said below, with its line
        template = None
    if template in ("async", "multidb", "pyproject_async"):
        raise NotYet(
            f"alembic/env.py comes from the {template} template; this project needs the generic "
            f"one (a plain, synchronous engine). Delete alembic/ and alembic.ini, then run "
            f"%alembic init alembic without -t (apply() does it)."
        )
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise NotYet(
            f"alembic/env.py, line {line}: this is not UTF-8 text, which Python expects. Save the "
            f"file as UTF-8 (or run %alembic init again: apply() does)."
        ) from None
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise NotYet(f"alembic/env.py, line {exc.lineno}: SyntaxError: {exc.msg}.") from None
    return source


def _line_of(source: str, *needles: str) -> int | None:
    for number, line in enumerate(source.splitlines(), 1):
        if any(n in line for n in needles) and not line.lstrip().startswith("#"):
            return number
    return None


def _env_line(source: str, *needles: str) -> str:
    """Where in env.py: "alembic/env.py, line N" at the first line with a needle."""
    at = _line_of(source, *needles)
    return f"alembic/env.py, line {at}" if at else "alembic/env.py"


def _tables(metadata) -> dict[str, list[str]] | None:
    """Table -> columns, for a MetaData or a sequence of them; None if it is neither."""
    if isinstance(metadata, MetaData):
        parts = [metadata]
    elif isinstance(metadata, (list, tuple)) and all(isinstance(m, MetaData) for m in metadata):
        parts = list(metadata)
    else:
        return None
    return {n: sorted(c.name for c in t.columns) for m in parts for n, t in m.tables.items()}


def _assigned_at(source: str, name: str) -> list[int]:
    """Lines where env.py assigns ``name`` something else than None."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
    ]


@contextmanager
def _pointed_elsewhere(lesson, url, ini_too: bool = False):
    """A copy of the workspace whose .env (and, with ``ini_too``, alembic.ini) names
    another database: what does env.py do there?"""
    with tempfile.TemporaryDirectory(prefix="course-env-") as folder:
        copy = Path(folder) / lesson.path.name
        shutil.copytree(lesson.path, copy, ignore=shutil.ignore_patterns("__pycache__"))
        rendered = url.render_as_string(hide_password=False)
        (copy / ".env").write_text(f"APP_DATABASE_URL={rendered}\n")
        os.chmod(copy / ".env", 0o600)
        if ini_too and (copy / "alembic.ini").exists():
            ini = (copy / "alembic.ini").read_text()
            ini = re.sub(
                r"(?m)^sqlalchemy\.url\s*=.*$",
                lambda _: "sqlalchemy.url = " + rendered.replace("%", "%%"),
                ini,
            )
            (copy / "alembic.ini").write_text(ini)
        saved = os.environ.pop("APP_DATABASE_URL", None)
        try:
            yield copy
        finally:
            if saved is not None:
                os.environ["APP_DATABASE_URL"] = saved


def check_metadata(lesson) -> str:
    """target_metadata, as env.py really passes it to context.configure() when it connects
    (as autogenerate does), holds the models' tables."""
    source = _env_source(lesson)
    with (
        Trial(lesson, suffix="env") as trial,
        _pointed_elsewhere(lesson, database.url_for(trial.name), ini_too=True) as copy,
    ):
        ran, calls = env_calls(lesson, "current", cwd=copy)
    online = [c for c in calls if c.get("connection") is not None]
    if not online:
        raise NotYet(f"env.py stops before it calls context.configure(): {ran.said}")
    metadata = online[0].get("target_metadata")
    if metadata is None:
        set_at = _assigned_at(source, "target_metadata")
        if set_at:
            raise NotYet(
                f"alembic/env.py, line {set_at[-1]} sets target_metadata, but not where Alembic "
                f"reads it when it connects (too late, or only for offline runs): put it where "
                f"`target_metadata = None` was."
            )
        raise NotAttempted("target_metadata is still None in alembic/env.py.")
    seen = _tables(metadata)
    if seen is None and isinstance(getattr(metadata, "metadata", None), MetaData):
        raise NotYet("target_metadata is the Base class itself: use its MetaData, Base.metadata.")
    if seen is None:
        raise NotYet(
            f"target_metadata is {type(metadata).__name__!r}, not a MetaData: use the models' "
            f"Base.metadata (`from app.models import Base`)."
        )
    wanted = _tables(lesson.load_models().Base.metadata)
    if not seen:
        raise NotYet(
            "target_metadata holds no tables: it is a new, empty MetaData, not the one your "
            "models fill. Use `from app.models import Base` and `target_metadata = Base.metadata`."
        )
    if seen != wanted:
        missing = sorted(set(wanted) - set(seen)) or sorted(
            t for t in wanted if seen.get(t) != wanted[t]
        )
        raise NotYet(
            f"target_metadata holds {', '.join(sorted(seen)) or 'no table'}, but app/models.py "
            f"defines {', '.join(sorted(wanted))} ({', '.join(missing)} differs): use the "
            f"metadata of app/models.py's Base."
        )
    _env_runs(lesson, wanted, online[0])
    return "autogenerate and `alembic check` can now compare the database with your models."


PROBE = '''"""The course's probe: does a migration run through env.py last?"""

import sqlalchemy as sa
from alembic import op

revision = "course_probe"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("course_probe", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("course_probe")
'''


def _env_runs(lesson, wanted: dict | None = None, configured: dict | None = None) -> None:
    """What env.py does on its own, in a copy of the workspace with no revisions, pointed
    at a new, empty database (never anywhere else):

    * with ``wanted`` (the models' tables): autogenerate sees every one of them as new
      (an include_object that says no, or another version table, hides them);
    * a migration run through it lasts: a statement on the connection before
      ``context.configure()`` opens a transaction Alembic takes for the caller's, and its
      work is rolled back when the connection closes.
    """
    from course_app import lessons

    source = _env_source(lesson)
    if configured and (
        (configured.get("version_table") or "alembic_version") != "alembic_version"
        or configured.get("version_table_schema")
    ):
        raise NotYet(
            f"{_env_line(source, 'version_table')}: context.configure() keeps the history in "
            f"another table than alembic_version; the course (and every Alembic user after "
            f"you) looks there. Remove version_table."
        )
    with (
        Trial(lesson, suffix="env", template=lessons.ensure_template(None)) as trial,
        _pointed_elsewhere(lesson, database.url_for(trial.name), ini_too=True) as copy,
    ):
        versions = copy / "alembic" / "versions"
        shutil.rmtree(versions, ignore_errors=True)
        versions.mkdir(parents=True)
        _, calls = env_calls(lesson, "current", cwd=copy)
        online = [c["connection"] for c in calls if c.get("connection") is not None]
        if not online or online[0].engine.url.database != trial.name:
            return  # env.py ignores the settings: the URL exercise says so
        if wanted is not None:
            ran = run(lesson, "check", cwd=copy)
            hidden = sorted(t for t in wanted if f"'{t}'" not in ran.output)
            if "New upgrade operations detected" not in ran.output or hidden:
                raise NotYet(
                    f"{_env_line(source, 'include_object', 'include_name', 'include_schemas')}: "
                    f"autogenerate does not see {', '.join(hidden) or 'your tables'}: on an "
                    f"empty database `alembic check` should find every table of the models new, "
                    f"and it finds {'nothing' if 'add_table' not in ran.output else 'less'}. "
                    f"Leave out include_object / include_name, or let them say True for your "
                    f"tables."
                )
        (versions / "course_probe.py").write_text(PROBE)
        ran = run(lesson, "upgrade", "head", cwd=copy)
        if ran.status != 0:
            raise NotYet(f"`alembic upgrade head` fails through your env.py: {ran.said}")
        kept = trial.execute("SELECT to_regclass('course_probe') IS NOT NULL")[0][0]
    if not kept:
        raise NotYet(
            f"{_env_line(source, 'connection.execute', 'create_all', 'exec_driver_sql')}: a "
            f"migration run through env.py does not last: `upgrade head` on a copy said it "
            f"ran, and afterwards its table is not there. Something runs on the connection "
            f"before `with context.begin_transaction():`, so Alembic's transaction is never "
            f"committed. Keep run_migrations_online() as the template has it."
        )


def _ini_url(ini: Path) -> tuple[str, int]:
    """alembic.ini's sqlalchemy.url as ConfigParser reads it, and its line."""
    parser = configparser.ConfigParser()
    try:
        parser.read(ini)
        value = parser.get("alembic", "sqlalchemy.url", raw=True, fallback="")
    except configparser.Error:
        value = ""
    line = _line_of(ini.read_text(), "sqlalchemy.url") or 0
    return value.strip(), line


def check_url(lesson) -> str:
    """env.py connects where the app's settings (.env) say, online and offline."""
    ini = lesson.path / "alembic.ini"
    if not ini.exists():
        raise NotAttempted("there is no alembic.ini: run %alembic init alembic first.")
    source = _env_source(lesson)
    value, line = _ini_url(ini)
    if value and not value.startswith("driver://"):
        raise NotYet(
            f"alembic.ini, line {line} holds a real database URL: a password in a file you "
            f"commit. Put back the placeholder (driver://user:pass@localhost/dbname) and set the "
            f"URL in env.py."
        )
    sets_url = "set_main_option" in source or "settings" in source
    with (
        Trial(lesson, suffix="env") as trial,
        _pointed_elsewhere(lesson, database.url_for(trial.name)) as copy,
    ):
        ran, calls = env_calls(lesson, "current", cwd=copy)
        if ran.status != 0:
            if "placeholder URL" in ran.said and sets_url:
                raise NotYet(
                    "env.py sets the URL, but not before Alembic connects (too late, or only for "
                    "offline runs): set it right after `config = context.config`."
                )
            if "placeholder URL" in ran.said:
                raise NotAttempted(
                    "env.py still uses alembic.ini's placeholder URL (driver://...): set "
                    "sqlalchemy.url from settings.database_url in env.py."
                )
            raise NotYet(f"`alembic current` fails: {ran.said}")
        online = [c["connection"] for c in calls if c.get("connection") is not None]
        used = online[0].engine.url.database if online else None
        if used != trial.name:
            where = _line_of(source, "postgresql", "alembic_course_")
            written = f"alembic/env.py, line {where}" if where else "alembic.ini"
            raise NotYet(
                f"env.py connects to {used}, whatever the app's settings say: the URL is written "
                f"into {written}. Take it from settings.database_url instead."
            )
        ran, calls = env_calls(lesson, "upgrade", "head", "--sql", cwd=copy)
        offline = [c.get("url") for c in calls]
        if not offline or offline[0] is None or make_url(str(offline[0])).database != trial.name:
            raise NotYet(
                "`alembic upgrade --sql` (offline mode) does not use the settings' URL: set "
                "sqlalchemy.url near the top of env.py, right after `config = context.config`, so "
                "both modes see it."
            )
    _env_runs(lesson)
    return "env.py takes the URL from the app's settings; alembic.ini holds no credentials."


def stock_env(metadata: bool, url: bool) -> str:
    """The generic template's env.py, with the wiring the exercises ask for."""
    source = (TEMPLATES / "generic" / "env.py").read_text()
    if metadata:
        source = source.replace("target_metadata = None", METADATA_SNIPPET, 1)
    if url:
        source = source.replace(
            "config = context.config\n", f"config = context.config\n\n{SETTINGS_SNIPPET}\n", 1
        )
    return source


def _rewire(lesson, metadata: bool) -> list[str]:
    """Write env.py as the template plus the wiring: this exercise's, and the other one's
    if the learner's env.py already does it. Theirs is kept in a backup."""
    said = _init(lesson) if not (lesson.path / "alembic" / "env.py").exists() else []
    keep = url_from_settings if metadata else target_metadata
    other = keep.judge().outcome == "correct"
    env = stock_env(metadata=metadata or other, url=(not metadata) or other)
    said += write_file(lesson, "alembic/env.py", env)
    ini = lesson.path / "alembic.ini"
    value, _ = _ini_url(ini) if ini.exists() else ("", 0)
    if not metadata and value and not value.startswith("driver://"):
        text = re.sub(
            r"(?m)^sqlalchemy\.url\s*=.*$",
            lambda _: "sqlalchemy.url = driver://user:pass@localhost/dbname",
            ini.read_text(),
        )
        said += write_file(lesson, "alembic.ini", text)
        said.append("alembic.ini holds the placeholder URL again: no password in it.")
    return said


@exercise(
    hints=[
        "Autogenerate compares the database with a MetaData object: your models' Base.metadata.",
        "In alembic/env.py: `from app.models import Base`, then `target_metadata = Base.metadata`.",
    ],
    solution="# alembic/env.py\n" + METADATA_SNIPPET,
    apply=lambda lesson: _rewire(lesson, metadata=True),
    after=(init,),
)
def target_metadata(lesson):
    return check_metadata(lesson)


@exercise(
    hints=[
        "alembic.ini holds a placeholder URL; env.py runs before any connection is made.",
        "In env.py, right after `config = context.config`: "
        'config.set_main_option("sqlalchemy.url", settings.database_url) ...',
        "... and the URL holds % (it is URL-encoded), which ConfigParser reads as interpolation: "
        'pass settings.database_url.replace("%", "%%").',
    ],
    solution=SETTINGS_SNIPPET,
    apply=lambda lesson: _rewire(lesson, metadata=False),
    after=(init,),
)
def url_from_settings(lesson):
    return check_url(lesson)
