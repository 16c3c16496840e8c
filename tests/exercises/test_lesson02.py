"""Lesson 2: alembic init and env.py, judged by what env.py does."""

import pytest

from course_app import lessons
from course_app.exercises import lesson02 as ex
from tests.exercises.catalogue import (
    alembic,
    assert_case,
    edit,
    ids,
    reference,
    right,
    steps,
    wrong,
)

GENERIC = "alembic/env.py"
METADATA = (
    "target_metadata = None",
    "from app.models import Base\n\ntarget_metadata = Base.metadata",
)
SETTINGS = (
    "config = context.config\n",
    "config = context.config\n\nfrom app.config import settings\n\n"
    'config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))\n',
)


def prepare(exercise):
    lesson = lessons.start(2)
    if exercise is not ex.init:
        alembic("init", "alembic")(lesson)
    return lesson


def literal_url(lesson):
    url = lesson.engine().url.render_as_string(hide_password=False).replace("%", "%%")
    edit(
        GENERIC,
        (
            "config = context.config\n",
            f"config = context.config\nconfig.set_main_option('sqlalchemy.url', {url!r})\n",
        ),
    )(lesson)


def stray_ini_in_notebook_folder(lesson, tmp):
    (tmp / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/alembic\n")


def engine_config_style(lesson):
    """The course's own style: the URL into the engine's configuration and the offline call."""
    edit(
        GENERIC,
        (
            "config = context.config\n",
            "config = context.config\n\nfrom app.config import settings\n",
        ),
        ('    url = config.get_main_option("sqlalchemy.url")', "    url = settings.database_url"),
        (
            "        config.get_section(config.config_ini_section, {}),",
            '        {**config.get_section(config.config_ini_section, {}), "sqlalchemy.url": settings.database_url},',
        ),
    )(lesson)


N, M, U = ex.init, ex.target_metadata, ex.url_from_settings
CASES = [
    wrong(N, "another folder name", alembic("init", "migrations"), names="migrations"),
    wrong(N, "the async template", alembic("init", "-t", "async", "alembic"), names="async"),
    wrong(
        N,
        "the pyproject template",
        alembic("init", "-t", "pyproject", "alembic"),
        names="pyproject",
    ),
    wrong(N, "the multidb template", alembic("init", "-t", "multidb", "alembic"), names="multidb"),
    wrong(
        N,
        "versions deleted",
        steps(
            alembic("init", "alembic"),
            lambda lesson: (lesson.path / "alembic" / "versions").rmdir(),
        ),
        names="alembic/versions",
    ),
    wrong(N, "not run", names="alembic init", outcome="not attempted"),
    right(N, "a ./ path", alembic("init", "./alembic")),
    right(N, "a trailing slash", alembic("init", "alembic/")),
    wrong(
        N,
        "the async template, then edited",
        steps(
            alembic("init", "-t", "async", "alembic"),
            edit(
                GENERIC,
                (
                    "target_metadata = None",
                    "from app.models import Base\n\ntarget_metadata = Base.metadata",
                ),
            ),
        ),
        names="async",
    ),
    reference(N, alembic("init", "alembic")),
    wrong(
        M,
        "an empty MetaData",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "from sqlalchemy import MetaData\n\ntarget_metadata = MetaData()",
            ),
        ),
        names="no tables",
    ),
    wrong(
        M,
        "set after the run",
        lambda lesson: (lesson.path / GENERIC).write_text(
            (lesson.path / GENERIC).read_text()
            + "\nfrom app.models import Base\n\ntarget_metadata = Base.metadata\n"
        ),
        names=r"alembic/env\.py, line \d+",
    ),
    wrong(
        M,
        "the Base class",
        edit(
            GENERIC,
            ("target_metadata = None", "from app.models import Base\n\ntarget_metadata = Base"),
        ),
        names="Base.metadata",
    ),
    wrong(
        M,
        "imported from the wrong module",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "from app.config import Base\n\ntarget_metadata = Base.metadata",
            ),
        ),
        names="app.config",
    ),
    wrong(
        M,
        "a new declarative base",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\ntarget_metadata = Base.metadata",
            ),
        ),
        names="no tables",
    ),
    wrong(
        M,
        "a syntax error",
        edit(GENERIC, ("target_metadata = None", "target_metadata = (Base.metadata")),
        names=r"alembic/env\.py, line \d+",
    ),
    wrong(M, "left as None", names="None", outcome="not attempted"),
    right(
        M,
        "a module import",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "import app.models\n\ntarget_metadata = app.models.Base.metadata",
            ),
        ),
    ),
    right(
        M,
        "a list of one MetaData",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "from app.models import Base\n\ntarget_metadata = [Base.metadata]",
            ),
        ),
    ),
    right(
        M,
        "from app import models",
        edit(
            GENERIC,
            (
                "target_metadata = None",
                "from app import models\n\ntarget_metadata = models.Base.metadata",
            ),
        ),
    ),
    wrong(
        M,
        "only for offline runs",
        edit(
            GENERIC,
            (
                "        target_metadata=target_metadata,\n        literal_binds=True,",
                "        target_metadata=__import__('app.models').models.Base.metadata,\n        literal_binds=True,",
            ),
        ),
        names="target_metadata",
    ),
    wrong(
        M,
        "inside the offline branch",
        edit(
            GENERIC,
            (
                "if context.is_offline_mode():\n",
                "if context.is_offline_mode():\n    from app.models import Base\n\n    target_metadata = Base.metadata\n",
            ),
        ),
        names=r"alembic/env\.py, line \d+",
    ),
    right(
        M,
        "given straight to the online configure()",
        edit(
            GENERIC,
            (
                "            connection=connection, target_metadata=target_metadata",
                "            connection=connection, target_metadata=__import__('app.models').models.Base.metadata",
            ),
        ),
    ),
    reference(M, edit(GENERIC, METADATA)),
    wrong(U, "a URL pasted into env.py", literal_url, names=r"alembic/env\.py, line \d+"),
    wrong(
        U,
        "the % not doubled",
        edit(
            GENERIC,
            (
                "config = context.config\n",
                "config = context.config\nfrom app.config import settings\nconfig.set_main_option('sqlalchemy.url', settings.database_url)\n",
            ),
        ),
        names="%%",
    ),
    wrong(
        U,
        "a URL in alembic.ini",
        edit(
            "alembic.ini",
            (
                "sqlalchemy.url = driver://user:pass@localhost/dbname",
                "sqlalchemy.url = postgresql://postgres:secret@localhost/blog",
            ),
        ),
        names=r"alembic\.ini, line \d+",
    ),
    wrong(
        U,
        "set only for online runs",
        edit(
            GENERIC,
            (
                "    connectable = engine_from_config(",
                "    from app.config import settings\n\n    config.set_main_option('sqlalchemy.url', settings.database_url.replace('%', '%%'))\n    connectable = engine_from_config(",
            ),
        ),
        names="offline",
    ),
    wrong(
        U,
        "read from os.environ",
        edit(
            GENERIC,
            (
                "config = context.config\n",
                "config = context.config\nimport os\nconfig.set_main_option('sqlalchemy.url', os.environ['APP_DATABASE_URL'].replace('%', '%%'))\n",
            ),
        ),
        names="APP_DATABASE_URL",
    ),
    wrong(U, "left as the placeholder", names="placeholder", outcome="not attempted"),
    wrong(
        U,
        "a syntax error",
        edit(
            GENERIC,
            (
                "config = context.config\n",
                "config = context.config\nconfig.set_main_option('sqlalchemy.url'\n",
            ),
        ),
        names=r"alembic/env\.py, line \d+",
    ),
    right(U, "the URL into the engine's configuration", engine_config_style),
    right(
        U,
        "str() around the URL",
        edit(
            GENERIC,
            (
                "config = context.config\n",
                "config = context.config\nfrom app.config import settings\nconfig.set_main_option('sqlalchemy.url', str(settings.database_url).replace('%', '%%'))\n",
            ),
        ),
    ),
    right(
        U,
        "set_section_option",
        edit(
            GENERIC,
            (
                "config = context.config\n",
                "config = context.config\nfrom app.config import settings\nconfig.set_section_option(config.config_ini_section, 'sqlalchemy.url', settings.database_url.replace('%', '%%'))\n",
            ),
        ),
    ),
    wrong(
        U,
        "a URL in alembic.ini, spaced",
        edit(
            "alembic.ini",
            (
                "sqlalchemy.url = driver://user:pass@localhost/dbname",
                "sqlalchemy.url=  postgresql://postgres:secret@localhost/blog",
            ),
        ),
        names=r"alembic\.ini, line \d+",
    ),
    wrong(
        U,
        "a postgres:// URL in alembic.ini",
        edit(
            "alembic.ini",
            (
                "sqlalchemy.url = driver://user:pass@localhost/dbname",
                "sqlalchemy.url = postgres://postgres:secret@localhost/blog",
            ),
        ),
        names=r"alembic\.ini, line \d+",
    ),
    wrong(
        U,
        "set at the end of env.py",
        lambda lesson: (lesson.path / GENERIC).write_text(
            (lesson.path / GENERIC).read_text()
            + "\nfrom app.config import settings\nconfig.set_main_option('sqlalchemy.url', settings.database_url.replace('%', '%%'))\n"
        ),
        names="too late",
    ),
    reference(U, edit(GENERIC, SETTINGS)),
]


BEFORE_TRANSACTION = (  # a first query opens a transaction Alembic then takes as the caller's
    "    with connectable.connect() as connection:\n",
    "    with connectable.connect() as connection:\n"
    '        print(connection.exec_driver_sql("select version()").scalar())\n',
)


def not_utf8(lesson):
    path = lesson.path / GENERIC
    path.write_bytes(path.read_bytes().replace(b"Alembic", b"Alemb\xe9c", 1))


# Found by a hunt for wrong work that passed: env.py judged by what it does.
CASES += [
    wrong(
        M,
        "a statement before begin_transaction: every migration rolled back",
        edit(GENERIC, METADATA, BEFORE_TRANSACTION),
        names=r"alembic/env\.py, line \d+.*does not last",
    ),
    wrong(
        U,
        "a statement before begin_transaction: every migration rolled back",
        edit(GENERIC, SETTINGS, BEFORE_TRANSACTION),
        names=r"alembic/env\.py, line \d+.*does not last",
    ),
    wrong(
        M,
        "an include_object that hides every table",
        edit(
            GENERIC,
            METADATA,
            (
                "connection=connection, target_metadata=target_metadata",
                "connection=connection, target_metadata=target_metadata, "
                "include_object=lambda *a: False",
            ),
        ),
        names=r"alembic/env\.py, line \d+: autogenerate does not see",
    ),
    wrong(
        M,
        "another version table",
        edit(
            GENERIC,
            METADATA,
            (
                "connection=connection, target_metadata=target_metadata",
                "connection=connection, target_metadata=target_metadata, "
                'version_table="my_versions"',
            ),
        ),
        names=r"alembic/env\.py, line \d+.*version_table",
    ),
    wrong(M, "env.py saved as Latin-1", not_utf8, names=r"alembic/env\.py, line \d+.*UTF-8"),
    right(
        N,
        "init with the workspace's absolute path",
        lambda lesson: alembic("init", str(lesson.path / "alembic"))(lesson),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


def test_an_alembic_ini_in_the_notebook_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/alembic\n")
    lessons.start(2)
    feedback = ex.init.judge()
    assert feedback.outcome == "not yet" and str(tmp_path) in feedback.message, feedback
