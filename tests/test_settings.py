"""Settings: where the course finds PostgreSQL, and passwords that survive."""

from course_app.settings import Settings, get_settings

AWKWARD = "p%w@d:/x y"


def test_nothing_set_means_the_embedded_server(env):
    env(DATABASE_URL=None, DATABASE_HOSTNAME=None)
    settings = get_settings()
    assert settings.uses_embedded_server
    assert settings.server_url() is None


def test_database_url_is_url_decoded(env):
    env(DATABASE_URL="postgresql://bob:p%25w%40d%3A%2Fx%20y@db.example:6543/blog")
    url = get_settings().server_url()
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "bob",
        AWKWARD,
        "db.example",
        6543,
        "blog",
    )
    assert url.drivername == "postgresql+psycopg2"


def test_seed_parts_take_a_raw_password(env):
    env(
        DATABASE_URL=None,
        DATABASE_HOSTNAME="db.example",
        DATABASE_PASSWORD=AWKWARD,
        DATABASE_USERNAME="bob",
        DATABASE_NAME="blog",
        DATABASE_PORT="6543",
    )
    url = get_settings().server_url()
    assert url.password == AWKWARD
    assert AWKWARD not in url.render_as_string(hide_password=False)  # encoded, not pasted
    assert "***" in url.render_as_string(hide_password=True)


def test_secrets_are_hidden_in_repr(env):
    env(DATABASE_URL="postgresql://bob:hunter2@db/blog")
    assert "hunter2" not in repr(get_settings())


def test_a_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("DATABASE_HOSTNAME=from-dotenv\nDATABASE_PASSWORD=a%b\n")
    settings = Settings(_env_file=dotenv)
    assert settings.server_url().host == "from-dotenv"
    assert settings.server_url().password == "a%b"
