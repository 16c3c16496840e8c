"""python -m course_app: the terminal commands."""

import subprocess
import sys

import pytest

from course_app.__main__ import main


def test_server_url_is_masked(on_external, capsys):
    assert main(["server", "url"]) == 0
    out = capsys.readouterr().out
    assert "postgres:***@127.0.0.1" in out and "p%w" not in out


def test_server_commands_on_the_embedded_server(env, capsys):
    env(DATABASE_URL=None)
    assert main(["server", "start"]) == 0
    assert main(["server", "status"]) == 0
    assert "running (pid" in capsys.readouterr().out


def test_reset_and_doctor(env, capsys):
    env(DATABASE_URL=None)
    assert main(["reset", "5"]) == 0
    assert "database alembic_course_lesson05 at 0004" in capsys.readouterr().out
    assert main(["doctor"]) == 0
    assert "Everything is ready." in capsys.readouterr().out


def test_doctor_says_what_to_fix(on_external, env, capsys):
    env(DATABASE_URL=on_external.set(port=1).render_as_string(hide_password=False))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FIX] your PostgreSQL server does not answer" in out
    assert "Cannot reach PostgreSQL at 127.0.0.1:1" in out


def test_errors_are_one_line_with_status_1(on_external, env):
    env(DATABASE_URL=on_external.set(password="bad-secret").render_as_string(hide_password=False))
    result = subprocess.run(
        [sys.executable, "-m", "course_app", "reset", "3"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: PostgreSQL at 127.0.0.1")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bad-secret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "argv, given",
    [
        (["open"], []),
        (["open", "--no-browser", "--port", "8899"], ["--no-browser", "--port", "8899"]),
        (["open", "--", "--ip=0.0.0.0"], ["--ip=0.0.0.0"]),
    ],
)
def test_open_passes_every_option_to_jupyter_lab(monkeypatch, argv, given):
    from course_app import __main__ as cli

    seen = []
    monkeypatch.setattr(cli, "cmd_open", lambda extra: seen.append(extra) or 0)
    assert cli.main(argv) == 0
    assert seen == [given]


def test_open_makes_no_news_the_default_and_keeps_other_overrides(monkeypatch, tmp_path):
    import json

    from course_app import __main__ as cli

    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    overrides = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True)
    overrides.write_text('{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}')
    cli._no_news()
    written = json.loads(overrides.read_text())
    assert written["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
