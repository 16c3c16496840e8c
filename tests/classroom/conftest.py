"""A class server for the classroom tests: a second, real PostgreSQL 18 (the embedded
server's programs), TCP on 127.0.0.1 with scram password logins, and an admin role."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from course_app.settings import PROJECT_ROOT
from tests.conftest import running_postgres

ADMIN_PASSWORD = "adm1n p@ss/%"


@contextmanager
def class_server_running():
    """The class server's admin URL, while it runs (the tests' and bench/classroom.py's)."""
    from course_app import server

    sudo = ["runuser", "-u", server.ROOT_USER, "--"] if os.geteuid() == 0 else []
    options = "-c fsync=off -c max_connections=200"
    with running_postgres(server.programs(), sudo, "admin", ADMIN_PASSWORD, options) as url:
        yield url


@pytest.fixture(scope="session")
def class_server():
    with class_server_running() as url:
        yield url


def course_env(tmp: Path, **values: str) -> dict[str, str]:
    """The environment of one person using the course: their own folders, no other
    course settings from this machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "COURSE_", "APP_DATABASE")) and k != "JUPYTERHUB_USER"
    }
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        **env,
        "COURSE_DATA_DIR": str(tmp / "data"),
        "WORKSPACE_DIR": str(tmp / "work"),
        "PYTHONPATH": str(PROJECT_ROOT),
        **values,
    }


def course(env: dict, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m course_app ARGV`` in that environment."""
    return subprocess.run(
        [sys.executable, "-m", "course_app", *argv],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_sql(port: int, user: str, password: str, statement: str, dbname: str = "postgres"):
    """One statement on the class server as that user (autocommit); its rows, if any."""
    import psycopg2

    conn = psycopg2.connect(
        host="127.0.0.1", port=port, user=user, password=password, dbname=dbname
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()
