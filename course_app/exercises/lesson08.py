"""Lesson 8, two developers, two heads: ``heads``, ``upgrade heads``, ``merge``.

The lesson starts at 0007, the learner's ``slug`` on posts, written from 0005;
``lesson.pull()`` brings a teammate's 0006, ``bio`` on users, written from 0005
too. The history is no longer one line, so these checks read it as a graph: the
files the lesson started with and pulled stay as they were (rewriting 0007's
``down_revision`` to sit on 0006 changes a revision the database already ran), and
where the database is means every row of ``alembic_version`` and the tables. When
the two disagree, the advice comes from the tables: they say what really ran.
"""

import dataclasses

from course_app import lessons
from course_app.errors import CourseError
from course_app.exercises import NotAttempted, NotYet, exercise, revision_id
from course_app.exercises.checks import (
    Trial,
    explain_differences,
    independent_of_models,
    lesson_schema,
    models_schema,
    reference_file,
    reference_schema,
    rows_changed,
    rows_kept,
    run,
)
from course_app.exercises.repair import save_files, start_over
from course_app.history import History
from course_app.stage_models import ancestry, models_source

MINE, THEIRS, MERGE = "0007", "0006", "0008"
GIVEN = tuple(sorted(ancestry(MINE) | ancestry(THEIRS)))  # 0001 to 0007
HEADS = {THEIRS, MINE}
PULL = "Pull your teammate's branch first: run lesson.pull()."
MERGE_COMMAND = f'%alembic merge heads -m "merge bio and slug" --rev-id {MERGE}'
ROWS = (  # what a scratch copy holds when a check runs the merge on it
    "INSERT INTO users (email, password) VALUES ('ada@example.com', 'x')",
    "INSERT INTO posts (title, content, owner_id, slug) VALUES ('Hello', 'Hi', 1, 'hello')",
)


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


def _rows(lesson) -> set[str]:
    if "alembic_version" not in lesson.tables():
        return set()
    return {r[0] for r in lesson.query("SELECT version_num FROM alembic_version")}


def _merges(history: History) -> list:
    """The learner's revisions: the merge, or what was meant to be one."""
    return [s for s in history.by_id.values() if s.id not in GIVEN]


def check_graph(lesson, merge_allowed: bool) -> History:
    """The history as a graph: no broken file, each revision the lesson started with or pulled
    as it was, nothing else but one merge of the two heads."""
    history = History(lesson.path)
    again = history.by_id.get(MERGE)
    if again is not None and MERGE in again.down:
        raise NotYet(
            f"{again.name}, line {again.down_line}: down_revision = {again.down_text}: the merge "
            f'cell ran a second time and wrote {MERGE} over itself. Write down_revision = ("0006", '
            f'"0007") (apply() puts the merge back).'
        )
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
                f"started with it. Put it back: apply() does, or start the lesson again."
            )
        wanted = History(lessons.REFERENCE_DIR.parent, reference.parent).by_id[revision].down
        if script.down != wanted:
            raise NotYet(
                f"{script.name}, line {script.down_line}: down_revision = {script.down_text}, but "
                f"{revision} was written from {wanted[0]}, and the database ran it so. Don't "
                f"rewrite a revision that ran (on your database, or your teammate's): put "
                f'down_revision = "{wanted[0]}" back and join the two heads with a merge.'
            )
        if script.path.read_bytes() != reference.read_bytes():
            whose = (
                "your teammate's revision, as you pulled it"
                if revision == THEIRS
                else ("a revision the lesson started with")
            )
            fix = "run lesson.pull() again" if revision == THEIRS else "apply() does"
            raise NotYet(
                f"{script.name} is {whose}, and it was edited: the databases that ran it never "
                f"see the change. Put it back ({fix}); a change goes in a new revision."
            )
    for script in _merges(history):
        ran = script.id in _rows(lesson)
        if not set(script.down) <= set(GIVEN):  # after the merge: not this lesson's
            first = f"%alembic downgrade {script.down[0]} (it ran), then d" if ran else "D"
            raise NotYet(
                f"{script.name} is not part of this lesson (it comes after {script.down_text}). "
                f"{first}elete the file."
            )
        if not merge_allowed:
            raise NotYet(
                f"{script.name} is not part of this step: the merge comes in the next exercise. "
                f"Move it aside (apply() does), then run this cell again."
            )
        if set(script.down) != HEADS:
            parents = " and ".join(script.down) or "nothing"
            raise NotYet(
                f"{script.name} comes after {parents}, not after the two heads {THEIRS} and "
                f"{MINE}: delete it, and run {MERGE_COMMAND}."
            )
    return history


# -- where the database is -----------------------------------------------------------------


def _state(lesson, rows: set[str], history: History) -> None:
    """alembic_version and the tables agree, and the learner's rows are all there; else
    say what the tables really are, and the command that puts alembic_version right."""
    missing = [r for r in rows if r not in history.by_id]
    actual = lesson_schema(lesson)
    merged = actual == reference_schema(MERGE)
    agree = (rows == {MINE} and actual == reference_schema(MINE)) or (
        merged and (rows == HEADS or rows == {MERGE})
    )
    if rows == {THEIRS} and actual == reference_schema(THEIRS) and not missing:
        raise NotYet(
            "the database is at 0006 only: 0007 was taken back, and posts.slug with it. Run "
            "%alembic upgrade heads (the slugs your rows had are gone)."
        )
    if missing or not agree:
        held = ", ".join(sorted(rows)) or "no row"
        why = (
            f"no file has {missing[0]} (deleted after it ran?)"
            if missing
            else "the tables are not what it says (a stamp, or a change made by hand)"
        )
        if merged:
            right = f"{MERGE}" if MERGE in history.by_id and MERGE in rows else "0006 0007"
            say = f"the tables have both branches' changes: run %alembic stamp --purge {right}"
        elif actual == reference_schema(MINE):
            say = "the tables are those of 0007, users has no bio: run %alembic stamp --purge 0007"
        elif actual == reference_schema(THEIRS):
            say = "the tables are those of 0006, posts has no slug: run %alembic stamp --purge 0006"
        else:
            raise NotYet(
                f"alembic_version holds {held}, and the tables are not what the branches build: "
                + explain_differences(
                    reference_schema(MERGE), actual, "revisions 0006 and 0007", "in the database"
                )
                + " apply() starts the database over, with your rows."
            )
        up = "head" if MERGE in history.by_id else "heads"  # with two heads, `head` refuses
        then = "" if merged else f", then %alembic upgrade {up}"
        raise NotYet(f"alembic_version holds {held}, but {why}. {say[0].upper() + say[1:]}{then}.")
    changed = rows_changed(lesson)
    if changed:
        raise NotYet(
            f"{changed} since you wrote it: a downgrade (or a migration) took it. apply() starts "
            f"the database over, with your rows."
        )


def _fresh_if_needed(lesson) -> list[str]:
    """Start the database over (the learner's rows put back) unless it is at 0007, at both
    heads or at the merge, with the tables and the rows to match."""
    rows, history = _rows(lesson), History(lesson.path)
    try:
        _state(lesson, rows, history)
        return []
    except NotYet:
        pass
    kept, put_back = start_over(lesson)
    return [f"The database starts over at 0007{put_back} (the old one is kept as database {kept})."]


def _put_files_right(lesson) -> list[str]:
    """For apply(): the teammate's branch pulled, the revisions the lesson started with and
    app/models.py as they were, and anything check_graph objects to moved aside."""
    if THEIRS not in History(lesson.path).by_id:
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
    strays = [
        s.path
        for s in History(lesson.path).scripts
        if s.id not in GIVEN and (s.id != MERGE or set(s.down) != HEADS)
    ]
    said += [save_files(lesson, strays)] if strays else []
    models, merged = lesson.path / "app" / "models.py", models_source(MINE, THEIRS)
    if not models.exists() or models.read_text() != merged:
        said.append((save_files(lesson, [models]) + " ") if models.exists() else "")
        models.write_text(merged)
        said[-1] += "Wrote app/models.py with both branches' models."
    return said


def _run(lesson, *argv) -> None:
    ran = run(lesson, *argv)
    if ran.status != 0:
        raise CourseError(f"%alembic {' '.join(argv)} failed: {ran.said}")


# -- the exercises ----------------------------------------------------------------------------


def _heads(lesson) -> list[str]:
    """The heads once the teammate's branch is in: before a merge, as after it."""
    history = check_graph(lesson, merge_allowed=True)
    heads = sorted(history.heads)
    merge = history.by_id[heads[0]] if len(heads) == 1 else None
    return sorted(HEADS) if merge is not None and set(merge.down) == HEADS else heads


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


def _both_applied(lesson) -> list[str]:
    said = _put_files_right(lesson) + _fresh_if_needed(lesson)
    _run(lesson, "upgrade", "heads")
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
    history = check_graph(lesson, merge_allowed=True)
    rows = _rows(lesson)
    if rows == {MINE} and lesson_schema(lesson) == reference_schema(MINE):
        raise NotAttempted("the database is at 0007 only: run %alembic upgrade heads.")
    _state(lesson, rows, history)
    if rows == {MERGE}:
        return "the database is past both heads already, at the merge: both changes are in."
    return (
        "alembic_version holds two rows, 0006 and 0007: one for each head. The database has both "
        "changes, and the history still has two heads."
    )


def _merge_file(lesson):
    history = check_graph(lesson, merge_allowed=True)
    merges = _merges(history)
    if len(merges) > 1:
        names = " and ".join(s.name for s in merges)
        raise NotYet(f"{names} both merge the heads: keep one, {MERGE}, and delete the other.")
    if not merges and MERGE in _rows(lesson):
        raise NotYet(
            f"there is no {MERGE} in alembic/versions/ any more, and the database ran it: run "
            f"{MERGE_COMMAND} again to write it back."
        )
    if not merges:
        raise NotAttempted(f"there is no merge yet: run {MERGE_COMMAND}.")
    merge = merges[0]
    if merge.id != MERGE:
        made = "without --rev-id" if len(merge.id) == 12 else f"with --rev-id {merge.id}"
        first = (
            f"It ran: take it back with %alembic downgrade {MINE} (that undoes the merge only), "
            f"then delete it"
            if merge.id in _rows(lesson)
            else "Delete it"
        )
        raise NotYet(
            f"{merge.name} has the revision id {merge.id}, not {MERGE}: it was made {made}. "
            f"{first}, and run {MERGE_COMMAND}."
        )
    return history, merge


def _views(trial) -> list[str]:
    return [
        v
        for (v,) in trial.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = current_schema()"
        )
    ]


@exercise(
    hints=[
        "`alembic merge heads` writes a revision whose down_revision names every head.",
        MERGE_COMMAND,
    ],
    reference=MERGE,
    solution=MERGE_COMMAND,
    apply=lambda lesson: _merge(lesson),
)
def merge_revision(lesson):
    history, merge = _merge_file(lesson)
    want = reference_schema(MERGE)
    with Trial(lesson, ROWS) as trial:  # a copy at 0007, with rows
        trial.alembic("upgrade", THEIRS)  # from 0007: both heads, not yet the merge
        trial.start_data = trial.data()
        trial.alembic("upgrade", MERGE)
        got = trial.schema()
        if got != want or _views(trial):
            said = (
                explain_differences(want, got, "the two branches", f"after upgrade {MERGE}")
                if got != want
                else f"after upgrade {MERGE}, there is a view {_views(trial)[0]}."
            )
            raise NotYet(
                f"{merge.name}: {said} A merge only joins the branches: leave its upgrade() as `pass`."
            )
        try:
            rows_kept(trial, f"upgrade {MERGE}")
        except NotYet as exc:
            raise NotYet(f"{merge.name}: {exc} A merge only joins the branches.") from None
        trial.alembic("downgrade", MINE)  # undoes the merge only: both heads stay applied
        back = trial.schema()
        if back != want:
            raise NotYet(
                f"{merge.name}'s downgrade() does not leave the two branches as they were: "
                + explain_differences(want, back, "the two branches", f"after downgrade {MINE}")
                + " Leave it as `pass`."
            )
        rows_kept(trial, f"downgrade {MINE}")
    independent_of_models(lesson, MERGE, merge.path, ROWS, got, MINE, back)
    return (
        f'{merge.name} has down_revision = ("0006", "0007"): one head again, and it changes '
        f"neither a table nor a row."
    )


def _merge(lesson) -> list[str]:
    said = _put_files_right(lesson)
    mine = History(lesson.path).by_id.get(MERGE)
    if mine is not None and merge_revision.judge().outcome == "correct":
        return said
    if mine is not None:  # a merge that does something: the reference one does nothing
        said.append(save_files(lesson, [mine.path]))
    _run(lesson, "merge", "heads", "-m", "merge bio and slug", "--rev-id", MERGE)
    return [*said, f"Ran {MERGE_COMMAND}."]


def _at_merge(lesson) -> list[str]:
    said = _put_files_right(lesson) + _fresh_if_needed(lesson)
    _run(lesson, "upgrade", "head")
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
    if rows == HEADS and lesson_schema(lesson) == reference_schema(MERGE):
        raise NotAttempted("alembic_version holds 0006 and 0007: run %alembic upgrade head.")
    if rows == {MINE} and lesson_schema(lesson) == reference_schema(MINE):
        raise NotAttempted("the database is at 0007: run %alembic upgrade head.")
    _state(lesson, rows, history)
    models = models_schema(lesson.load_models().Base.metadata)
    actual = lesson_schema(lesson)
    tables = dataclasses.replace(
        actual, tables={t: v for t, v in actual.tables.items() if t != "alembic_version"}
    )
    if models.tables != tables.tables:
        raise NotYet(
            "the database is at the merge, but app/models.py no longer describes it: "
            + explain_differences(tables, models, "the database", "in app/models.py", limit=1)
            + " Put both branches' models back (lesson.pull() does)."
        )
    return (
        "alembic_version holds one row again, 0008, and the database has bio and slug: the two "
        "branches are one history."
    )
