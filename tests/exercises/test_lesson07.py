"""Lesson 7, the capstone: wired env.py, a history that builds the models, both ways, applied."""

import pytest

from course_app import lessons, stage_models
from course_app.exercises import lesson07 as ex
from course_app.exercises.checks import reference_file
from course_app.exercises.lesson02 import stock_env
from tests.exercises.catalogue import (
    alembic,
    assert_case,
    copy_reference,
    edit,
    ids,
    query,
    reference,
    replace_function,
    revision_with,
    right,
    steps,
    write,
    wrong,
)

AUTOGEN = ("revision", "--autogenerate", "-m", "create blog schema", "--rev-id", "0001")
ENV = "alembic/env.py"


def wire(lesson):
    alembic("init", "alembic")(lesson)
    write(ENV, stock_env(metadata=True, url=True))(lesson)


def prepare(exercise):
    lesson = lessons.start(7)
    if exercise is not ex.wired:
        wire(lesson)
    if exercise is ex.round_trip or exercise is ex.lesson_database_at_head:
        alembic(*AUTOGEN)(lesson)
    return lesson


def two_revisions_by_hand(lesson):
    """users and posts first, votes second: a correct history of another shape."""
    copy_reference("0001", "0002", "0003", "0004")(lesson)
    alembic("upgrade", "head")(lesson)
    alembic("revision", "--autogenerate", "-m", "votes", "--rev-id", "0005")(lesson)


def merged_history(lesson):
    """users on one branch, posts on another, then a merge and votes: what two people make."""
    write("alembic/versions/a1_users.py", _one("a1", None, _body("0003")))(lesson)
    write("alembic/versions/b1_posts.py", _one("b1", None, _join("0001", "0002")))(lesson)
    alembic("merge", "heads", "-m", "merge", "--rev-id", "m1")(lesson)
    write("alembic/versions/v1_votes.py", _one("v1", "m1", _join("0004", "0005")))(lesson)


def _one(rev, down, body) -> str:
    up, back = body
    return (
        f'"""{rev}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision = "{rev}"\n'
        f"down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{up}\n\n\ndef downgrade() -> None:\n{back}\n"
    )


def _body(revision: str) -> tuple[str, str]:
    """The bodies of a reference revision's upgrade() and downgrade()."""
    source = reference_file(revision).read_text()
    up = source[source.index("def upgrade() -> None:\n") + 23 : source.index("\n\n\ndef downgrade")]
    back = source[source.index("def downgrade() -> None:\n") + 25 :].rstrip()
    return up, back


def _join(first: str, second: str) -> tuple[str, str]:
    (up1, back1), (up2, back2) = _body(first), _body(second)
    return up1 + "\n" + up2, back2 + "\n" + back1


W, B, T, H = ex.wired, ex.history_builds_models, ex.round_trip, ex.lesson_database_at_head
CASES = [
    wrong(W, "another folder", alembic("init", "migrations"), names="alembic/env.py"),
    wrong(
        W,
        "target_metadata left None",
        steps(alembic("init", "alembic"), write(ENV, stock_env(metadata=False, url=True))),
        names="target_metadata",
    ),
    wrong(
        W,
        "an empty MetaData",
        steps(
            alembic("init", "alembic"),
            write(
                ENV,
                stock_env(metadata=False, url=True).replace(
                    "target_metadata = None",
                    "from sqlalchemy import MetaData\n\ntarget_metadata = MetaData()",
                ),
            ),
        ),
        names="no tables",
    ),
    wrong(
        W,
        "the URL pasted in",
        steps(
            alembic("init", "alembic"),
            lambda lesson: write(
                ENV,
                stock_env(metadata=True, url=False).replace(
                    "config = context.config\n",
                    "config = context.config\nconfig.set_main_option('sqlalchemy.url', "
                    + repr(
                        lesson.engine().url.render_as_string(hide_password=False).replace("%", "%%")
                    )
                    + ")\n",
                ),
            )(lesson),
        ),
        names=r"alembic/env\.py, line \d+",
    ),
    wrong(
        W,
        "the URL only for online runs",
        steps(
            alembic("init", "alembic"),
            write(
                ENV,
                stock_env(metadata=True, url=False).replace(
                    "    connectable = engine_from_config(",
                    "    from app.config import settings\n\n    config.set_main_option('sqlalchemy.url', settings.database_url.replace('%', '%%'))\n    connectable = engine_from_config(",
                ),
            ),
        ),
        names="offline",
    ),
    wrong(W, "not started", names="alembic init", outcome="not attempted"),
    right(
        W,
        "imports at the top",
        steps(
            alembic("init", "alembic"),
            write(
                ENV,
                "from app.config import settings\nfrom app.models import Base\n"
                + stock_env(metadata=False, url=False)
                .replace("target_metadata = None", "target_metadata = Base.metadata")
                .replace(
                    "config = context.config\n",
                    'config = context.config\nconfig.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))\n',
                ),
            ),
        ),
    ),
    wrong(
        W,
        "the async template, edited",
        steps(
            alembic("init", "-t", "async", "alembic"),
            edit(
                ENV,
                (
                    "target_metadata = None",
                    "from app.models import Base\n\ntarget_metadata = Base.metadata",
                ),
            ),
        ),
        names="async",
    ),
    reference(W, wire),
    wrong(B, "votes missing", copy_reference("0001", "0002", "0003", "0004"), names="votes"),
    wrong(
        B,
        "one revision that calls create_all",
        steps(
            alembic("revision", "-m", "everything", "--rev-id", "0001"),
            replace_function(
                "0001_*.py",
                "upgrade",
                "from app.models import Base\n\nBase.metadata.create_all(op.get_bind())",
            ),
            replace_function(
                "0001_*.py",
                "downgrade",
                "from app.models import Base\n\nBase.metadata.drop_all(op.get_bind())",
            ),
        ),
        names=r"0001_everything\.py, line \d+",
    ),
    wrong(
        B,
        "timestamps without time zone",
        steps(
            copy_reference("0001", "0002", "0004", "0005"),
            revision_with("0003", ("sa.TIMESTAMP(timezone=True)", "sa.DateTime()")),
        ),
        names="users.created_at",
    ),
    wrong(
        B,
        "default= instead of server_default=",
        steps(
            copy_reference("0001", "0003", "0004", "0005"),
            revision_with("0002", ('server_default=sa.text("true")', "default=True")),
        ),
        names="posts.published",
    ),
    wrong(
        B,
        "two heads",
        steps(
            alembic(*AUTOGEN),
            write(
                "alembic/versions/9000_again.py",
                reference_file("0001")
                .read_text()
                .replace('revision: str = "0001"', 'revision: str = "9000"'),
            ),
        ),
        names="heads",
    ),
    wrong(
        B,
        "an empty revision on top",
        steps(
            alembic(*AUTOGEN),
            alembic("upgrade", "head"),
            alembic("revision", "--autogenerate", "-m", "again"),
        ),
        names="stray",
    ),
    wrong(
        B,
        "the models edited to fit a history without votes",
        steps(
            copy_reference("0001", "0002", "0003", "0004"),
            lambda lesson: (lesson.path / "app" / "models.py").write_text(
                stage_models.models_source("0004")
            ),
        ),
        names="votes",
    ),
    wrong(
        B,
        "email not unique",
        steps(
            copy_reference("0001", "0002", "0004", "0005"),
            revision_with(
                "0003", ('        sa.UniqueConstraint("email", name=op.f("uq_users_email")),\n', "")
            ),
        ),
        names="users",
    ),
    wrong(B, "nothing yet", names="no revision", outcome="not attempted"),
    right(
        B,
        "the reference history, five revisions",
        copy_reference("0001", "0002", "0003", "0004", "0005"),
    ),
    right(B, "four by hand and votes autogenerated", two_revisions_by_hand),
    right(B, "two branches joined by a merge", merged_history),
    reference(B, alembic(*AUTOGEN)),
    wrong(
        T,
        "a downgrade that does nothing",
        replace_function("0001_*.py", "downgrade", "pass"),
        names=r"0001_create_blog_schema\.py: its downgrade\(\) does not undo",
    ),
    wrong(
        T,
        "tables dropped in the wrong order",
        replace_function(
            "0001_*.py",
            "downgrade",
            'op.drop_table("users")\nop.drop_table("posts")\nop.drop_table("votes")',
        ),
        names="users",
    ),
    wrong(
        T,
        "votes forgotten in the downgrade",
        replace_function(
            "0001_*.py", "downgrade", 'op.drop_table("votes")\nop.drop_table("posts")'
        ),
        names="users",
    ),
    wrong(
        T,
        "an irreversible downgrade",
        replace_function("0001_*.py", "downgrade", 'raise NotImplementedError("no way back")'),
        names=r"0001_create_blog_schema\.py, line \d+",
    ),
    wrong(
        T,
        "a history that does not build the models",
        replace_function(
            "0001_*.py",
            "upgrade",
            'op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True))',
        ),
        names="exercise before",
    ),
    right(
        T,
        "the reference history",
        steps(
            lambda lesson: [p.unlink() for p in lesson.versions.glob("*.py")],
            copy_reference("0001", "0002", "0003", "0004", "0005"),
        ),
    ),
    right(
        T,
        "drop_table with if_exists",
        replace_function(
            "0001_*.py",
            "downgrade",
            'op.drop_table("votes", if_exists=True)\nop.drop_table("posts", if_exists=True)\nop.drop_table("users", if_exists=True)',
        ),
    ),
    wrong(
        T,
        "a later drop hides a downgrade that does nothing",
        steps(
            lambda lesson: [p.unlink() for p in lesson.versions.glob("*.py")],
            copy_reference("0001", "0002", "0003"),
            revision_with(
                "0004",
                (
                    '    op.drop_constraint(op.f("fk_posts_owner_id_users"), "posts", type_="foreignkey")\n    op.drop_column("posts", "owner_id")',
                    "    pass",
                ),
            ),
            copy_reference("0005"),
        ),
        names=r"0004_add_posts_owner_fk\.py",
    ),
    reference(T, lambda lesson: None),
    wrong(H, "stamp head", alembic("stamp", "head"), names="stamp"),
    wrong(H, "not applied", names="upgrade head", outcome="not attempted"),
    wrong(
        H,
        "halfway",
        steps(
            lambda lesson: [p.unlink() for p in lesson.versions.glob("*.py")],
            copy_reference("0001", "0002", "0003", "0004", "0005"),
            alembic("upgrade", "0003"),
        ),
        names="0005",
    ),
    wrong(
        H,
        "a column dropped by hand",
        steps(alembic("upgrade", "head"), query("ALTER TABLE posts DROP COLUMN published")),
        names="posts",
    ),
    wrong(
        H,
        "a history without votes applied",
        steps(
            lambda lesson: [p.unlink() for p in lesson.versions.glob("*.py")],
            copy_reference("0001", "0002", "0003", "0004"),
            alembic("upgrade", "head"),
        ),
        names="votes",
    ),
    right(H, "upgrade by id", alembic("upgrade", "0001")),
    right(H, "upgrade +1", alembic("upgrade", "+1")),
    reference(H, alembic("upgrade", "head")),
]


# Found by a hunt for wrong work that passed: a downgrade through the models.
DROP_ALL = "from app.models import Base\n\nBase.metadata.drop_all(op.get_bind())"
CASES += [
    wrong(
        B,
        "a downgrade that drops the tables with drop_all",
        steps(alembic(*AUTOGEN), replace_function("0001_*.py", "downgrade", DROP_ALL)),
        names=r"0001_create_blog_schema\.py, line \d+ \(`Base\.metadata\.drop_all",
    ),
    wrong(
        T,
        "a downgrade that drops the tables with drop_all",
        replace_function("0001_*.py", "downgrade", DROP_ALL),
        names=r"0001_create_blog_schema\.py",
    ),
    wrong(
        W,
        "a statement before begin_transaction: every migration rolled back",
        steps(
            wire,
            edit(
                ENV,
                (
                    "    with connectable.connect() as connection:\n",
                    "    with connectable.connect() as connection:\n"
                    '        connection.exec_driver_sql("select 1")\n',
                ),
            ),
        ),
        names=r"alembic/env\.py, line \d+.*does not last",
    ),
]


# Found by a second hunt: a downgrade wrong either way is round_trip's, not a model's.
CASES += [
    right(
        B,
        "a downgrade that does nothing (round_trip's business)",
        steps(alembic(*AUTOGEN), replace_function("0001_*.py", "downgrade", "pass")),
    ),
    wrong(
        H,
        "the database at a revision whose file was moved aside",
        steps(
            lambda lesson: next(lesson.versions.glob("0001_*.py")).unlink(),
            alembic("revision", "--autogenerate", "-m", "blog", "--rev-id", "abc"),
            alembic("upgrade", "head"),
            lambda lesson: next(lesson.versions.glob("abc_*.py")).unlink(),
            copy_reference("0001", "0002", "0003", "0004", "0005"),
        ),
        names="stamp --purge",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)
