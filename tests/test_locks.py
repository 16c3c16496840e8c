"""course_app.locks, and the lock facts part three teaches, measured on the course's server.

Each test plays a scene with named sessions on a scratch database: who holds what, who
waits for whom, and what a timeout changes. Every wait is bounded.
"""

import os

import pytest

from course_app import database, locks
from course_app.errors import CourseError


@pytest.fixture
def scene():
    name = f"{database.PREFIX}locks_{os.getpid()}"
    database.recreate(name)
    setup = locks.Session(name, "setup")
    setup.run("CREATE TABLE posts (id serial PRIMARY KEY, title text)")
    setup.run("INSERT INTO posts (title) SELECT 'post ' || n FROM generate_series(1, 50) n")
    setup.close()
    sessions = []

    def session(who: str) -> locks.Session:
        sessions.append(locks.Session(name, who))
        return sessions[-1]

    session.database = name
    yield session
    for each in sessions:
        each.close()
    database.drop(name)


def by_name(database_name: str) -> dict[str, locks.Seen]:
    return {seen.name: seen for seen in locks.view(database_name)}


def test_a_read_queues_behind_the_waiting_alter_not_behind_the_reader(scene):
    reader, migration, app = scene("reader"), scene("migration"), scene("app")
    reader.run("BEGIN")
    assert reader.run("SELECT count(*) FROM posts") == [(50,)]
    migration.start("ALTER TABLE posts ADD COLUMN views integer")
    app.start("SELECT count(*) FROM posts")
    seen = by_name(scene.database)
    assert (seen["reader"].state, seen["reader"].wants) == ("idle in transaction", None)
    assert (seen["migration"].wants, seen["migration"].on_table) == ("AccessExclusiveLock", "posts")
    assert seen["migration"].blocked_by == ["reader"]
    assert (seen["app"].wants, seen["app"].blocked_by) == ("AccessShareLock", ["migration"])
    reader.run("COMMIT")
    assert migration.finish(timeout=10) is None
    assert app.finish(timeout=10) == [(50,)]


def test_the_view_prints_one_line_a_session(scene, capsys):
    reader, migration = scene("reader"), scene("migration")
    reader.run("BEGIN")
    reader.run("SELECT 1 FROM posts LIMIT 1")
    migration.start("ALTER TABLE posts ADD COLUMN views integer")
    locks.show(scene.database)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["session", "state", "waits", "for", "blocked", "by"]
    assert printed[1].split() == ["reader", "idle", "in", "transaction", "-", "-"]
    assert printed[2].split() == [
        "migration",
        "active",
        "AccessExclusiveLock",
        "on",
        "posts",
        "reader",
    ]
    reader.run("ROLLBACK")
    migration.finish(timeout=10)


def test_lock_timeout_makes_the_migration_give_up_and_the_reads_go_on(scene):
    reader, migration, app = scene("reader"), scene("migration"), scene("app")
    reader.run("BEGIN")
    reader.run("SELECT count(*) FROM posts")
    migration.run("SET lock_timeout = '300ms'")
    migration.start("ALTER TABLE posts ADD COLUMN views integer")
    app.start("SELECT count(*) FROM posts")
    with pytest.raises(CourseError, match="canceling statement due to lock timeout"):
        migration.finish(timeout=10)
    assert app.finish(timeout=10) == [(50,)]
    assert app.waited < 2  # it queued behind the migration only until the migration gave up
    reader.run("COMMIT")


def test_a_plain_index_build_blocks_writes_and_a_concurrent_one_does_not(scene):
    writer, build, app = scene("writer"), scene("build"), scene("app")
    writer.run("BEGIN")
    writer.run("INSERT INTO posts (title) VALUES ('in flight')")  # the build must wait for it
    build.start("CREATE INDEX ix_posts_title ON posts (title)")
    assert by_name(scene.database)["build"].wants == "ShareLock"
    app.run("SET lock_timeout = '300ms'")
    with pytest.raises(CourseError, match="lock timeout"):
        app.run("INSERT INTO posts (title) VALUES ('blocked')")
    writer.run("COMMIT")
    build.finish(timeout=10)
    build.run("DROP INDEX ix_posts_title")

    writer.run("BEGIN")
    writer.run("INSERT INTO posts (title) VALUES ('in flight')")
    build.start("CREATE INDEX CONCURRENTLY ix_posts_title ON posts (title)")
    assert by_name(scene.database)["build"].wants is not None  # waits for the writer too
    assert app.run("INSERT INTO posts (title) VALUES ('goes through')") is None
    writer.run("COMMIT")
    build.finish(timeout=10)


def test_a_statement_that_still_waits_is_one_line_and_the_session_can_close(scene):
    reader, migration = scene("reader"), scene("migration")
    reader.run("BEGIN")
    reader.run("SELECT count(*) FROM posts")
    migration.start("ALTER TABLE posts ADD COLUMN views integer")
    with pytest.raises(CourseError, match="migration still waits after 0 s: see who blocks it"):
        migration.finish(timeout=0.2)
    migration.close()  # cancels the waiting statement
    assert "migration" not in by_name(scene.database)
