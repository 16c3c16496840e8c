"""The lesson helpers that show and change workspace files, one visible step per cell."""

import pytest

from course_app import workspace
from course_app.errors import CourseError

REVISION = '''"""add a thing"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


@pytest.fixture
def root(tmp_path):
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "0002_add.py").write_text(REVISION)
    (tmp_path / ".env").write_text(
        "APP_DATABASE_URL=postgresql+psycopg2://course:s3cr%40t@/alembic_course_lesson04?host=%2Ftmp\n"
    )
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n"
        "# other = postgresql://ada:hunter2@db.example/prod\n"
    )
    return tmp_path


def test_show_masks_every_password_and_keeps_the_placeholder(root):
    env = workspace.show(root, ".env")
    assert "s3cr" not in env and "***" in env and env.startswith("# .env\n")
    ini = workspace.show(root, "alembic.ini")
    assert "driver://user:pass@localhost/dbname" in ini  # Alembic's placeholder, no secret
    assert "hunter2" not in ini


def test_show_only_the_lines_that_match(root):
    assert workspace.show(root, "alembic.ini", matching=r"^sqlalchemy") == (
        "# alembic.ini\nsqlalchemy.url = driver://user:pass@localhost/dbname"
    )


def test_a_missing_file_is_one_line(root):
    with pytest.raises(CourseError, match="there is no app/models.py in the workspace yet"):
        workspace.show(root, "app/models.py")


def test_functions_shows_upgrade_and_downgrade_as_written(root):
    shown = workspace.functions(root / "alembic" / "versions" / "0002_add.py")
    assert shown == "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass"


def test_edit_makes_one_named_change_and_says_it(root):
    said = workspace.edit(root, "alembic.ini", "localhost", "127.0.0.1")
    assert said == "alembic.ini: - localhost, + 127.0.0.1"
    assert "127.0.0.1" in (root / "alembic.ini").read_text()


@pytest.mark.parametrize("old, said", [("nowhere", "is not in"), ("pass", "is 2 times in")])
def test_edit_refuses_what_is_not_there_once(root, old, said):
    before = (root / "alembic" / "versions" / "0002_add.py").read_text()
    with pytest.raises(CourseError, match=said):
        workspace.edit(root, "alembic/versions/0002_add.py", old, "x")
    assert (root / "alembic" / "versions" / "0002_add.py").read_text() == before


def test_write_function_replaces_one_body(root):
    path = root / "alembic" / "versions" / "0002_add.py"
    said = workspace.write_function(
        path, "upgrade", 'op.add_column("posts", sa.Column("x", sa.Integer()))'
    )
    assert said.startswith("0002_add.py: upgrade() is now op.add_column")
    text = path.read_text()
    assert '    op.add_column("posts"' in text and "def downgrade() -> None:\n    pass" in text
    compile(text, "0002_add.py", "exec")


@pytest.mark.parametrize("call", ["write_function", "append"])
def test_nothing_to_write_is_one_line_and_changes_nothing(root, call):
    path = root / "alembic" / "versions" / "0002_add.py"
    with pytest.raises(CourseError):
        if call == "write_function":
            workspace.write_function(path, "upgrade", "  ")
        else:
            workspace.append(root, "alembic/versions/0002_add.py", "\n")
    assert path.read_text() == REVISION


def test_append_and_delete_say_what_they_did(root):
    assert workspace.append(root, "alembic.ini", "[post_write_hooks]\nhooks = ruff") == (
        "alembic.ini: added [post_write_hooks] ..."
    )
    assert (root / "alembic.ini").read_text().endswith("\n\n[post_write_hooks]\nhooks = ruff\n")
    assert (
        workspace.delete(root, "alembic/versions/*_add.py")
        == "Deleted alembic/versions/0002_add.py."
    )
    assert workspace.delete(root, "alembic/versions/*.py") == "Deleted nothing (no such file)."


def test_the_helpers_stay_inside_the_workspace(root, tmp_path_factory):
    other = tmp_path_factory.mktemp("lesson04")
    (other / "models.py").write_text("x = 1\n")
    relative = f"../{other.name}/models.py"
    for call in (
        lambda: workspace.show(root, relative),
        lambda: workspace.delete(root, relative),
        lambda: workspace.edit(root, relative, "x", "y"),
    ):
        with pytest.raises(CourseError, match="outside this lesson's workspace"):
            call()
    assert (other / "models.py").read_text() == "x = 1\n"


def test_a_folder_is_named_and_delete_leaves_folders_alone(root):
    with pytest.raises(CourseError, match="alembic is a folder"):
        workspace.show(root, "alembic")
    (root / "alembic" / "env.py").write_text("")
    assert workspace.delete(root, "alembic/*") == "Deleted alembic/env.py."
    assert (root / "alembic" / "versions" / "0002_add.py").exists()


def test_a_function_on_one_line_and_an_empty_edit_are_refused(root):
    path = root / "alembic" / "versions" / "0002_add.py"
    path.write_text(
        REVISION.replace("def downgrade() -> None:\n    pass", "def downgrade() -> None: pass")
    )
    before = path.read_text()
    with pytest.raises(CourseError, match=r"line \d+: downgrade\(\) is written on one line"):
        workspace.write_function(path, "downgrade", 'op.drop_column("posts", "x")')
    with pytest.raises(CourseError, match="the text to change is empty"):
        workspace.edit(root, "alembic/versions/0002_add.py", "", "x")
    assert path.read_text() == before
