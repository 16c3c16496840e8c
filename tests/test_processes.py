"""course_app.processes: each run is a new process, as ``python -m KIND`` would be."""

import os
import sys

from course_app import processes


def test_a_python_run_has_its_own_folder_arguments_environment_and_exit_code(tmp_path):
    script = (
        "import os, sys\n"
        "print(os.getcwd(), sys.argv[1:], os.environ.get('ONLY_HERE'), os.getpid(), sep='|')\n"
        "print('to stderr', file=sys.stderr)\n"
        "raise SystemExit(3)\n"
    )
    ran = processes.run("python", [script, "a", "b"], tmp_path, {"ONLY_HERE": "yes"}, timeout=60)
    folder, args, value, pid = ran.stdout.strip().split("|")
    assert ran.returncode == 3
    assert folder == str(tmp_path)
    assert args == "['a', 'b']"
    assert value == "yes" and int(pid) != os.getpid()
    assert ran.stderr == "to stderr\n"
    assert "ONLY_HERE" not in os.environ


def test_an_exception_prints_its_traceback_and_exits_1(tmp_path):
    ran = processes.run("python", ["raise ValueError('no')"], tmp_path, {}, timeout=60)
    assert ran.returncode == 1
    assert "ValueError: no" in ran.stderr


def test_a_run_that_outlives_its_timeout_is_killed(tmp_path):
    ran = processes.run("python", ["import time; time.sleep(60)"], tmp_path, {}, timeout=1)
    assert ran.returncode is None


def test_two_runs_at_once_are_two_processes(tmp_path):
    script = "import os, time; time.sleep(0.5); print(os.getpid())"
    runs = [processes.Run("python", [script], tmp_path, {}) for _ in range(2)]
    assert all(r.running() for r in runs)
    pids = {r.finish(timeout=60).stdout for r in runs}
    assert len(pids) == 2


def test_a_run_imports_the_folders_own_modules_fresh_each_time(tmp_path):
    (tmp_path / "app.py").write_text("VALUE = 1\n")
    first = processes.run("python", ["import app; print(app.VALUE)"], tmp_path, {}, timeout=60)
    (tmp_path / "app.py").write_text("VALUE = 2\n")
    second = processes.run("python", ["import app; print(app.VALUE)"], tmp_path, {}, timeout=60)
    assert (first.stdout, second.stdout) == ("1\n", "2\n")


def test_pytest_and_alembic_runs_say_what_their_commands_say(tmp_path):
    (tmp_path / "test_it.py").write_text("def test_fails():\n    assert 1 == 2\n")
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": os.environ.get("PATH", "")}
    tested = processes.run("pytest", ["-q", "-p", "no:cacheprovider"], tmp_path, env, 60)
    assert tested.returncode == 1
    assert "1 failed" in tested.stdout
    assert "assert 1 == 2" in tested.stdout
    said = processes.run("alembic", ["heads"], tmp_path, env, 60)  # no alembic.ini here
    assert said.returncode != 0
    assert said.stdout.startswith("FAILED: No 'script_location' key")
    assert sys.modules.get("test_it") is None
