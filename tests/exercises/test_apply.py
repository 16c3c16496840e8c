"""apply() always unblocks: from the messy states a hunt for dead ends found, the
exercise's check passes afterwards, and so do the cells that build on it."""

import pytest

from course_app import lessons
from course_app.exercises import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06
from tests.exercises import test_lesson04, test_lesson05, test_lesson06
from tests.exercises.catalogue import alembic, edit, query


def stray_applied_then_deleted(lesson):
    """The "anything else?" autogenerate cell run after upgrading, the stray applied, then
    deleted as the check said: alembic_version names a revision no file has."""
    before = set(lesson.versions.glob("*.py"))
    alembic("revision", "--autogenerate", "-m", "anything else")(lesson)
    alembic("upgrade", "head")(lesson)
    for made in set(lesson.versions.glob("*.py")) - before:
        made.unlink()


def unknown_version(lesson):
    alembic("upgrade", "head")(lesson)
    query("UPDATE alembic_version SET version_num = 'abc123def456'")(lesson)


def real_url_in_ini(lesson):
    url = lesson.engine().url.render_as_string(hide_password=False).replace("%", "%%")
    edit("alembic.ini", ("driver://user:pass@localhost/dbname", url))(lesson)


def without_0002(lesson):
    next(lesson.versions.glob("0002_*.py")).unlink()


def base_and_up(lesson):
    alembic("downgrade", "base")(lesson)
    alembic("upgrade", "0003")(lesson)


def tables_match_no_revision(lesson):
    alembic("upgrade", "head")(lesson)
    query("ALTER TABLE posts DROP COLUMN published")(lesson)


def fresh(number):
    return lambda exercise: lessons.start(number)


def lesson2(exercise):
    lesson = lessons.start(2)
    alembic("init", "alembic")(lesson)
    return lesson


def lesson3(exercise):
    from tests.exercises.test_lesson03 import prepare

    return prepare(exercise)


SCENARIOS = [
    (
        "stray applied, then deleted",
        test_lesson06.prepare,
        lesson06.applied,
        stray_applied_then_deleted,
        lesson06.rename_keeps_data,
    ),
    (
        "alembic_version names no revision",
        test_lesson04.prepare,
        lesson04.at_head,
        unknown_version,
        None,
    ),
    (
        "a real URL in alembic.ini",
        lesson2,
        lesson02.url_from_settings,
        real_url_in_ini,
        lesson02.target_metadata,
    ),
    ("nothing run yet", fresh(1), lesson01.insert_with_content, lambda lesson: None, None),
    ("0002 deleted", lesson3, lesson03.upgrade_head, without_0002, lesson03.columns_now),
    ("nothing run yet", fresh(3), lesson03.columns_now, lambda lesson: None, None),
    (
        "down to base and up",
        test_lesson05.prepare,
        lesson05.back_to_users,
        base_and_up,
        lesson05.two_steps_down,
    ),
]


@pytest.mark.parametrize(
    "what, prepare, exercise, mess, then",
    SCENARIOS,
    ids=[f"{s[2].name}: {s[0]}" for s in SCENARIOS],
)
def test_apply_unblocks(what, prepare, exercise, mess, then, capsys):
    lesson = prepare(exercise)
    mess(lesson)
    exercise.apply()
    said = capsys.readouterr().out
    assert "could not finish" not in said and "did what it could" not in said, said
    assert exercise.passes(), (said, exercise.judge(*(exercise._given or ())))
    exercise.require()  # the cells that build on it run
    if then is not None:
        then.apply()
        said = capsys.readouterr().out
        assert then.passes(), (said, then.judge(*(then._given or ())))
    assert "Traceback" not in said
    if exercise is lesson04.at_head:  # the posts the learner wrote are back, as they were
        assert lesson.query("SELECT title FROM posts ORDER BY id") == [
            ("First post",),
            ("Second post",),
        ]
