"""Lesson 5, going back: downgrade by id, by -N and to base; what it does to data."""

from course_app.exercises import NotAttempted, NotYet, exercise, run


def _at(lesson, wanted: str, command: str, order=("0001", "0002", "0003", "0004")):
    at = lesson.version()
    if at == wanted:
        return
    if at == "0004":
        raise NotAttempted(f"the database is still at 0004: run %alembic {command}.")
    if at is None or (at in order and order.index(at) < order.index(wanted)):
        raise NotYet(
            f"the database is at {at or 'base'}: you went past {wanted}. "
            f"Go forward again with %alembic upgrade {wanted}."
        )
    raise NotYet(f"the database is at {at}, not {wanted}: run %alembic current, then {command}.")


@exercise(
    hints=[
        "`alembic downgrade <revision>` stops at that revision, with its upgrade still applied.",
        "The users table arrives in 0003: %alembic downgrade 0003",
    ],
    solution="%alembic downgrade 0003",
    apply=lambda lesson: run(lesson, "downgrade", "0003"),
)
def back_to_users(lesson):
    _at(lesson, "0003", "downgrade 0003")
    return "downgrade 0003 ran 0004's downgrade(): owner_id and its foreign key are gone."


@exercise(
    hints=[
        "A relative step counts revisions from where the database is: -1, -2, ...",
        "From 0003, two steps down: %alembic downgrade -2",
    ],
    solution="%alembic downgrade -2",
    apply=lambda lesson: run(lesson, "downgrade", "-2"),
)
def two_steps_down(lesson):
    _at(lesson, "0001", "downgrade -2")
    return "two downgrade() functions ran, 0003's then 0002's: users and the post columns are gone."


@exercise(
    hints=[
        "Run %alembic downgrade base, then look: lesson.tables()",
        "Every downgrade() ran, down to 0001's, which drops posts. What table does Alembic keep?",
    ],
    solution='tables_after_base = ["alembic_version"]   # empty: no revision applied',
)
def tables_after_base(lesson, answer):
    if lesson.version() is not None:
        raise NotAttempted(
            f"the database is at {lesson.version()}: run %alembic downgrade base first."
        )
    actual = lesson.tables()
    given = sorted(answer)
    if given == actual:
        return "only alembic_version is left, and it holds no row: the database is at base."
    if "posts" in given:
        raise NotYet("downgrade base ran 0001's downgrade() too, and it drops posts.")
    raise NotYet(f"the tables now are {actual}; your list is {given}.")


@exercise(
    hints=[
        "Go up one step, then all the way: %alembic upgrade +1, then %alembic upgrade head.",
        "Count: lesson.query('SELECT count(*) FROM posts'). Did the upgrade bring the rows back?",
    ],
    solution="%alembic upgrade +1\n%alembic upgrade head\nrows_after_round_trip = 0",
)
def rows_after_round_trip(lesson, answer):
    if lesson.version() != "0004":
        raise NotAttempted(
            f"the database is at {lesson.version() or 'base'}: run %alembic upgrade +1, "
            f"then %alembic upgrade head."
        )
    actual = lesson.query("SELECT count(*) FROM posts")[0][0]
    if answer == actual:
        return (
            "the tables are back, the rows are not: a downgrade that drops a table drops its "
            "data. Back up before you downgrade a database that matters."
        )
    if answer == 2:
        raise NotYet(
            "the two posts were in the table 0001's downgrade() dropped; upgrading created a "
            "new, empty posts table. Count again."
        )
    raise NotYet(f"posts holds {actual} rows, not {answer}.")
