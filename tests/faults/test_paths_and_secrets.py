"""Awkward paths, and passwords that never leak: not in any output, log, notebook, or
file that anyone but the learner may read."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbclient import NotebookClient

from conftest import EXTERNAL_PASSWORD
from course_app import database, lessons, server
from course_app.exercises import lesson03
from course_app.exercises.checks import reference_file, run
from course_app.settings import PROJECT_ROOT


def test_a_project_path_with_spaces_and_over_107_bytes_works(env, tmp_path):
    odd = tmp_path / "my course é" / ("dossier-été-" * 8)  # spaces, non-ASCII, > 107 bytes
    assert len(os.fsencode(odd)) > 107
    env(
        DATABASE_URL=None,
        COURSE_DATA_DIR=str(odd / ".course"),
        WORKSPACE_DIR=str(odd / "workspace"),
    )
    database._embedded = None
    try:
        lesson = lessons.start(3)
        (lesson.versions / reference_file("0001").name).write_text(
            reference_file("0001").read_text()
        )
        assert run(lesson, "upgrade", "head").status == 0
        assert lesson3_passes()
        done = subprocess.run(  # a terminal in that workspace, reading its own .env
            [sys.executable, "-m", "alembic", "current"],
            cwd=lesson.path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert done.returncode == 0 and "0001" in done.stdout, done.stderr[-300:]
    finally:
        server.remove()
        database._embedded = None


def lesson3_passes() -> bool:
    return lesson03.create_posts.judge().outcome == "correct"


def _forms(password: str) -> set[str]:
    return database.secret_forms(password) | {quote(password, safe="")}


def _scan_files(root: Path, forms: set[str]) -> None:
    """Every file under root that holds the password must be the owner's alone."""
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode(errors="replace")
            if any(form in text for form in forms):
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode & 0o077 == 0, f"{path} holds the password and is {oct(mode)}"


def _notebook_outputs(cells: list[str]) -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(PROJECT_ROOT / "docs" / "lessons")}},
    ).execute()
    return nbformat.writes(notebook)


def test_an_awkward_password_never_shows(env, on_external, tmp_path):
    forms = _forms(EXTERNAL_PASSWORD)
    for way in ("url", "parts"):
        if way == "parts":
            env(
                DATABASE_URL=None,
                DATABASE_HOSTNAME="127.0.0.1",
                DATABASE_PORT=str(on_external.port),
                DATABASE_USERNAME="postgres",
                DATABASE_PASSWORD=EXTERNAL_PASSWORD,
                DATABASE_NAME="postgres",
            )
        said = []
        lesson = lessons.start(4)
        env_file = lesson.path / ".env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        good = env_file.read_text()
        env_file.write_text(good.replace("%", "%25x", 1))  # a wrong password in the workspace
        said.append(run(lesson, "current").output)
        env_file.write_text(good)
        said.append(run(lesson, "upgrade", "nope").output)
        for args in (
            ["course_app", "doctor"],
            ["course_app", "server", "url"],
            ["alembic", "current"],
        ):
            done = subprocess.run(
                [sys.executable, "-m", *args],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                env=os.environ.copy(),
                timeout=120,
            )
            said.append(done.stdout + done.stderr)
        said.append(
            _notebook_outputs(
                [
                    "import course_app\nlesson = course_app.start(4)",
                    "%alembic current",
                    "lesson.query('SELECT nope')",
                    "from course_app.exercises import lesson04 as ex\nex.add_post_columns.check()",
                ]
            )
        )
        for text_ in said:
            leaked = [f for f in forms if f in text_]
            assert not leaked, f"{way}: the password appears as {leaked}"
        _scan_files(lessons.workspace_path(4).parent, forms)
        _scan_files(Path(os.environ["COURSE_DATA_DIR"]), forms)


def test_the_embedded_password_never_shows_and_its_files_are_private(env):
    env(DATABASE_URL=None)
    database._embedded = None
    lesson = lessons.start(4)
    forms = _forms(server.password())
    said = [
        run(lesson, "upgrade", "nope").output,
        subprocess.run(
            [sys.executable, "-m", "course_app", "server", "url"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            timeout=60,
        ).stdout,
        database.masked(database.server_url()),
    ]
    assert not [f for s in said for f in forms if f in s]
    _scan_files(lessons.workspace_path(4).parent, forms)
    _scan_files(server.layout().home, forms)
    log = server.layout().log
    assert not any(f in log.read_text(errors="replace") for f in forms) if log.exists() else True
