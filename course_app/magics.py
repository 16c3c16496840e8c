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
never as a traceback wall, and never with a password in it. Under Alembic's own
line (``FAILED: ...`` or ``ERROR: ...``) comes the course's reading of it, a
``help:`` line naming the learner's file and the fix (see ``alembic_errors``).
That is the one place where the output differs from a terminal's; the other is
a ``revision --rev-id X`` run again when X exists: Alembic would write a second X
on top of the head (a loop), the course keeps the file and says so.
"""

import contextlib
import importlib
import logging
import os
import shlex
import sys
import traceback
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from alembic import util
from alembic.config import CommandLine

from course_app.alembic_errors import explain
from course_app.database import redact
from course_app.history import History
from course_app.settings import get_settings


class _CommandLine(CommandLine):
    """Alembic's command line, remembering the message of a failed command."""

    failure: str | None = None
    diffs: list | None = None  # what `alembic check` found, when it fails

    def run_cmd(self, config, options) -> None:
        options.raiseerr = True
        try:
            super().run_cmd(config, options)
        except util.CommandError as exc:
            self.failure = str(exc)
            self.diffs = getattr(exc, "diffs", None)
            util.err(str(exc), **config.messaging_opts)  # Alembic's own "FAILED: ..." line


def run(
    argv: list[str],
    cwd: Path,
    version: Callable[[], str | None] | None = None,
    notebook: bool = False,
) -> int:
    """Run ``alembic ARGV`` in ``cwd``, in this process; returns the exit status.

    ``version`` reads the database's ``alembic_version``, for the explanations of
    "not up to date" and "can't locate revision". With ``notebook``, as ``%alembic``
    shows it: one stream in the order things happened (the log is not an error, so not
    on stderr, the pink stream), without log lines that teach nothing.
    """
    kept = _kept_revision(argv, cwd)
    if kept:
        print(kept)
        return 0
    cli = _CommandLine(prog="alembic")
    status = 0
    with _isolated(cwd), _for_a_notebook(notebook):
        try:
            cli.main(argv)
        except SystemExit as exc:  # argparse errors, and Alembic's "FAILED: ..." exit
            status = 1 if exc.code else 0
        except Exception as exc:  # a revision or env.py raised: say where, briefly
            cli.failure = "ERROR: " + describe(exc, cwd)
            print(cli.failure, file=sys.stderr)
            status = 1
    if cli.failure:
        help_line = explain(cli.failure, cwd, version, diffs=cli.diffs)
        if help_line:  # under Alembic's line, on the same stream, so they stay in order
            stream = (
                sys.stderr if cli.failure.startswith("ERROR: ") and not notebook else sys.stdout
            )
            print("help: " + redact(help_line), file=stream)
    return status


def _kept_revision(argv: list[str], cwd: Path) -> str | None:
    """A `revision --rev-id X` when X exists: keep the file, and say so."""
    if not argv or argv[0] != "revision":
        return None
    rev_id = next(
        (
            argv[i + 1] if arg == "--rev-id" else arg.split("=", 1)[1]
            for i, arg in enumerate(argv)
            if (arg == "--rev-id" and i + 1 < len(argv)) or arg.startswith("--rev-id=")
        ),
        None,
    )
    existing = History(cwd).by_id.get(rev_id) if rev_id else None
    if existing is None:
        return None
    return (
        f"{existing.name} exists already: kept it as it is, and wrote no new file "
        f"(a second {rev_id} would come after the head and make a loop). "
        f"To start it over, delete the file first."
    )


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


class _Chatter(logging.Filter):
    """Log lines that say nothing a learner acts on: which autogenerate plugins load, that
    a serial column's sequence was recognised as such, and the log's copy of a failure
    (Alembic prints the same message as its FAILED line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("setting up autogenerate plugin")
            or (message.startswith("Detected sequence named") and "assuming SERIAL" in message)
            or record.name == "alembic.util.messaging"
        )


_CHATTY = ("alembic.runtime.plugins", "alembic.ddl.postgresql", "alembic.util.messaging")


class _Relative:
    """A stream that shows paths in the workspace as ``workspace/...``, as the lessons do."""

    def __init__(self, stream, workspace: Path):
        self.stream = stream
        self.prefixes = {str(workspace) + os.sep, str(workspace.resolve()) + os.sep}

    def write(self, text: str) -> int:
        for prefix in self.prefixes:
            text = text.replace(prefix, "workspace" + os.sep)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextmanager
def _for_a_notebook(on: bool):
    if not on:
        yield
        return
    quiet = _Chatter()
    for name in _CHATTY:
        logging.getLogger(name).addFilter(quiet)
    try:
        # The log handler env.py makes (fileConfig) writes to sys.stderr as it is then.
        shown = _Relative(sys.stdout, get_settings().workspace_dir)
        with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
            yield
    finally:
        for name in _CHATTY:
            logging.getLogger(name).removeFilter(quiet)


# %alembic runs in the notebook's kernel: a migration waiting for a lock (part three's
# reader holding a transaction open) would hang the kernel, beyond the reach of an
# interrupt. Its connections get a lock_timeout (libpq reads PGOPTIONS as it connects);
# an env.py that sets its own, as lesson 12's does, keeps its own.
LOCK_WAIT_SECONDS = 20


@contextmanager
def _isolated(cwd: Path):
    saved_options = os.environ.get("PGOPTIONS")
    os.environ["PGOPTIONS"] = f"{saved_options or ''} -c lock_timeout={LOCK_WAIT_SECONDS}s".strip()
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
    saved_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        yield
    finally:
        if saved_options is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = saved_options
        warnings.showwarning = saved_showwarning
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


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Alembic's warnings as one line, without the path of the library that warned."""
    print(f"WARNING: {redact(str(message))}", file=sys.stderr)


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

    lesson = lessons.current()
    run(shlex.split(line), lesson.path, version=lesson.version, notebook=True)


def load_ipython_extension(ipython) -> None:
    ipython.register_magic_function(alembic_magic, "line", "alembic")
    ipython.set_custom_exc((Exception,), _one_line_error)


_showing: list = []  # set while the usual traceback is being shown


def _one_line_error(shell, etype, value, tb, tb_offset=None):
    """A course error (or any error raised inside the course's code) as one line.

    A ``CourseError`` is written for the learner; anything else that goes wrong in
    ``course_app`` is shown as its type and message, never as a traceback through
    code the learner did not write. Errors in the learner's own code keep Python's
    usual traceback.
    """
    from course_app.errors import CourseError

    package = Path(__file__).resolve().parent
    in_course = any(
        Path(frame.filename).resolve().is_relative_to(package) for frame in traceback.extract_tb(tb)
    )
    if not (issubclass(etype, CourseError) or in_course):
        # IPython ignores what this handler returns when it runs a cell: show the usual
        # traceback ourselves (showtraceback calls back here only for Exception itself).
        if _showing:
            return shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        _showing.append(True)
        try:
            shell.showtraceback((etype, value, tb), running_compiled_code=True)
        finally:
            _showing.clear()
        return None
    detail = str(value).strip() or "no detail"
    if not issubclass(etype, CourseError):
        detail = detail.splitlines()[0]
    print(f"{etype.__name__}: {redact(detail)}", file=sys.stderr)
    return None
