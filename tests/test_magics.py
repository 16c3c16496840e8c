"""%alembic: the real command line, in-process, with the CLI's output."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_app import lessons, magics

ALEMBIC_CLI = [sys.executable, "-c", "from alembic.config import main; main(prog='alembic')"]


def in_process(argv, capfd, lesson):
    capfd.readouterr()
    status = magics.run(argv, lesson.path)
    out, err = capfd.readouterr()
    return status, out, err


def as_subprocess(argv, lesson):
    result = subprocess.run(
        ALEMBIC_CLI + argv,
        cwd=lesson.path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    return (0 if result.returncode == 0 else 1), result.stdout, result.stderr


COMMANDS = [
    (5, ["upgrade", "head"]),
    (5, ["downgrade", "-1"]),
    (5, ["downgrade", "base"]),
    (5, ["current"]),
    (5, ["heads"]),
    (5, ["history"]),
    (5, ["history", "--verbose"]),
    (5, ["upgrade", "0004", "--sql"]),
    (6, ["revision", "--autogenerate", "-m", "auto-vote", "--rev-id", "abc123"]),
    (5, ["upgrade", "nope"]),
]


@pytest.mark.parametrize("number, argv", COMMANDS, ids=[" ".join(a) for _, a in COMMANDS])
def test_same_output_as_the_command_line(number, argv, capfd):
    lesson = lessons.start(number)
    if number == 6:
        _add_vote_model(lesson)
    ours = in_process(argv, capfd, lesson)
    lesson = lessons.start(number)
    if number == 6:
        _add_vote_model(lesson)
    theirs = as_subprocess(argv, lesson)
    assert _settled(ours) == _settled(theirs)
    assert ("\nhelp: " in "\n" + ours[1] + ours[2]) == (ours[0] != 0)  # help only on failure


def _settled(result):
    """Alembic reports the sequences it finds in set order, which varies between
    processes (PYTHONHASHSEED): compare those lines as a set, everything else exactly.
    The course's own "help:" line under a failure is the one addition."""
    status, out, err = result
    out = "".join(line for line in out.splitlines(True) if not line.startswith("help: "))
    lines = [line for line in err.splitlines() if not line.startswith("help: ")]
    sequences = sorted(line for line in lines if "Detected sequence" in line)
    return status, out, [line for line in lines if "Detected sequence" not in line], sequences


def _add_vote_model(lesson):
    from course_app.stage_models import models_source

    (lesson.path / "app" / "models.py").write_text(models_source("0005"))


def _generated(lesson, rev_id) -> str:
    return next(lesson.versions.glob(f"{rev_id}_*.py")).read_text()


def test_edits_to_the_models_are_seen_by_the_next_command(capfd):
    lesson = lessons.start(6)
    in_process(["revision", "--autogenerate", "-m", "nothing", "--rev-id", "e1"], capfd, lesson)
    assert "pass" in _generated(lesson, "e1") and "votes" not in _generated(lesson, "e1")
    next(lesson.versions.glob("e1_*.py")).unlink()  # else: "Target database is not up to date"
    _add_vote_model(lesson)
    in_process(["revision", "--autogenerate", "-m", "votes", "--rev-id", "e2"], capfd, lesson)
    assert 'op.create_table(\n        "votes"' in _generated(lesson, "e2")


def test_an_edited_revision_is_never_read_from_stale_bytecode(capfd):
    lesson = lessons.start(4)
    path = next(lesson.versions.glob("0001_*.py"))
    in_process(["upgrade", "0001", "--sql"], capfd, lesson)
    # Same size, same second: exactly what a .pyc check cannot tell apart.
    path.write_text(path.read_text().replace('"title"', '"tytle"'))
    status, out, _ = in_process(["downgrade", "0001:base", "--sql"], capfd, lesson)
    status, out, _ = in_process(["upgrade", "base:0001", "--sql"], capfd, lesson)
    assert "tytle" in out


def test_a_syntax_error_in_a_revision_is_one_line(capfd):
    lesson = lessons.start(4)
    path = next(lesson.versions.glob("0001_*.py"))
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "op.drop_table" in line)
    lines[number - 1] = "    op.drop_table('posts'"
    path.write_text("\n".join(lines) + "\n")
    status, out, err = in_process(["upgrade", "head"], capfd, lesson)
    assert status == 1
    assert re.search(
        r"^ERROR: alembic/versions/0001_create_posts_table\.py, line \d+: "
        r"SyntaxError: '\(' was never closed$",
        err,
        re.M,
    )
    assert "Traceback" not in err


def test_an_error_while_migrating_names_the_file_and_line(capfd):
    lesson = lessons.start(4)
    path = next(lesson.versions.glob("0001_*.py"))
    path.write_text(path.read_text().replace("op.drop_table(", "op.drop_tabel("))
    status, out, err = in_process(["downgrade", "base"], capfd, lesson)
    assert status == 1
    assert "ERROR: alembic/versions/0001_create_posts_table.py, line" in err
    assert "in downgrade: AttributeError" in err
    assert "Traceback" not in err


def test_another_alembic_on_path_is_ignored(tmp_path, monkeypatch, capfd):
    impostor = tmp_path / "alembic"
    impostor.write_text("#!/bin/sh\necho 'the wrong alembic'\n")
    impostor.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    lesson = lessons.start(5)
    status, out, _ = in_process(["current"], capfd, lesson)
    assert out == "0004 (head)\n"


def test_the_notebooks_loggers_stay_enabled(capfd):
    """`alembic init`'s env.py calls fileConfig(), which disables existing loggers."""
    mine = logging.getLogger("my_notebook")
    lesson = lessons.start(2)
    in_process(["init", "alembic"], capfd, lesson)
    status, _, err = in_process(
        ["current"], capfd, lesson
    )  # generic env.py: fileConfig, then fails
    assert status == 1
    assert mine.disabled is False
    assert Path.cwd() != lesson.path


def test_the_magic_needs_a_started_lesson(monkeypatch):
    from course_app.errors import CourseError

    monkeypatch.setattr(lessons, "_current", None)
    with pytest.raises(CourseError, match="Run its first cell"):
        magics.alembic_magic("current")


def test_no_password_in_a_failure(on_external, capfd):
    lesson = lessons.start(4)
    env_file = lesson.path / ".env"
    env_file.write_text(env_file.read_text().replace("%40", "%40x"))  # a wrong password
    status, out, err = in_process(["current"], capfd, lesson)
    assert status == 1
    assert "password authentication failed" in err
    assert "p%w" not in out + err and "x y" not in out + err


def test_a_migration_waiting_for_a_lock_gives_up_instead_of_hanging_the_kernel(monkeypatch, capsys):
    from course_app import lessons, locks

    monkeypatch.setattr(magics, "LOCK_WAIT_SECONDS", 1)
    lesson = lessons.start(12)
    reader = locks.Session(lesson.database, "reader")
    try:
        reader.run("BEGIN")
        reader.run("SELECT count(*) FROM posts")
        status = magics.run(["upgrade", "head"], lesson.path, notebook=True)
    finally:
        reader.close()
    printed = capsys.readouterr()
    said = printed.out + printed.err
    assert status == 1
    assert "lock timeout" in said
    assert lesson.version() == "0009"
    assert "PGOPTIONS" not in os.environ
