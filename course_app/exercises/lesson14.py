"""Lesson 14, expand and contract: posts.content renamed to body in three steps, with the
app running all along.

Each check plays the releases against the learner's work on scratch databases. The old
release writes and reads ``content``, the new one ``body``; between the expand revision
and the contract revision both must work on the same database, and a row either one
writes must read the same through the other. The revisions also run under the probe of
lesson 13 (no statement may read posts through while ACCESS EXCLUSIVE is held). What is
judged is what the releases see and what the database holds, never the revision's text.
"""

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from course_app import database, processes, schema
from course_app.exercises import NotAttempted, NotYet, exercise, scenes
from course_app.exercises.checks import (
    explain_differences,
    reference_file,
    reference_schema,
    revisions_written,
    stage_models_schema,
)
from course_app.exercises.repair import put_revision, write_file
from course_app.stage_models import models_source

EXPAND, CONTRACT = "0013", "0014"
ROWS = (
    "INSERT INTO posts (title, content) VALUES ('Hello', 'First words'), ('Again', 'More words')",
    "INSERT INTO posts (title, content) SELECT 'Post ' || i, 'Text ' || i "
    "FROM generate_series(1, 3000) i",
)
OUT_OF_STEP = "SELECT count(*) FROM posts WHERE body IS DISTINCT FROM content"
TIMEOUT = 30  # seconds a revision may take on a copy
OLD, NEW = "the old release (it writes content)", "the new release (it writes body)"


# -- what the releases do ---------------------------------------------------------------------


def _one(conn, sql: str, **params):
    return conn.execute(text(sql), params).scalar()


def releases_in_step(name: str, when: str) -> None:
    """Both releases write and edit a post; each must read what the other wrote."""
    engine = database.engine(name)
    try:
        for who, column, other in ((OLD, "content", "body"), (NEW, "body", "content")):
            with engine.begin() as conn:
                try:
                    made = _one(
                        conn,
                        f"INSERT INTO posts (title, {column}) VALUES ('Written', :t) RETURNING id",
                        t=f"by {column}",
                    )
                except DBAPIError as exc:
                    raise NotYet(
                        f"{when}, an INSERT by {who} fails: {_said(exc)}. Between expand and "
                        f"contract both releases must work: fill {other} from {column} in the "
                        f"trigger, on INSERT."
                    ) from None
                seen = _one(conn, f"SELECT {other} FROM posts WHERE id = :i", i=made)
                if seen != f"by {column}":
                    raise NotYet(
                        f"{when}, a post {who} wrote has {other} = {seen!r}: the other release "
                        f"would read that. Keep {other} in step with {column} on INSERT (a "
                        f"BEFORE INSERT OR UPDATE trigger)."
                    )
                conn.execute(
                    text(f"UPDATE posts SET {column} = 'edited' WHERE id = :i"), {"i": made}
                )
                seen = _one(conn, f"SELECT {other} FROM posts WHERE id = :i", i=made)
                if seen != "edited":
                    raise NotYet(
                        f"{when}, {who} edited a post's {column}, and its {other} still says "
                        f"{seen!r}: keep the columns in step on UPDATE too."
                    )
                conn.execute(text("DELETE FROM posts WHERE id = :i"), {"i": made})
                if _one(conn, "SELECT count(*) FROM posts WHERE id = :i", i=made):
                    raise NotYet(
                        f"{when}, {who} deleted a post, and it is still there: a BEFORE DELETE "
                        f"trigger that returns NEW (NULL on a DELETE) cancels it. Fire on "
                        f"INSERT OR UPDATE only."
                    )
    finally:
        engine.dispose()


def _said(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def _functions(name: str) -> list[str]:
    return scenes.scalars(
        name, "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1"
    )


def _column(name: str, column: str) -> list:
    return scenes.scalars(name, f"SELECT {column} FROM posts ORDER BY id")


def _run(copy, name: str, argv: list[str], probe: bool = False) -> scenes.Probed | None:
    """``alembic ARGV`` on the scratch database; NotYet with its error if it fails. Under
    the probe, what it saw."""
    env, said = scenes.env(name), f"`alembic {' '.join(argv)}`"
    if probe:
        probed = scenes.scans_under_exclusive(copy, env, argv, timeout=TIMEOUT)
        ran = probed.run
    else:
        probed, ran = None, processes.run("alembic", argv, copy, env, timeout=TIMEOUT)
    if ran.returncode is None:
        raise NotYet(
            f"{said} did not finish within {TIMEOUT} s on a copy of {3002:,} posts: does a "
            f"loop in it never end?"
        )
    if ran.returncode != 0:
        raise NotYet(f"{said} fails on a copy of the database: {scenes.error(ran.output)}")
    return probed


def _in_order(probed: scenes.Probed, first: str, then: str, message: str) -> None:
    """The statement matching ``first`` must come before the one matching ``then``."""
    a, b = probed.first(first), probed.first(then)
    if a is not None and b is not None and b < a:
        raise NotYet(message)


def _same_tables(got: schema.Schema, revision: str, when: str, whose: str | None = None) -> None:
    """The tables are what the reference builds at ``revision`` (triggers aside: the
    learner's may have names of their own). ``whose``: the code at fault."""
    want = reference_schema(revision).without_triggers()
    if got.without_triggers() != want:
        raise NotYet(
            f"{whose or f'alembic/versions/{revision}_*.py'}: "
            + explain_differences(want, got.without_triggers(), f"revision {revision}", when)
        )


def _put_contract(lesson) -> list[str]:
    """The reference 0014; and the reference 0013 too if the learner's does not pair with
    it (the trigger under other names): then the database, if it ran the learner's 0013,
    goes back to 0012 through it first, and up again through the reference."""
    from course_app import magics

    said = put_revision(lesson, CONTRACT)
    if contract.judge().outcome == "correct":
        return said
    mine = next(iter(sorted(lesson.versions.glob(f"{EXPAND}_*.py"))), None)
    if mine is None or mine.read_bytes() == reference_file(EXPAND).read_bytes():
        return said
    version = lesson.version()
    if version in (EXPAND, CONTRACT):
        magics.run(["downgrade", "0012"], lesson.path, version=lesson.version)
        said.append("Took the database back to 0012 with your revisions' downgrades.")
    said += put_revision(lesson, EXPAND)
    if version in (EXPAND, CONTRACT) and lesson.version() == "0012":
        magics.run(["upgrade", EXPAND], lesson.path, version=lesson.version)
        said.append(f"Upgraded it to {EXPAND} again, with the reference's trigger.")
    return said


# -- 1. expand ---------------------------------------------------------------------------------


@exercise(
    hints=[
        "Add body nullable; a BEFORE INSERT OR UPDATE trigger that copies whichever column "
        "was written into the other; then copy content into body for the rows already there.",
        "The copy reads every row: run it after a commit, in "
        "`with op.get_context().autocommit_block():`, or the ADD COLUMN's ACCESS EXCLUSIVE is "
        "held all through it. downgrade() drops the trigger, its function and the column.",
    ],
    reference=EXPAND,
    apply=lambda lesson: put_revision(lesson, EXPAND),
)
def expand(lesson):
    revisions_written(lesson, (EXPAND, "expand posts body"))
    with scenes.scene(lesson, "ex", "0012", rows=ROWS) as (name, copy):
        functions = _functions(name)
        probed = _run(copy, name, ["upgrade", EXPAND], probe=True)
        if scenes.version(name) != [EXPAND]:
            raise NotYet(f"after `alembic upgrade {EXPAND}` the database is not at {EXPAND}.")
        _same_tables(scenes.snapshot(name), EXPAND, f"after upgrade {EXPAND}")
        missed = scenes.scalars(name, OUT_OF_STEP)[0]
        if missed:
            raise NotYet(
                f"after upgrade {EXPAND}, {missed:,} of the {3002:,} posts already there have "
                f"a body that is not their content: the new release would show them wrong. "
                f"Copy content into body for every existing row."
            )
        if probed.scanned:
            scanned = probed.scanned[0]
            raise NotYet(
                f"`{scanned[:80]}` rewrote posts under its own ACCESS EXCLUSIVE (a generated "
                f"column is computed for every row, and the new release could not write it): "
                f"add body as a plain nullable column, kept in step by a trigger."
                if scanned.upper().startswith("ALTER")
                else f"`{scanned[:80]}` read every row of posts while the ADD COLUMN's ACCESS "
                f"EXCLUSIVE was still held (to the end of the transaction): on a big table the "
                f"app stops that long. Run it after a commit: in "
                f"`with op.get_context().autocommit_block():`."
            )
        _in_order(
            probed,
            r"\bCREATE (OR REPLACE )?TRIGGER\b",
            r"\bUPDATE\s+posts\b",
            "the copy of the old rows ran before the trigger was there: a post the old release "
            "writes or edits in between never gets its body. Create the trigger first, then copy.",
        )
        releases_in_step(name, f"after upgrade {EXPAND}")
        _run(copy, name, ["downgrade", "0012"])
        back = scenes.snapshot(name)
        if back != reference_schema("0012"):
            raise NotYet(
                f"{EXPAND}'s downgrade() does not undo its upgrade(): "
                + explain_differences(reference_schema("0012"), back, "0012", "after downgrade")
            )
        left = sorted(set(_functions(name)) - set(functions))
        if left:
            raise NotYet(
                f"after downgrade 0012, the function {left[0]}() is still there: drop it after "
                f"its trigger (DROP FUNCTION {left[0]}())."
            )
    return (
        "after the expand, both releases work on the same database: a post either one writes, "
        "edits or deletes reads the same through the other, and the old posts have their body."
    )


# -- 2. the new release ------------------------------------------------------------------------


def _release_works(module, name: str, when: str) -> None:
    """The learner's models, as the new release uses them: add a post, read them all."""
    post = module.Post
    table = post.__table__
    mapper = inspect(post)
    engine = database.engine(name)
    try:
        with Session(engine) as session:
            try:
                fields = {"title": "From the new release"}
                attribute = mapper.get_property_by_column(table.c["body"]).key
                fields[attribute] = "Hi"
                session.add(post(**fields))
                session.commit()
                bodies = [getattr(p, attribute) for p in session.scalars(select(post))]
            except SQLAlchemyError as exc:
                said = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
                raise NotYet(
                    f"{when}, the new release fails with your app/models.py: {said}."
                    + (
                        " Post must not map content any more: the contract drops it."
                        if "content" in said
                        else ""
                    )
                ) from None
        if not all(bodies):
            raise NotYet(f"{when}, the new release reads posts with no body: {bodies}.")
    finally:
        engine.dispose()


@exercise(
    hints=[
        "In app/models.py, Post's content line becomes body: the new release reads and writes "
        "body only, and the contract revision can drop content.",
        "body: Mapped[str] = mapped_column(String, nullable=False), in content's place "
        "(NOT NULL: the contract makes it so).",
    ],
    solution="# app/models.py, in class Post, in place of content:\n"
    "    body: Mapped[str] = mapped_column(String, nullable=False)",
    apply=lambda lesson: write_file(lesson, "app/models.py", models_source(CONTRACT)),
)
def new_release(lesson):
    module = lesson.load_models()
    post = getattr(module, "Post", None)
    if post is None:
        raise NotYet("app/models.py has no Post model any more: keep it, with body.")
    columns = post.__table__.c
    if "body" not in columns:
        if "body" in inspect(post).attrs:
            raise NotYet(
                'Post.body is mapped to another column (mapped_column("content", ...)): the '
                "contract drops content. Map the body column."
            )
        if "content" in columns:
            raise NotAttempted("app/models.py still maps content: map body instead.")
        raise NotYet("Post maps no body column: add it in content's place.")
    for at in (EXPAND, CONTRACT):
        rows = ROWS if at == EXPAND else tuple(r.replace("content", "body") for r in ROWS)
        with scenes.scene(lesson, f"nr{at}", at, rows=rows) as (name, _):
            when = "after the expand" if at == EXPAND else "after the contract"
            _release_works(module, name, when)
    from course_app.exercises.checks import models_schema

    got, want = models_schema(module.Base.metadata), stage_models_schema(CONTRACT)
    if got != want:
        raise NotYet(
            "app/models.py: " + explain_differences(want, got, "the contract", "in your models")
        )
    return (
        "the new release works after the expand, reading the posts the old one wrote, and it "
        "goes on working once the contract has dropped content."
    )


# -- 3. contract -------------------------------------------------------------------------------


@exercise(
    hints=[
        "Drop the trigger, then its function, then content; then body NOT NULL as in lesson "
        "13: a CHECK added NOT VALID, and in an autocommit block VALIDATE, SET NOT NULL and the "
        "CHECK dropped.",
        "downgrade() is the expand again: body nullable, content back (nullable), the function "
        "and trigger, then in an autocommit block content filled from body and made NOT NULL "
        "through a CHECK added NOT VALID and validated.",
    ],
    reference=CONTRACT,
    apply=lambda lesson: _put_contract(lesson),
    after=(expand,),
)
def contract(lesson):
    revisions_written(lesson, (CONTRACT, "contract posts content"))
    with scenes.scene(lesson, "co", "0012", rows=ROWS) as (name, copy):
        functions = _functions(name)
        _run(copy, name, ["upgrade", EXPAND])  # the learner's own expand: its trigger's names
        probed = _run(copy, name, ["upgrade", CONTRACT], probe=True)
        if scenes.version(name) != [CONTRACT]:
            raise NotYet(f"after `alembic upgrade {CONTRACT}` the database is not at {CONTRACT}.")
        got = scenes.snapshot(name)
        if got.tables["posts"].triggers:
            trigger = sorted(got.tables["posts"].triggers)[0][0]
            raise NotYet(
                f"after upgrade {CONTRACT}, the trigger {trigger} is still on posts: with content "
                f"gone, it breaks every write. Drop it, and its function."
            )
        column, trigger = probed.first(r"DROP COLUMN content"), probed.first(r"DROP TRIGGER")
        if column is not None and trigger is not None and column < trigger:
            if probed.committed_between(column, trigger):
                raise NotYet(
                    "content was dropped, and committed, while the trigger that writes it was "
                    'still there: every write to posts fails in between (record "new" has no '
                    'field "content"). Drop the trigger first.'
                )
        unchecked = scenes.unvalidated(name)
        if unchecked:
            raise NotYet(
                f"after upgrade {CONTRACT}, the constraint {unchecked[0]} is NOT VALID: the rows "
                f"already there were never checked, and may hold NULL. VALIDATE CONSTRAINT it."
            )
        _same_tables(got, CONTRACT, f"after upgrade {CONTRACT}")
        left = sorted(set(_functions(name)) - set(functions))
        if left:
            raise NotYet(
                f"after the contract, the function {left[0]}() is still there, with no trigger "
                f"to run it: DROP FUNCTION {left[0]}() after the trigger."
            )
        if scenes.scalars(name, "SELECT count(*) FROM posts WHERE body IS NULL")[0]:
            raise NotYet(f"after upgrade {CONTRACT}, some posts have no body.")
        if probed.scanned:
            raise NotYet(
                f"`{probed.scanned[0][:80]}` read every row of posts while the migration held "
                f"ACCESS EXCLUSIVE on it: make body NOT NULL as lesson 13 did, through a CHECK "
                f"added NOT VALID and validated after a commit."
            )
        down = _run(copy, name, ["downgrade", EXPAND], probe=True)
        whose = f"{CONTRACT}'s downgrade()"
        _same_tables(scenes.snapshot(name), EXPAND, f"after downgrade {EXPAND}", whose)
        if scenes.scalars(name, OUT_OF_STEP)[0]:
            raise NotYet(
                f"after downgrade {EXPAND}, content is not what body says in every post: "
                f"{whose} must fill it from body, or the old release shows the posts empty."
            )
        if down.scanned:
            raise NotYet(
                f"{whose}: `{down.scanned[0][:80]}` read every row of posts while ACCESS "
                f"EXCLUSIVE was held: fill content after a commit, and make it NOT NULL through "
                f"a CHECK added NOT VALID and validated, as in the upgrade."
            )
        _in_order(
            down,
            r"\bCREATE (OR REPLACE )?TRIGGER\b",
            r"\bUPDATE\s+posts\b",
            f"{whose} fills content before the trigger is back: a post the new release writes "
            f"in between gets no content. Create the trigger first, then copy.",
        )
        releases_in_step(name, f"after downgrade {EXPAND}")
        _run(copy, name, ["downgrade", "0012"])
        if scenes.snapshot(name) != reference_schema("0012") or set(_functions(name)) - set(
            functions
        ):
            raise NotYet(
                f"after {CONTRACT}'s downgrade, your {EXPAND}'s downgrade fails to take the "
                f"database back to 0012 cleanly: {CONTRACT}'s downgrade must re-create the "
                f"trigger and function under the names {EXPAND}'s downgrade drops."
            )
    return (
        "content and its trigger are gone, body is NOT NULL without a scan under ACCESS "
        "EXCLUSIVE, and the downgrade brings back a database both releases work on, down to 0012."
    )
