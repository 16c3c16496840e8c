"""Lesson workspaces: the right state for every lesson, from the reference history."""

import shutil
import subprocess
import sys

import pytest

from course_app import lessons
from course_app.errors import CourseError
from course_app.settings import PROJECT_ROOT


@pytest.mark.parametrize("number", sorted(lessons.STAGES))
def test_every_lesson_starts_in_its_stage(number):
    stage = lessons.STAGES[number]
    lesson = lessons.start(number)
    assert lesson.version() == stage.revision
    assert (lesson.path / "app" / "models.py").exists()
    assert (lesson.path / ".env").read_text().count("APP_DATABASE_URL=") == 1
    assert (lesson.path / "alembic.ini").exists() == stage.alembic
    if stage.alembic:
        copied = sorted(p.name for p in lesson.versions.glob("*.py"))
        expected = [p.name for p in lessons._revisions_up_to(stage.revision)]
        expected += [next(lesson.versions.glob(f"{r}_*.py")).name for r in stage.pending]
        assert copied == sorted(expected)
        assert [r.split("_")[0] for r in copied if r[:4] in stage.pending] == list(stage.pending)
    assert (lesson.path / "deploy.py").exists() == stage.deploy


def test_starting_again_gives_a_fresh_state_and_backs_up_only_what_the_learner_changed():
    lesson = lessons.start(4)
    lesson.query("INSERT INTO posts (title) VALUES ('hello')")
    (lesson.path / "notes.txt").write_text("mine")
    models = lesson.path / "app" / "models.py"
    models.write_text(models.read_text() + "# my change\n")
    again = lessons.start(4)
    assert again.query("SELECT count(*) FROM posts") == [(0,)]
    assert not (again.path / "notes.txt").exists()
    saved = again.backup
    assert saved is not None and saved.parent.name == "lesson04"
    assert sorted(str(p.relative_to(saved)) for p in saved.rglob("*") if p.is_file()) == [
        "app/models.py",
        "notes.txt",
    ]
    assert (saved / "notes.txt").read_text() == "mine"
    assert lessons.start(4).backup is None  # nothing changed: nothing saved


def test_every_rerun_keeps_its_own_backup_up_to_a_limit():
    from course_app import backups

    folders = []
    for n in range(backups.KEEP + 2):
        lesson = lessons.start(3)
        (lesson.versions / f"000{n}_mine.py").write_text(f"# try {n}\n")
        folders.append(lessons.start(3).backup)
    kept = backups.newest_first(lessons.current().path)
    assert kept == folders[::-1][: backups.KEEP]
    assert (folders[-1] / "alembic" / "versions" / f"000{backups.KEEP + 1}_mine.py").exists()


def test_lessons_start_in_any_order():
    for number in (6, 1, 4, 0, 4):
        assert lessons.start(number).version() == lessons.STAGES[number].revision


def test_an_unknown_lesson_says_which_exist():
    with pytest.raises(
        CourseError, match=f"There is no lesson 42; lessons are 0 to {max(lessons.STAGES)}"
    ):
        lessons.start(42)


def test_templates_are_reused():
    name = lessons.ensure_template("0004")
    assert lessons.ensure_template("0004") == name
    assert name.startswith("alembic_course_tpl_0004_")


def test_a_copy_of_the_package_installed_apart_from_the_repository_says_how_to_install(tmp_path):
    """`pip install .` puts course_app into site-packages, away from the lessons."""
    source = tmp_path / "source"  # a copy, so that pip's build/ folder stays out of the repository
    shutil.copytree(PROJECT_ROOT / "course_app", source / "course_app")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", source)
    target = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    done = subprocess.run(
        [sys.executable, "-m", "course_app", "reset", "0"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert "installed apart from its repository" in done.stderr + done.stdout
    assert "pip install -e ." in done.stderr + done.stdout
