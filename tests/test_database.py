"""The course's databases: errors that say what to fix, and a refusal to touch others."""

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from conftest import EXTERNAL_PASSWORD
from course_app import database, lessons
from course_app.errors import CourseError
from course_app.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    "name", ["postgres", "template1", "blog", "alembic_course_x; DROP", "Alembic_course_x"]
)
def test_refuses_databases_outside_its_prefix(name):
    for action in (database.drop, database.create, database.url_for):
        with pytest.raises(CourseError, match="Refusing to touch"):
            action(name)


def test_wrong_password_says_so_without_the_password(env, external_server):
    env(
        DATABASE_URL=external_server.set(password="wrong%pass").render_as_string(
            hide_password=False
        )
    )
    with pytest.raises(CourseError, match="refused the password for user 'postgres'") as caught:
        database.check_connection()
    assert "wrong" not in str(caught.value)


def test_unreachable_host(env, external_server):
    env(DATABASE_URL=external_server.set(port=1).render_as_string(hide_password=False))
    with pytest.raises(CourseError, match=r"Cannot reach PostgreSQL at 127.0.0.1:1\."):
        database.check_connection()


def test_missing_database(env, external_server):
    env(DATABASE_URL=external_server.set(database="nosuchdb").render_as_string(hide_password=False))
    with pytest.raises(CourseError, match="Database 'nosuchdb' does not exist"):
        database.check_connection()


def test_missing_user(env, external_server):
    env(
        DATABASE_URL=external_server.set(username="nobody_here").render_as_string(
            hide_password=False
        )
    )
    with pytest.raises(CourseError, match="no user 'nobody_here'|refused the password"):
        database.check_connection()


def test_raw_password_as_seed_parts_connects(env, external_server):
    env(
        DATABASE_HOSTNAME="127.0.0.1",
        DATABASE_PORT=str(external_server.port),
        DATABASE_USERNAME="postgres",
        DATABASE_PASSWORD=EXTERNAL_PASSWORD,
        DATABASE_NAME="postgres",
    )
    assert database.check_connection()


def test_redact_masks_the_password_in_every_form(on_external):
    from urllib.parse import quote

    message = f"boom {EXTERNAL_PASSWORD} and {quote(EXTERNAL_PASSWORD, safe='')}"
    assert database.redact(message) == "boom *** and ***"


def _plant_canary(url):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS canary"))
        conn.execute(text("CREATE TABLE canary (id int primary key, note text)"))
        conn.execute(text("INSERT INTO canary VALUES (1, 'still here')"))
    return engine


def _course_commands():
    for number in lessons.STAGES:
        lessons.start(number)
    python = [sys.executable, "-m"]
    for args in (
        ["course_app", "reset", "4"],
        ["course_app", "doctor"],
        ["alembic", "upgrade", "head"],
        ["alembic", "downgrade", "base"],
        ["alembic", "upgrade", "head"],
    ):
        subprocess.run(
            python + args,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )


def test_a_canary_database_survives_every_course_command(on_external):
    """The learner's own database, named by DATABASE_URL, is never altered."""
    engine = _plant_canary(on_external)
    _course_commands()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM canary")).scalar_one() == "still here"
    assert inspect(engine).get_table_names() == ["canary"]  # no alembic_version, no posts
    engine.dispose()
    assert "alembic_course_app" in database.course_databases()


def test_a_canary_on_the_embedded_server_survives_too(env):
    env(DATABASE_URL=None)
    engine = _plant_canary(database.server_url())  # the 'postgres' database
    _course_commands()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM canary")).scalar_one() == "still here"
        conn.execute(text("DROP TABLE canary"))
        conn.commit()
    engine.dispose()
