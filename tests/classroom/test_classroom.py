"""One class on one server, as an instructor and two learners use it: setup, two learners
working the same lesson at once, neither able to reach the other's databases, progress
read back by the instructor, and a teardown that leaves everyone else's things alone."""

import json
import stat
import subprocess
import sys
import textwrap

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from course_app import database
from tests.classroom.conftest import ADMIN_PASSWORD, course, course_env, run_sql

pytestmark = pytest.mark.usefixtures("class_server")

LEARNERS = ("ada.l", "ada-l")  # one tag each, though they differ by a character only

LEARNER_RUN = textwrap.dedent(
    """
    import subprocess, sys
    import course_app
    from course_app.exercises import lesson00 as ex
    lesson = course_app.start(0)
    for step in (["downgrade", "base"], ["upgrade", "head"]):
        done = subprocess.run([sys.executable, "-m", "alembic", *step], cwd=lesson.path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    ex.current_revision.check(sys.argv[1])
    owners = lesson.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    print("DATABASE", lesson.database, "OWNERS", sorted(o for (o,) in owners))
    """
)


@pytest.fixture(scope="module")
def classroom(class_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    admin = course_env(tmp / "admin", DATABASE_URL=class_server.render_as_string(False))
    folder = tmp / "settings"
    done = course(
        admin, "classroom", "setup", "--learners", *LEARNERS, "--settings-dir", str(folder)
    )
    assert done.returncode == 0, done.stderr
    kept = json.loads((folder / "jupyterhub.json").read_text())
    learners = {name: course_env(tmp / name.replace(".", "_"), **kept[name]) for name in LEARNERS}
    return {
        "admin": admin,
        "folder": folder,
        "learners": learners,
        "setup": done,
        "url": class_server,
        "kept": kept,
    }


def admin_sql(classroom, statement, database="postgres"):
    return run_sql(classroom["url"].port, "admin", ADMIN_PASSWORD, statement, database)


def connect_as(classroom, learner, dbname):
    url = make_url(classroom["kept"][learner]["DATABASE_URL"])
    return psycopg2.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=dbname,
        connect_timeout=5,
    )


def test_setup_prints_no_password_and_keeps_settings_private(classroom):
    said = classroom["setup"].stdout + classroom["setup"].stderr
    for settings in classroom["kept"].values():
        password = make_url(settings["DATABASE_URL"]).password
        assert not any(form in said for form in database.secret_forms(password))
    assert "lesson start states" in said
    folder = classroom["folder"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_learner_roles_may_create_databases_and_nothing_else(classroom):
    rows = admin_sql(
        classroom,
        """
        SELECT r.rolname, r.rolcanlogin, r.rolcreatedb, r.rolsuper, r.rolcreaterole,
               r.rolbypassrls, pg_has_role(r.oid, 'alembic_course_class', 'MEMBER')
        FROM pg_roles r WHERE r.rolname LIKE 'alembic\\_course\\_u\\_%'""",
    )
    assert len(rows) == 2 and len({name for name, *_ in rows}) == 2
    for _name, login, createdb, superuser, createrole, bypassrls, member in rows:
        assert (login, createdb, superuser, createrole, bypassrls, member) == (
            True,
            True,
            False,
            False,
            False,
            True,
        )


def test_templates_are_closed_templates(classroom):
    rows = admin_sql(
        classroom,
        """SELECT datname, datistemplate, datacl::text
        FROM pg_database WHERE datname LIKE 'alembic\\_course\\_tpl\\_%'""",
    )
    assert len(rows) >= 19
    for name, is_template, acl in rows:
        assert is_template, name
        assert acl is not None and "=c" not in acl and "=Tc" not in acl, (name, acl)


def test_two_learners_work_the_same_lesson_at_once(classroom):
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-c", LEARNER_RUN, answer],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for (name, env), answer in zip(classroom["learners"].items(), ("0005", "0004"), strict=True)
    }
    seen = {}
    for name, run in runs.items():
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert "Traceback" not in out
        seen[name] = out
    ada, other = (seen[name] for name in LEARNERS)
    assert "Correct" in ada and "Correct" not in other
    databases = [out.split("DATABASE ")[1].split()[0] for out in seen.values()]
    assert len(set(databases)) == 2 and all(d.endswith("_lesson00") for d in databases)
    for name, out in seen.items():  # they own every table of their copy
        role = make_url(classroom["kept"][name]["DATABASE_URL"]).username
        assert f"OWNERS ['{role}']" in out


def _their_database(classroom, learner):
    return database.PREFIX + database.learner_tag(learner) + "lesson00"


@pytest.mark.parametrize(
    "statement",
    [
        "DROP DATABASE {db}",
        "ALTER DATABASE {db} RENAME TO alembic_course_mine",
        "ALTER DATABASE {db} OWNER TO {me}",
        "ALTER DATABASE {db} IS_TEMPLATE false",
        "GRANT CONNECT ON DATABASE {db} TO {me}",
    ],
)
def test_a_learner_cannot_alter_or_drop_anothers_database(classroom, statement):
    theirs = _their_database(classroom, LEARNERS[0])
    me = make_url(classroom["kept"][LEARNERS[1]]["DATABASE_URL"]).username
    conn = connect_as(classroom, LEARNERS[1], database.CLASS_DATABASE)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor, pytest.raises(psycopg2.Error):
            cursor.execute(statement.format(db=theirs, me=me))
    finally:
        conn.close()


def test_a_learner_cannot_connect_to_anothers_database_or_a_template(classroom):
    theirs = _their_database(classroom, LEARNERS[0])
    template = admin_sql(
        classroom,
        "SELECT min(datname) FROM pg_database WHERE datname LIKE 'alembic\\_course\\_tpl\\_%'",
    )[0][0]
    for dbname in (theirs, template):
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            connect_as(classroom, LEARNERS[1], dbname)


def test_progress_is_each_learners_own_and_the_instructor_reads_all(classroom):
    for name in LEARNERS:
        shown = course(classroom["learners"][name], "progress")
        assert shown.returncode == 0, shown.stderr
        lesson0 = next(line for line in shown.stdout.splitlines() if line.startswith("Lesson  0"))
        assert ("✔ current_revision" in lesson0) == (name == LEARNERS[0])
    conn = connect_as(classroom, LEARNERS[1], database.CLASS_DATABASE)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT DISTINCT learner FROM progress")
            assert [r[0] for r in cursor.fetchall()] == [
                make_url(classroom["kept"][LEARNERS[1]]["DATABASE_URL"]).username
            ]
            with pytest.raises(psycopg2.Error, match="row-level security"):
                cursor.execute(
                    "INSERT INTO progress (learner, lesson, exercise, outcome) "
                    "VALUES ('alembic_course_u_x', 0, 'current_revision', 'correct')"
                )
    finally:
        conn.close()
    table = course(
        classroom["admin"],
        "classroom",
        "progress",
        "--csv",
        "--settings-dir",
        str(classroom["folder"]),
    )
    assert table.returncode == 0, table.stderr
    rows = {line.split(",")[0]: line.split(",") for line in table.stdout.splitlines()}
    column = rows["learner"].index("00.current_revision")
    assert rows[LEARNERS[0]][column] == "solved" and rows[LEARNERS[1]][column] == "tried"
    text = course(
        classroom["admin"], "classroom", "progress", "--settings-dir", str(classroom["folder"])
    )
    assert text.returncode == 0 and LEARNERS[0] in text.stdout and "✔" in text.stdout


def test_teardown_removes_the_class_and_only_the_class(classroom):
    admin_sql(classroom, "CREATE DATABASE canary")
    admin_sql(classroom, "CREATE DATABASE alembic_course_canary")
    admin_sql(classroom, "CREATE ROLE canary")
    admin_sql(classroom, "CREATE ROLE alembic_course_u_canary LOGIN")
    done = course(
        classroom["admin"], "classroom", "teardown", "--settings-dir", str(classroom["folder"])
    )
    assert done.returncode == 0, done.stderr
    left = {n for (n,) in admin_sql(classroom, "SELECT datname FROM pg_database")}
    assert {"canary", "alembic_course_canary", "postgres"} <= left
    assert not {n for n in left if n.startswith("alembic_course_") and "canary" not in n}
    roles = {n for (n,) in admin_sql(classroom, "SELECT rolname FROM pg_roles")}
    assert {"canary", "alembic_course_u_canary", "admin"} <= roles
    assert not {r for r in roles if r.startswith("alembic_course_") and "canary" not in r}
    assert not list(classroom["folder"].glob("*.env"))


def test_after_teardown_a_learner_is_told_to_ask_and_a_second_teardown_drops_nothing(classroom):
    learner = classroom["learners"][LEARNERS[0]]
    done = course(learner, "reset", "0")
    assert done.returncode == 1
    assert "refused your login" in done.stderr and "Ask your instructor" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    again = course(
        classroom["admin"], "classroom", "teardown", "--settings-dir", str(classroom["folder"])
    )
    assert again.returncode == 0, again.stderr
    assert "Dropped 0 databases and 0 roles" in again.stdout
