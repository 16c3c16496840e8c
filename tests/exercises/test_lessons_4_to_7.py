"""Every check of lessons 4 to 7: unsolved, wrong answers, and the reference solution."""

from course_app import lessons
from course_app.exercises import lesson04, lesson05, lesson06, lesson07, run
from course_app.exercises.lesson06 import RENAME
from tests.exercises.helpers import assert_verdict, blank_revision, edit, write_revision

NOT_NULL = (
    """    op.add_column("posts", sa.Column("content", sa.String(), nullable=True))
    op.execute("UPDATE posts SET content = '' WHERE content IS NULL")
    op.alter_column("posts", "content", nullable=False)""",
    """    op.add_column("posts", sa.Column("content", sa.String(), nullable=False))""",
)


def test_lesson04_add_post_columns():
    lesson = lessons.start(4)
    ex = lesson04.add_post_columns
    assert_verdict(ex, "not attempted", "no revision 0002")
    blank_revision(lesson, "0002", "add post columns")
    assert_verdict(ex, "not yet", "posts has no content column")
    write_revision(lesson, "0002", replace=NOT_NULL)
    assert_verdict(ex, "not yet", "fails on a table with rows.*server_default")
    write_revision(lesson, "0002", replace=('server_default=sa.text("true"), ', ""))
    assert_verdict(ex, "not yet", "fails on a table with rows")
    write_revision(lesson, "0002", replace=('    op.drop_column("posts", "published")\n', ""))
    assert_verdict(ex, "not yet", "after downgrade 0001, posts still has published")
    write_revision(lesson, "0002")
    assert_verdict(ex, "correct", "existing rows kept")


def test_lesson04_create_users_and_owner_fk():
    lesson = lessons.start(4)
    write_revision(lesson, "0002")
    users, fk = lesson04.create_users, lesson04.owner_foreign_key
    assert_verdict(users, "not attempted", "no revision 0003")
    write_revision(
        lesson,
        "0003",
        replace=('        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n', ""),
    )
    assert_verdict(users, "not yet", "could share an email")
    write_revision(
        lesson,
        "0003",
        replace=(
            'sa.Column("password", sa.String(), nullable=False)',
            'sa.Column("password", sa.String(), nullable=True)',
        ),
    )
    assert_verdict(users, "not yet", "users.password is nullable")
    write_revision(lesson, "0003", replace=('op.drop_table("users")', "pass"))
    assert_verdict(users, "not yet", "does not drop users")
    write_revision(lesson, "0003")
    assert_verdict(users, "correct", "email unique")

    assert_verdict(fk, "not attempted", "no revision 0004")
    write_revision(lesson, "0004", replace=('ondelete="CASCADE",', ""))
    assert_verdict(fk, "not yet", 'add ondelete="CASCADE"')
    write_revision(
        lesson,
        "0004",
        replace=(
            'op.f("fk_posts_owner_id_users"),\n        "posts"',
            '"owner_fk",\n        "posts"',
        ),
    )
    assert_verdict(
        fk, "not yet", "the constraint is named owner_fk; name it fk_posts_owner_id_users"
    )
    write_revision(lesson, "0004", replace=('    op.drop_column("posts", "owner_id")\n', ""))
    assert_verdict(fk, "not yet", "still has owner_id")
    write_revision(lesson, "0004")
    assert_verdict(fk, "correct", "ON DELETE CASCADE")


def test_lesson04_at_head():
    lesson = lessons.start(4)
    lesson.query("INSERT INTO posts (title) VALUES ('First post'), ('Second post')")
    ex = lesson04.at_head
    assert_verdict(ex, "not attempted", "at 0001")
    for revision in ("0002", "0003"):
        write_revision(lesson, revision)
    blank_revision(lesson, "0004", "add posts owner fk")
    run(lesson, "upgrade", "head")
    assert_verdict(
        ex, "not yet", "at 0004 but differs from app/models.py: add column posts.owner_id"
    )
    run(lesson, "downgrade", "0003")
    write_revision(lesson, "0004")
    ex.apply()
    assert_verdict(ex, "correct", "the 2 posts from the start are still there")


def test_lesson05_going_back():
    lesson = lessons.start(5)
    back, two, base, rows = (
        lesson05.back_to_users,
        lesson05.two_steps_down,
        lesson05.tables_after_base,
        lesson05.rows_after_round_trip,
    )
    assert_verdict(back, "not attempted", "still at 0004")
    run(lesson, "downgrade", "0002")
    assert_verdict(back, "not yet", "you went past 0003")
    run(lesson, "upgrade", "0003")
    assert_verdict(back, "correct", "owner_id and its foreign key are gone")
    assert_verdict(two, "not yet", "at 0003, not 0001")
    run(lesson, "downgrade", "base")
    assert_verdict(two, "not yet", "at base: you went past 0001")
    run(lesson, "upgrade", "0001")
    assert_verdict(two, "correct", "users and the post columns are gone")
    assert_verdict(base, "not attempted", "at 0001", ["alembic_version"])
    run(lesson, "downgrade", "base")
    assert_verdict(base, "not yet", "drops posts", ["alembic_version", "posts"])
    assert_verdict(base, "not yet", r"tables now are \['alembic_version'\]", [])
    assert_verdict(base, "correct", "at base", ["alembic_version"])
    assert_verdict(rows, "not attempted", "at base", 0)
    run(lesson, "upgrade", "+1")
    run(lesson, "upgrade", "head")
    assert_verdict(rows, "not yet", "new, empty posts table", 2)
    assert_verdict(rows, "not yet", "holds 0 rows, not 5", 5)
    assert_verdict(rows, "correct", "the rows are not", 0)


def test_lesson06_vote_model_and_autogenerate():
    lesson = lessons.start(6)
    model, auto, applied = lesson06.vote_model, lesson06.autogenerated_votes, lesson06.applied
    models_py = lesson.path / "app" / "models.py"
    assert_verdict(model, "not attempted", "no votes table")
    assert_verdict(auto, "not attempted", "no revision 0005")
    run(lesson, "revision", "--autogenerate", "-m", "auto-vote", "--rev-id", "0005")
    assert_verdict(auto, "not yet", "the script is empty because the models had no Vote")
    next(lesson.versions.glob("0005_*.py")).unlink()
    lesson06.vote_model.apply()
    before = models_py.read_text()
    models_py.write_text(
        before.replace(
            'ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True',
            'ForeignKey("posts.id", ondelete="CASCADE")',
        )
    )
    assert_verdict(model, "not yet", r"primary key is \['user_id'\]")
    models_py.write_text(
        before.replace(
            'ForeignKey("users.id", ondelete="CASCADE"), primary_key=True',
            'ForeignKey("users.id"), primary_key=True',
        )
    )
    assert_verdict(model, "not yet", 'votes.user_id\'s foreign key needs ondelete="CASCADE"')
    models_py.write_text(before + "\nbroken(\n")
    assert_verdict(model, "not yet", "does not import: SyntaxError")
    models_py.write_text(before)
    assert_verdict(model, "correct", "composite primary key")
    auto.apply()
    assert_verdict(auto, "correct", "creates votes as the model says")
    assert_verdict(applied, "not attempted", "at 0004")
    status, _ = run(lesson, "revision", "--autogenerate", "-m", "again", "--rev-id", "0099")
    assert status == 1  # "Target database is not up to date."
    run(lesson, "upgrade", "head")
    assert_verdict(applied, "correct", "at head again")


def test_lesson06_rename_keeps_data():
    lesson = lessons.start(6)
    lesson06.vote_model.apply()
    lesson06.autogenerated_votes.apply()
    run(lesson, "upgrade", "head")
    ex = lesson06.rename_keeps_data
    assert_verdict(ex, "not attempted", "no revision 0006")
    edit(lesson.path / "app" / "models.py", "    content: Mapped[str]", "    body: Mapped[str]")
    run(lesson, "revision", "--autogenerate", "-m", "rename content to body", "--rev-id", "0006")
    assert_verdict(ex, "not yet", "the script drops content and adds a new, empty NOT NULL body")
    path = next(lesson.versions.glob("0006_*.py"))
    edit(path, "nullable=False", "nullable=True")  # the drop + add now runs, and loses the text
    assert_verdict(ex, "not yet", "posts.body is empty after the upgrade")
    source = path.read_text()
    half = (
        source[: source.index("def upgrade()")]
        + RENAME.split("\n\n\ndef downgrade")[0]
        + ("\n\n\ndef downgrade() -> None:\n    pass\n")
    )
    path.write_text(half)
    assert_verdict(ex, "not yet", "the downgrade loses the text")
    ex.apply()
    assert_verdict(ex, "correct", "keeps every post's text")


def test_lesson07_capstone():
    lesson = lessons.start(7)
    wired, builds, trip, at_head = (
        lesson07.wired,
        lesson07.history_builds_models,
        lesson07.round_trip,
        lesson07.lesson_database_at_head,
    )
    assert_verdict(wired, "not attempted", "no alembic.ini")
    run(lesson, "init", "migrations")
    assert_verdict(
        wired, "not yet", "there is no alembic/env.py: the folder must be called alembic"
    )
    lesson = lessons.start(7)
    run(lesson, "init", "alembic")
    assert_verdict(wired, "not yet", "target_metadata = None")
    from course_app.exercises import lesson02

    lesson02.target_metadata._apply(lesson)
    assert_verdict(wired, "not yet", "`alembic current` fails.*Is the URL set from settings")
    lesson02.url_from_settings._apply(lesson)
    assert_verdict(wired, "correct", "through the app's settings")
    assert_verdict(builds, "not attempted", "no revision yet")
    assert_verdict(trip, "not attempted", "no revision yet")
    for revision in ("0001", "0002", "0003"):
        write_revision(lesson, revision)
    assert_verdict(builds, "not yet", r"differs from app/models.py: add table votes \(and 2 more\)")
    assert_verdict(trip, "not yet", "does not build the models yet.*exercise before")
    for revision in ("0004", "0005"):
        write_revision(lesson, revision)
    write_revision(lesson, "0003", replace=('op.drop_table("users")', "pass"))
    assert_verdict(builds, "correct", "builds exactly the models")
    assert_verdict(trip, "not yet", "after downgrade base, users is still there")
    write_revision(lesson, "0003")
    assert_verdict(trip, "correct", "reversible")
    assert_verdict(at_head, "not attempted", "at base")
    run(lesson, "upgrade", "0004")
    assert_verdict(at_head, "not yet", "add table votes")
    run(lesson, "upgrade", "head")
    assert_verdict(at_head, "correct", "matches the models")
