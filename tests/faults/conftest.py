"""Faults are injected into a server of their own, never the test run's shared one."""

import pytest


@pytest.fixture
def own_server(env, tmp_path):
    """A fresh embedded server (and workspace) for one test; stopped and removed after."""
    from course_app import database, server

    env(
        DATABASE_URL=None,
        COURSE_DATA_DIR=str(tmp_path / "course"),
        WORKSPACE_DIR=str(tmp_path / "workspace"),
    )
    database._embedded = None
    yield server
    server.remove()
    database._embedded = None
