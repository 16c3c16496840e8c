"""Reading a workspace's revision files as a graph: what Alembic will make of them."""

import time

from course_app import lessons, stage_models
from course_app.exercises.checks import reference_file
from course_app.history import History


def _workspace(tmp_path, *files: tuple[str, str]):
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    for name, text in files:
        (versions / name).write_text(text)
    return tmp_path


def _revision(rev: str, down: str | None, body: str = "    pass") -> str:
    down_text = f'"{down}"' if down else "None"
    return (
        f'revision = "{rev}"\ndown_revision = {down_text}\n\n\n'
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n"
    )


def test_the_reference_history_is_one_line_then_two_branches_and_their_merge_then_one_line():
    history = History(lessons.REFERENCE_DIR.parent, lessons.REFERENCE_DIR / "versions")
    assert history.problems() == []
    assert history.heads == [stage_models.head()]
    assert history.by_id["0008"].down == ("0006", "0007")
    assert history.by_id["0006"].down == history.by_id["0007"].down == ("0005",)
    assert "upgrade" not in history.by_id["0002"].empty


def test_each_kind_of_broken_file_is_named_with_its_line(tmp_path):
    workspace = _workspace(
        tmp_path,
        ("0001_a.py", _revision("0001", None)),
        ("0002_b.py", _revision("0002", "001")),
        ("notes.py", "x = 1\n"),
        ("0003_c.py", "revision = '0003'\ndown_revision = '0002'\ndef upgrade(:\n"),
        ("0004_d.py", 'revision = "0004"\ndown_revision = "0002"\n\ndef upgrade():\n    pass\n'),
    )
    said = {p.kind: p.message for p in History(workspace).problems()}
    assert said["syntax"].startswith("alembic/versions/0003_c.py, line 3: SyntaxError")
    assert said["not_revision"].startswith("alembic/versions/notes.py is not a revision")
    assert 'line 2: down_revision = "001" names no revision' in said["dangling"]
    assert 'Did you mean "0001"?' in said["dangling"]
    assert said["no_function"].startswith("alembic/versions/0004_d.py has no downgrade()")


def test_a_loop_names_the_file_written_last(tmp_path):
    workspace = _workspace(
        tmp_path,
        ("0001_a.py", _revision("0001", None)),
        ("0003_c.py", _revision("0003", "0002")),
    )
    time.sleep(0.01)
    (workspace / "alembic" / "versions" / "0002_b.py").write_text(_revision("0002", "0003"))
    (loop,) = History(workspace).problems()
    assert loop.kind == "loop"
    assert loop.message.startswith(
        'alembic/versions/0002_b.py, line 2: down_revision = "0003" makes a loop (0002 → 0003 → 0002)'
    )


def test_two_heads_are_named_with_the_fix(tmp_path):
    workspace = _workspace(
        tmp_path,
        ("0001_a.py", _revision("0001", None)),
        ("0002_b.py", _revision("0002", "0001")),
        ("0003_c.py", _revision("0003", "0001")),
    )
    history = History(workspace)
    assert history.heads == ["0002", "0003"] and history.chain() == []
    (heads,) = history.problems()
    assert heads.kind == "heads"
    assert 'in alembic/versions/0003_c.py, line 2: down_revision = "0002"' in heads.message
    assert "merge heads" in heads.message


def test_a_merge_revision_reads_its_two_parents(tmp_path):
    merge = (
        reference_file("0001")
        .read_text()
        .replace(
            "down_revision: str | Sequence[str] | None = None", 'down_revision = ("0002", "0003")'
        )
        .replace('revision: str = "0001"', 'revision: str = "0004"')
    )
    workspace = _workspace(
        tmp_path,
        ("0001_a.py", _revision("0001", None)),
        ("0002_b.py", _revision("0002", "0001")),
        ("0003_c.py", _revision("0003", "0001")),
        ("0004_merge.py", merge),
    )
    history = History(workspace)
    assert history.by_id["0004"].down == ("0002", "0003")
    assert history.heads == ["0004"] and history.problems() == []
