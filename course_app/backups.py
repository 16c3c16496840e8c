"""Nothing of the learner's is lost without a word.

Starting a lesson again (its first cell, or ``python -m course_app reset N``) and an
exercise's ``apply()`` replace files in a workspace. Before they do, what the
learner changed or added there, and only that, is copied into a dated folder::

    workspace/.backups/lesson04/2026-11-25_18-40-55/alembic/versions/0002_add_post_columns.py

and the course prints where. The newest ``KEEP`` folders of each lesson are kept.
The ``.env`` the course writes is never copied: it holds the database password,
and the course writes it again. The backups are the learner's alone (folders 0700,
files 0600): a file they pasted a password into may be among them.
"""

import shutil
from datetime import datetime
from pathlib import Path

KEEP = 5
_SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints"}


def folder(workspace: Path) -> Path:
    """Where one workspace's backups go: ``workspace/.backups/lessonNN``."""
    return workspace.parent / ".backups" / workspace.name


def learner_files(workspace: Path) -> list[Path]:
    """Every file in the workspace that could be the learner's work."""
    if not workspace.is_dir():
        return []
    return sorted(
        p
        for p in workspace.rglob("*")
        if p.is_file()
        and p.name != ".env"
        and p.suffix != ".pyc"
        and not _SKIPPED_DIRS & set(p.relative_to(workspace).parts)
    )


def changed(workspace: Path, written: dict[str, bytes]) -> list[Path]:
    """The files that differ from what the course wrote (``relative path -> bytes``)."""
    return [
        p
        for p in learner_files(workspace)
        if written.get(str(p.relative_to(workspace))) != p.read_bytes()
    ]


def save(
    workspace: Path, files: list[Path], *, move: bool = False, reason: str = ""
) -> Path | None:
    """Copy (or move) ``files`` into a new dated folder; return it, or None if no files."""
    if not files:
        return None
    now = datetime.now()
    target = folder(workspace) / (
        now.strftime("%Y-%m-%d_%H-%M-%S") + (f"_{reason}" if reason else "")
    )
    if target.exists():  # twice in one second: never reuse a name
        target = target.with_name(target.name + now.strftime("_%f"))
    target.mkdir(parents=True)
    # Private, like the learner's .env: a file they pasted a password into may be among these.
    for private in (folder(workspace).parent, folder(workspace), target):
        private.chmod(0o700)
    for path in files:
        destination = target / path.relative_to(workspace)
        destination.parent.mkdir(parents=True, exist_ok=True)
        (shutil.move if move else shutil.copy2)(path, destination)
        destination.chmod(0o600)
    for old in newest_first(workspace)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def newest_first(workspace: Path) -> list[Path]:
    """This workspace's backup folders, the newest first."""
    if not folder(workspace).is_dir():
        return []
    return sorted(folder(workspace).iterdir(), key=lambda p: p.stat().st_ctime_ns, reverse=True)


def shown(path: Path) -> str:
    """A backup folder as a learner finds it: from the workspace folder's parent down."""
    try:
        return str(path.relative_to(path.parents[3])) + "/"
    except (ValueError, IndexError):
        return str(path) + "/"
