"""Lesson 8, two developers, two heads: ``heads``, ``upgrade heads``, ``merge``.

The lesson starts at 0007, the learner's ``slug`` on posts, written from 0005;
``lesson.pull()`` brings a teammate's 0006, ``bio`` on users, written from 0005
too. The history is no longer one line, so these checks read it as a graph: the
files the lesson started with and pulled keep their parents (rewriting 0007's
``down_revision`` to sit on 0006 changes a revision the database already ran),
and where the database is means every row of ``alembic_version`` and the tables.
"""

from course_app import lessons
from course_app.exercises import NotAttempted, NotYet, exercise, revision_id
from course_app.exercises.checks import (
    Trial,
    explain_differences,
    independent_of_models,
    lesson_schema,
    reference_file,
    reference_schema,
    rows_changed,
    run,
)
from course_app.exercises.repair import save_files, start_over
from course_app.history import History
from course_app.stage_models import ancestry

MINE, THEIRS, MERGE = "0007", "0006", "0008"
GIVEN = tuple(sorted(ancestry(MINE) | ancestry(THEIRS)))  # 0001 to 0007
PULL = "Pull your teammate's branch first: run lesson.pull()."


def revision_ids(value) -> list[str]:
    """A list of revision ids, as `alembic heads` prints them."""
    if isinstance(value, str):
        raise NotYet(
            f'give a list of revision ids, like ["0001", "0002"]; {value!r} is one string.'
        )
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise NotYet(f'give a list of revision ids, like ["0001", "0002"]; not {value!r}.')
    return [revision_id(v) for v in value]


# -- the graph ---------------------------------------------------------------------------


def _put_files_right(lesson) -> list[str]:
    """For apply(): the teammate's branch pulled, the revisions the lesson started with as
    they were, and anything check_graph objects to moved aside (a good merge stays)."""
    history = History(lesson.path)
    if THEIRS not in history.by_id:
        lesson.pull()
    said = []
    for revision in GIVEN:
        script = History(lesson.path).by_id.get(revision)
        reference = reference_file(revision)
        if script is not None and script.path.read_bytes() == reference.read_bytes():
            continue
        if script is not None:
            said.append(save_files(lesson, [script.path]))
        (lesson.versions / reference.name).write_bytes(reference.read_bytes())
        said.insert(0, f"Put back alembic/versions/{reference.name} as it was.")
    history = History(lesson.path)
    strays = [
        s.path
        for s in history.scripts
        if s.id not in GIVEN and (s.id != MERGE or set(s.down) != {THEIRS, MINE})
    ]
    return said + ([save_files(lesson, strays)] if strays else [])


def check_graph(lesson, merge_allowed: bool) -> History:
    """The history as a graph: no broken file, each revision the lesson started with or pulled
    where it was (same file, same parent), nothing else but one merge of the two heads."""
    history = History(lesson.path)
    problems = [p for p in history.problems() if p.kind != "heads"]
    if problems:
        raise NotYet(problems[0].message)
    if THEIRS not in history.by_id:
        if THEIRS in _rows(lesson):
            raise NotYet(
                f"there is no revision {THEIRS} in alembic/versions/ any more, and the database "
                f"ran it: run lesson.pull() again to put your teammate's file back."
            )
        raise NotAttempted(PULL)
    for revision in GIVEN:
        script = history.by_id.get(revision)
        reference = reference_file(revision)
        if script is None:
            raise NotYet(
                f"there is no revision {revision} in alembic/versions/ any more: the lesson "
                f"started with it (or pulled it). Put it back: start the lesson again, or apply()."
            )
        wanted = History(lessons.REFERENCE_DIR.parent, reference.parent).by_id[revision].down
        if script.down != wanted:
            raise NotYet(
                f"{script.name}, line {script.down_line}: down_revision = {script.down_text}, but "
                f"{revision} was written from {wanted[0]}, and the database ran it so. Don't "
                f"rewrite a revision that ran (on your database, or your teammate's): put "
                f'down_revision = "{wanted[0]}" back and join the two heads with a merge.'
            )
    for script in history.by_id.values():
        if script.id in GIVEN:
            continue
        if not merge_allowed:
            raise NotYet(
                f"{script.name} is not part of this step: the merge comes in the next exercise. "
                f"Move it aside (apply() does), then run this cell again."
            )
        if set(script.down) != {THEIRS, MINE}:
            parents = " and ".join(script.down) or "nothing"
            raise NotYet(
                f"{script.name} comes after {parents}, not after the two heads {THEIRS} and "
                f'{MINE}: delete it, and run %alembic merge heads -m "merge bio and slug" '
                f"--rev-id {MERGE}."
            )
    return history


def _rows(lesson) -> set[str]:
    if "alembic_version" not in lesson.tables():
        return set()
    return {r[0] for r in lesson.query("SELECT version_num FROM alembic_version")}


def _kept(lesson) -> None:
    changed = rows_changed(lesson)
    if changed:
        raise NotYet(
            f"{changed}: a migration must keep the rows that are there. apply() starts the "
            f"database over, with your rows."
        )


def _tables_of(lesson, rows: set[str], want) -> None:
    """The tables are those of both branches; else, name what is missing and how."""
    actual = lesson_schema(lesson)
    if actual == want:
        return
    held = " and ".join(sorted(rows))
    if actual in (reference_schema(MINE), reference_schema(THEIRS)):
        missing = "users.bio (0006)" if actual == reference_schema(MINE) else "posts.slug (0007)"
        raise NotYet(
            f"alembic_version holds {held}, but the database has no {missing}: `alembic stamp` "
            f"writes alembic_version and runs nothing. Put it right with %alembic stamp --purge "
            f"{MINE if actual == reference_schema(MINE) else THEIRS}, then run %alembic upgrade "
            f"heads."
        )
    raise NotYet(
        f"alembic_version holds {held}, but the tables are not what both branches build: "
        + explain_differences(want, actual, "revisions 0006 and 0007", "in the database")
    )


# -- the exercises ----------------------------------------------------------------------------


def _heads(lesson) -> list[str]:
    """The heads once the teammate's branch is in: before a merge, as after it."""
    heads = sorted(check_graph(lesson, merge_allowed=True).heads)
    return [THEIRS, MINE] if heads == [MERGE] else heads


@exercise(
    hints=[
        "Run %alembic heads: it lists every revision no other revision's down_revision names.",
        "0006 and 0007 were both written from 0005: nothing comes after either of them.",
    ],
    solution='heads = ["0006", "0007"]',
    apply=lambda lesson: _put_files_right(lesson),
    answer=_heads,
    read=(revision_ids,),
)
def two_heads(lesson, answer):
    actual = _heads(lesson)
    if sorted(answer) == actual:
        return (
            "0006 and 0007 both come after 0005, and nothing comes after either: two heads, "
            "so `upgrade head` cannot choose."
        )
    if len(set(answer)) < len(answer):
        raise NotYet("one id is in your list twice: each head once.")
    if "0005" in answer:
        raise NotYet(
            "0005 is not a head: 0006 and 0007 both name it as their down_revision. A head is a "
            "revision nothing comes after."
        )
    if MERGE in answer:
        raise NotYet(
            f"the question is about the history before the merge, {MERGE}: what did %alembic "
            f"heads list right after the pull?"
        )
    if len(answer) == 1 and answer[0] in actual:
        other = next(h for h in actual if h != answer[0])
        raise NotYet(
            f"{answer[0]} is one of them; %alembic heads lists every tip of the history, and "
            f"{other} is one too."
        )
    raise NotYet(
        f"the heads are not {', '.join(answer) or 'none'}: run %alembic heads and read the ids."
    )


def _fresh_if_needed(lesson) -> list[str]:
    """Start the database over (rows kept) unless it is at 0007, at both heads, or at the
    merge, with the tables to match."""
    rows, now = _rows(lesson), lesson_schema(lesson)
    fine = (rows == {MINE} and now == reference_schema(MINE)) or (
        rows in ({THEIRS, MINE}, {MERGE}) and now == reference_schema(MERGE)
    )
    if fine:
        return []
    kept, put_back = start_over(lesson)
    return [f"The database starts over at 0007{put_back} (the old one is kept as database {kept})."]


def _both_applied(lesson) -> list[str]:
    said = _put_files_right(lesson) + _fresh_if_needed(lesson)
    ran = run(lesson, "upgrade", "heads")
    if ran.status != 0:
        raise NotYet(f"%alembic upgrade heads failed: {ran.said}")
    return [*said, "Ran %alembic upgrade heads: the database has both branches."]


@exercise(
    hints=[
        "`upgrade head` wants one head; `upgrade heads` (with an s) goes to every head.",
        "%alembic upgrade heads, then %alembic current: two lines.",
    ],
    solution="%alembic upgrade heads",
    apply=_both_applied,
)
def both_heads_applied(lesson):
    check_graph(lesson, merge_allowed=True)
    rows = _rows(lesson)
    if rows == {MINE}:
        raise NotAttempted("the database is at 0007 only: run %alembic upgrade heads.")
    if rows == {MERGE}:
        _tables_of(lesson, rows, reference_schema(MERGE))
        _kept(lesson)
        return "the database is past both heads already, at the merge: both changes are in."
    if rows != {THEIRS, MINE}:
        held = ", ".join(sorted(rows)) or "nothing"
        raise NotYet(
            f"alembic_version holds {held}, not 0006 and 0007: run %alembic current. From "
            f"0007, %alembic upgrade heads runs 0006 too."
            + (" (0007's slug is gone: upgrade 0007 brings it back.)" if MINE not in rows else "")
        )
    _tables_of(lesson, rows, reference_schema(MERGE))
    _kept(lesson)
    return (
        "alembic_version holds two rows, 0006 and 0007: one for each head. The database has both "
        "changes, and the history still has two heads."
    )


def _merge_file(lesson):
    history = check_graph(lesson, merge_allowed=True)
    merges = [s for s in history.by_id.values() if s.id not in GIVEN]
    if len(merges) > 1:
        names = " and ".join(s.name for s in merges)
        raise NotYet(f"{names} both merge the heads: keep one, {MERGE}, and delete the other.")
    if merges and merges[0].id != MERGE:
        made = (
            "made without --rev-id"
            if len(merges[0].id) == 12
            else f"made with --rev-id {merges[0].id}"
        )
        raise NotYet(
            f"{merges[0].name} has the revision id {merges[0].id}, not {MERGE}: it was {made}. "
            f'Delete it, and run %alembic merge heads -m "merge bio and slug" --rev-id {MERGE}.'
        )
    if not merges:
        raise NotAttempted(
            f'there is no merge yet: run %alembic merge heads -m "merge bio and slug" --rev-id '
            f"{MERGE}."
        )
    return history, merges[0].path


def _check_merge(lesson) -> str:
    history, path = _merge_file(lesson)
    if history.heads != [MERGE]:
        raise NotYet(f"{history.file(MERGE)} is there, but the history has heads {history.heads}.")
    script = history.by_id[MERGE]
    want = reference_schema(MERGE)
    with Trial(lesson, ROWS) as trial:  # from 0007, with rows
        trial.alembic("upgrade", MERGE)
        got = trial.schema()
        if got != want:
            raise NotYet(
                f"{script.name}: after upgrade {MERGE} "
                + explain_differences(want, got, "the two branches", f"after upgrade {MERGE}")
                + " A merge only joins the branches: leave its upgrade() as `pass`."
            )
        at = {r[0] for r in trial.execute("SELECT version_num FROM alembic_version")}
        if at != {MERGE}:
            raise NotYet(f"after upgrade {MERGE}, alembic_version holds {sorted(at)}, not one row.")
        trial.alembic("downgrade", MINE)  # undoes the merge only: both heads stay applied
        back = trial.schema()
        if back != want:
            raise NotYet(
                f"{script.name}'s downgrade() does not leave the two branches as they were: "
                + explain_differences(want, back, "the two branches", f"after downgrade {MINE}")
            )
    independent_of_models(lesson, MERGE, path, ROWS, got, MINE, back)
    return script.name


ROWS = (
    "INSERT INTO users (email, password) VALUES ('ada@example.com', 'x')",
    "INSERT INTO posts (title, content, owner_id, slug) VALUES ('Hello', 'Hi', 1, 'hello')",
)


def _merge(lesson) -> list[str]:
    said = _put_files_right(lesson)
    mine = History(lesson.path).by_id.get(MERGE)
    if mine is not None and merge_revision.judge().outcome == "correct":
        return said
    if mine is not None:  # a merge that does something: the reference one does nothing
        said.append(save_files(lesson, [mine.path]))
    ran = run(lesson, "merge", "heads", "-m", "merge bio and slug", "--rev-id", MERGE)
    if ran.status != 0:
        raise NotYet(f"%alembic merge heads failed: {ran.said}")
    return [*said, f'Ran %alembic merge heads -m "merge bio and slug" --rev-id {MERGE}.']


@exercise(
    hints=[
        "`alembic merge heads` writes a revision whose down_revision names every head.",
        '%alembic merge heads -m "merge bio and slug" --rev-id 0008',
    ],
    reference=MERGE,
    solution='%alembic merge heads -m "merge bio and slug" --rev-id 0008',
    apply=_merge,
)
def merge_revision(lesson):
    name = _check_merge(lesson)
    return (
        f'{name} has down_revision = ("0006", "0007"): one head again, and its upgrade() '
        f"changes no table."
    )


def _at_merge(lesson) -> list[str]:
    said = _fresh_if_needed(lesson)
    ran = run(lesson, "upgrade", "head")
    if ran.status != 0:
        raise NotYet(f"%alembic upgrade head failed: {ran.said}")
    return [*said, f"Ran %alembic upgrade head: the database is at {MERGE}."]


@exercise(
    hints=[
        "With one head again, `upgrade head` works.",
        "%alembic upgrade head, then look: lesson.query('SELECT * FROM alembic_version')",
    ],
    solution="%alembic upgrade head",
    apply=_at_merge,
    after=(merge_revision,),
)
def at_the_merge(lesson):
    history, _ = _merge_file(lesson)
    rows = _rows(lesson)
    if MERGE in rows and MERGE not in history.by_id:
        raise NotYet(f"alembic_version says {MERGE}, and there is no such file: put it back.")
    if rows in ({THEIRS, MINE}, {MINE}):
        raise NotAttempted(
            f"alembic_version holds {', '.join(sorted(rows))}: run %alembic upgrade head."
        )
    if rows != {MERGE}:
        held = ", ".join(sorted(rows)) or "no row"
        raise NotYet(
            f"alembic_version holds {held}: at the merge it holds one row, {MERGE}. Run %alembic "
            f"current; if the rows are not what the tables are, %alembic stamp --purge 0007, "
            f"then %alembic upgrade head."
        )
    _tables_of(lesson, rows, reference_schema(MERGE))
    _kept(lesson)
    return (
        "alembic_version holds one row again, 0008, and the database has bio and slug: the two "
        "branches are one history."
    )
