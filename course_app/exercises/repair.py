"""The way out of a mistake: what ``apply()`` does for files and databases.

``apply()`` must always unblock: afterwards the cells that build on the exercise run,
and its check passes. It never loses the learner's work silently: a file it replaces
or moves aside goes to a dated backup folder first (see ``backups``), a database it
must rebuild is copied first, and it says so in a line.
"""

import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from course_app import backups, database, lessons
from course_app.errors import CourseError
from course_app.exercises import NotYet
from course_app.exercises.checks import (
    built_schemas,
    check_database,
    given_revisions,
    reference_file,
    run,
    start_template,
    tables_match,
)
from course_app.history import History

KEEP_DATABASES = 2


def save_files(lesson, paths: list[Path]) -> str:
    """Move the learner's files aside into a dated backup; say where."""
    if not paths:
        return ""
    saved = backups.save(lesson.path, paths, move=True, reason="apply")
    return f"Moved yours aside to {backups.shown(saved)}: {', '.join(p.name for p in paths)}."


def write_file(lesson, relative: str, content: str) -> list[str]:
    """Write one workspace file, keeping the learner's version if it differs."""
    path = lesson.path / relative
    if path.exists() and path.read_text() == content:
        return []
    saved = save_files(lesson, [path]) if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return [f"Wrote {relative}." + (f" {saved}" if saved else "")]


def put_reference(
    lesson, revision: str, expected: tuple[str, ...] | None, keep_if=None
) -> list[str]:
    """Move strays aside; then, unless the learner's own revision checks out without them
    (``keep_if``), put the reference revision in its place (theirs is kept aside too)."""
    history = History(lesson.path)
    strays = [
        s.path
        for s in history.scripts
        if s.syntax_error or s.id is None or (expected and s.id not in expected)
    ]
    said = [save_files(lesson, strays)] if strays else []
    said += restore_given(lesson, expected)
    mine = History(lesson.path).by_id.get(revision)
    if mine is not None and keep_if is not None and keep_if():
        return [*said, f"Kept your {mine.name}: it checks out as it is."]
    reference = reference_file(revision)
    if mine is not None and mine.path.read_bytes() != reference.read_bytes():
        said += _undo_own_upgrade(lesson, revision, expected)
        said.append(save_files(lesson, [mine.path]))
    elif mine is not None:
        return [*said, f"alembic/versions/{reference.name} is the reference revision already."]
    lesson.versions.mkdir(parents=True, exist_ok=True)
    shutil.copy(reference, lesson.versions / reference.name)
    said.insert(0, f"Wrote the reference revision to alembic/versions/{reference.name}.")
    return said + repair_database(lesson, expected)


def put_revision(lesson, revision: str, content: str | None = None) -> list[str]:
    """Put the reference revision (or ``content``, under its file name) in alembic/versions;
    any other version of it the learner has is moved aside first. Says what it did."""
    reference = reference_file(revision)
    content = reference.read_text() if content is None else content
    mine = [p for p in lesson.versions.glob(f"{revision}_*.py") if p.read_text() != content]
    said = [save_files(lesson, mine)] if mine else []
    target = lesson.versions / reference.name
    if target.exists():
        return said
    target.write_text(content)
    return [f"Wrote alembic/versions/{reference.name}.", *said]


def restore_given(lesson, expected: tuple[str, ...] | None) -> list[str]:
    """Put back, as the course wrote them, the revisions the lesson started with that were
    edited since (the database ran them as they were); the edited ones are kept aside."""
    if not expected:
        return []
    history = History(lesson.path)
    said = []
    for revision in given_revisions(lesson, expected):
        script = history.by_id.get(revision)
        reference = reference_file(revision)
        if script is not None and script.path.read_bytes() == reference.read_bytes():
            continue
        if script is not None:
            said.append(save_files(lesson, [script.path]))
        shutil.copy(reference, lesson.versions / reference.name)
        said.insert(0, f"Put back alembic/versions/{reference.name} as the lesson started with it.")
    return said


def _undo_own_upgrade(lesson, revision: str, expected) -> list[str]:
    """If the database ran the learner's version of ``revision``, take it back with their
    own downgrade(), so the next cells apply the reference one; rows stay."""
    chain = History(lesson.path).chain()
    try:
        at = lesson.version()
    except CourseError:
        return []
    if not (
        chain and at in chain and revision in chain and chain.index(at) >= chain.index(revision)
    ):
        return []
    before = chain[chain.index(revision) - 1] if chain.index(revision) else "base"
    if run(lesson, "downgrade", before).status != 0:
        return []
    return [
        f"Took the database back to {before} with your downgrade(), so the next cells apply the new {revision}."
    ]


def repair_database(lesson, expected: tuple[str, ...] | None) -> list[str]:
    """Make alembic_version and the tables agree again (after a stamp, or a wrong revision
    that ran): stamp the revision the tables match, or, if none, start from a fresh copy."""
    try:
        check_database(lesson, expected)
        return []
    except NotYet:
        pass
    if History(lesson.path).problems():
        return []
    matches = tables_match(lesson, built_schemas(lesson))
    at = lesson.version()
    if matches:
        real = matches[-1]
        run(lesson, "stamp", "--purge", real or "base")  # --purge: even an unknown or second row
        return [
            f"The tables were those of {real or 'base'} though alembic_version said {at or 'base'}: stamped {real or 'base'}."
        ]
    kept, put_back = start_over(lesson)
    start = lessons.STAGES[lesson.number].revision
    return [
        f"The database matched none of its revisions, so it starts again from the lesson's "
        f"start ({start or 'empty'}){put_back}; the old one is kept as database {kept}."
    ]


def start_over(lesson) -> tuple[str, str]:
    """The lesson's database as it started, the old one kept aside as a copy, the rows the
    learner wrote put back. Returns the copy's name and what was put back (", with your
    2 rows put back", or "")."""
    kept = save_database(lesson)
    database.recreate(lesson.database, template=start_template(lesson))
    return kept, restore_rows(lesson)


def restore_rows(lesson) -> str:
    """Insert the rows the learner wrote (``lesson.written``) into a database started
    afresh, in the columns it has; say how many."""
    engine = lesson.engine()
    count = 0
    try:
        with engine.begin() as conn:
            have = {
                t: set(cols)
                for t, cols in conn.execute(
                    text(
                        "SELECT table_name, array_agg(column_name::text) FROM "
                        "information_schema.columns WHERE table_schema = current_schema() "
                        "GROUP BY table_name"
                    )
                )
            }
            # Tables others point at first (users before posts), as their foreign keys say.
            order = [t for t, _ in inspect(conn).get_sorted_table_and_fkc_names() if t]
            for table in [t for t in order if t in lesson.written]:
                for row in lesson.written[table].values():
                    columns = [c for c in row if c in have.get(table, ())]
                    if not columns:
                        continue
                    names = ", ".join(f'"{c}"' for c in columns)
                    values = ", ".join(f":{c}" for c in columns)
                    try:
                        with conn.begin_nested():  # a row that no longer fits is left out
                            conn.execute(
                                text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'),
                                {c: row[c] for c in columns},
                            )
                        count += 1
                    except DBAPIError:
                        pass
                if "id" in have.get(table, ()):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'coalesce(max(id), 1)) FROM "{table}"'
                        )
                    )
    finally:
        engine.dispose()
    return f", with your {count} row{'s' * (count != 1)} put back" if count else ""


def save_database(lesson) -> str:
    """Copy the lesson's database aside (the newest few copies are kept)."""
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    name = f"{lesson.database}_backup_{stamp}"
    if not database.exists(name):
        database.create(name, template=lesson.database)
    older = [d for d in database.course_databases() if d.startswith(f"{lesson.database}_backup_")]
    for old in sorted(older)[:-KEEP_DATABASES]:
        database.drop(old)
    return name


def bring_database_to(lesson, target: str | None, expected: tuple[str, ...] | None) -> list[str]:
    """Repair the database if it needs it, then upgrade or downgrade it to ``target``."""
    said = restore_given(lesson, expected)
    said += repair_database(lesson, expected)
    at = lesson.version()
    if at == target:
        return said or [f"The database is at {target or 'base'} already."]
    chain = [None, *History(lesson.path).chain()]
    if target not in chain:
        raise CourseError(f"there is no revision {target} in alembic/versions/ to go to.")
    move = "upgrade" if at not in chain or chain.index(target) > chain.index(at) else "downgrade"
    ran = run(lesson, move, target or "base")
    if ran.status != 0:
        raise CourseError(f"%alembic {move} {target or 'base'} failed: {ran.said}")
    return [
        *said,
        f"Ran %alembic {move} {target or 'base'}: the database is at {target or 'base'}.",
    ]
