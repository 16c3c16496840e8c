"""Lesson 2, alembic init: create the Alembic folder and wire env.py to the app."""

import ast
import configparser

from course_app.exercises import NotAttempted, NotYet, exercise, run

SETTINGS_SNIPPET = """from app.config import settings

# The URL comes from the app's settings, not from alembic.ini. ConfigParser
# reads % as the start of an interpolation, so double it.
config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))"""


def _init(lesson):
    lesson.path.joinpath("alembic.ini").exists() or run(lesson, "init", "alembic")


@exercise(
    hints=[
        "The command is the seed's: `alembic init <folder>`, here with `%alembic`.",
        "%alembic init alembic",
    ],
    solution="%alembic init alembic",
    apply=_init,
)
def init(lesson):
    ini = lesson.path / "alembic.ini"
    if not ini.exists():
        raise NotAttempted(
            "there is no alembic.ini in the workspace yet: run %alembic init alembic."
        )
    parser = configparser.ConfigParser()
    parser.read(ini)
    location = parser.get("alembic", "script_location", raw=True, fallback="")
    folder = location.replace("%(here)s/", "").replace("%(here)s", "")
    if folder.strip("/") != "alembic":
        raise NotYet(
            f"your migrations folder is {folder!r}; the course (like the seed) calls it "
            f"'alembic'. Delete alembic.ini and {folder}/, then run %alembic init alembic."
        )
    for needed in ("env.py", "script.py.mako", "versions"):
        if not (lesson.path / "alembic" / needed).exists():
            raise NotYet(
                f"alembic/{needed} is missing; delete alembic/ and alembic.ini and run "
                f"%alembic init alembic again."
            )
    return "alembic.ini, alembic/env.py, alembic/script.py.mako and alembic/versions/ are in place."


def _env(lesson) -> tuple[ast.Module, str]:
    path = lesson.path / "alembic" / "env.py"
    if not path.exists():
        raise NotAttempted("there is no alembic/env.py: do the previous exercise first.")
    source = path.read_text()
    try:
        return ast.parse(source), source
    except SyntaxError as exc:
        raise NotYet(f"alembic/env.py line {exc.lineno}: SyntaxError: {exc.msg}.") from None


def _imports(tree: ast.Module) -> dict[str, str]:
    """Names bound by imports in env.py: name -> module it came from."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name
    return names


def _wire_metadata(lesson):
    path = lesson.path / "alembic" / "env.py"
    path.write_text(
        path.read_text().replace(
            "target_metadata = None",
            "from app.models import Base\n\ntarget_metadata = Base.metadata",
            1,
        )
    )


@exercise(
    hints=[
        "Autogenerate compares the database with a MetaData object: your models' Base.metadata.",
        "In alembic/env.py: `from app.models import Base`, then `target_metadata = Base.metadata`.",
    ],
    solution="# alembic/env.py\nfrom app.models import Base\n\ntarget_metadata = Base.metadata",
    apply=_wire_metadata,
)
def target_metadata(lesson):
    tree, _ = _env(lesson)
    values = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "target_metadata" for t in node.targets)
    ]
    if not values or all(isinstance(v, ast.Constant) and v.value is None for v in values):
        raise NotAttempted("target_metadata is still None in alembic/env.py.")
    value = values[-1]
    text = ast.unparse(value)
    if not text.endswith(".metadata"):
        raise NotYet(f"target_metadata = {text} is not a MetaData; use the models' Base.metadata.")
    root = text.split(".")[0]
    imported = _imports(tree).get(root)
    if imported is None:
        raise NotYet(f"env.py uses {root} but never imports it: add `from app.models import Base`.")
    if not imported.startswith("app.models"):
        raise NotYet(f"{root} comes from {imported}; the models' Base is in app.models.")
    return "autogenerate and `alembic check` can now compare the database with your models."


def _wire_url(lesson):
    path = lesson.path / "alembic" / "env.py"
    source = path.read_text()
    if "settings.database_url" not in source:
        path.write_text(
            source.replace(
                "config = context.config\n",
                "config = context.config\n\n" + SETTINGS_SNIPPET + "\n",
                1,
            )
        )


@exercise(
    hints=[
        "alembic.ini holds a placeholder URL; env.py runs before any connection is made.",
        "In env.py, after `config = context.config`: "
        'config.set_main_option("sqlalchemy.url", settings.database_url) ...',
        "... and the URL holds % (it is URL-encoded), which ConfigParser reads as interpolation: "
        'pass settings.database_url.replace("%", "%%").',
    ],
    solution=SETTINGS_SNIPPET,
    apply=_wire_url,
)
def url_from_settings(lesson):
    ini = lesson.path / "alembic.ini"
    if not ini.exists():
        raise NotAttempted("there is no alembic.ini: run %alembic init alembic first.")
    tree, source = _env(lesson)
    hard_coded = [
        line
        for line in ini.read_text().splitlines()
        if line.strip().startswith("sqlalchemy.url") and "postgresql" in line
    ]
    if hard_coded:
        raise NotYet(
            "alembic.ini has a real database URL: that is the credential in a committed "
            "file the seed warns about. Put back the placeholder and set the URL in env.py."
        )
    status, problem = run(lesson, "current")
    if status == 0:
        if "settings" not in _imports(tree):
            raise NotYet(
                "env.py reaches the database, but not through the app's settings: "
                "import them with `from app.config import settings`."
            )
        return "env.py takes the URL from the app's settings; alembic.ini holds no credentials."
    if "dialects:driver" in problem or "driver://" in problem:
        raise NotAttempted(
            "env.py still uses alembic.ini's placeholder URL (driver://...): "
            "set sqlalchemy.url from settings.database_url in env.py."
        )
    if "interpolation" in problem:
        raise NotYet(
            "ConfigParser chokes on the % in the URL-encoded URL: pass "
            'settings.database_url.replace("%", "%%") to set_main_option.'
        )
    raise NotYet(f"`alembic current` fails: {problem.removeprefix('ERROR: ')}")
