"""The embedded server: private, started and stopped by the course, and found again.

(Faults injected for real, kills, busy servers, broken pid files, concurrent starts,
other users, are in tests/faults/.)"""

import os
import stat

import pytest

from course_app import database, server
from course_app.errors import CourseError


def _pid_file():
    return server.data_dir() / "postmaster.pid"


def test_status_url_and_stop_start(env):
    env(DATABASE_URL=None)
    server.start()
    assert server.status()["running"]
    assert server.stop() is True
    assert server.status()["running"] is False
    assert server.stop() is False
    server.start()
    assert server.status()["running"]


def test_it_is_private_password_logins_no_tcp_a_socket_only_its_owner_enters(env):
    env(DATABASE_URL=None)
    url = server.start()
    lay = server.layout()
    assert "trust" not in (lay.data / "pg_hba.conf").read_text()
    assert "host" not in (lay.data / "pg_hba.conf").read_text().split("\n", 1)[1]
    assert stat.S_IMODE(lay.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(lay.socket_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(lay.home.stat().st_mode) == 0o700
    engine = database._admin_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW listen_addresses").scalar() == ""
        assert conn.exec_driver_sql("SHOW password_encryption").scalar() == "scram-sha-256"
    assert url.password and url.password not in database.masked(url)


def test_a_stale_pid_file_naming_a_live_unrelated_process_is_cleared(env):
    env(DATABASE_URL=None)
    server.start()
    server.stop()
    _pid_file().write_text(f"{os.getpid()}\n{server.data_dir()}\n")  # alive, not PostgreSQL
    assert server.status()["running"] is False
    server.start()
    assert server.status()["running"]


def test_a_server_that_died_mid_session_is_restarted(env):
    env(DATABASE_URL=None)
    assert database.check_connection()
    server.stop()
    assert database.check_connection()  # the next statement starts it again


def test_a_long_path_moves_the_socket_to_a_short_private_folder(tmp_path):
    long_home = tmp_path / ("é" * 60)  # 120 bytes, 60 characters
    chosen = server._socket_dir(long_home, "abc123")
    assert len(os.fsencode(chosen / ".s.PGSQL.5432")) <= server.SOCKET_LIMIT
    assert chosen == server._socket_dir(long_home, "abc123")  # found again by status and stop
    assert str(os.getuid()) in str(chosen) or "alembic-course-abc123" in str(chosen)


def test_a_server_that_cannot_start_says_which_folder_and_what_to_do(env, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the course's folder should be")
    env(DATABASE_URL=None, COURSE_DATA_DIR=str(blocker))
    with pytest.raises(CourseError, match=r"cannot use .*not-a-folder.*Set COURSE_DATA_DIR"):
        server.start()


def test_a_tilde_in_a_path_setting_means_home(env):
    from course_app.settings import get_settings

    env(COURSE_DATA_DIR="~/.alembic-course-test", WORKSPACE_DIR="$HOME/ws-test")
    settings = get_settings()
    assert str(settings.course_data_dir) == os.path.expanduser("~/.alembic-course-test")
    assert str(settings.workspace_dir) == os.path.expanduser("~/ws-test")
