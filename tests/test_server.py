"""The embedded server: starts, survives a crash, and fails with a way out."""

import os
import signal
import time

import pytest

from course_app import database, server
from course_app.errors import CourseError


def _postmaster_pid() -> int:
    return int((server.data_dir() / "postmaster.pid").read_text().splitlines()[0])


def test_status_url_and_stop_start(env):
    env(DATABASE_URL=None)
    server.start()
    assert server.status()["running"]
    assert server.stop() is True
    assert server.status()["running"] is False
    assert server.stop() is False
    server.start()
    assert server.status()["running"]


def test_a_killed_server_with_a_stale_pid_file_starts_again(env):
    """SIGKILL the postmaster, then leave its pid file naming a live, unrelated process."""
    env(DATABASE_URL=None)
    server.start()
    pid = _postmaster_pid()
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    pid_file = server.data_dir() / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    lines[0] = str(os.getpid())  # a pid that is alive, but is not PostgreSQL
    pid_file.write_text("\n".join(lines) + "\n")
    server._forget(server.data_dir())
    url = server.start()
    assert server._accepts_connections(url)


def test_a_server_that_died_mid_session_is_restarted(env):
    env(DATABASE_URL=None)
    assert database.check_connection()
    server.stop()
    assert database.check_connection()  # the next statement starts it again


def test_a_path_too_long_for_a_socket_is_refused_with_a_fix(env, tmp_path):
    env(DATABASE_URL=None, COURSE_DATA_DIR=str(tmp_path / ("x" * 120)))
    with pytest.raises(CourseError, match="too long.*COURSE_DATA_DIR"):
        server.start()


def test_a_server_that_cannot_start_points_at_database_url(env, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder's parent should be")
    env(DATABASE_URL=None, COURSE_DATA_DIR=str(blocker))
    with pytest.raises(CourseError, match="could not start on this machine.*Set DATABASE_URL"):
        server.start()
