"""``python -m course_app``: the course's few commands for a terminal.

    python -m course_app server start|stop|status|url
    python -m course_app reset LESSON      # give a lesson a fresh start
    python -m course_app open              # JupyterLab on the course, at lesson 0
    python -m course_app doctor            # is this machine ready? what to fix
    python -m course_app notebooks run [N ...] | copies [--check]   # for instructors
    python -m course_app progress          # what you have solved
    python -m course_app classroom setup --learners ada bob | progress [--csv] | teardown

Errors are one line, without a traceback and without a password, and the
exit status is 1.
"""

import argparse
import importlib.metadata
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from course_app import database, lessons, server
from course_app.errors import CourseError
from course_app.settings import PROJECT_ROOT, get_settings


def cmd_server(action: str) -> None:
    settings = get_settings()
    if not settings.uses_embedded_server and action in ("start", "stop", "status"):
        print(
            "DATABASE_URL (or DATABASE_HOSTNAME) is set: the course uses your server, not the embedded one."
        )
        return
    if action == "start":
        server.start()
        print(f"Embedded PostgreSQL running, data in {server.data_dir()}")
        _where()
    elif action == "stop":
        print(
            "Embedded PostgreSQL stopped."
            if server.stop()
            else "Embedded PostgreSQL was not running."
        )
    elif action == "status":
        info = server.status()
        if info["running"]:
            state = f"running (pid {info['pid']})"
        elif info["busy"]:
            state = f"running (pid {info['pid']}) but not answering: busy, left running"
        else:
            state = "not running"
        print(f"Embedded PostgreSQL {state}, data in {info['data_dir']}")
        _where()
    elif action == "url":
        print(database.masked(database.server_url()))


def _where() -> None:
    """Where the private parts are: the socket folder, and as root, the server's user."""
    info = server.status()
    print(
        f"  socket in {info['socket_dir']} (only its owner may enter); password in {server.layout().password_file}"
    )
    if info["user"] != "you":
        print(
            f"  running as root: PostgreSQL runs as the user {info['user']}, with its data under "
            f"{server.ROOT_HOME}"
        )


def cmd_reset(number: int) -> None:
    lesson = lessons.start(number)
    print(
        f"Lesson {number} reset: {lesson.path}, database {lesson.database} at {lesson.version() or 'base'}."
    )


def cmd_open(extra: list[str]) -> NoReturn:
    """JupyterLab on the course, opening lesson 0 (the project folder is its root, so the
    workspace/ folder is there in its file browser too)."""
    from course_app import notebooks

    for path in sorted(notebooks.LEARNER.glob("*.ipynb")):
        notebooks.fit_to_this_python(path)
    _no_news()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={PROJECT_ROOT}",
        "--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb",
    ]
    if os.geteuid() == 0:  # a container: Jupyter refuses root without it
        command.append("--allow-root")
    if os.environ.get("CODESPACES") == "true":
        # Its browser reaches JupyterLab through a forwarded address (a host name and origin
        # of github.dev), which Jupyter otherwise refuses (403); the token still guards it.
        command += ["--ServerApp.allow_remote_access=True", "--ServerApp.allow_origin=*"]
    # Become jupyter lab (no wrapper process left behind when it is stopped).
    os.execv(sys.executable, command + extra)


# JupyterLab asks on its first page whether to fetch Jupyter's news (from jupyter.org)
# and checks for updates: a box over the lesson, and a request to another host. And when
# a kernel is slow to start (a busy machine), it may ask which kernel to start: the
# lessons' own, Python 3, is started without asking.
NOTIFICATIONS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
}


def _no_news() -> None:
    """Make "no news, no update checks" the default of this environment's JupyterLab
    (its overrides.json: a learner can still turn them on in Settings)."""
    import json

    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        current = json.loads(path.read_text()) if path.exists() else {}
        if all(current.get(k) == v for k, v in NOTIFICATIONS.items()):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**current, **NOTIFICATIONS}, indent=2) + "\n")
    except (OSError, ValueError):  # a read-only or hand-edited environment: leave it
        pass


def _pins(file: str = "requirements.txt") -> dict[str, str]:
    """name -> pinned version, for this Python (the files have markers)."""
    from packaging.requirements import InvalidRequirement, Requirement

    pins = {}
    for line in (PROJECT_ROOT / file).read_text().splitlines():
        try:
            requirement = Requirement(line.split("#")[0].strip())
        except InvalidRequirement:
            continue  # blank lines, comments, "-e ."
        pinned = [s.version for s in requirement.specifier if s.operator == "=="]
        if pinned and (requirement.marker is None or requirement.marker.evaluate()):
            pins[requirement.name] = pinned[0]
    return pins


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def cmd_doctor() -> int:
    problems = 0

    def report(ok: bool, what: str, fix: str = "") -> None:
        nonlocal problems
        problems += not ok
        print(f"[{'ok' if ok else 'FIX'}] {what}" + (f"\n      -> {fix}" if not ok and fix else ""))

    version = sys.version_info
    report(
        (3, 10) <= version[:2] <= (3, 14),
        f"Python {version.major}.{version.minor}.{version.micro}",
        "Use Python 3.10 to 3.14 for the virtual environment.",
    )
    for name, pinned in _pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        report(
            installed == pinned,
            f"{name} {installed or 'missing'} (pinned {pinned})",
            "Run: python -m pip install -r requirements.txt",
        )
    tools = {
        name: pin for name, pin in _pins("requirements-dev.txt").items() if name not in _pins()
    }
    missing = [n for n in tools if _installed(n) != tools[n]]
    print(
        "[ok] tests and site tools "
        + (
            "installed"
            if not missing
            else f"not installed ({len(missing)} of {len(tools)}): only "
            "needed to run the tests or build the site (requirements-dev.txt)"
        )
    )
    settings = get_settings()
    for folder in (settings.workspace_dir, settings.course_data_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
            report(True, f"can write to {folder}")
        except OSError as exc:
            report(
                False,
                f"cannot write to {folder} ({exc.strerror})",
                "Check the folder's permissions.",
            )
    where = "the embedded PostgreSQL" if settings.uses_embedded_server else "your PostgreSQL server"
    try:
        report(True, f"{where} answers: PostgreSQL {database.check_connection()}")
    except CourseError as exc:
        report(False, f"{where} does not answer", str(exc))
    else:
        try:  # the course creates its databases: try it now, before a lesson does
            database.recreate(database.own("doctor_check"))
            database.drop(database.own("doctor_check"))
            report(True, f"{where} lets the course create its databases")
        except CourseError as exc:
            report(False, f"{where} does not let the course create databases", str(exc))
    print("Everything is ready." if not problems else f"{problems} thing(s) to fix.")
    return 1 if problems else 0


def cmd_notebooks(action: str, lessons_wanted: list[int], check: bool, force: bool) -> int:
    from course_app import notebooks

    if action == "run":
        for path in notebooks.solved_lessons():
            if not lessons_wanted or int(path.name[:2]) in lessons_wanted:
                print(f"running {path.relative_to(PROJECT_ROOT)} ...", flush=True)
                notebooks.execute(path)
    try:
        stale, edited = notebooks.write_copies(check=check, force=force)
    except ValueError as exc:  # unpaired solution markers in a solved lesson
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if check and stale:
        print(
            f"Learner copies out of date: {', '.join(stale)}. "
            f"Run: python -m course_app notebooks copies",
            file=sys.stderr,
        )
        return 1
    if edited:
        print(
            f"Kept {', '.join(edited)}: you changed {'them' if len(edited) > 1 else 'it'} since "
            f"it was generated. Run again with --force to replace (yours are saved to "
            f".backups/notebooks/ first).",
            file=sys.stderr,
        )
        return 1
    print(f"Learner copies in notebooks/ are up to date ({'checked' if check else 'written'}).")
    return 0


def cmd_classroom(args) -> None:
    from course_app import classroom

    folder = Path(args.settings_dir) if args.settings_dir else classroom.SETTINGS_DIR
    if args.action == "setup":
        names = list(args.learners or [])
        if args.learners_file:
            try:
                listed = Path(args.learners_file).read_text().splitlines()
            except OSError as exc:
                raise CourseError(
                    f"Cannot read {args.learners_file} ({exc.strerror}): give a file of learner "
                    f"names, one a line."
                ) from None
            names += [n.strip() for n in listed]
        names = list(dict.fromkeys(n for n in names if n and not n.startswith("#")))
        classroom.setup(names, folder, first_lesson=args.first_lesson)
    elif args.action == "progress":
        print(classroom.progress_report(args.csv, folder))
    elif args.action == "teardown":
        classroom.teardown(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_app", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    server_parser = commands.add_parser("server", help="the embedded PostgreSQL server")
    server_parser.add_argument("action", choices=["start", "stop", "status", "url"])
    reset_parser = commands.add_parser("reset", help="give a lesson a fresh start")
    reset_parser.add_argument("lesson", type=int)
    commands.add_parser("doctor", help="check this machine and say what to fix")
    commands.add_parser(
        "open",
        help="open the course in JupyterLab, at lesson 0; any options after it go to jupyter "
        "lab (open --no-browser --port 8899)",
    )
    notebooks_parser = commands.add_parser(
        "notebooks", help="run solved lessons, make learner copies"
    )
    notebooks_parser.add_argument("action", choices=["run", "copies"])
    notebooks_parser.add_argument("lessons", type=int, nargs="*")
    notebooks_parser.add_argument("--check", action="store_true", help="fail if copies are stale")
    notebooks_parser.add_argument(
        "--force", action="store_true", help="replace copies you edited (saved to .backups/ first)"
    )
    commands.add_parser("progress", help="your table of lessons and exercises")
    class_parser = commands.add_parser("classroom", help="for instructors: one server, a class")
    class_parser.add_argument("action", choices=["setup", "progress", "teardown"])
    class_parser.add_argument("--learners", nargs="*", help="learner names (setup)")
    class_parser.add_argument("--learners-file", help="a file of learner names, one a line")
    class_parser.add_argument("--csv", action="store_true", help="progress as CSV")
    class_parser.add_argument(
        "--first-lesson",
        type=int,
        default=0,
        help="the lesson the class starts with: each learner's copy of it is made ahead (setup)",
    )
    class_parser.add_argument(
        "--settings-dir", help="where the learners' settings go (default: classroom-settings/)"
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["open"]:  # everything after it is jupyter lab's, options included
        extra = argv[1:]
        return cmd_open(extra[1:] if extra[:1] == ["--"] else extra)
    args = parser.parse_args(argv)
    try:
        if args.command == "server":
            cmd_server(args.action)
        elif args.command == "reset":
            cmd_reset(args.lesson)
        elif args.command == "doctor":
            return cmd_doctor()
        elif args.command == "notebooks":
            return cmd_notebooks(args.action, args.lessons, args.check, args.force)
        elif args.command == "progress":
            from course_app import progress

            print(progress.table(progress.read()))
        elif args.command == "classroom":
            cmd_classroom(args)
    except CourseError as exc:
        print(f"error: {database.redact(str(exc))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
