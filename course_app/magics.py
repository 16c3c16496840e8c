"""``%alembic``: the real Alembic command line, run inside the notebook's kernel.

``%alembic upgrade head`` does what ``alembic upgrade head`` does in a terminal
opened in the lesson's workspace: the same argument parser, the same commands,
the same output. Running it in-process rather than with ``!alembic``:

* is about ten times faster (no new Python, no re-import of SQLAlchemy);
* uses this kernel's Alembic, whatever ``PATH`` says;
* prints without the terminal line-wrapping ``!alembic`` gets from its pty.

What a terminal gets for free, a long-lived kernel must do by hand, and this
module does it around every command: forget the workspace's ``app`` modules
(so an edited ``app/models.py`` is read again), write no bytecode (so an
edited revision file is never read from a stale ``.pyc``), and put back the
working directory, ``sys.path`` and the notebook's own loggers afterwards
(``logging.config.fileConfig`` disables existing loggers unless told not to).

A crash in a revision or ``env.py`` is shown as one line (file, line, error),
never as a traceback wall, and never with a password in it.
"""

import importlib
import logging
import os
import shlex
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from alembic.config import CommandLine

from course_app.database import redact


def run(argv: list[str], cwd: Path) -> int:
    """Run ``alembic ARGV`` in ``cwd``, in this process; returns the exit status."""
    with _isolated(cwd):
        try:
            CommandLine(prog="alembic").main(argv)
        except SystemExit as exc:  # argparse errors, and Alembic's "FAILED: ..." exit
            return 1 if exc.code else 0
        except Exception as exc:  # a revision or env.py raised: say where, briefly
            print("ERROR: " + describe(exc, cwd), file=sys.stderr)
            return 1
    return 0


def describe(exc: BaseException, cwd: Path) -> str:
    """One line: where in the learner's files it went wrong, and what."""

    def shown(filename: str) -> str:
        path = Path(filename)
        return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else path.name

    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{shown(exc.filename)}, line {exc.lineno}: SyntaxError: {exc.msg}"
    ours = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(cwd)
    ]
    where = (
        f"{shown(ours[-1].filename)}, line {ours[-1].lineno}, in {ours[-1].name}: " if ours else ""
    )
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(f"{where}{type(exc).__name__}: {detail[0] if detail else ''}")


@contextmanager
def _isolated(cwd: Path):
    saved_cwd, saved_path = os.getcwd(), sys.path[:]
    saved_bytecode = sys.dont_write_bytecode
    root = logging.getLogger()
    saved_root = (root.level, root.handlers[:])
    saved_disabled = {
        name: logger.disabled
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    _forget_app_modules()
    os.chdir(cwd)
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode
        _forget_app_modules()
        for handler in root.handlers:
            if handler not in saved_root[1]:
                handler.close()
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
        for name, disabled in saved_disabled.items():
            logging.getLogger(name).disabled = disabled


def _forget_app_modules() -> None:
    """Each workspace has its own ``app`` package; never reuse another's, or an old one.

    Forgetting the modules is not enough: the finder Python caches for the
    path entry "." (``prepend_sys_path = .``) remembers the absolute folder it
    was created in, so it would go on finding the previous lesson's ``app``.
    """
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[name]
    for entry in [e for e in sys.path_importer_cache if not os.path.isabs(e)]:
        del sys.path_importer_cache[entry]
    importlib.invalidate_caches()


def alembic_magic(line: str) -> None:
    """%alembic ARGS: run the alembic command line in the current lesson's workspace."""
    from course_app import lessons

    run(shlex.split(line), lessons.current().path)


def load_ipython_extension(ipython) -> None:
    from course_app.errors import CourseError

    ipython.register_magic_function(alembic_magic, "line", "alembic")

    def show_course_error(shell, etype, value, tb, tb_offset=None):
        # A CourseError is written for the learner: show the message, not a traceback.
        print(f"{etype.__name__}: {value}", file=sys.stderr)

    ipython.set_custom_exc((CourseError,), show_course_error)
