"""A class on one PostgreSQL server: the instructor's three commands.

``python -m course_app classroom setup`` (with ``DATABASE_URL`` naming an admin role):

* the class role ``alembic_course_class`` (no login); every learner's role,
  ``alembic_course_u_<tag>``, may log in and create databases, and nothing else, and
  belongs to it;
* the lesson start states as template databases (``IS_TEMPLATE``), owned by the admin,
  their tables by the class role, ``CONNECT`` revoked from everyone. A learner clones
  one in about 20 ms, then hands its tables to themselves with ``REASSIGN OWNED``
  (``database.create``): they own everything in their copy, and nobody else can connect;
* ``alembic_course_class``, the class database: the learners' lobby, and the
  ``progress`` table, where row-level security lets each learner write and read only
  their own rows;
* each learner's copy of the class's first lesson, made ahead as that learner (``ready``):
  a class starting it at once then waits for thirty renames, not thirty copies;
* each learner's settings, in a folder only the instructor may enter: ``<name>.env``
  and ``jupyterhub.json`` (user -> environment, for ``c.Spawner.environment``). The
  passwords are random, sent to the server as SCRAM verifiers, and never printed.

``classroom progress`` shows who solved what; ``classroom teardown`` drops the class's
databases (those its learners own, and the ones setup made) and its roles, and only those.
"""

import csv
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from sqlalchemy import event
from sqlalchemy.engine import make_url

from course_app import database, lessons, progress
from course_app.database import CLASS_DATABASE, CLASS_ROLE, PREFIX
from course_app.errors import CourseError
from course_app.settings import PROJECT_ROOT

MARK = "Alembic, Hands-On: made by classroom setup"  # the comment on what setup creates
SETTINGS_DIR = PROJECT_ROOT / "classroom-settings"


def learner_role(name: str) -> str:
    return f"{PREFIX}u_{database.learner_tag(name).rstrip('_')}"


def _admin(statement: str, **params) -> list:
    return database._admin(statement, **params)


def _admin_is_superuser() -> bool:
    """Refuse a learner's settings or a role that cannot run a class; True for a superuser."""
    url = database.server_url()
    if url.database == CLASS_DATABASE:
        raise CourseError(
            "These are a learner's settings (DATABASE_URL names the class database): run "
            "classroom commands with the DATABASE_URL of an admin role, at database postgres."
        )
    (superuser, createrole, createdb), *_ = _admin(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
    )
    if not superuser and not (createrole and createdb):
        raise CourseError(
            f"User {url.username!r} may not create roles and databases: classroom setup needs "
            f"an admin role with CREATEROLE and CREATEDB (or a superuser)."
        )
    return superuser


# -- setup ---------------------------------------------------------------------------


def _build(name: str, build) -> None:
    """Build one template as the class role (so its tables are the class role's), under
    another name until it is complete; then close it and mark it as the class's."""
    building = name + "_building"
    database.drop(building)
    _admin(f'CREATE DATABASE "{building}" OWNER "{CLASS_ROLE}"')
    engine = database.engine(building)

    @event.listens_for(engine, "connect")
    def _as_class(dbapi_connection, record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{CLASS_ROLE}"')

    try:
        build(engine)
    finally:
        engine.dispose()
    _admin(f'ALTER DATABASE "{building}" OWNER TO CURRENT_USER')
    database.rename(building, name)
    _admin(f'ALTER DATABASE "{name}" IS_TEMPLATE true')
    _admin(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    database.set_comment(name, MARK)


def _marked() -> set[str]:
    rows = _admin(
        "SELECT datname FROM pg_database WHERE starts_with(datname, :p) "
        "AND shobj_description(oid, 'pg_database') = :m",
        p=PREFIX,
        m=MARK,
    )
    return {name for (name,) in rows}


def _drop_database(name: str) -> None:
    _admin(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
    database.drop(name)


def templates() -> list[str]:
    """Build every template a learner's lesson or check clones; returns their names."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(lessons.reference_config())
    revisions = [None] + [s.revision for s in script.walk_revisions("base", "heads")][::-1]
    wanted = {lessons.template_name(revision): revision for revision in revisions}
    adopted = {s.models for s in lessons.STAGES.values() if s.adopted}
    wanted.update({lessons.adopted_template_name(models): models for models in adopted})
    marked = _marked()
    for name, revision in wanted.items():
        if name in marked:
            continue
        if database.exists(name):  # built for the admin's own use: rebuild as the class's
            _drop_database(name)
        if "_adopted_" in name:
            _build(name, lambda engine, models=revision: lessons.build_adopted(engine, models))
        else:

            def upgrade(engine, revision=revision):
                if revision is not None:
                    config = lessons.reference_config()
                    config.attributes["connection"] = engine
                    command.upgrade(config, revision)

            _build(name, upgrade)
    for stale in marked - set(wanted):  # an older course's templates
        if stale.startswith(f"{PREFIX}tpl_"):
            _drop_database(stale)
    return sorted(wanted)


PROGRESS_TABLE = f"""
CREATE TABLE IF NOT EXISTS progress (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    learner name NOT NULL DEFAULT current_user,
    lesson integer NOT NULL,
    exercise text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN {tuple(progress.OUTCOMES)!r}),
    at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE progress ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON progress;
CREATE POLICY own_rows ON progress USING (learner = current_user)
    WITH CHECK (learner = current_user);
REVOKE ALL ON progress FROM PUBLIC;
GRANT SELECT, INSERT ON progress TO "{CLASS_ROLE}";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
"""


def _class_database() -> None:
    if not database.exists(CLASS_DATABASE):
        database.create(CLASS_DATABASE)
        database.set_comment(CLASS_DATABASE, MARK)
    _admin(f'GRANT CONNECT ON DATABASE "{CLASS_DATABASE}" TO "{CLASS_ROLE}"')
    database.class_execute(PROGRESS_TABLE)


def _role_exists(role: str) -> bool:
    return bool(_admin("SELECT 1 FROM pg_roles WHERE rolname = :r", r=role))


def _set_password(role: str, password: str, create: bool) -> None:
    """The server gets a SCRAM verifier, never the password itself (nor does its log)."""
    import psycopg2
    from psycopg2.extensions import encrypt_password

    url = database.server_url()
    with database._admin_engine(url).connect() as conn:
        raw = conn.connection.dbapi_connection
        verifier = encrypt_password(password, role, raw)
        try:
            with raw.cursor() as cursor:  # psycopg2 quotes the verifier; no SQLAlchemy text()
                if create:
                    cursor.execute(
                        f'CREATE ROLE "{role}" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE INHERIT '
                        f'PASSWORD %s IN ROLE "{CLASS_ROLE}"',
                        (verifier,),
                    )
                    cursor.execute(f"COMMENT ON ROLE \"{role}\" IS '{MARK}'")
                else:
                    cursor.execute(f'ALTER ROLE "{role}" PASSWORD %s', (verifier,))
        except psycopg2.Error as exc:  # one line, never the verifier
            raise database.explain(exc, url) from None


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _write_private(path: Path, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)


def file_name(learner: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", learner) + ".env"


def _checkpoint(superuser: bool) -> None:
    """Write the new templates' pages to disk now: a learner's clone copies a template's
    files after a checkpoint, and the class's first clones should not all wait for setup's
    writes. An admin without the right (pg_checkpoint) leaves it to the server's own."""
    member = _admin(
        "SELECT pg_has_role(oid, 'MEMBER') FROM pg_roles WHERE rolname = 'pg_checkpoint'"
    )
    if superuser or member == [(True,)]:
        _admin("CHECKPOINT")


def _ready_copies(kept: dict, learners: list[str], lesson: int) -> None:
    """Each learner's ready copy of the class's first lesson (``ready``), made as that
    learner: a process with their settings, as many at once as there are cores."""
    code = (
        "import sys\nfrom course_app import ready\nfrom course_app.errors import CourseError\n"
        f"try:\n    ready.prepare_lesson({lesson})\nexcept CourseError as exc:\n    sys.exit(str(exc))"
    )

    def make(learner: str) -> str | None:
        settings = kept[learner]
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **settings},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return None
        said = (done.stderr.strip().splitlines() or ["no detail"])[-1]
        said = database.redact(said, make_url(settings["DATABASE_URL"]).password or "")
        return f"{learner}'s copy of lesson {lesson} could not be made: {said}"

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failed = [problem for problem in pool.map(make, learners) if problem]
    if failed:
        raise CourseError(failed[0] + (f" (and {len(failed) - 1} more)" if failed[1:] else ""))
    print(
        f"Lesson {lesson} is copied ahead for {len(learners)} learner"
        f"{'s' * (len(learners) != 1)}, in {time.perf_counter() - began:.0f} s; each next "
        f"lesson is copied while they work."
    )


def setup(learners: list[str], folder: Path = SETTINGS_DIR, first_lesson: int = 0) -> None:
    if first_lesson not in lessons.STAGES:
        raise CourseError(
            f"There is no lesson {first_lesson} to start the class with: lessons are "
            f"{min(lessons.STAGES)} to {max(lessons.STAGES)}."
        )
    superuser = _admin_is_superuser()
    tags = {}
    for learner in learners:
        tag = database.learner_tag(learner)
        if tag in tags and tags[tag] != learner:  # 8 hex digits: never seen, but never silent
            raise CourseError(f"Learners {tags[tag]!r} and {learner!r} would share a tag.")
        tags[tag] = learner
    if not _role_exists(CLASS_ROLE):
        _admin(f'CREATE ROLE "{CLASS_ROLE}" NOLOGIN')
        _admin(f"COMMENT ON ROLE \"{CLASS_ROLE}\" IS '{MARK}'")
    if not superuser:  # building templates as the class role needs membership
        _admin(f'GRANT "{CLASS_ROLE}" TO CURRENT_USER')
    built = templates()
    _checkpoint(superuser)
    print(f"Class templates: {len(built)} lesson start states, ready to clone.")
    _class_database()
    folder = _private_folder(folder)
    kept_file = folder / "jupyterhub.json"
    kept = json.loads(kept_file.read_text()) if kept_file.exists() else {}
    admin = database.server_url()
    for learner in learners:
        role = learner_role(learner)
        exists = _role_exists(role)
        if not (exists and learner in kept):
            password = secrets.token_urlsafe(24)
            _set_password(role, password, create=not exists)
            url = admin.set(username=role, password=password, database=CLASS_DATABASE)
            kept[learner] = {
                "DATABASE_URL": url.render_as_string(hide_password=False),
                "COURSE_LEARNER": learner,
            }
        settings = kept[learner]
        _write_private(
            folder / file_name(learner),
            f"# Alembic, Hands-On: the class settings of {learner}. Theirs alone: keep it "
            f"private.\nDATABASE_URL={settings['DATABASE_URL']}\n"
            f"COURSE_LEARNER={learner}\n",
        )
        print(f"{learner}: role {role}, settings in {folder / file_name(learner)}")
    _write_private(kept_file, json.dumps(kept, indent=2) + "\n")
    _ready_copies(kept, learners, first_lesson)
    print(f"JupyterHub's form of all of them: {kept_file} (see docs/instructors.md).")


# -- progress and teardown --------------------------------------------------------------


def _names(folder: Path) -> dict[str, str]:
    """role -> learner, from the settings setup wrote (else the role's own name)."""
    kept_file = folder / "jupyterhub.json"
    kept = json.loads(kept_file.read_text()) if kept_file.exists() else {}
    return {learner_role(learner): learner for learner in kept}


def progress_rows(folder: Path = SETTINGS_DIR) -> list[list[str]]:
    """A header, then one row a learner: each exercise's status ('' if never tried)."""
    _admin_is_superuser()
    rows = database.class_execute(
        "SELECT learner, lesson, exercise, outcome, at FROM progress ORDER BY at, id"
    )
    names = _names(folder)
    by_learner: dict[str, list[dict]] = {}
    for learner, lesson, exercise, outcome, _at in rows:
        by_learner.setdefault(names.get(learner, learner), []).append(
            {"lesson": lesson, "exercise": exercise, "outcome": outcome}
        )
    for learner in names.values():
        by_learner.setdefault(learner, [])
    catalogue = [(n, name) for n, names_ in progress.catalogue().items() for name in names_]
    table = [["learner", *(f"{n:02d}.{name}" for n, name in catalogue)]]
    for learner in sorted(by_learner):
        done = progress.status(by_learner[learner])
        table.append([learner, *(done.get(key, "") for key in catalogue)])
    return table


def progress_report(as_csv: bool, folder: Path = SETTINGS_DIR) -> str:
    table = progress_rows(folder)
    if as_csv:
        out = io.StringIO()
        csv.writer(out).writerows(table)
        return out.getvalue()
    lines = ["✔ solved  ↪ apply() used  ✘ tried  · not tried; one mark an exercise, by lesson"]
    header = table[0][1:]
    lessons_in = sorted({column[:2] for column in header})
    width = max([len(row[0]) for row in table[1:]] + [7])
    lines.append(f"{'learner':{width}}  solved  " + " ".join(f"L{n:<4}" for n in lessons_in))
    for learner, *marks in table[1:]:
        solved = sum(mark == "solved" for mark in marks)
        cells = []
        for number in lessons_in:
            cells.append(
                "".join(
                    progress.MARKS[mark or None]
                    for column, mark in zip(header, marks, strict=True)
                    if column.startswith(number)
                ).ljust(5)
            )
        lines.append(f"{learner:{width}}  {solved:3d}/{len(marks):<3d} " + " ".join(cells))
    return "\n".join(lines)


def teardown(folder: Path = SETTINGS_DIR) -> None:
    _admin_is_superuser()
    roles = [
        name
        for (name,) in _admin(
            "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = :g "
            "AND starts_with(r.rolname, :p)",
            g=CLASS_ROLE,
            p=f"{PREFIX}u_",
        )
    ]
    owned = _admin(
        "SELECT datname FROM pg_database WHERE starts_with(datname, :p) "
        "AND pg_get_userbyid(datdba) = ANY(:r)",
        p=PREFIX,
        r=roles,
    )
    doomed = sorted({name for (name,) in owned} | _marked())
    for name in doomed:
        _drop_database(name)
    for role in roles:
        _admin(f'DROP ROLE "{role}"')
    if _role_exists(CLASS_ROLE):
        _admin(f'DROP ROLE "{CLASS_ROLE}"')
        roles.append(CLASS_ROLE)
    for path in [folder / "jupyterhub.json", *folder.glob("*.env")]:
        path.unlink(missing_ok=True)
    print(
        f"Dropped {len(doomed)} databases and {len(roles)} roles of the class; removed "
        f"the learners' settings from {folder}."
    )
