"""Bad input, each answered in one line naming the fix: a silent port, URLs the course
cannot use, a role that may not create databases. Never a hang, never a traceback."""

import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from conftest import EXTERNAL_PASSWORD
from course_app import database, lessons
from course_app.settings import PROJECT_ROOT


@pytest.fixture
def silent_port():
    """Something that accepts TCP connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def _course(*args, env, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _environment(**values) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(values)
    return env


def _one_line(done: subprocess.CompletedProcess) -> str:
    said = (done.stdout + done.stderr).strip()
    assert "Traceback" not in said, said
    return said


def test_a_silent_port_answers_in_one_line_within_seconds(silent_port):
    env = _environment(DATABASE_URL=f"postgresql://u:p@127.0.0.1:{silent_port}/postgres")
    for args in (["course_app", "doctor"], ["course_app", "reset", "4"], ["alembic", "current"]):
        started = time.monotonic()
        done = _course(*args, env=env)
        took = time.monotonic() - started
        said = _one_line(done)
        assert done.returncode != 0 and took < 20, (args, took, said)
        assert "did not answer within 5 s" in said, said


def test_the_workspace_env_file_carries_the_timeout_to_a_terminal_alembic(silent_port):
    lesson = lessons.start(4)
    env_file = lesson.path / ".env"
    assert "connect_timeout=5" in env_file.read_text()
    url = env_file.read_text().split("APP_DATABASE_URL=", 1)[1].strip()
    silent = url.split("?")[0].rsplit("/", 1)[0]
    env_file.write_text(
        f"APP_DATABASE_URL=postgresql+psycopg2://u:p@127.0.0.1:{silent_port}/x?connect_timeout=5\n"
    )
    assert silent
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "current"],
        cwd=lesson.path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode != 0 and time.monotonic() - started < 20, done.stderr[-300:]


BAD_URLS = [
    ("not a url", "is not a database URL: write it as postgresql\\+psycopg2://"),
    ("sqlite:///blog.db", "is a sqlite URL; the course needs PostgreSQL"),
    ("mysql://u:p@localhost/blog", "is a mysql URL; the course needs PostgreSQL"),
    (
        "postgresql+asyncpg://u:p@localhost/blog",
        "asks for the asyncpg driver; the course connects with psycopg2",
    ),
    ("postgresql+psycopg://u:p@localhost/blog", "asks for the psycopg driver"),
    ("postgresql://u:p@ss@localhost/blog", "more than one @ .* %40"),
    ("postgresql://u:p@localhost:notaport/blog", "port is not a number"),
]


@pytest.mark.parametrize("url, said", BAD_URLS, ids=[u for u, _ in BAD_URLS])
def test_a_url_the_course_cannot_use_is_one_line_naming_the_fix(url, said):
    import re

    for args in (
        ["course_app", "doctor"],
        ["course_app", "reset", "1"],
        ["alembic", "upgrade", "head"],
    ):
        done = _course(*args, env=_environment(DATABASE_URL=url))
        out = _one_line(done)
        assert done.returncode != 0 and re.search(said, out), (args, out)
        assert "p@ss" not in out


def test_a_setting_that_is_not_valid_names_itself():
    done = _course(
        "course_app", "doctor", env=_environment(DATABASE_HOSTNAME="localhost", DATABASE_PORT="abc")
    )
    said = _one_line(done)
    assert done.returncode == 1 and "DATABASE_PORT in the environment or .env is not valid" in said


def test_a_role_that_may_not_create_databases_is_found_by_doctor(external_server):
    admin = create_engine(external_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP ROLE IF EXISTS learner_nocreate"))
        conn.execute(text("CREATE ROLE learner_nocreate LOGIN PASSWORD 'pw' NOCREATEDB"))
    admin.dispose()
    url = external_server.set(username="learner_nocreate", password="pw")
    done = _course(
        "course_app",
        "doctor",
        env=_environment(DATABASE_URL=url.render_as_string(hide_password=False)),
    )
    said = _one_line(done)
    assert done.returncode == 1
    assert "may not create databases" in said and "ALTER ROLE learner_nocreate CREATEDB" in said


def test_a_database_that_does_not_exist_and_a_wrong_password(external_server):
    missing = external_server.set(database="nosuchdb").render_as_string(hide_password=False)
    said = _one_line(_course("course_app", "doctor", env=_environment(DATABASE_URL=missing)))
    assert "Database 'nosuchdb' does not exist" in said
    wrong = external_server.set(password="wrong").render_as_string(hide_password=False)
    said = _one_line(_course("course_app", "reset", "4", env=_environment(DATABASE_URL=wrong)))
    assert "refused the password for user 'postgres'" in said and EXTERNAL_PASSWORD not in said


def test_the_embedded_server_is_named_only_when_it_is_the_one(external_server):
    down = external_server.set(port=1).render_as_string(hide_password=False)
    said = _one_line(_course("course_app", "doctor", env=_environment(DATABASE_URL=down)))
    assert "Cannot reach PostgreSQL at 127.0.0.1:1" in said and "embedded server:" not in said
    assert database is not None
