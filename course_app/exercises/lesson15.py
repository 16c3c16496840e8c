"""Lesson 15, data migrations and enums: a PostgreSQL enum added to a table, a backfill of
100,000 rows in batches that does not lean on the models, and an enum value added and
used in one deploy.

The checks run the learner's revisions on scratch databases and judge what they leave:
the enum type and its labels (after the downgrade too), every row's status, how many
transactions wrote the rows (each row's ``xmin`` names the one that last wrote it: one
for all of them means one transaction held every row lock to the end), and whether the
backfill still works once app/models.py says something else, as it will in a year.
"""

import re
import time

from sqlalchemy import text

from course_app import locks, processes
from course_app.exercises import NotYet, exercise, scenes
from course_app.exercises.checks import explain_differences, reference_schema, revisions_written
from course_app.exercises.repair import put_revision

ROWS = ("INSERT INTO posts (title, body) VALUES ('Hello', 'Hi'), ('Again', 'Hi again')",)
# A hundred thousand posts and a few, some deleted: ids with a gap, and a last batch short.
MANY = 100_005
MANY_ROWS = (
    "INSERT INTO posts (title, body, published) "
    f"SELECT 'Post ' || i, 'Hi', i % 4 <> 0 FROM generate_series(1, {MANY}) i",
    "DELETE FROM posts WHERE id > 40000 AND id <= 40050",
)
LEFT = MANY - 50
SAMPLE = [1, 12_500, 25_000, 37_500, 50_000, 62_500, 75_000, 87_500, 100_005]
PARTLY = (
    "SELECT count(*) FILTER (WHERE status IS NULL) > 0 AND count(*) FILTER (WHERE status IS "
    "NOT NULL) > 0 FROM posts WHERE id = ANY(:ids)"
)
OLD_AND_NEW = (
    "INSERT INTO posts (title, body, published, status, created_at) VALUES "
    "('Old draft', 'Hi', false, 'draft', '2020-05-01'), "
    "('New draft', 'Hi', false, 'draft', '2026-11-01'), "
    "('Old post', 'Hi', true, 'published', '2020-05-01'), "
    "('Draft of the last day of 2024', 'Hi', false, 'draft', '2024-12-31 12:00+00'), "
    "('Draft of 2025', 'Hi', false, 'draft', '2025-06-01')",
)
ARCHIVED = ["archived", "draft", "published", "archived", "draft"]
DOWN_AGAIN = ["draft", "draft", "published", "draft", "draft"]
WHAT = {
    "0015": "add post status",
    "0016": "backfill post status",
    "0017": "add archived status",
    "0018": "archive old drafts",
}


def _revisions(lesson, *revisions: str) -> None:
    revisions_written(lesson, *((r, WHAT[r]) for r in revisions))


def _alembic(copy, name: str, *argv: str, timeout: float = 60):
    ran = processes.run("alembic", list(argv), copy, scenes.env(name), timeout=timeout)
    if ran.returncode is None:
        raise NotYet(f"`alembic {' '.join(argv)}` was still running after {timeout:.0f} s.")
    return ran


def _put(lesson, *revisions: str) -> list[str]:
    return [line for revision in revisions for line in put_revision(lesson, revision)]


def _failed(ran, argv: str) -> NotYet:
    return NotYet(f"`alembic {argv}` fails on a copy of the database: {scenes.error(ran.output)}")


# -- 1. an enum on a table that exists ---------------------------------------------------------


@exercise(
    hints=[
        "op.add_column does not create the enum type (op.create_table would): "
        'status = sa.Enum("draft", "published", name="post_status"), then '
        "status.create(op.get_bind()) before the add_column.",
        "op.drop_column leaves the type behind: status.drop(op.get_bind()) after it, in "
        "downgrade().",
    ],
    reference="0015",
    apply=lambda lesson: _put(lesson, "0015"),
)
def status_type(lesson):
    _revisions(lesson, "0015")
    with scenes.scene(lesson, "st", "0014", rows=ROWS) as (name, copy):
        ran = _alembic(copy, name, "upgrade", "0015")
        if 'type "post_status" does not exist' in ran.output:
            raise NotYet(
                '`alembic upgrade 0015` fails: type "post_status" does not exist. '
                "op.add_column does not create an enum type (op.create_table would): create it "
                "first, status.create(op.get_bind())."
            )
        if ran.returncode != 0:
            raise _failed(ran, "upgrade 0015")
        built = scenes.snapshot(name)
        if built != reference_schema("0015"):
            raise NotYet(
                "alembic/versions/0015_*.py: "
                + explain_differences(
                    reference_schema("0015"), built, "the exercise", "after upgrade 0015"
                )
            )
        ran = _alembic(copy, name, "downgrade", "0014")
        if ran.returncode != 0:
            raise _failed(ran, "downgrade 0014")
        back = scenes.snapshot(name)
        if back.enums:
            raise NotYet(
                f"after downgrade 0014, the enum type {sorted(back.enums)[0][0]} is still there: "
                f"op.drop_column leaves it, so the database is not what 0014 built (and an "
                f"upgrade that creates it without checkfirst fails on it). Drop it in "
                f"downgrade(), after the column: status.drop(op.get_bind())."
            )
        if back != reference_schema("0014"):
            raise NotYet(
                "0015's downgrade() does not undo its upgrade(): "
                + explain_differences(reference_schema("0014"), back, "0014", "after downgrade")
            )
        ran = _alembic(copy, name, "upgrade", "0015")
        if ran.returncode != 0:
            raise NotYet(
                f"upgrade 0015, downgrade 0014, upgrade 0015 again: the second upgrade fails "
                f"({scenes.error(ran.output)})."
            )
    return (
        "the type is created before the column and dropped after it: upgrade, downgrade and "
        "upgrade again leave nothing behind."
    )


# -- 2. a backfill in batches --------------------------------------------------------------------

WRONG_STATUS = (
    "SELECT count(*) FROM posts WHERE status IS DISTINCT FROM "
    "(CASE WHEN published THEN 'published' ELSE 'draft' END)::post_status"
)


def _a_year_later(copy) -> None:
    """app/models.py as it may read in a year: the posts table renamed to articles."""
    models = copy / "app" / "models.py"
    models.write_text(
        re.sub(r'__tablename__ = "posts"', '__tablename__ = "articles"', models.read_text())
    )


def _watched(copy, name: str, argv: list[str], timeout: float = 60):
    """Run ``alembic ARGV`` and look, while it runs, at a few posts spread over the table:
    did some have their status while others had not yet? Only a committed batch shows
    (a savepoint, or a batch in one long transaction, shows nothing until the end)."""
    run = processes.Run("alembic", argv, copy, scenes.env(name))
    seen_partly, deadline = False, time.monotonic() + timeout
    with locks.watching(name) as conn:
        while run.running() and time.monotonic() < deadline:
            seen_partly = seen_partly or bool(conn.execute(text(PARTLY), {"ids": SAMPLE}).scalar())
            time.sleep(0.003)
    return run.finish(timeout=1), seen_partly


def _in_one_upgrade(lesson) -> None:
    """0015 and 0016 in one `upgrade`, as the lesson deploys them: a backfill on a connection
    of its own waits for 0015's lock on posts, held by Alembic's transaction, for good."""
    with scenes.scene(lesson, "b1", "0014", rows=ROWS) as (name, copy):
        both = locks.Process(
            name, "migration", "alembic", ["upgrade", "0016"], copy, scenes.env(name)
        )
        if both.waiting:
            locks.terminate(name, "migration")
            both.finish(timeout=10)
            raise NotYet(
                "`alembic upgrade 0016` from 0014 (0015 and 0016 in one upgrade, as a deploy runs "
                "them) waits for good: 0016 writes through a connection of its own, which waits "
                "for the lock 0015's ADD COLUMN holds in Alembic's transaction. Use op.get_bind(), "
                "in an autocommit block."
            )
        if both.finish(timeout=30).returncode != 0:
            raise NotYet(
                f"`alembic upgrade 0016` from 0014 (0015 and 0016 in one upgrade) fails: "
                f"{scenes.error(both.output)}"
            )


@exercise(
    hints=[
        "In an autocommit block, loop over id ranges of 10,000 and run one UPDATE a range, "
        "with the range's ends as bind parameters: sa.text(\"... WHERE id > :low AND id <= "
        ':high"), {"low": ..., "high": ...}. Each UPDATE then commits on its own.',
        'Describe what you need of posts with sa.table("posts", sa.column("id")), never '
        "with app.models: the models will change, this revision must not. The value is "
        "CASE WHEN published THEN 'published' ELSE 'draft' END::post_status.",
    ],
    reference="0016",
    apply=lambda lesson: _put(lesson, "0015", "0016"),
    after=(status_type,),
)
def backfill(lesson):
    from concurrent.futures import ThreadPoolExecutor

    _revisions(lesson, "0015", "0016")
    with ThreadPoolExecutor(1) as pool:  # the one-upgrade run beside, on a database of its own
        together = pool.submit(_in_one_upgrade, lesson)
        batches = _backfill(lesson)
        together.result()
    return (
        f"the {LEFT:,} posts got their status in {batches} batches, each committed on its own, "
        f"and the revision works the same with models that have changed, and in one upgrade "
        f"with 0015."
    )


def _backfill(lesson) -> int:
    """The backfill on some 100,000 posts, watched; how many transactions wrote them."""
    with scenes.scene(lesson, "bf", "0015", rows=MANY_ROWS) as (name, copy):
        models = (copy / "app" / "models.py").read_text()
        _a_year_later(copy)
        ran, partly = _watched(copy, name, ["upgrade", "0016"], timeout=90)
        if ran.returncode is None:
            raise NotYet(
                f"`alembic upgrade 0016` was still running after 90 s: {LEFT:,} rows take a "
                f"second or two in batches. Is there a pause between batches, or a loop that "
                f"never ends?"
            )
        if ran.returncode != 0:
            (copy / "app" / "models.py").write_text(models)  # as they are today: does it work?
            if "articles" in ran.output or _alembic(copy, name, "upgrade", "0016").returncode == 0:
                raise NotYet(
                    "0016 fails once app/models.py says something else (here, posts renamed to "
                    "articles, as may happen in a year): it reads the models. Describe the "
                    'table with sa.table("posts", sa.column(...)) in the revision itself.'
                )
            raise _failed(ran, "upgrade 0016")
        if scenes.version(name) != ["0016"]:
            raise NotYet(
                f"`alembic upgrade 0016` said it was done, but the database is at "
                f"{', '.join(scenes.version(name)) or 'base'}: a commit() of your own ended "
                f"Alembic's transaction, and the version it writes at the end was lost. Use "
                f"`with op.get_context().autocommit_block():` instead."
            )
        wrong = scenes.scalars(name, WRONG_STATUS)[0]
        if wrong:
            raise NotYet(
                f"after upgrade 0016, {wrong:,} of the {LEFT:,} posts have the wrong status "
                f"(NULL, or not what published says): 'published' for a published post, 'draft' "
                f"else. (Their ids go up to {MANY:,}, with a gap, and the last batch is short.)"
            )
        largest = scenes.scalars(
            name, "SELECT max(n) FROM (SELECT count(*) AS n FROM posts GROUP BY xmin::text) t"
        )[0]
        if not partly or largest == LEFT:
            raise NotYet(
                f"no batch showed before the last one was done: one transaction wrote the "
                f"{LEFT:,} rows (savepoints, or batches inside Alembic's transaction, commit "
                f"nothing), and kept every one of them locked until the end. Commit each batch: "
                f"one UPDATE a batch, in `with op.get_context().autocommit_block():`."
            )
        batches = scenes.scalars(name, "SELECT count(DISTINCT xmin::text) FROM posts")[0]
        if largest > 50_000:
            raise NotYet(
                f"one batch wrote {largest:,} rows, and kept them locked until it was done: "
                f"take 1,000 to 50,000 rows a batch (10,000, say)."
            )
        if batches > LEFT // 1000:
            raise NotYet(
                f"{batches:,} transactions wrote the {LEFT:,} rows: batches that small make the "
                f"backfill slow (a commit each). Take 1,000 to 50,000 rows a batch."
            )
        ran = _alembic(copy, name, "downgrade", "0015")
        if ran.returncode != 0:
            raise _failed(ran, "downgrade 0015")
    return batches


# -- 3. a new value, used in the same deploy -----------------------------------------------------


@exercise(
    hints=[
        "ALTER TYPE post_status ADD VALUE 'archived' may run in a transaction, but the value "
        "cannot be used before that transaction commits; `upgrade head` runs 0017 and 0018 in "
        "one. Run the ALTER TYPE in `with op.get_context().autocommit_block():`.",
        "PostgreSQL cannot drop an enum value: let 0017's downgrade leave it, and add it "
        "IF NOT EXISTS, so that up, down and up again works. 0018's downgrade turns archived "
        "posts back into drafts.",
    ],
    reference="0018",
    apply=lambda lesson: _put(lesson, "0015", "0016", "0017", "0018"),
    after=(backfill,),
)
def archived(lesson):
    _revisions(lesson, "0015", "0016", "0017", "0018")
    with scenes.scene(lesson, "ar", "0016", rows=OLD_AND_NEW) as (name, copy):
        ran = _alembic(copy, name, "upgrade", "head")
        if "unsafe use of new value" in ran.output:
            raise NotYet(
                '`alembic upgrade head` from 0016 fails: unsafe use of new value "archived". '
                "A value added by ALTER TYPE cannot be used before its transaction commits, and "
                "Alembic runs 0017 and 0018 in one: put the ALTER TYPE in "
                "`with op.get_context().autocommit_block():`."
            )
        if ran.returncode != 0:
            raise _failed(ran, "upgrade head")
        if scenes.version(name) != ["0018"]:
            raise NotYet(
                f"`alembic upgrade head` said it was done, but the database is at "
                f"{', '.join(scenes.version(name)) or 'base'}: a commit() of your own ended "
                f"Alembic's transaction, and what came after it was rolled back. Use "
                f"`with op.get_context().autocommit_block():`."
            )
        labels = dict(scenes.snapshot(name).enums).get("post_status")
        if labels != ("draft", "published", "archived"):
            raise NotYet(
                f"after upgrade head, post_status has the values {labels}: add 'archived' after "
                f"the two there are."
            )
        statuses = scenes.scalars(name, "SELECT status::text FROM posts ORDER BY id")
        if statuses != ARCHIVED:
            raise NotYet(
                f"after upgrade head, drafts from 2020, 2026, the last day of 2024 and 2025, and "
                f"a post published in 2020, have the statuses {statuses}: archive only the "
                f"drafts created before 2025 (a bind parameter for the date)."
            )
        ran = _alembic(copy, name, "downgrade", "0016")
        if ran.returncode != 0:
            raise _failed(ran, "downgrade 0016")
        if "status" not in scenes.snapshot(name).tables["posts"].columns:
            raise NotYet(
                "after downgrade 0016, posts.status is gone: DROP TYPE ... CASCADE drops every "
                "column of that type too. PostgreSQL cannot drop an enum value: leave it."
            )
        statuses = scenes.scalars(name, "SELECT status::text FROM posts ORDER BY id")
        if statuses != DOWN_AGAIN:
            published = "published" in [
                s for s, o in zip(statuses, DOWN_AGAIN, strict=True) if s != o
            ]
            raise NotYet(
                f"after downgrade 0016, the posts have the statuses {statuses}: nothing at 0016 "
                f"knows 'archived'. 0018's downgrade should make the archived posts drafts again "
                f"(hidden, as they were)" + (", not published." if published else ".")
            )
        ran = _alembic(copy, name, "upgrade", "head")
        if "already exists" in ran.output:
            raise NotYet(
                'up, down and up again fails: enum label "archived" already exists. PostgreSQL '
                "cannot drop an enum value, so it stayed: add it with ADD VALUE IF NOT EXISTS."
            )
        if ran.returncode != 0:
            raise _failed(ran, "upgrade head (again)")
    return (
        "`upgrade head` adds 'archived' and uses it in one deploy, the downgrade hides the "
        "archived posts as drafts, and up, down and up again works."
    )
