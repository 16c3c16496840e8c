"""Ready copies on a class server (course_app/ready.py): setup makes each learner's copy of
the first lesson, a start takes it (a rename) and copies the next lesson in the background,
and a copy that is stale, unfinished or missing is replaced by a copy of the template."""

import json
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy.engine import make_url

from course_app import database, lessons
from tests.classroom.conftest import ADMIN_PASSWORD, course, course_env, run_sql

pytestmark = pytest.mark.usefixtures("class_server")

LEARNER = "cy"

START = textwrap.dedent(
    """
    import sys, threading
    import course_app
    from course_app import ready
    ready.PAUSE = 0
    lesson = course_app.start(int(sys.argv[1]))
    for thread in threading.enumerate():  # the next lesson's copies, made in the background
        if thread.name.endswith("ready copies"):
            thread.join()
    print("AT", lesson.version())
    """
)


@pytest.fixture(scope="module")
def cls(class_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ready")
    admin = course_env(tmp / "admin", DATABASE_URL=class_server.render_as_string(False))
    folder = tmp / "settings"
    done = course(admin, "classroom", "setup", "--learners", LEARNER, "--settings-dir", str(folder))
    assert done.returncode == 0, done.stderr
    kept = json.loads((folder / "jupyterhub.json").read_text())
    yield {
        "admin": admin,
        "folder": folder,
        "setup": done,
        "url": class_server,
        "kept": kept,
        "env": course_env(tmp / LEARNER, **kept[LEARNER]),
    }
    course(admin, "classroom", "teardown", "--settings-dir", str(folder))


def sql(cls, statement, dbname="postgres", as_learner=False):
    if as_learner:
        url = make_url(cls["kept"][LEARNER]["DATABASE_URL"])
        return run_sql(url.port, url.username, url.password, statement, dbname)
    return run_sql(cls["url"].port, "admin", ADMIN_PASSWORD, statement, dbname)


def name(number: int, suffix: str = "") -> str:
    return f"{database.PREFIX}{database.learner_tag(LEARNER)}lesson{number:02d}{suffix}"


def template(number: int) -> str:
    return lessons.template_name(lessons.STAGES[number].revision)


def info(cls, dbname):
    """(owner, comment, PUBLIC may connect) of a database; None if there is none."""
    rows = sql(
        cls,
        "SELECT pg_get_userbyid(datdba), shobj_description(oid, 'pg_database'), "
        "has_database_privilege('public', oid, 'CONNECT') "
        f"FROM pg_database WHERE datname = '{dbname}'",
    )
    return rows[0] if rows else None


def start(cls, number: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", START, str(number)],
        env=cls["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def role(cls) -> str:
    return make_url(cls["kept"][LEARNER]["DATABASE_URL"]).username


def test_setup_makes_the_first_lessons_copy_as_the_learners_own(cls):
    assert "Lesson 0 is copied ahead for 1 learner, in" in cls["setup"].stdout
    owner, comment, public = info(cls, name(0, "_ready"))
    assert (owner, comment, public) == (role(cls), template(0), False)
    owners = sql(
        cls,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
        dbname=name(0, "_ready"),
        as_learner=True,
    )
    assert owners == [(role(cls),)]


def test_a_start_takes_the_copy_and_copies_the_next_lesson(cls):
    out = start(cls, 0)
    assert "AT 0005" in out
    assert info(cls, name(0, "_ready")) is None
    assert info(cls, name(0)) == (role(cls), template(0), False)  # the copy, renamed
    assert info(cls, name(1, "_ready")) == (role(cls), template(1), False)


@pytest.mark.parametrize(
    "spoil",
    [
        "COMMENT ON DATABASE {db} IS 'alembic_course_tpl_0001_0123456789'",  # course changed
        "COMMENT ON DATABASE {db} IS NULL",  # its maker stopped before the end
        "DROP DATABASE {db}",  # never made
    ],
    ids=["stale", "unfinished", "missing"],
)
def test_a_copy_that_is_not_of_the_template_is_replaced(cls, spoil):
    start(cls, 4)  # makes lesson 5's copy
    ready = name(5, "_ready")
    sql(cls, spoil.format(db=ready), dbname=database.CLASS_DATABASE, as_learner=True)
    if info(cls, ready) is not None:  # and something in it a fresh start must not have
        sql(cls, "CREATE TABLE stray (id int)", dbname=ready, as_learner=True)
    assert "AT 0004" in start(cls, 5)
    tables = sql(
        cls,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        dbname=name(5),
        as_learner=True,
    )
    assert ("stray",) not in tables and ("posts",) in tables
    assert info(cls, ready) is None


def test_a_lesson_on_testing_gets_both_its_databases_ahead(cls):
    start(cls, 8)
    assert info(cls, name(9, "_ready")) == (role(cls), template(9), False)
    assert info(cls, name(9, "_test_ready")) == (role(cls), lessons.template_name(None), False)
    assert "AT 0008" in start(cls, 9)
    assert info(cls, name(9, "_ready")) is None and info(cls, name(9, "_test_ready")) is None
    assert info(cls, name(9, "_test"))[0] == role(cls)


def test_a_failed_copy_at_setup_names_the_learner_and_hides_the_password(cls):
    sql(cls, f'ALTER ROLE "{role(cls)}" NOCREATEDB')
    sql(cls, f'DROP DATABASE IF EXISTS "{name(0, "_ready")}"')
    try:
        done = course(
            cls["admin"],
            "classroom",
            "setup",
            "--learners",
            LEARNER,
            "--settings-dir",
            str(cls["folder"]),
        )
    finally:
        sql(cls, f'ALTER ROLE "{role(cls)}" CREATEDB')
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert f"{LEARNER}'s copy of lesson 0 could not be made" in said
    assert f"ALTER ROLE {role(cls)} CREATEDB" in said
    assert "Traceback" not in said
    password = make_url(cls["kept"][LEARNER]["DATABASE_URL"]).password
    assert not any(form in said for form in database.secret_forms(password))


def test_setup_refuses_a_first_lesson_that_does_not_exist(cls):
    done = course(cls["admin"], "classroom", "setup", "--learners", "x", "--first-lesson", "99")
    assert done.returncode == 1
    assert "There is no lesson 99 to start the class with" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
