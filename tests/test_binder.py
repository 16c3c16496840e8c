"""Binder builds the course with repo2docker. Docker is not needed to see what it would
build: ``repo2docker --no-build`` prints the image's Dockerfile, and that is checked here."""

import subprocess
import sys
from pathlib import Path

from course_app.settings import PROJECT_ROOT


def repo2docker() -> subprocess.CompletedProcess:
    program = Path(sys.executable).with_name("repo2docker")
    return subprocess.run(
        [
            str(program),
            "--no-build",
            "--user-id",
            "1000",
            "--user-name",
            "jovyan",
            str(PROJECT_ROOT),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_binder_installs_the_learners_requirements_once_and_editable():
    built = repo2docker()
    installs = [line for line in built.stdout.splitlines() if "pip install" in line]
    # One install, of binder/requirements.txt: without the binder folder repo2docker would
    # also run `pip install .`, whose copy in site-packages finds no lessons (its
    # "reference history" would be the alembic library's own folder).
    assert len(installs) == 1, installs
    assert installs[0].endswith('-r "binder/requirements.txt"'), installs
    assert "python=3.11" in built.stderr  # the version the course is tested on here
    lines = (PROJECT_ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["-r ../requirements.txt"]
    assert "-e ." in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
