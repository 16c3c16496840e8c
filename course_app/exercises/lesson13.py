"""Lesson 13, indexes and constraints without downtime: which lock each statement takes,
an index built while the app writes, and a build that can be tried again.

The checks measure and play, on scratch databases: each statement of the first exercise
runs in a transaction that is rolled back, with pg_locks, the table's file on disk and
its scan counter read before it ends. The index exercises run the learner's revision
while a writer holds a transaction open on posts (every index build waits for it) and
the app inserts a row with a 300 ms lock_timeout: a concurrent build lets that row
through, a plain one makes it give up. That is what is judged, with the index left
behind (there, valid, on the right column), never how the revision reads.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text

from course_app import database, lessons, locks, processes, schema
from course_app.exercises import NotYet, exercise, names, scenes
from course_app.exercises.checks import (
    explain_differences,
    reference_file,
    reference_schema,
    revisions_written,
)
from course_app.exercises.repair import put_revision

REVISION = "0011"
INDEX = "ix_posts_created_at"
ROWS = (
    "INSERT INTO posts (title, content) SELECT 'Post ' || i, 'Hi' FROM generate_series(1, 50) i",
)
WRITE = "INSERT INTO posts (title, content) VALUES ('Written during the build', 'Hi')"
WAIT = 10  # seconds a migration may take once the writer has committed

# Statements a migration might run on posts, measured one by one (exercise 1).
STATEMENTS = {
    "add column": "ALTER TABLE posts ADD COLUMN likes integer",
    "add column, default 0": "ALTER TABLE posts ADD COLUMN likes integer DEFAULT 0",
    "add column, default random()": "ALTER TABLE posts ADD COLUMN score float DEFAULT random()",
    "views to bigint": "ALTER TABLE posts ALTER COLUMN views TYPE bigint",
    "summary to varchar(500)": "ALTER TABLE posts ALTER COLUMN summary TYPE varchar(500)",
    "create index": "CREATE INDEX ix_demo ON posts (created_at)",
    "add foreign key": "ALTER TABLE votes ADD CONSTRAINT fk_demo FOREIGN KEY (post_id) "
    "REFERENCES posts (id)",
}


# -- 1. which statements rewrite the table ----------------------------------------------------

_measured: dict[str, locks.Measured] = {}


def measured() -> dict[str, locks.Measured]:
    """Every statement of STATEMENTS, measured once on a scratch database at 0010 with rows."""
    if not _measured:
        name = f"{lessons.current().database}_check_measure"
        database.recreate(name, template=lessons.ensure_template("0010"))
        try:
            engine = database.engine(name)
            with engine.begin() as conn:
                conn.execute(text(ROWS[0]))
            engine.dispose()
            _measured.update({k: locks.measure(name, s) for k, s in STATEMENTS.items()})
        finally:
            database.drop(name)
    return _measured


def rewriting() -> list[str]:
    return [label for label, found in measured().items() if "posts" in found.rewrote]


def _labels(value) -> list[str]:
    given = list(dict.fromkeys(names(value)))  # a label given twice counts once
    unknown = [v for v in given if v not in STATEMENTS]
    if unknown:
        raise NotYet(
            f"{unknown[0]!r} is not one of the statements measured: give their labels as "
            f'lesson.measure() prints them, like "add column".'
        )
    return given


@exercise(
    hints=[
        "Read the `rewrites` of each statement in what lesson.measure() printed.",
        "Since PostgreSQL 11 a constant default is stored once in the catalog, not in every "
        "row; a volatile one (random(), clock_timestamp()) has to be computed row by row, and "
        "a new type that is stored differently means new rows too.",
    ],
    solution='rewrites = ["add column, default random()", "views to bigint"]',
    answer=rewriting,
    read=(_labels,),
)
def rewrites(lesson, given):
    actual = rewriting()
    if sorted(given) == sorted(actual):
        return (
            "a volatile default and a type whose values are stored differently write every "
            "row anew, holding ACCESS EXCLUSIVE all the while (minutes, on a big table); a "
            "constant default and a longer varchar touch only the catalog."
        )
    wrongly = [g for g in given if g not in actual]
    if "add column, default 0" in wrongly:
        raise NotYet(
            "`add column, default 0` rewrites nothing since PostgreSQL 11: the constant is kept "
            "once in the catalog and read for the old rows. Look at its `rewrites` again."
        )
    if wrongly:
        raise NotYet(
            f"{wrongly[0]!r} does not rewrite posts: it keeps the table's file (see its "
            f"`rewrites`). It may still lock the table; that is another question."
        )
    missed = [a for a in actual if a not in given]
    raise NotYet(
        f"{missed[0]!r} rewrites posts as well: its `rewrites` names it. Every row is written "
        f"anew while it holds ACCESS EXCLUSIVE."
    )


# -- the index scenes --------------------------------------------------------------------------


@dataclass
class Played:
    migration: locks.Process
    blocked: str | None  # why the app's INSERT gave up during the migration; None: it went
    built: schema.Schema
    invalid: list[str]  # indexes on posts left INVALID
    version: list[str]
    definition: str | None = None  # pg_get_indexdef of ix_posts_created_at, if there


def _definition(name: str) -> str | None:
    return scenes.scalars(name, "SELECT pg_get_indexdef(to_regclass(:index))", index=INDEX)[0]


def _invalid(name: str) -> list[str]:
    return scenes.scalars(
        name,
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'posts'::regclass "
        "AND NOT indisvalid ORDER BY 1",
    )


def leave_invalid(name: str, session: str = "deploy") -> None:
    """What a concurrent build stopped half-way leaves: an INVALID index of the same name.
    (A writer's open transaction makes the build wait; the wait is cancelled.)"""
    with scenes.writer_on(name, WRITE):
        build = locks.Session(name, session)
        try:
            build.run("SET statement_timeout = '300ms'")
            with contextlib.suppress(Exception):
                build.run(f"CREATE INDEX CONCURRENTLY {INDEX} ON posts (created_at)")
        finally:
            build.close()


def play(lesson, tag: str, at: str, argv: list[str], leftover: bool = False) -> Played:
    """Run ``alembic ARGV`` on a copy at ``at``, with a writer in its way and the app writing."""
    with scenes.scene(lesson, tag, at, rows=ROWS) as (name, copy):
        if leftover:
            leave_invalid(name)
        with scenes.writer_on(name, WRITE) as writer:
            migration = locks.Process(name, "migration", "alembic", argv, copy, scenes.env(name))
            blocked = scenes.gets_through(name, WRITE) if migration.waiting else None
            writer.run("COMMIT")
            migration.finish(timeout=WAIT)
        built = scenes.snapshot(name)
        return Played(
            migration, blocked, built, _invalid(name), scenes.version(name), _definition(name)
        )


def _learner_revision(lesson) -> None:
    revisions_written(lesson, (REVISION, "index posts created_at"), autogenerate=True)


def _judge_run(played: Played, what: str, target: str) -> None:
    """The migration ran to the end, and the database says so."""
    said = played.migration.output
    if played.migration.returncode is None:
        raise NotYet(
            f"`alembic {what}` was still running {WAIT} s after the writer in its way had "
            f"committed: something in it waits for good."
        )
    if "cannot run inside a transaction block" in said:
        raise NotYet(
            f"`alembic {what}` fails: CREATE or DROP INDEX CONCURRENTLY cannot run inside a "
            f"transaction block, and Alembic runs each migration in one. Put the op.create_index() "
            f"or op.drop_index() inside `with op.get_context().autocommit_block():`."
        )
    if played.migration.returncode != 0:
        raise NotYet(f"`alembic {what}` fails on a copy of the database: {scenes.error(said)}")
    if played.version != [target]:
        raise NotYet(
            f"after `alembic {what}` the database is at {', '.join(played.version) or 'base'}, "
            f"not {target}."
        )


def _judge_index(played: Played, at: str, what: str) -> None:
    want = reference_schema(at)
    if played.built != want:
        raise NotYet(
            f"alembic/versions/{REVISION}_*.py: "
            + explain_differences(want, played.built, f"revision {at}", f"after {what}")
        )
    if played.invalid:
        raise NotYet(
            f"after {what}, {played.invalid[0]} is INVALID: PostgreSQL never uses it for a "
            f"query. Drop it, and build it again."
        )
    with lessons.readable(lessons.ensure_template(at)) as readable:
        wanted = _definition(readable)
    if played.definition != wanted:
        raise NotYet(
            f"after {what}, {INDEX} is `{played.definition}`, not the models' "
            f"`{wanted}`: the front page's ORDER BY created_at needs a plain btree index of "
            f"every row."
        )


def _concurrent(lesson) -> str:
    with ThreadPoolExecutor(2) as pool:
        up = pool.submit(play, lesson, "up", "0010", ["upgrade", REVISION])
        down = pool.submit(play, lesson, "down", REVISION, ["downgrade", "0010"])
        up, down = up.result(), down.result()
    _judge_run(up, f"upgrade {REVISION}", REVISION)
    _judge_index(up, REVISION, f"upgrade {REVISION}")
    if up.blocked:
        raise NotYet(
            f"while {REVISION}'s index was built, an INSERT into posts from another connection "
            f"gave up ({up.blocked}): a plain CREATE INDEX holds SHARE on posts until it is "
            f"done. Build it with postgresql_concurrently=True."
        )
    _judge_run(down, "downgrade 0010", "0010")
    _judge_index(down, "0010", "downgrade 0010")
    if down.blocked:
        raise NotYet(
            f"while {REVISION}'s downgrade dropped the index, an INSERT into posts gave up "
            f"({down.blocked}): DROP INDEX takes ACCESS EXCLUSIVE on posts. Drop it with "
            f"postgresql_concurrently=True, in an autocommit block too."
        )
    return "ok"


CONCURRENT_UPGRADE = f"""\
    with op.get_context().autocommit_block():
        op.create_index("{INDEX}", "posts", ["created_at"], postgresql_concurrently=True)"""
CONCURRENT_DOWNGRADE = f"""\
    with op.get_context().autocommit_block():
        op.drop_index("{INDEX}", table_name="posts", postgresql_concurrently=True)"""


def _first_answer() -> str:
    """The reference revision without its retry line: exercise 2's answer."""
    source = reference_file(REVISION).read_text()
    start = source.index("def upgrade()")
    return source[:start] + (
        f"def upgrade() -> None:\n{CONCURRENT_UPGRADE}\n\n\n"
        f"def downgrade() -> None:\n{CONCURRENT_DOWNGRADE}\n"
    )


@exercise(
    hints=[
        "op.create_index(..., postgresql_concurrently=True) builds it without SHARE on posts; "
        "op.drop_index(..., postgresql_concurrently=True) drops it without ACCESS EXCLUSIVE.",
        "CONCURRENTLY cannot run in a transaction, and Alembic opens one: put each call inside "
        "`with op.get_context().autocommit_block():`.",
    ],
    solution=f"def upgrade() -> None:\n{CONCURRENT_UPGRADE}\n\n\n"
    f"def downgrade() -> None:\n{CONCURRENT_DOWNGRADE}",
    apply=lambda lesson: put_revision(lesson, REVISION, _first_answer()),
)
def concurrent_index(lesson):
    _learner_revision(lesson)
    _concurrent(lesson)
    return (
        "the index was built, and dropped again, while another connection kept writing to "
        "posts: each INSERT went through at once, where a plain CREATE INDEX would have held "
        "it until the build was done."
    )


# -- 3. a build that can be tried again --------------------------------------------------------


@exercise(
    hints=[
        f"A stopped concurrent build leaves an INVALID {INDEX}: CREATE INDEX then says it "
        f"already exists, and IF NOT EXISTS would keep the broken one.",
        f'First, in the same autocommit block: op.execute("DROP INDEX CONCURRENTLY IF EXISTS '
        f'{INDEX}"), then create it.',
    ],
    reference=REVISION,
    apply=lambda lesson: put_revision(lesson, REVISION),
)
def retry_safe(lesson):
    _learner_revision(lesson)
    with ThreadPoolExecutor(2) as pool:  # each scene on a database of its own, at once
        plain = pool.submit(_concurrent, lesson)  # no leftover: still concurrent, up and down
        over = pool.submit(play, lesson, "again", "0010", ["upgrade", REVISION], leftover=True)
        plain.result()
        again = over.result()
    if "already exists" in again.migration.output:
        raise NotYet(
            f"with an INVALID {INDEX} left by a stopped build, `alembic upgrade {REVISION}` "
            f"fails: {scenes.error(again.migration.output)}. Drop the leftover first."
        )
    _judge_run(again, f"upgrade {REVISION}", REVISION)
    if again.invalid:
        raise NotYet(
            f"`alembic upgrade {REVISION}` ran with an INVALID {INDEX} left by a stopped build, "
            f"and left it INVALID: IF NOT EXISTS sees the name and keeps the broken index. Drop "
            f"it (DROP INDEX CONCURRENTLY IF EXISTS), then build it."
        )
    _judge_index(again, REVISION, f"upgrade {REVISION} over a leftover")
    if again.blocked:
        raise NotYet(
            f"over the leftover INVALID index, {REVISION}'s upgrade held up an INSERT into posts "
            f"({again.blocked}): what it did to the leftover locks out writes (a plain DROP "
            f"INDEX takes ACCESS EXCLUSIVE on posts, REINDEX takes SHARE). Drop it CONCURRENTLY."
        )
    return (
        f"over an INVALID {INDEX} left by a stopped build, the upgrade dropped it and built it "
        f"again, concurrently, while the app kept writing; with no leftover it works as before."
    )


# -- 4. NOT NULL without reading the table under ACCESS EXCLUSIVE ------------------------------

NOT_NULL = "0012"


def _why_scanned(statement: str) -> str:
    said = statement.upper()
    if "VALIDATE" in said:
        return (
            "the ACCESS EXCLUSIVE of the ADD CONSTRAINT before it, in the same transaction, "
            "was still held: commit in between (run VALIDATE and what follows in "
            "op.get_context().autocommit_block())"
        )
    if "SET NOT NULL" in said:
        return (
            "SET NOT NULL proves there is no NULL by reading every row, unless a validated "
            "CHECK (views IS NOT NULL) already says so: add one NOT VALID, VALIDATE it, then "
            "SET NOT NULL"
        )
    if "ADD CONSTRAINT" in said:
        return "a CHECK added valid reads every row: add it NOT VALID (postgresql_not_valid=True)"
    return (
        "an earlier statement in the same transaction took ACCESS EXCLUSIVE on posts, and it is "
        "held to the commit: run this before it"
    )


def _views(name: str) -> list:
    return scenes.scalars(name, "SELECT views FROM posts ORDER BY id")


@exercise(
    hints=[
        "Backfill first, then a CHECK (views IS NOT NULL) added NOT VALID "
        "(op.create_check_constraint(..., postgresql_not_valid=True)), then VALIDATE it, then "
        "SET NOT NULL, which trusts the validated CHECK and reads nothing.",
        "Every lock is held to the end of its transaction: VALIDATE and SET NOT NULL go inside "
        "`with op.get_context().autocommit_block():`, which commits what came before.",
    ],
    reference=NOT_NULL,
    apply=lambda lesson: put_revision(lesson, NOT_NULL),
    after=(retry_safe,),
)
def views_not_null(lesson):
    history = revisions_written(lesson, (NOT_NULL, "views not null"))
    later = [h for h in history.heads if h != NOT_NULL]
    if later:
        raise NotYet(
            f"alembic/versions/ has {history.file(later[0])} after {NOT_NULL}: this exercise "
            f"wants the whole change in {NOT_NULL} (its autocommit block is the commit in "
            f"between). Move what it does into {NOT_NULL}, and delete it."
        )
    with scenes.scene(lesson, "nn", REVISION, rows=ROWS) as (name, copy):
        env = scenes.env(name)
        probed = scenes.scans_under_exclusive(copy, env, ["upgrade", NOT_NULL])
        ran, scanned = probed.run, probed.scanned
        if ran.returncode != 0:
            said = scenes.error(ran.output)
            if "contains null values" in said or "is violated by some row" in said:
                raise NotYet(
                    f"`alembic upgrade {NOT_NULL}` fails on posts whose views are NULL ({said}): "
                    f"set them first (UPDATE posts SET views = 0 WHERE views IS NULL)."
                )
            raise NotYet(f"`alembic upgrade {NOT_NULL}` fails on a copy of the database: {said}")
        if scenes.version(name) != [NOT_NULL]:
            raise NotYet(f"after `alembic upgrade {NOT_NULL}` the database is not at {NOT_NULL}.")
        built = scenes.snapshot(name)
        if built != reference_schema(NOT_NULL):
            raise NotYet(
                f"alembic/versions/{NOT_NULL}_*.py: "
                + explain_differences(
                    reference_schema(NOT_NULL), built, "the models", f"after upgrade {NOT_NULL}"
                )
            )
        unchecked = scenes.unvalidated(name)
        if unchecked:
            raise NotYet(
                f"after `alembic upgrade {NOT_NULL}`, the constraint {unchecked[0]} is NOT VALID: "
                f"the rows already there were never checked. VALIDATE CONSTRAINT it."
            )
        views = _views(name)
        if len(views) != 50 or set(views) != {0}:
            raise NotYet(f"after `alembic upgrade {NOT_NULL}` the old posts' views are not all 0.")
        if scanned:
            raise NotYet(
                f"`{scanned[0][:90]}` read every row of posts while the migration held ACCESS "
                f"EXCLUSIVE on it (no read or write of posts goes on meanwhile): "
                f"{_why_scanned(scanned[0])}."
            )
        back = processes.run("alembic", ["downgrade", REVISION], copy, env, timeout=60)
        if back.returncode != 0:
            raise NotYet(f"`alembic downgrade {REVISION}` fails: {scenes.error(back.output)}")
        undone = scenes.snapshot(name)
        if undone != reference_schema(REVISION):
            raise NotYet(
                f"{NOT_NULL}'s downgrade() does not undo its upgrade(): "
                + explain_differences(
                    reference_schema(REVISION),
                    undone,
                    f"revision {REVISION}",
                    f"after downgrade {REVISION}",
                )
            )
    return (
        "now views is NOT NULL with a default of 0, the old rows filled, and no statement read "
        "posts through while holding ACCESS EXCLUSIVE: the one scan, VALIDATE's, let the app "
        "read and write."
    )
