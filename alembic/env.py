"""How Alembic reaches the database and the models, for the reference history.

* The URL comes from ``course_app`` (your settings: ``DATABASE_URL``, the
  ``DATABASE_*`` parts, or the embedded server), never from
  ``alembic.ini``, so no credentials live in a committed file. It migrates the
  course's own database, ``alembic_course_app``, created on first use; never
  the database your ``DATABASE_URL`` names.
* The URL goes into the engine's configuration as a URL object, not through
  ``config.set_main_option``: that goes through ConfigParser, which chokes on
  the ``%`` of a URL-encoded password.
* ``target_metadata`` is the models' metadata, so ``--autogenerate`` and
  ``alembic check`` compare the database with ``course_app.models``, types
  included (``compare_type``).
* A caller that brings its own engine (pytest-alembic, the course's lesson
  builder) passes it in ``config.attributes["connection"]``.
* The course's own errors (a server that cannot be reached, a bad DATABASE_URL)
  become Alembic's ``CommandError``: one ``FAILED:`` line, not a traceback.
"""

from logging.config import fileConfig

from alembic import context, util
from sqlalchemy import engine_from_config, pool

from course_app import database
from course_app.errors import CourseError
from course_app.models import Base

config = context.config

if config.config_file_name is not None:
    # Keep loggers configured before us (a notebook's, a test's) working.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def get_url():
    try:
        return database.ensure("alembic_course_app")
    except CourseError as exc:
        raise util.CommandError(str(exc)) from None


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: print the SQL instead of running it."""
    context.configure(
        url=get_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("connection")
    if engine is None:
        configuration = config.get_section(config.config_ini_section, {})
        configuration["sqlalchemy.url"] = get_url()
        engine = engine_from_config(configuration, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
