"""Lesson 14: expand and contract. The checks run the old release (content) and the new one
(body) against the learner's revisions and models, on copies of the database."""

import pytest

from course_app import lessons
from course_app.exercises import lesson14 as ex
from tests.exercises.catalogue import (
    assert_apply_unblocks,
    assert_case,
    edit,
    ids,
    reference,
    revision_with,
    right,
    wrong,
)


def prepare(exercise):
    lesson = lessons.start(14)
    lesson.query(ex.ROWS[0])
    if exercise is ex.contract:
        ex.expand.apply()
    return lesson


def expand(*changes):
    return revision_with("0013", *changes)


def contract(*changes):
    return revision_with("0014", *changes)


BACKFILL = (
    "    with op.get_context().autocommit_block():\n"
    '        op.execute("UPDATE posts SET body = content WHERE body IS NULL")\n'
)
TRIGGER = (
    "    op.execute(\n"
    '        "CREATE TRIGGER posts_body_sync BEFORE INSERT OR UPDATE ON posts "\n'
    '        "FOR EACH ROW EXECUTE FUNCTION posts_body_sync()"\n'
    "    )\n"
)
MAKE = "    op.execute(SYNC)\n" + TRIGGER
DROPS = '    op.execute("DROP TRIGGER posts_body_sync ON posts")\n    op.execute("DROP FUNCTION posts_body_sync()")\n'
MODELS = "    content: Mapped[str] = mapped_column(String, nullable=False)"


def models(line: str):
    return edit("app/models.py", (MODELS, line))


E, R, C = ex.expand, ex.new_release, ex.contract
CASES = [
    # -- expand
    wrong(E, "no revision yet", names="no revision 0013", outcome="not attempted"),
    wrong(
        E,
        "the column and the copy, no trigger",
        expand((MAKE, "")),
        names="the old release.*body = None",
    ),
    wrong(
        E,
        "the copy in the ADD COLUMN's transaction",
        expand(
            (BACKFILL, '    op.execute("UPDATE posts SET body = content WHERE body IS NULL")\n')
        ),
        names="read every row of posts while the ADD COLUMN's ACCESS EXCLUSIVE",
    ),
    wrong(
        E,
        "no copy of the old rows",
        expand((BACKFILL, "")),
        names="posts already there have a body that is not",
    ),
    wrong(
        E,
        "a trigger on INSERT only",
        expand(("BEFORE INSERT OR UPDATE", "BEFORE INSERT")),
        names="on UPDATE too",
    ),
    wrong(
        E,
        "a trigger from content to body only",
        expand(("        NEW.content := coalesce(NEW.content, NEW.body);\n", "")),
        names="INSERT by the new release.*fails",
    ),
    wrong(
        E,
        "a downgrade that leaves the function",
        expand(('    op.execute("DROP FUNCTION posts_body_sync()")\n', "")),
        names="function posts_body_sync\\(\\) is still there",
    ),
    wrong(
        E,
        "body as Text",
        expand(
            (
                'sa.Column("body", sa.String(), nullable=True)',
                'sa.Column("body", sa.Text(), nullable=True)',
            )
        ),
        names="body",
    ),
    wrong(
        E,
        "a rename in one step",
        expand(
            (
                '    op.add_column("posts", sa.Column("body", sa.String(), nullable=True))\n'
                + MAKE
                + BACKFILL,
                '    op.alter_column("posts", "content", new_column_name="body")\n',
            ),
            (
                DROPS + '    op.drop_column("posts", "body")\n',
                '    op.alter_column("posts", "body", new_column_name="content")\n',
            ),
        ),
        names="content",
    ),
    wrong(
        E,
        "the trigger after the copy",
        expand((MAKE + BACKFILL, BACKFILL + MAKE)),
        names="copy of the old rows ran before the trigger",
    ),
    wrong(
        E,
        "a generated column",
        expand(
            (
                '    op.add_column("posts", sa.Column("body", sa.String(), nullable=True))\n'
                + MAKE
                + BACKFILL,
                "    with op.get_context().autocommit_block():\n"
                '        op.execute("ALTER TABLE posts ADD COLUMN body varchar GENERATED ALWAYS AS (content) STORED")\n',
            ),
            (DROPS, ""),
        ),
        names="INSERT by the new release.*fails|generated column",
    ),
    wrong(
        E,
        "a trigger that fires on DELETE too",
        expand(
            ("BEFORE INSERT OR UPDATE", "BEFORE INSERT OR UPDATE OR DELETE"),
            (
                "    ELSIF NEW.content IS DISTINCT FROM OLD.content THEN",
                "    ELSIF TG_OP = 'UPDATE' AND NEW.content IS DISTINCT FROM OLD.content THEN",
            ),
            (
                "    ELSIF NEW.body IS DISTINCT FROM OLD.body THEN",
                "    ELSIF TG_OP = 'UPDATE' AND NEW.body IS DISTINCT FROM OLD.body THEN",
            ),
        ),
        names="deleted a post, and it is still there",
    ),
    wrong(
        E,
        "one batch of the copy",
        expand(
            (
                'WHERE body IS NULL")',
                'WHERE id IN (SELECT id FROM posts WHERE body IS NULL LIMIT 1000)")',
            )
        ),
        names="posts already there have a body that is not their content",
    ),
    right(
        E,
        "two triggers, one a direction, names of its own",
        expand(
            (
                MAKE,
                '    op.execute("CREATE FUNCTION copy_body() RETURNS trigger LANGUAGE plpgsql AS '
                "$$ BEGIN IF TG_OP = 'INSERT' OR NEW.content IS DISTINCT FROM OLD.content THEN "
                'NEW.body := NEW.content; ELSE NEW.content := NEW.body; END IF; RETURN NEW; END $$")\n'
                '    op.execute("CREATE FUNCTION fill_content() RETURNS trigger LANGUAGE plpgsql AS '
                '$$ BEGIN NEW.content := coalesce(NEW.content, NEW.body); RETURN NEW; END $$")\n'
                '    op.execute("CREATE TRIGGER a_fill BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION fill_content()")\n'
                '    op.execute("CREATE TRIGGER b_copy BEFORE INSERT OR UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION copy_body()")\n',
            ),
            (
                DROPS,
                '    op.execute("DROP TRIGGER a_fill ON posts")\n    op.execute("DROP TRIGGER b_copy ON posts")\n'
                '    op.execute("DROP FUNCTION fill_content()")\n    op.execute("DROP FUNCTION copy_body()")\n',
            ),
        ),
    ),
    right(
        E,
        "the copy in batches, each its own transaction",
        expand(
            (
                BACKFILL,
                "    with op.get_context().autocommit_block():\n"
                "        while op.get_bind().exec_driver_sql(\n"
                '            "UPDATE posts SET body = content WHERE id IN "\n'
                '            "(SELECT id FROM posts WHERE body IS NULL LIMIT 1)"\n'
                "        ).rowcount:\n"
                "            pass\n",
            )
        ),
    ),
    reference(E, lambda lesson: ex.expand.apply()),
    # -- the new release's models
    wrong(R, "the models as they were", names="still maps content", outcome="not attempted"),
    wrong(
        R,
        "content and body both mapped",
        models(MODELS + "\n    body: Mapped[str | None] = mapped_column(String)"),
        names="must not map content",
    ),
    wrong(
        R,
        "body nullable",
        models("    body: Mapped[str | None] = mapped_column(String)"),
        names="NOT NULL",
    ),
    wrong(
        R,
        "an attribute named body on the content column",
        models('    body: Mapped[str] = mapped_column("content", String, nullable=False)'),
        names="mapped to another column",
    ),
    wrong(
        R,
        "body as Text",
        models("    body: Mapped[str] = mapped_column(Text, nullable=False)"),
        names="posts.body",
    ),
    wrong(
        R,
        "a typo that stops the import",
        models("    body: Mapped[str] = mapped_column(String, nullable=False"),
        names="does not import",
    ),
    right(
        R,
        "the attribute keeps its name, on the body column",
        models('    content: Mapped[str] = mapped_column("body", String, nullable=False)'),
    ),
    reference(R, lambda lesson: ex.new_release.apply()),
    # -- contract
    wrong(C, "no revision yet", names="no revision 0014", outcome="not attempted"),
    wrong(
        C,
        "the trigger left",
        contract((DROPS, "")),
        names="trigger posts_body_sync is still on posts",
    ),
    wrong(
        C,
        "the function left",
        contract(('    op.execute("DROP FUNCTION posts_body_sync()")\n', "")),
        names="function posts_body_sync\\(\\) is still there",
    ),
    wrong(
        C,
        "SET NOT NULL straight away",
        contract(
            (
                '    op.create_check_constraint(\n        "body_not_null", "posts", "body IS NOT NULL", postgresql_not_valid=True\n    )\n'
                "    with op.get_context().autocommit_block():\n"
                '        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_body_not_null")\n'
                '        op.alter_column("posts", "body", nullable=False)\n'
                '        op.drop_constraint(op.f("ck_posts_body_not_null"), "posts", type_="check")\n',
                '    op.alter_column("posts", "body", nullable=False)\n',
            )
        ),
        names="read every row of posts",
    ),
    wrong(
        C,
        "a downgrade with no trigger",
        contract(("    op.execute(SYNC)\n    op.execute(\n", "    (\n")),
        names="after downgrade 0013.*old release",
    ),
    wrong(
        C,
        "a downgrade that does not fill content",
        contract(
            ('        op.execute("UPDATE posts SET content = body WHERE content IS NULL")\n', "")
        ),
        names="content",
    ),
    wrong(
        C,
        "body left nullable",
        contract(('        op.alter_column("posts", "body", nullable=False)\n', "")),
        names="body",
    ),
    wrong(
        C,
        "content dropped and committed before the trigger",
        contract(
            (
                DROPS + '    op.drop_column("posts", "content")\n',
                '    op.drop_column("posts", "content")\n',
            ),
            (
                "    with op.get_context().autocommit_block():\n"
                '        op.execute("ALTER TABLE posts VALIDATE',
                "    with op.get_context().autocommit_block():\n"
                '        op.execute("DROP TRIGGER IF EXISTS posts_body_sync ON posts")\n'
                '        op.execute("DROP FUNCTION IF EXISTS posts_body_sync()")\n'
                '        op.execute("ALTER TABLE posts VALIDATE',
            ),
        ),
        names="content was dropped, and committed, while the trigger",
    ),
    wrong(
        C,
        "a NOT NULL constraint added NOT VALID and never validated",
        contract(
            (
                '    op.create_check_constraint(\n        "body_not_null", "posts", "body IS NOT NULL", postgresql_not_valid=True\n    )\n'
                "    with op.get_context().autocommit_block():\n"
                '        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_body_not_null")\n'
                '        op.alter_column("posts", "body", nullable=False)\n'
                '        op.drop_constraint(op.f("ck_posts_body_not_null"), "posts", type_="check")\n',
                '    op.execute("ALTER TABLE posts ADD CONSTRAINT body_nn NOT NULL body NOT VALID")\n',
            )
        ),
        names="body_nn is NOT VALID",
    ),
    wrong(
        C,
        "a downgrade that leaves body NOT NULL",
        contract(('    op.alter_column("posts", "body", nullable=True)\n', "")),
        names="0014's downgrade\\(\\)",
    ),
    wrong(
        C,
        "a downgrade that copies before the trigger is back",
        contract(
            (
                "    op.execute(SYNC)\n",
                '    op.execute("UPDATE posts SET content = body")\n    op.execute(SYNC)\n',
            ),
        ),
        names="read every row|before the trigger is back",
    ),
    wrong(
        C,
        "a downgrade with a trigger of its own name",
        contract(
            (
                "    op.execute(SYNC)\n",
                "    op.execute(SYNC.replace('posts_body_sync', 'posts_content_sync'))\n",
            ),
            (
                'ON posts "\n        "FOR EACH ROW EXECUTE FUNCTION posts_body_sync()"',
                'ON posts "\n        "FOR EACH ROW EXECUTE FUNCTION posts_content_sync()"',
            ),
        ),
        names="downgrade 0012",
    ),
    right(
        C,
        "the function dropped with CASCADE, which takes its trigger",
        contract((DROPS, '    op.execute("DROP FUNCTION posts_body_sync() CASCADE")\n')),
    ),
    right(
        C,
        "raw SQL for the NOT NULL",
        contract(
            (
                '    op.create_check_constraint(\n        "body_not_null", "posts", "body IS NOT NULL", postgresql_not_valid=True\n    )\n',
                '    op.execute("ALTER TABLE posts ADD CONSTRAINT body_set CHECK (body IS NOT NULL) NOT VALID")\n',
            ),
            (
                '        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_body_not_null")\n',
                '        op.execute("ALTER TABLE posts VALIDATE CONSTRAINT body_set")\n',
            ),
            (
                '        op.drop_constraint(op.f("ck_posts_body_not_null"), "posts", type_="check")\n',
                '        op.execute("ALTER TABLE posts DROP CONSTRAINT body_set")\n',
            ),
        ),
    ),
    reference(C, lambda lesson: ex.contract.apply()),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(case):
    assert_case(case, prepare)


APPLY_FROM = [
    c
    for c in CASES
    if c.kind == "wrong"
    and c.what
    in (
        "the copy in the ADD COLUMN's transaction",
        "content and body both mapped",
        "the trigger left",
        "a downgrade with a trigger of its own name",
    )
]


@pytest.mark.parametrize("case", APPLY_FROM, ids=ids(APPLY_FROM))
def test_apply_unblocks(case, capsys):
    assert_apply_unblocks(case, prepare, capsys)
