"""Progress on a laptop: every check() and apply() leaves its outcome in a private file,
never the answer, and `python -m course_app progress` reads it back."""

import stat

import pytest

import course_app
from course_app import database, progress
from course_app.exercises import lesson00


@pytest.fixture
def own_data_dir(tmp_path):
    """Where this test's progress goes (the run's embedded server stays where it is)."""
    return tmp_path / "course"


def test_check_records_the_outcome_and_never_the_answer(own_data_dir, capsys, monkeypatch):
    monkeypatch.setattr(progress, "_file", lambda: own_data_dir / "progress.jsonl")
    course_app.start(0)
    lesson00.current_revision.check("0004")
    lesson00.current_revision.check("0005")
    kept = (own_data_dir / "progress.jsonl").read_text()
    assert "0004" not in kept and "0005" not in kept
    assert stat.S_IMODE((own_data_dir / "progress.jsonl").stat().st_mode) == 0o600
    outcomes = [row["outcome"] for row in progress.read()]
    assert outcomes == ["not yet", "correct"]
    shown = progress.table(progress.read())
    assert "Lesson  0  1/1  ✔ current_revision" in shown
    assert "Lesson  1  0/3  · columns_after" in shown


def test_solved_stays_solved_and_apply_is_told_apart():
    rows = [
        {"lesson": 4, "exercise": "a", "outcome": "correct"},
        {"lesson": 4, "exercise": "a", "outcome": "not yet"},
        {"lesson": 4, "exercise": "b", "outcome": "not yet"},
        {"lesson": 4, "exercise": "b", "outcome": "applied"},
        {"lesson": 4, "exercise": "c", "outcome": "not yet"},
        {"lesson": 4, "exercise": "d", "outcome": "not attempted"},
    ]
    assert progress.status(rows) == {(4, "a"): "solved", (4, "b"): "applied", (4, "c"): "tried"}


def test_an_unwritable_store_costs_one_line_not_the_verdict(own_data_dir, capsys, monkeypatch):
    monkeypatch.setattr(progress, "_warned", False)
    blocked = own_data_dir / "file"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("")
    monkeypatch.setattr(progress, "_file", lambda: blocked / "progress.jsonl")
    course_app.start(0)
    lesson00.current_revision.check("0005")
    said = capsys.readouterr().out
    assert "Correct" in said and "Your progress was not recorded" in said
    assert "Traceback" not in said


@pytest.mark.parametrize(
    "names",
    [("ada.l", "ada-l", "ada_l", "Ada.L", "adal"), ("x" * 80 + "1", "x" * 80 + "2"), ("é", "e")],
)
def test_learner_tags_never_collide(names):
    tags = [database.learner_tag(name) for name in names]
    assert len(set(tags)) == len(names)
    for tag in tags:  # a lesson's longest scratch copy still fits PostgreSQL's 63 bytes
        longest = f"{database.PREFIX}{tag}lesson15_backup_20261202123456"
        assert len(longest) <= database.NAME_LIMIT and database._NAME.fullmatch(longest)


def test_no_learner_no_tag(env):
    env(COURSE_LEARNER=None, JUPYTERHUB_USER=None)
    assert database.own("lesson04") == "alembic_course_lesson04"
    env(JUPYTERHUB_USER="grace")
    assert database.own("lesson04").startswith("alembic_course_grace_")


def test_names_past_63_bytes_are_refused():
    with pytest.raises(course_app.CourseError, match="63 bytes"):
        database.url_for("alembic_course_" + "x" * 60)
