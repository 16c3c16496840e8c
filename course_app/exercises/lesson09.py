"""Lesson 9, testing migrations: pytest-alembic's built-in tests, a stairway, CI.

The learner's tests are judged by what they do, never by how they read: each check
runs them (``python -m pytest``, a process of its own: see ``processes``) on scratch databases, on the
learner's workspace and on copies of it with a revision planted that they must
catch. ``TEST_DATABASE_URL`` points them at an empty scratch database, and
``APP_DATABASE_URL`` at a second one, a decoy: an ``env.py`` that ignores the
engine it is handed migrates the decoy, never the lesson's own database, and the
check sees it there.
"""

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course_app import database, lessons, processes
from course_app.exercises import NotAttempted, NotYet, exercise
from course_app.exercises.checks import (
    Trial,
    explain_differences,
    independent_of_models,
    migration_files_digest,
    reference_file,
    reference_schema,
    rows_kept,
)
from course_app.exercises.repair import save_files, write_file
from course_app.history import History

DRAFT = "0009"  # the teammate's revision, pulled with a downgrade that forgets the column
TESTS = "tests/test_migrations.py"
WORKFLOW = ".github/workflows/migrations.yml"
BUILT_IN = (
    "test_single_head_revision",
    "test_upgrade",
    "test_model_definitions_match_ddl",
    "test_up_down_consistency",
)
ROWS = (
    "INSERT INTO users (email, password) VALUES ('ada@example.com', 'x')",
    "INSERT INTO posts (title, content, owner_id, slug) VALUES ('Hello', 'Hi', 1, 'hello')",
)
# A downgrade that fails outright: what pytest-alembic's up/down test exists to catch.
FAILING_DOWNGRADE = 'op.drop_column("posts", "no_such_column")'


# -- running the learner's tests ------------------------------------------------------------


@dataclass
class Tested:
    status: int  # pytest's: 0 all passed, 1 some failed, 5 none collected, ...
    output: str
    decoy_touched: bool  # env.py migrated the database .env names, not the one handed in

    def passed(self) -> list[str]:
        return re.findall(r"^PASSED \S+::(\w+)", self.output, re.M)

    def failed(self) -> list[str]:
        return re.findall(r"^(?:FAILED|ERROR) \S+::(\w+)", self.output, re.M)

    @property
    def said(self) -> str:
        syntax = re.search(
            r'File "[^"]*/(tests/[^"]+)", line (\d+).*?^E\s+(SyntaxError: .*?)$',
            self.output,
            re.M | re.S,
        )
        if syntax:
            return f"{syntax[1]}, line {syntax[2]}: {syntax[3].strip()}"
        lines = [line for line in self.output.splitlines() if line.startswith(("E ", "ERROR"))]
        return (lines or self.output.strip().splitlines()[-1:] or ["no output"])[0][:200]


@contextlib.contextmanager
def empty_databases(*names: str):
    """Empty scratch databases for one check, as URLs; dropped afterwards, whatever happens."""
    for name in names:
        database.recreate(name, template=lessons.ensure_template(None))
    try:
        yield [database.url_for(n).render_as_string(hide_password=False) for n in names]
    finally:
        for name in names:
            database.drop(name)


def table_names(name: str) -> set[str]:
    from sqlalchemy import inspect

    engine = database.engine(name)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def pytest_in(folder: Path, *args: str, tag: str = "") -> Tested:
    """Run ``python -m pytest ARGS`` in ``folder`` against an empty scratch database
    (TEST_DATABASE_URL), with the app's own URL pointing at an empty decoy."""
    pid = f"{os.getpid()}{tag}"
    test, decoy = database.own(f"tests_check_{pid}"), database.own(f"tests_decoy_{pid}")
    with empty_databases(test, decoy) as (test_url, decoy_url):
        env = lessons.pytest_environment(TEST_DATABASE_URL=test_url, APP_DATABASE_URL=decoy_url)
        argv = ["-p", "pytest_alembic", "-q", "-rA", "--color=no", *args]
        ran = processes.run("pytest", argv, folder, env, timeout=240)
        touched = bool(table_names(decoy))
    return Tested(ran.returncode, database.redact(ran.output), touched)


def both(*runs) -> list[Tested]:
    """Two runs of pytest at once (each its own databases): a check waits for one, not two."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [
            pool.submit(pytest_in, *r[:-1], tag=f"x{i}", **r[-1]) for i, r in enumerate(runs)
        ]
        return [f.result() for f in futures]


@contextlib.contextmanager
def copy_with(lesson, revision_text: str | None = None):
    """A copy of the workspace, with the draft 0009 replaced by ``revision_text``."""
    with tempfile.TemporaryDirectory(prefix="course-tests-") as folder:
        copy = Path(folder) / lesson.path.name
        shutil.copytree(lesson.path, copy, ignore=shutil.ignore_patterns("__pycache__"))
        if revision_text is not None:
            for old in (copy / "alembic" / "versions").glob(f"{DRAFT}_*.py"):
                old.unlink()
            (copy / "alembic" / "versions" / reference_file(DRAFT).name).write_text(revision_text)
        yield copy


def with_downgrade(body: str) -> str:
    """The reference 0009 with another downgrade() body."""
    source = reference_file(DRAFT).read_text()
    start = source.index("def downgrade() -> None:\n")
    return source[:start] + "def downgrade() -> None:\n    " + body + "\n"


def _pulled(lesson) -> None:
    if DRAFT not in History(lesson.path).by_id:
        raise NotAttempted("Pull your teammate's branch first: run lesson.pull().")


# -- 1. env.py uses the engine it is handed ------------------------------------------------

PROBE = """
import json, os, sys
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

said = {}
config = Config("alembic.ini")
config.attributes["connection"] = create_engine(sys.argv[1])
try:
    command.upgrade(config, "0008")
except Exception as exc:
    said["handed"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
said["decoy"] = inspect(create_engine(os.environ["APP_DATABASE_URL"])).get_table_names()
try:  # and without an engine handed in, as %alembic runs it
    command.upgrade(Config("alembic.ini"), "0001")
except Exception as exc:
    said["plain"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
print("PROBE " + json.dumps(said))
"""


_env_passed: set[str] = set()  # digests of the files an env.py that passed ran with


def _env_takes_engine(lesson) -> None:
    """Run env.py handed an engine, and without one; once per version of the files it runs
    (later checks require it: they need not run it again when nothing changed)."""
    import json

    key = migration_files_digest(lesson)
    if key in _env_passed:
        return
    pid = os.getpid()
    handed, decoy = f"{lesson.database}_check_{pid}", f"{lesson.database}_env_{pid}"
    with empty_databases(handed, decoy) as (handed_url, decoy_url):
        env = {**os.environ, "APP_DATABASE_URL": decoy_url}
        ran = processes.run("python", [PROBE, handed_url], lesson.path, env, timeout=120)
        built = table_names(handed)
    found = re.search(r"^PROBE (.*)$", ran.stdout, re.M)
    if not found:
        last = database.redact(ran.stderr.strip()).splitlines()[-1:] or ["no message"]
        raise NotYet(f"alembic/env.py does not run: {last[0][:220]}.")
    said = json.loads(found[1])
    if said["decoy"]:
        raise NotYet(
            "alembic/env.py migrated the database .env names, not the engine it was handed in "
            "config.attributes[\"connection\"]: pytest-alembic's tests would run on your app's "
            "database (and downgrade it to base). Use that engine when it is there."
        )
    if "SyntaxError" in said.get("handed", ""):
        line = re.search(r"line (\d+)", said["handed"])
        message = said["handed"].split(" (")[0]
        raise NotYet(f"alembic/env.py, line {line[1] if line else '?'}: {message}.")
    if "expected to be a sqlalchemy.engine.Connection" in said.get("handed", ""):
        raise NotYet(
            "alembic/env.py gives the engine it is handed straight to context.configure(), "
            "which wants a connection: pytest-alembic hands an Engine, so open one first "
            "(`with engine.connect() as connection:`)."
        )
    if "handed" in said:
        raise NotYet(
            f"alembic/env.py fails when it is handed an engine: {database.redact(said['handed'])[:200]}. "
            f'pytest-alembic hands an Engine: `with config.attributes["connection"].connect() as '
            f"connection:`."
        )
    if "posts" not in built:
        raise NotYet("alembic/env.py ran, but the engine it was handed got no tables.")
    if "plain" in said:
        raise NotYet(
            f"alembic/env.py works with an engine handed in, but no longer without one (as "
            f"%alembic runs it): {database.redact(said['plain'])[:160]}. Make its own engine "
            f"from the settings when none is handed in."
        )
    _env_passed.add(key)


def _write_env(lesson) -> list[str]:
    old = """    engine = engine_from_config(configuration, prefix="sqlalchemy.", poolclass=pool.NullPool)
"""
    new = """    # A caller (pytest-alembic, a test) may hand in its own engine: use it.
    engine = config.attributes.get("connection") or engine_from_config(
        configuration, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
"""
    starter = (lessons.STARTER / "alembic" / "env.py").read_text()
    return write_file(lesson, "alembic/env.py", starter.replace(old, new)) if old in starter else []


@exercise(
    hints=[
        'pytest-alembic hands env.py its engine as config.attributes["connection"]; the '
        "starter env.py always makes its own from the settings.",
        'In run_migrations_online(): engine = config.attributes.get("connection") or '
        "engine_from_config(...)",
    ],
    solution=(
        "# alembic/env.py, in run_migrations_online():\n"
        'engine = config.attributes.get("connection") or engine_from_config(\n'
        '    configuration, prefix="sqlalchemy.", poolclass=pool.NullPool\n)'
    ),
    apply=_write_env,
)
def env_takes_the_engine(lesson):
    if "attributes" not in (lesson.path / "alembic" / "env.py").read_text():
        raise NotAttempted(
            "alembic/env.py does not read config.attributes yet: edit run_migrations_online()."
        )
    _env_takes_engine(lesson)
    return (
        "env.py migrates the engine it is handed, and makes its own from the settings only when "
        "none is: pytest-alembic's tests will run on their own database."
    )


# -- 2. pytest-alembic's built-in tests ---------------------------------------------------------


def _builtin(lesson) -> Tested:
    _pulled(lesson)
    if not (lesson.path / TESTS).exists():
        raise NotAttempted(f"there is no {TESTS} yet: write it (the cell above shows how).")
    env_takes_the_engine.require()
    with copy_with(lesson, with_downgrade(FAILING_DOWNGRADE)) as copy:
        # On the copy, only the test that must catch it: the others pass there.
        ran, planted = both((lesson.path, TESTS, {}), (copy, TESTS, "-k", "up_down", {}))
    if ran.status == 5 or not (ran.passed() or ran.failed()):
        raise NotYet(f"pytest collected no test from {TESTS}: {ran.said}")
    missing = [t for t in BUILT_IN if t not in ran.passed() + ran.failed()]
    if missing:
        raise NotYet(
            f"{TESTS} runs no {missing[0]}: import all four of pytest-alembic's built-in tests "
            f"({', '.join(BUILT_IN)})."
        )
    wrong = [t for t in BUILT_IN if t in ran.failed()]
    if wrong:
        raise NotYet(f"{wrong[0]} fails on your history: {ran.said}")
    if ran.decoy_touched:
        raise NotYet("the tests migrated the database .env names: fix alembic/env.py first.")
    return planted


@exercise(
    hints=[
        "pytest collects a test function wherever it is imported: `from pytest_alembic.tests "
        "import test_upgrade, ...` in a test file runs it there.",
        f"In {TESTS}: from pytest_alembic.tests import ({', '.join(BUILT_IN)})",
    ],
    solution=(
        f"# {TESTS}\nfrom pytest_alembic.tests import (  # noqa: F401  (pytest collects them)\n"
        + "".join(f"    {t},\n" for t in BUILT_IN)
        + ")"
    ),
    apply=lambda lesson: write_file(lesson, TESTS, TESTS_SOURCE),
    after=(env_takes_the_engine,),
)
def builtin_tests(lesson):
    planted = _builtin(lesson)
    if planted.status == 0:
        raise NotYet(
            f"{TESTS} passes on a copy whose 0009 downgrade() fails: test_up_down_consistency "
            f"should have failed there. Import the built-in one itself, don't write your own."
        )
    return (
        "the four built-in tests pass on your history, and fail on a copy whose downgrade "
        "fails. They passed on the teammate's 0009 too: its downgrade runs, it just forgets "
        "the column."
    )


TESTS_SOURCE = (
    '"""The migration history, tested the way pytest-alembic tests any."""\n\n'
    "from pytest_alembic.tests import (  # noqa: F401  (pytest collects them here)\n"
    + "".join(f"    {t},\n" for t in BUILT_IN)
    + ")\n"
)

STAIRWAY = '''

def test_stairway(alembic_runner):
    """Each revision up, down, and up again: a downgrade that does not undo its upgrade
    makes the second upgrade fail."""
    for revision in alembic_runner.history.revisions[1:]:  # [0] is "base"
        alembic_runner.migrate_up_to(revision)
        alembic_runner.migrate_down_one()
        alembic_runner.migrate_up_one()
'''


# -- 3. a stairway test -----------------------------------------------------------------------------


def _add_stairway(lesson) -> list[str]:
    """The lesson's test file with the stairway test below it (the learner's kept aside)."""
    return write_file(lesson, TESTS, TESTS_SOURCE + STAIRWAY)


@exercise(
    hints=[
        "alembic_runner.history.revisions lists base, then every revision in order; "
        "migrate_up_to(r), migrate_down_one() and migrate_up_one() move the test database.",
        "for revision in alembic_runner.history.revisions[1:]: up to it, down one, up one.",
    ],
    solution=f"# {TESTS}, below the imports:" + STAIRWAY,
    apply=lambda lesson: _add_stairway(lesson),
    after=(env_takes_the_engine,),
)
def stairway_test(lesson):
    _pulled(lesson)
    env_takes_the_engine.require()
    draft = (lessons.STARTER / "teammate" / reference_file(DRAFT).name).read_text()
    fixed_draft = reference_file(DRAFT).read_text()
    with (
        copy_with(lesson, draft) as broken,
        copy_with(lesson, fixed_draft) as early,
        copy_with(lesson, fixed_draft) as fixed,
    ):
        _forget_in_downgrade(early, EARLY, EARLY_DOWNGRADE)
        on_draft, on_early, on_fixed = both(
            (broken, "-k", "stairway", {}),
            (early, "-k", "stairway", {}),
            (fixed, "-k", "stairway", {}),
        )
    if on_draft.status == 5:
        raise NotAttempted(
            f"there is no test named *stairway* in tests/ yet: write test_stairway in {TESTS}."
        )
    if on_draft.status == 0:
        raise NotYet(
            "your stairway test passes on the teammate's 0009, whose downgrade() leaves "
            "posts.summary: go up again after each step down, so the second upgrade finds it."
        )
    if on_fixed.status != 0:
        raise NotYet(
            f"your stairway test fails on a history whose downgrades are all right too: "
            f"{on_fixed.said}"
        )
    if on_early.status == 0:
        raise NotYet(
            f"your stairway test passes on a history whose {EARLY} downgrade() leaves "
            f"posts.owner_id behind: it steps only the last revisions. Take every revision, "
            f"from the first: alembic_runner.history.revisions[1:]."
        )
    return (
        "your stairway test fails on the teammate's 0009 (its second upgrade finds summary "
        f"still there) and on a {EARLY} whose downgrade forgets its column, and passes once "
        "the downgrades are right."
    )


EARLY = "0004"  # a revision well before the head, whose downgrade the check breaks in a copy
EARLY_DOWNGRADE = 'op.drop_constraint(op.f("fk_posts_owner_id_users"), "posts", type_="foreignkey")'


def _forget_in_downgrade(copy: Path, revision: str, body: str) -> None:
    """In ``copy``, give ``revision`` a downgrade() of ``body`` alone."""
    path = next((copy / "alembic" / "versions").glob(f"{revision}_*.py"))
    source = path.read_text()
    start = source.index("def downgrade() -> None:\n")
    path.write_text(source[:start] + "def downgrade() -> None:\n    " + body + "\n")


# -- 4. the downgrade fixed -------------------------------------------------------------------


def _fix(lesson) -> list[str]:
    if DRAFT not in History(lesson.path).by_id:
        lesson.pull()
    mine = History(lesson.path).by_id[DRAFT].path
    said = [save_files(lesson, [mine])]
    shutil.copy(reference_file(DRAFT), lesson.versions / reference_file(DRAFT).name)
    return [f"Wrote alembic/versions/{reference_file(DRAFT).name} with the downgrade fixed.", *said]


@exercise(
    hints=[
        "The upgrade adds a column and an index on it; the downgrade drops the index only.",
        'In 0009\'s downgrade(), after drop_index: op.drop_column("posts", "summary")',
    ],
    reference=DRAFT,
    apply=_fix,
)
def fixed_downgrade(lesson):
    _pulled(lesson)
    history = History(lesson.path)
    problems = history.problems()
    if problems:
        raise NotYet(problems[0].message)
    script = history.by_id[DRAFT]
    if script.down != ("0008",):
        raise NotYet(
            f"{script.name}, line {script.down_line}: down_revision = {script.down_text}; 0009 "
            f'comes after the merge: down_revision = "0008".'
        )
    with Trial(lesson, ROWS) as trial:  # a copy at 0008, with rows
        trial.alembic("upgrade", DRAFT)
        got = trial.schema()
        if got != reference_schema(DRAFT):
            raise NotYet(
                f"{script.name}: "
                + explain_differences(
                    reference_schema(DRAFT), got, "the teammate's upgrade", "after upgrade 0009"
                )
                + " Change only downgrade()."
            )
        rows_kept(trial, "upgrade 0009")
        trial.alembic("downgrade", "0008")
        back = trial.schema()
        if back != reference_schema("0008"):
            raise NotYet(
                f"{script.name}'s downgrade() does not undo its upgrade(): "
                + explain_differences(
                    reference_schema("0008"), back, "revision 0008", "after downgrade 0008"
                )
            )
        rows_kept(trial, "downgrade 0008")
        trial.alembic("upgrade", DRAFT)  # and up again: the stairway's step
    independent_of_models(lesson, DRAFT, script.path, ROWS, got, "0008", back)
    return "0009's downgrade() drops the index, then the column: up, down and up again all work."


# -- 5. the CI job ------------------------------------------------------------------------------------


WORKFLOW_SOURCE = """\
# Runs the migration tests on every push and pull request, against a PostgreSQL service.
name: migrations
on: [push, pull_request]
permissions:
  contents: read
jobs:
  migrations:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    services:
      postgres:
        image: postgres:18
        env:
          POSTGRES_PASSWORD: postgres
        ports:
          - 5432:5432
        options: >-
          --health-cmd pg_isready --health-interval 5s --health-timeout 5s --health-retries 10
    env:
      # No .env in CI: the app's settings and the tests' database come from here.
      APP_DATABASE_URL: postgresql+psycopg2://postgres:postgres@localhost:5432/postgres
      TEST_DATABASE_URL: postgresql+psycopg2://postgres:postgres@localhost:5432/postgres
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.12"
      - run: python -m pip install -r requirements.txt
      - run: python -m pytest
"""


def _job(lesson) -> tuple[dict, dict, str]:
    """The workflow's job that runs pytest: (job, its environment, the pytest command)."""
    import yaml

    path = lesson.path / WORKFLOW
    if not path.exists():
        raise NotAttempted(f"there is no {WORKFLOW} yet: write it.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise NotYet(
            f"{WORKFLOW}{where} is not valid YAML: {getattr(exc, 'problem', exc)}."
        ) from None
    jobs = (data or {}).get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, dict) or not jobs:
        raise NotYet(f"{WORKFLOW} has no jobs: a workflow's work goes under `jobs:`.")
    for name, job in jobs.items():
        steps = job.get("steps") or [] if isinstance(job, dict) else []
        for step in steps:
            run = str(step.get("run", "")) if isinstance(step, dict) else ""
            lines = [line.strip() for line in run.splitlines() if "pytest" in line]
            if lines:
                env = {
                    **(data.get("env") or {}),
                    **(job.get("env") or {}),
                    **(step.get("env") or {}),
                }
                job = {"name": name, "workflow": data, "step": step, **job}
                return job, {k: str(v) for k, v in env.items()}, lines[0]
    raise NotYet(f"no step of {WORKFLOW} runs pytest: add `- run: python -m pytest`.")


def _triggers(workflow: dict) -> set[str]:
    """The events a workflow runs on (YAML 1.1 reads a bare `on:` key as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return {str(k) for k in on} if isinstance(on, (list, dict)) else set()


def _check_job(lesson, job: dict, env: dict) -> None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    name, step = job["name"], job["step"]
    if not _triggers(job["workflow"]) & {"push", "pull_request"}:
        raise NotYet(
            f"{WORKFLOW} does not run on push or pull_request (`on: [push, pull_request]`): "
            f"the tests would never run on a change."
        )
    if not job.get("runs-on"):
        raise NotYet(f"job {name} has no `runs-on:`: GitHub needs a machine, ubuntu-latest.")
    steps = [s for s in job.get("steps") or [] if isinstance(s, dict)]
    at = steps.index(step)
    if not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps[:at]):
        raise NotYet(
            f"job {name} never checks the code out: its first step is `- uses: actions/checkout@v5`."
        )
    installs = [str(s.get("run", "")) for s in steps[:at] if "pip install" in str(s.get("run", ""))]
    if not installs:
        raise NotYet(
            f"job {name} installs nothing before pytest: `- run: python -m pip install -r "
            f"requirements.txt` before the step that runs it."
        )
    for wanted in re.findall(r"-r\s+(\S+)", " ".join(installs)):
        if not (lesson.path / wanted).is_file():
            raise NotYet(f"job {name} installs -r {wanted}, and the project has no {wanted}.")
    if any(str(x.get("continue-on-error", "")).lower() == "true" for x in (job, step)):
        raise NotYet(
            f"the pytest step of job {name} may fail without failing the job "
            f"(continue-on-error): CI would stay green on a broken migration."
        )
    services = job.get("services") or {}
    postgres = [
        (key, s)
        for key, s in services.items()
        if isinstance(s, dict) and str(s.get("image", "")).startswith("postgres")
    ]
    if not postgres:
        raise NotYet(
            f"job {name} has no PostgreSQL service: the tests need a database. Add one under "
            f"`services:` with `image: postgres:18`."
        )
    key, service = postgres[0]
    if "TEST_DATABASE_URL" not in env:
        raise NotYet(
            f"job {name} sets no TEST_DATABASE_URL: tests/conftest.py would fall back to the "
            f"app's settings. Set it under `env:` to the service's database."
        )
    if "APP_DATABASE_URL" not in env:
        raise NotYet(
            f"job {name} sets no APP_DATABASE_URL: CI has no .env, so app/config.py cannot "
            f"start (database_url is required). Set it under `env:` too."
        )
    try:
        url = make_url(env["TEST_DATABASE_URL"])
    except ArgumentError:
        raise NotYet(f"TEST_DATABASE_URL in {WORKFLOW} is not a database URL.") from None
    service_env = {k: str(v) for k, v in (service.get("env") or {}).items()}
    if (
        "POSTGRES_PASSWORD" not in service_env
        and service_env.get("POSTGRES_HOST_AUTH_METHOD") != "trust"
    ):
        raise NotYet(
            f"the postgres service of job {name} sets no POSTGRES_PASSWORD: the image refuses "
            f"to start without one."
        )
    in_container = bool(job.get("container"))  # then the service is reached by its name
    user = service_env.get("POSTGRES_USER", "postgres")
    wanted = {
        "user": (url.username, user),
        "password": (url.password, service_env.get("POSTGRES_PASSWORD")),
        "database": (url.database, service_env.get("POSTGRES_DB", user)),
        "host": (url.host, key if in_container else "localhost"),
    }
    for part, (got, want) in wanted.items():
        if got != want and not (part == "host" and got == "127.0.0.1" and not in_container):
            shown = "" if part == "password" else f" ({got!r}, the service's is {want!r})"
            raise NotYet(
                f"TEST_DATABASE_URL's {part} is not the service's{shown}: the job would not "
                f"reach its own PostgreSQL."
            )
    if in_container:
        if (url.port or 5432) != 5432:
            raise NotYet(f"from the job's container the service listens on {key}:5432.")
        return
    port = url.port or 5432
    ports = [str(p) for p in service.get("ports") or []]
    if f"{port}:5432" not in ports:
        raise NotYet(
            f"the service publishes no port {port} on the machine (ports: {ports or 'none'}): "
            f'add `ports: ["{port}:5432"]` (a bare 5432 picks a random one), or the job '
            f"cannot reach it."
        )


def _pytest_args(line: str) -> list[str]:
    """The arguments the step gives pytest: what the check runs it with here."""
    import shlex

    words = shlex.split(line)
    if words[:3] in (["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        return words[3:]
    if words[:1] == ["pytest"]:
        return words[1:]
    raise NotYet(f"`{line}`: run the tests as `python -m pytest` in the step.")


@exercise(
    hints=[
        "A job with `services: postgres:` (image postgres:18, a password, port 5432), "
        "TEST_DATABASE_URL and APP_DATABASE_URL under `env:`, and steps: checkout, "
        "setup-python, pip install, pytest.",
        "ex.ci_job.solution() shows a whole one.",
    ],
    solution=f"# {WORKFLOW}\n" + WORKFLOW_SOURCE,
    apply=lambda lesson: write_file(lesson, WORKFLOW, WORKFLOW_SOURCE),
    after=(builtin_tests,),
)
def ci_job(lesson):
    job, env, line = _job(lesson)
    _check_job(lesson, job, env)
    ran = pytest_in(lesson.path, *_pytest_args(line))
    if ran.status != 0:
        raise NotYet(f"`{line}` fails here, against a scratch PostgreSQL: {ran.said}")
    if not set(BUILT_IN) <= set(ran.passed()):
        raise NotYet(
            f"`{line}` does not run pytest-alembic's built-in tests: run the whole tests/."
        )
    return (
        f"job {job['name']} reaches its PostgreSQL service, and `{line}` passes here against "
        f"a PostgreSQL like it: {len(ran.passed())} tests."
    )
