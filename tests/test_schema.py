"""Schema snapshots: what a database holds, compared and named in full."""

import pytest

from course_app import database, lessons, schema
from course_app.exercises.checks import reference_schema


@pytest.fixture
def scratch():
    name = f"{database.PREFIX}schema_test"
    database.recreate(name, template=lessons.ensure_template("0004"))
    engine = database.engine(name)

    def change(*statements):
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        with engine.connect() as conn:
            return schema.snapshot(conn)

    yield change
    engine.dispose()
    database.drop(name)


def test_a_copy_is_equal_and_equivalent_spellings_are_equal(scratch):
    assert scratch() == reference_schema("0004")
    same = scratch(
        "ALTER TABLE posts ALTER COLUMN created_at SET DEFAULT CURRENT_TIMESTAMP",
        "ALTER TABLE posts ALTER COLUMN published SET DEFAULT 't'",
    )
    assert same == reference_schema("0004")


@pytest.mark.parametrize(
    "statement, said",
    [
        (
            "ALTER TABLE posts ALTER COLUMN created_at TYPE timestamp",
            "posts.created_at: TIMESTAMP WITH TIME ZONE (sa.TIMESTAMP(timezone=True)) in the "
            "models, TIMESTAMP WITHOUT TIME ZONE in the database.",
        ),
        (
            "ALTER TABLE posts ALTER COLUMN published DROP DEFAULT",
            'posts.published: server default true (server_default=sa.text("true")) in the '
            "models, no server default in the database.",
        ),
        (
            "ALTER TABLE posts ALTER COLUMN title DROP NOT NULL",
            "posts.title: NOT NULL (nullable=False) in the models, nullable in the database.",
        ),
        (
            "ALTER TABLE posts ALTER COLUMN content TYPE varchar(50)",
            "posts.content: VARCHAR (sa.String()) in the models, VARCHAR(50) in the database.",
        ),
        (
            "ALTER TABLE users DROP CONSTRAINT uq_users_email; ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
            "the unique constraint on users(email) is named users_email_key in the database; "
            "uq_users_email in the models.",
        ),
        (
            "ALTER TABLE posts DROP CONSTRAINT fk_posts_owner_id_users; ALTER TABLE posts ADD CONSTRAINT fk_posts_owner_id_users FOREIGN KEY (owner_id) REFERENCES users(id)",
            'the foreign key on posts.owner_id: ON DELETE CASCADE in the models (ondelete="CASCADE"), '
            "ON DELETE NO ACTION in the database.",
        ),
        (
            "ALTER TABLE posts DROP CONSTRAINT pk_posts",
            "the primary key of posts: PRIMARY KEY (id) in the models, none in the database.",
        ),
        (
            "CREATE TABLE notes (id int)",
            "there is a notes table in the database that is not in the models.",
        ),
        ("DROP TABLE posts", "there is no posts table in the database; it is in the models."),
    ],
)
def test_each_difference_is_one_sentence_in_words(scratch, statement, said):
    got = scratch(statement)
    differences = schema.differences(reference_schema("0004"), got, "the models", "in the database")
    assert differences[0] == said
    assert not any("modify" in d for d in differences)


def test_a_rename_keeps_the_rest_of_the_schema():
    renamed = reference_schema("0005").rename_column("posts", "content", "body")
    assert (
        "body" in renamed.tables["posts"].columns
        and "content" not in renamed.tables["posts"].columns
    )
    assert renamed.tables["votes"] == reference_schema("0005").tables["votes"]
