"""The database pytest-alembic's tests migrate: empty at the start of each test.

pytest-alembic runs the history through alembic/env.py on the engine this
fixture returns (it hands it to env.py as config.attributes["connection"]).
In CI, TEST_DATABASE_URL names the PostgreSQL service's database; here,
without it, the tests use a database of their own next to the app's, named
after it with _test: never the app's own, since every test wipes it.
"""

import os

import pytest
from app.config import settings
from sqlalchemy import create_engine, make_url, text


def test_database_url():
    if os.environ.get("TEST_DATABASE_URL"):
        return make_url(os.environ["TEST_DATABASE_URL"])
    url = make_url(settings.database_url)
    return url.set(database=f"{url.database}_test")


@pytest.fixture
def alembic_engine():
    engine = create_engine(test_database_url())
    with engine.begin() as conn:  # an empty database for each test
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    yield engine
    engine.dispose()
