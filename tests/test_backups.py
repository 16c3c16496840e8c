"""Backups: only what the learner changed, in dated folders, the newest few kept."""

from course_app import backups


def test_only_changed_and_added_files_are_saved_never_the_env_file(tmp_path):
    workspace = tmp_path / "workspace" / "lesson04"
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "models.py").write_text("course")
    (workspace / "alembic.ini").write_text("course")
    (workspace / ".env").write_text("APP_DATABASE_URL=postgresql://u:secret@h/db")
    (workspace / "mine.py").write_text("mine")
    (workspace / "app" / "models.py").write_text("edited")
    written = {"app/models.py": b"course", "alembic.ini": b"course", ".env": b"..."}
    changed = backups.changed(workspace, written)
    assert [str(p.relative_to(workspace)) for p in changed] == ["app/models.py", "mine.py"]
    saved = backups.save(workspace, changed)
    assert saved.parent == tmp_path / "workspace" / ".backups" / "lesson04"
    assert (saved / "app" / "models.py").read_text() == "edited"
    assert not list(saved.rglob(".env"))
    assert backups.shown(saved).startswith("workspace/.backups/lesson04/")


def test_the_newest_folders_are_kept(tmp_path):
    workspace = tmp_path / "workspace" / "lesson01"
    workspace.mkdir(parents=True)
    (workspace / "a.txt").write_text("a")
    folders = [backups.save(workspace, [workspace / "a.txt"]) for _ in range(backups.KEEP + 3)]
    kept = backups.newest_first(workspace)
    assert len(kept) == backups.KEEP and kept == folders[::-1][: backups.KEEP]
    assert backups.save(workspace, []) is None
