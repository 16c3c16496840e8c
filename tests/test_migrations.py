"""The reference migration history, checked the way pytest-alembic checks any.

The four built-in tests (one head; every revision upgrades; the models match
what the migrations build; every downgrade undoes its upgrade), data tests
for the revisions that touch tables with rows, and a round trip on a second
PostgreSQL server reached through DATABASE_URL.
"""

import subprocess
import sys

import pytest
from pytest_alembic.tests import (  # noqa: F401  (collected as tests here)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import create_engine, inspect, text

from course_app import database
from course_app.settings import PROJECT_ROOT

TEST_DATABASE = "alembic_course_pytest_alembic"


@pytest.fixture
def alembic_engine():
    """A fresh, empty course database on the embedded server for each test."""
    database.recreate(TEST_DATABASE)
    engine = database.engine(TEST_DATABASE)
    yield engine
    engine.dispose()
    database.drop(TEST_DATABASE)


def test_existing_posts_get_empty_content_and_defaults(alembic_runner, alembic_engine):
    alembic_runner.migrate_up_before("0002")
    alembic_runner.insert_into("posts", {"id": 1, "title": "Written before 0002"})
    alembic_runner.migrate_up_one()
    with alembic_engine.connect() as conn:
        row = conn.execute(text("SELECT content, published, created_at FROM posts")).one()
    assert row.content == "" and row.published is True and row.created_at is not None


def test_posts_survive_the_owner_foreign_key_and_deleting_a_user_cascades(
    alembic_runner, alembic_engine
):
    alembic_runner.migrate_up_before("0004")
    alembic_runner.insert_into("posts", {"id": 1, "title": "old", "content": "x"})
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.begin() as conn:
        assert conn.execute(text("SELECT owner_id FROM posts")).scalar_one() is None
        conn.execute(text("INSERT INTO users (id, email, password) VALUES (7, 'a@b.c', 'h')"))
        conn.execute(text("INSERT INTO posts (id, title, body, owner_id) VALUES (2, 'new', '', 7)"))
        conn.execute(text("INSERT INTO votes (user_id, post_id) VALUES (7, 2)"))
        conn.execute(text("DELETE FROM users WHERE id = 7"))
        assert conn.execute(text("SELECT id FROM posts")).scalars().all() == [1]
        assert conn.execute(text("SELECT count(*) FROM votes")).scalar_one() == 0


def test_content_becomes_body_and_both_releases_work_in_between(alembic_runner, alembic_engine):
    alembic_runner.migrate_up_to("0012")
    alembic_runner.insert_into("posts", {"id": 1, "title": "old", "content": "before"})
    alembic_runner.migrate_up_to("0013")
    with alembic_engine.begin() as conn:
        conn.execute(text("INSERT INTO posts (id, title, content) VALUES (2, 'o', 'by the old')"))
        conn.execute(text("INSERT INTO posts (id, title, body) VALUES (3, 'n', 'by the new')"))
        conn.execute(text("UPDATE posts SET content = 'edited' WHERE id = 1"))
        rows = conn.execute(text("SELECT id, content, body FROM posts ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        (1, "edited", "edited"),
        (2, "by the old", "by the old"),
        (3, "by the new", "by the new"),
    ]
    alembic_runner.migrate_up_to("0014")
    alembic_runner.migrate_down_to("0013")
    with alembic_engine.begin() as conn:
        rows = conn.execute(text("SELECT content, body FROM posts ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("edited", "edited"),
        ("by the old",) * 2,
        ("by the new",) * 2,
    ]


def test_constraint_names_are_ours(alembic_runner, alembic_engine):
    alembic_runner.migrate_up_to("heads")
    inspector = inspect(alembic_engine)
    assert [fk["name"] for fk in inspector.get_foreign_keys("posts")] == ["fk_posts_owner_id_users"]
    assert inspector.get_pk_constraint("votes")["name"] == "pk_votes"
    assert [u["name"] for u in inspector.get_unique_constraints("users")] == ["uq_users_email"]


def _alembic(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_round_trip_on_your_own_server(on_external):
    """upgrade head, downgrade base, upgrade head with the real CLI and DATABASE_URL."""
    import os

    env = {**os.environ, "DATABASE_URL": on_external.render_as_string(hide_password=False)}
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"], ["check"]):
        result = _alembic(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert "p%w" not in result.stdout + result.stderr
    engine = create_engine(on_external.set(database="alembic_course_app"))
    assert sorted(inspect(engine).get_table_names()) == [
        "alembic_version",
        "posts",
        "users",
        "votes",
    ]
    engine.dispose()
    theirs = create_engine(on_external)
    assert "alembic_version" not in inspect(theirs).get_table_names()  # DATABASE_URL's own db
    theirs.dispose()
