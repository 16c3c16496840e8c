"""The embedded server under real faults: killed, busy, broken pid files, concurrent starts.

Each test asserts two things: nothing is lost (a healthy server is never stopped, a
lesson's committed rows survive a crash), and the learner gets one clear line."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import psycopg2
import pytest

from course_app import database, lessons
from course_app.errors import CourseError


def _pid(server) -> int:
    return server.status()["pid"]


def _gone(pid: int, wait: float = 10) -> None:
    import psutil

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"{pid} still alive")


def test_kill_9_mid_lesson_loses_nothing_committed_and_the_next_cell_carries_on(own_server):
    lesson = lessons.start(4)
    lesson.query("INSERT INTO posts (title) VALUES ('kept'), ('also kept')")
    pid = _pid(own_server)
    os.kill(pid, signal.SIGKILL)
    _gone(pid)
    # The very next thing a learner does (a query, a check) starts it again, at once.
    assert lesson.query("SELECT title FROM posts ORDER BY id") == [("kept",), ("also kept",)]
    assert own_server.status()["running"] and _pid(own_server) != pid


def test_a_start_right_after_a_crash_with_a_zombie_in_the_pid_file_recovers(own_server):
    own_server.start()
    own_server.stop()
    zombie = subprocess.Popen(["true"])  # exits at once; not reaped until .wait(): a zombie
    time.sleep(0.3)
    pid_file = own_server.data_dir() / "postmaster.pid"
    pid_file.write_text(f"{zombie.pid}\n{own_server.data_dir()}\n")
    try:
        started = time.monotonic()
        own_server.start()
        assert time.monotonic() - started < 15
        assert own_server.status()["running"]
    finally:
        zombie.wait()


@pytest.mark.parametrize(
    "content", ["", "12", "not a pid\n"], ids=["empty", "truncated", "garbage"]
)
def test_a_broken_pid_file_with_no_server_is_cleared(own_server, content):
    own_server.start()
    own_server.stop()
    (own_server.data_dir() / "postmaster.pid").write_text(content)
    own_server.start()
    assert own_server.status()["running"]


def test_a_broken_pid_file_under_a_live_server_restarts_it_cleanly(own_server):
    lesson = lessons.start(4)
    lesson.query("INSERT INTO posts (title) VALUES ('kept')")
    pid = _pid(own_server)
    (own_server.data_dir() / "postmaster.pid").write_text("")  # PostgreSQL would quit in a minute
    own_server.start()
    assert own_server.status()["running"] and _pid(own_server) != pid
    assert lesson.query("SELECT title FROM posts") == [("kept",)]


def test_a_busy_server_is_reported_never_stopped(own_server):
    url = own_server.start()
    admin = psycopg2.connect(**_dsn(url))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("ALTER SYSTEM SET max_connections = 4")
        cursor.execute("ALTER SYSTEM SET superuser_reserved_connections = 0")
        cursor.execute("ALTER SYSTEM SET reserved_connections = 0")
    admin.close()
    own_server.stop()
    own_server.start()
    pid = _pid(own_server)
    pid_file = (own_server.data_dir() / "postmaster.pid").read_text()
    held = [psycopg2.connect(**_dsn(url)) for _ in range(4)]  # every connection in use
    try:
        database._embedded = None
        with pytest.raises(
            CourseError,
            match=r"is running \(pid \d+\) but did not accept a connection.*left running",
        ):
            own_server.start()
        with pytest.raises(CourseError, match="too many clients.*left running: close notebooks"):
            database.check_connection()
        status = own_server.status()
        assert status["busy"] and not status["running"] and status["pid"] == pid
        assert (own_server.data_dir() / "postmaster.pid").read_text() == pid_file
    finally:
        for connection in held:
            connection.close()
    assert own_server.start() and _pid(own_server) == pid  # the same server, never restarted


def _dsn(url) -> dict:
    return {
        "dbname": "postgres",
        "user": "postgres",
        "password": url.password,
        "host": url.query["host"],
        "connect_timeout": 5,
    }


def _start_lesson(number: int) -> str:
    import course_app

    try:
        course_app.lessons.start(number)
        return f"ok {course_app.lessons.STAGES[number].revision}"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def _start_server(_) -> str:
    from course_app import server

    try:
        server.start()
        return f"ok {server.status()['pid']}"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def test_five_kernels_start_the_server_at_once_and_share_one(own_server):
    with multiprocessing.get_context("spawn").Pool(5) as pool:
        said = pool.map(_start_server, range(5))
    assert all(s.startswith("ok ") for s in said), said
    assert len(set(said)) == 1, said  # one postmaster for all


def test_five_kernels_start_one_lesson_at_once_and_it_ends_in_its_start_state(own_server):
    lessons.start(4)  # templates built once, as after a first lesson
    with multiprocessing.get_context("spawn").Pool(5) as pool:
        said = pool.map(_start_lesson, [4] * 5)
    assert said == ["ok 0001"] * 5, said
    lesson = lessons.start(4)
    assert lesson.version() == "0001" and lesson.query("SELECT count(*) FROM posts") == [(0,)]
    assert sorted(p.name for p in lesson.versions.iterdir()) == ["0001_create_posts_table.py"]


def test_the_server_commands_print_one_line_and_exit_1_on_failure(own_server, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "COURSE_DATA_DIR": str(blocker)}
    done = subprocess.run(
        [sys.executable, "-m", "course_app", "server", "start"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        "error: The embedded PostgreSQL cannot use"
    )
