"""Where the course finds its PostgreSQL server.

Read from the environment or from a ``.env`` file at the project root (copy
``.env.example``). Three ways, first match wins:

1. ``DATABASE_URL``: one URL, password URL-encoded (``p%40ss`` for ``p@ss``).
2. The parts, as in the seed notes: ``DATABASE_HOSTNAME``, ``DATABASE_PORT``,
   ``DATABASE_NAME``, ``DATABASE_USERNAME``, ``DATABASE_PASSWORD`` (raw, any
   characters).
3. Nothing: the course starts its own embedded PostgreSQL (see ``server``).

The URL is built as a SQLAlchemy ``URL`` object, never by pasting strings, so a
password holding ``%``, ``@``, ``:`` or ``/`` survives, and it is only ever
printed with the password masked. Settings are read through the cached
``get_settings()`` rather than at import time, so a test or a notebook can set
the environment first (``get_settings.cache_clear()`` to read it again).
"""

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    database_url: SecretStr | None = None
    database_hostname: str | None = None
    database_port: int = 5432
    database_name: str = "postgres"
    database_username: str = "postgres"
    database_password: SecretStr | None = None

    # Where the embedded server keeps its data, and where lesson workspaces live.
    course_data_dir: Path = PROJECT_ROOT / ".course"
    workspace_dir: Path = PROJECT_ROOT / "workspace"

    @property
    def uses_embedded_server(self) -> bool:
        return self.database_url is None and self.database_hostname is None

    def server_url(self) -> URL | None:
        """The URL of the learner's own server, or None for the embedded one."""
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
        elif self.database_hostname is not None:
            password = self.database_password
            url = URL.create(
                "postgresql",
                username=self.database_username,
                password=password.get_secret_value() if password else None,
                host=self.database_hostname,
                port=self.database_port,
                database=self.database_name,
            )
        else:
            return None
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg2")
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
