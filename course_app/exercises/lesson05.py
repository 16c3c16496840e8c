"""Lesson 5, going back: downgrade by id, by -N and to base; what it does to data.

Where the database is, is judged by its tables as well as by ``alembic_version``:
``alembic stamp 0003`` writes the row and runs nothing, and is not a downgrade.
"""

from course_app.exercises import NotAttempted, NotYet, count, exercise, names
from course_app.exercises.checks import (
    check_database,
    check_history,
    same_table,
    version_has_a_file,
)
from course_app.exercises.repair import bring_database_to, start_over

HISTORY = ("0001", "0002", "0003", "0004")


def _at(lesson, wanted: str | None, command: str) -> None:
    """The database is at ``wanted``, tables and alembic_version alike."""
    check_history(lesson, HISTORY)
    version_has_a_file(lesson)
    at = lesson.version()
    if at != wanted:
        order = [None, *HISTORY]
        if at == "0004":
            raise NotAttempted(f"the database is still at 0004: run %alembic {command}.")
        if at in order and order.index(at) < order.index(wanted):
            raise NotYet(
                f"the database is at {at or 'base'}: you went past {wanted or 'base'}. "
                f"Go forward again with %alembic upgrade {wanted} (a table dropped on the way "
                f"comes back empty)."
            )
        raise NotYet(
            f"the database is at {at or 'base'}, not {wanted or 'base'}: run %alembic current, "
            f"then {command}."
        )
    check_database(lesson, HISTORY)
    # posts must be the lesson's own (down to base and up is no downgrade); users may come
    # back empty: going one step too far and up again is what the check itself advises.
    if wanted is not None and not same_table(lesson, "posts"):
        raise NotYet(
            f"the database is at {wanted}, but posts is not the table the lesson started with: "
            f"it went down past 0001 and up again, and its rows went with it. `downgrade "
            f"{wanted}` from 0004 keeps posts. apply() starts the database over."
        )


def _by_downgrades(lesson, target: str) -> list[str]:
    """To ``target`` by way of downgrades only; a table that was dropped and made again on
    the way means starting the database over (the old one is kept, the rows put back)."""
    said = []
    if any(t in lesson.tables() and not same_table(lesson, t) for t in ("posts", "users")):
        kept, put_back = start_over(lesson)
        said.append(
            f"a table had been dropped and made again, so the database starts over from the "
            f"lesson's start{put_back} (the old one is kept as database {kept})."
        )
    return said + bring_database_to(lesson, target, HISTORY)


@exercise(
    hints=[
        "`alembic downgrade <revision>` stops at that revision, with its upgrade still applied.",
        "The users table arrives in 0003: %alembic downgrade 0003",
    ],
    solution="%alembic downgrade 0003",
    apply=lambda lesson: _by_downgrades(lesson, "0003"),
)
def back_to_users(lesson):
    _at(lesson, "0003", "downgrade 0003")
    if not same_table(lesson, "users"):
        return (
            "the database is at 0003, by way of 0002: users was dropped on the way and came back "
            "empty, so its rows are gone. `downgrade 0003` from 0004 would only have run 0004's "
            "downgrade()."
        )
    return "downgrade 0003 ran 0004's downgrade(): owner_id and its foreign key are gone."


@exercise(
    hints=[
        "A relative step counts revisions from where the database is: -1, -2, ...",
        "From 0003, two steps down: %alembic downgrade -2",
    ],
    solution="%alembic downgrade -2",
    apply=lambda lesson: _by_downgrades(lesson, "0001"),
)
def two_steps_down(lesson):
    _at(lesson, "0001", "downgrade -2")
    return "two downgrade() functions ran, 0003's then 0002's: users and the post columns are gone."


def _at_base(lesson) -> list[str]:
    if lesson.version() is not None:
        raise NotAttempted(
            f"the database is at {lesson.version()}: run %alembic downgrade base first."
        )
    if "alembic_version" not in lesson.tables():
        raise NotYet(
            "there is no alembic_version table: Alembic keeps it even at base, and it was dropped "
            "by hand. Run %alembic stamp base to make it again."
        )
    check_database(lesson, HISTORY)
    return lesson.tables()


@exercise(
    hints=[
        "Run %alembic downgrade base, then look: lesson.tables()",
        "Every downgrade() ran, down to 0001's, which drops posts. What table does Alembic keep?",
    ],
    solution='tables_after_base = ["alembic_version"]   # empty: no revision applied',
    apply=lambda lesson: bring_database_to(lesson, None, HISTORY),
    answer=_at_base,
    read=(names,),
)
def tables_after_base(lesson, answer):
    actual = _at_base(lesson)
    if sorted(answer) == sorted(actual):
        return "only alembic_version is left, and it holds no row: the database is at base."
    if "posts" in answer:
        raise NotYet("downgrade base ran 0001's downgrade() too, and it drops posts.")
    if not answer:
        raise NotYet("one table is left: Alembic keeps its own bookkeeping table, even at base.")
    if len(set(answer)) < len(answer):
        raise NotYet("one name is in your list twice: each table once.")
    raise NotYet(
        f"the database does not hold {', '.join(sorted(answer))}: look with lesson.tables()."
    )


def _round_trip(lesson) -> list[str]:
    """Up to 0004 by way of base, as the exercise asks (the rows are lost on the way)."""
    said = [] if not same_table(lesson, "posts") else bring_database_to(lesson, None, HISTORY)
    return said + bring_database_to(lesson, "0004", HISTORY)


def _posts_now(lesson) -> int:
    if lesson.version() != "0004":
        raise NotAttempted(
            f"the database is at {lesson.version() or 'base'}: run %alembic upgrade +1, "
            f"then %alembic upgrade head."
        )
    check_database(lesson, HISTORY)
    if same_table(lesson, "posts"):
        raise NotAttempted(
            "posts is still the table the lesson started with: the database never went down to "
            "base. Run %alembic downgrade base, then %alembic upgrade +1 and %alembic upgrade head."
        )
    return lesson.query("SELECT count(*) FROM posts")[0][0]


@exercise(
    hints=[
        "Go up one step, then all the way: %alembic upgrade +1, then %alembic upgrade head.",
        "Count: lesson.query('SELECT count(*) FROM posts'). Did the upgrade bring the rows back?",
    ],
    solution="%alembic upgrade +1\n%alembic upgrade head\nrows_after_round_trip = 0",
    apply=lambda lesson: _round_trip(lesson),
    answer=_posts_now,
    read=(count,),
)
def rows_after_round_trip(lesson, answer):
    actual = _posts_now(lesson)
    if answer == actual:
        return (
            "the tables are back, the rows are not: a downgrade that drops a table drops its "
            "data. Back up before you downgrade a database that matters."
        )
    if actual == 0 and answer > 0:
        raise NotYet(
            f"the {answer} post{'s' * (answer != 1)} lived in the table 0001's downgrade() dropped; "
            f"upgrading created a new, empty posts table. Count again."
        )
    raise NotYet(
        f"posts does not hold {answer} rows now: count them with lesson.query('SELECT count(*) FROM posts')."
    )
