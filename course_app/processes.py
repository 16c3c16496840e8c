"""New processes for a learner's code, started in milliseconds instead of seconds.

A check runs the learner's pytest, alembic or a probe in a process of its own: its own
imports and connections, as a replica or a CI job would have, and nothing it does can
hang or crash the notebook's kernel. Starting Python and importing SQLAlchemy, Alembic
and pytest takes a second or two, often longer than what then runs. So the runs are
forked from one server process that has imported them once (multiprocessing's
"forkserver", started when first needed): each run is still a new process, with the
server's imports and none of the notebook's state. Where there is no forkserver
(Windows), a run is an ordinary ``python`` subprocess: slower, the same result.

As with any multiprocessing, a script (not a notebook) that runs checks needs the
``if __name__ == "__main__":`` guard: each new process imports the script's module.
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# What every run imports anyway: the server imports it once for all of them.
PRELOAD = [
    "sqlalchemy",
    "sqlalchemy.dialects.postgresql",
    "psycopg2",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.autogenerate",
    "pydantic_settings",
    "pytest",  # not pytest_alembic: pytest must import its plugins itself, to rewrite asserts
]
KINDS = ("pytest", "alembic", "python")  # python: run a script's text, argv after it


@dataclass
class Finished:
    returncode: int | None  # None: killed after its timeout
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _forkserver():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def warm() -> None:
    """Start the server now, in the background, so that the first run need not wait."""
    context = _forkserver()
    if context is not None:
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _main(kind: str, argv: list[str], cwd: str, env: dict, out: str, err: str) -> None:
    """In the new process: become a fresh ``python -m KIND ARGV`` in ``cwd``, then exit."""
    for fd, path in ((1, out), (2, err)):
        opened = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115  (until _exit)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[0:0] = [cwd]
    code = 1
    try:
        if kind == "pytest":
            import pytest

            code = int(pytest.main(argv))
        elif kind == "alembic":
            from alembic.config import main

            sys.argv = ["alembic", *argv]
            main(argv=argv, prog="alembic")
            code = 0
        else:
            sys.argv = ["-c", *argv[1:]]
            exec(compile(argv[0], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  (as python would: the traceback, exit 1)
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Run:
    """One run, started: ``finish()`` waits for it and returns what it printed."""

    def __init__(self, kind: str, argv: list[str], cwd: Path, env: dict[str, str]):
        assert kind in KINDS
        env = dict(env)  # os.environ itself cannot be sent to the new process
        self._folder = tempfile.TemporaryDirectory(prefix="course-run-")
        self._out = Path(self._folder.name, "stdout")
        self._err = Path(self._folder.name, "stderr")
        self._out.touch(mode=0o600)
        self._err.touch(mode=0o600)
        context = _forkserver()
        if context is None:
            command = [sys.executable, "-c", argv[0], *argv[1:]] if kind == "python" else None
            self._popen = subprocess.Popen(
                command or [sys.executable, "-m", kind, *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._out.open("w"),
                stderr=self._err.open("w"),
            )
            self._process = None
        else:
            self._popen = None
            self._process = context.Process(
                target=_main, args=(kind, argv, str(cwd), env, str(self._out), str(self._err))
            )
            self._process.start()

    def finish(self, timeout: float) -> Finished:
        if self._popen is not None:
            try:
                code = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
                code = None
        else:
            self._process.join(timeout)
            code = self._process.exitcode
            if code is None:
                self._process.kill()
                self._process.join()
            self._process.close()
        done = Finished(code, self._out.read_text(), self._err.read_text())
        self._folder.cleanup()
        return done

    def running(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return self._process.is_alive()


def run(kind: str, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Finished:
    """``python -m KIND ARGV`` in ``cwd`` with environment ``env``, as a new process."""
    return Run(kind, argv, cwd, env).finish(timeout)
