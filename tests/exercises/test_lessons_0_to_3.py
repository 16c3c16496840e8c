"""Every check of lessons 0 to 3: unsolved, wrong answers, and the reference solution."""

from course_app import lessons
from course_app.exercises import lesson00, lesson01, lesson02, lesson03, run
from tests.exercises.helpers import assert_verdict, blank_revision, edit, write_revision


def test_lesson00_current_revision():
    lessons.start(0)
    ex = lesson00.current_revision
    assert_verdict(ex, "not yet", "'head' is a label", "head")
    assert_verdict(ex, "not yet", "not what `%alembic current` prints", "0004")
    assert_verdict(ex, "correct", "at 0005", "0005")


def _lesson01_after_create_all_twice():
    lesson = lessons.start(1)
    models = lesson.load_models()
    engine = lesson.engine()
    models.Base.metadata.create_all(engine)
    lesson.query("INSERT INTO posts (title) VALUES ('a'), ('b'), ('c')")
    edit(
        lesson.path / "app" / "models.py",
        "    title: Mapped[str] = mapped_column(String, nullable=False)\n",
        "    title: Mapped[str] = mapped_column(String, nullable=False)\n"
        "    content: Mapped[str] = mapped_column(String, nullable=True)\n",
    )
    models = lesson.load_models()
    models.Base.metadata.create_all(engine)
    engine.dispose()
    return lesson, models


def test_lesson01_columns_after():
    lesson, models = _lesson01_after_create_all_twice()
    ex = lesson01.columns_after
    assert_verdict(
        ex, "not yet", "never alters a table that already exists", ["id", "title", "content"]
    )
    assert_verdict(ex, "not yet", r"has the columns \['id', 'title'\]", ["title", "id"])
    assert_verdict(ex, "correct", "changed nothing", ["id", "title"])


def test_lesson01_rows_lost_and_insert():
    lesson, models = _lesson01_after_create_all_twice()
    rows = lesson01.rows_lost
    insert = lesson01.insert_with_content
    assert_verdict(
        insert,
        "not yet",
        "no content column",
    )
    engine = lesson.engine()
    models.Base.metadata.drop_all(engine)
    assert_verdict(rows, "not attempted", "no posts table", 3, 0)
    models.Base.metadata.create_all(engine)
    engine.dispose()
    assert_verdict(
        rows, "not yet", "holds 0 rows now, not 3. Dropping a table drops its rows", 3, 3
    )
    assert_verdict(rows, "not yet", "held the 3 rows", 0, 0)
    assert_verdict(rows, "correct", "lost every row", 3, 0)
    assert_verdict(insert, "not attempted", "no post has content yet")
    lesson.query("INSERT INTO posts (title) VALUES ('no content')")
    assert_verdict(insert, "not attempted", "no post has content yet")
    lesson.query("INSERT INTO posts (title, content) VALUES ('Again', 'Typed in again')")
    assert_verdict(insert, "correct", "Alembic fixes that")


def test_lesson02_init():
    lesson = lessons.start(2)
    ex = lesson02.init
    assert_verdict(ex, "not attempted", "no alembic.ini")
    run(lesson, "init", "migrations")
    assert_verdict(ex, "not yet", "your migrations folder is 'migrations'")
    (lesson.path / "alembic.ini").unlink()
    run(lesson, "init", "alembic")
    (lesson.path / "alembic" / "script.py.mako").unlink()
    assert_verdict(ex, "not yet", "alembic/script.py.mako is missing")
    lesson = lessons.start(2)
    ex.apply()
    assert_verdict(ex, "correct", "are in place")


def test_lesson02_target_metadata():
    lesson = lessons.start(2)
    ex = lesson02.target_metadata
    assert_verdict(ex, "not attempted", "no alembic/env.py")
    run(lesson, "init", "alembic")
    assert_verdict(ex, "not attempted", "still None")
    env = lesson.path / "alembic" / "env.py"
    original = env.read_text()
    env.write_text(original.replace("target_metadata = None", "target_metadata = Base.metadata"))
    assert_verdict(ex, "not yet", "never imports it: add `from app.models import Base`")
    env.write_text(
        original.replace(
            "target_metadata = None", "from app.models import Base\ntarget_metadata = Base"
        )
    )
    assert_verdict(ex, "not yet", "is not a MetaData")
    env.write_text(
        original.replace(
            "target_metadata = None", "from app.config import Base\ntarget_metadata = Base.metadata"
        )
    )
    assert_verdict(ex, "not yet", "comes from app.config.Base")
    env.write_text(original.replace("target_metadata = None", "target_metadata = (None"))
    assert_verdict(ex, "not yet", r"alembic/env.py line \d+: SyntaxError")
    env.write_text(original)
    ex.apply()
    assert_verdict(ex, "correct", "compare the database with your models")


def test_lesson02_url_from_settings():
    lesson = lessons.start(2)
    ex = lesson02.url_from_settings
    assert_verdict(ex, "not attempted", "no alembic.ini")
    run(lesson, "init", "alembic")
    assert_verdict(ex, "not attempted", "placeholder URL")
    env = lesson.path / "alembic" / "env.py"
    original = env.read_text()
    env.write_text(
        original.replace(
            "config = context.config\n",
            "config = context.config\n"
            "from app.config import settings\n"
            "config.set_main_option('sqlalchemy.url', settings.database_url)\n",
        )
    )
    assert_verdict(ex, "not yet", "ConfigParser chokes on the %")
    env.write_text(original)
    ini = lesson.path / "alembic.ini"
    edit(
        ini,
        "sqlalchemy.url = driver://user:pass@localhost/dbname",
        "sqlalchemy.url = postgresql://postgres:secret@localhost/blog",
    )
    assert_verdict(ex, "not yet", "alembic.ini has a real database URL")
    edit(
        ini,
        "sqlalchemy.url = postgresql://postgres:secret@localhost/blog",
        "sqlalchemy.url = driver://user:pass@localhost/dbname",
    )
    ex.apply()
    assert_verdict(ex, "correct", "holds no credentials")


def test_lesson03_create_posts():
    lesson = lessons.start(3)
    ex = lesson03.create_posts
    assert_verdict(ex, "not attempted", "no revision 0001")
    blank = blank_revision(lesson, "0001", "create posts table")
    assert_verdict(ex, "not yet", "after upgrade 0001 there is no posts table")
    write_revision(
        lesson,
        "0001",
        replace=(
            'sa.Column("title", sa.String(), nullable=False)',
            'sa.Column("title", sa.String(), nullable=True)',
        ),
    )
    assert_verdict(ex, "not yet", "posts.title is nullable; the model says nullable=False")
    write_revision(lesson, "0001", replace=('op.drop_table("posts")', "pass"))
    assert_verdict(ex, "not yet", "your downgrade\\(\\) does not drop the table")
    write_revision(lesson, "0001", replace=('op.drop_table("posts")', 'op.drop_table("posts"'))
    assert_verdict(ex, "not yet", r"0001_create_posts_table.py line \d+: SyntaxError")
    write_revision(lesson, "0001")
    assert_verdict(ex, "correct", "creates posts")
    assert blank.name == "0001_create_posts_table.py"


def test_lesson03_heads_current_and_autogenerate():
    lesson = lessons.start(3)
    write_revision(lesson, "0001")
    run(lesson, "upgrade", "0001")
    blank_revision(lesson, "0002", "add content column")
    ex = lesson03.db_revision
    assert_verdict(ex, "not yet", "what `alembic heads` shows", "0002")
    assert_verdict(ex, "not yet", "not at 'head'", "head")
    assert_verdict(ex, "correct", "at 0001", "0001")
    up = lesson03.upgrade_head
    assert_verdict(up, "not attempted", "still at 0001; head is 0002")
    run(lesson, "downgrade", "base")
    assert_verdict(up, "not attempted", "at base")
    run(lesson, "upgrade", "head")
    assert_verdict(up, "correct", "holds 0002")
    edit(
        lesson.path / "app" / "models.py",
        "    title: Mapped[str] = mapped_column(String, nullable=False)\n",
        "    title: Mapped[str] = mapped_column(String, nullable=False)\n"
        "    content: Mapped[str | None] = mapped_column(String)\n",
    )
    run(lesson, "revision", "--autogenerate", "-m", "add content", "--rev-id", "0003")
    cols = lesson03.columns_now
    assert_verdict(cols, "not yet", "did not touch the database", ["id", "title", "content"])
    assert_verdict(cols, "not yet", r"has the columns \['id', 'title'\]", ["id"])
    assert_verdict(cols, "correct", "wrote a script and stopped", ["id", "title"])
