"""Where the course finds its PostgreSQL server.

Read from the environment or from a ``.env`` file at the project root (copy
``.env.example``). Three ways, first match wins:

1. ``DATABASE_URL``: one URL, password URL-encoded (``p%40ss`` for ``p@ss``).
   Anything that is not a psycopg2 PostgreSQL URL is refused with one line
   naming the fix (``parse_url``).
2. The parts, as many tutorials and hosting providers give them:
   ``DATABASE_HOSTNAME``, ``DATABASE_PORT``, ``DATABASE_NAME``,
   ``DATABASE_USERNAME``, ``DATABASE_PASSWORD`` (raw, any characters).
3. Nothing: the course starts its own embedded PostgreSQL (see ``server``).

The URL is built as a SQLAlchemy ``URL`` object, never by pasting strings, so a
password holding ``%``, ``@``, ``:`` or ``/`` survives, and it is only ever
printed with the password masked. Settings are read through the cached
``get_settings()`` rather than at import time, so a test or a notebook can set
the environment first (``get_settings.cache_clear()`` to read it again).
"""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    database_url: SecretStr | None = None
    database_hostname: str | None = None
    database_port: int = 5432
    database_name: str = "postgres"
    database_username: str = "postgres"
    database_password: SecretStr | None = None

    # Who is learning, when several learners share one server (a class): their databases
    # carry it. JupyterHub sets JUPYTERHUB_USER in every user's server; COURSE_LEARNER wins.
    course_learner: str | None = None

    # Where the embedded server keeps its data, and where lesson workspaces live.
    course_data_dir: Path = PROJECT_ROOT / ".course"
    workspace_dir: Path = PROJECT_ROOT / "workspace"

    @field_validator("course_data_dir", "workspace_dir", mode="before")
    @classmethod
    def _expand(cls, value):
        """``~`` and ``$HOME`` mean what they mean in a shell, in .env too."""
        return Path(os.path.expandvars(str(value))).expanduser()

    @property
    def learner(self) -> str | None:
        return self.course_learner or os.environ.get("JUPYTERHUB_USER") or None

    @property
    def uses_embedded_server(self) -> bool:
        return self.database_url is None and self.database_hostname is None

    def server_url(self) -> URL | None:
        """The URL of the learner's own server, or None for the embedded one."""
        if self.database_url is not None:
            url = parse_url(self.database_url.get_secret_value())
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
        if "connect_timeout" not in url.query:  # a silent server answers within seconds
            url = url.update_query_dict({"connect_timeout": "5"})
        return url


SHAPE = "postgresql+psycopg2://user:password@localhost:5432/postgres"


def parse_url(raw: str) -> URL:
    """DATABASE_URL as a SQLAlchemy URL; a one-line CourseError naming the fix if it is not
    one the course can use. (Nothing here echoes the URL: it holds a password.)"""
    from course_app.errors import CourseError

    raw = raw.strip()
    if raw.split("://", 1)[-1].split("?")[0].count("@") > 1:
        raise CourseError(
            "DATABASE_URL has more than one @ before the host: an @ in the password must be "
            "URL-encoded as %40 (or put the password, raw, in DATABASE_PASSWORD)."
        )
    try:
        url = make_url(raw)
    except ArgumentError:
        raise CourseError(
            f"DATABASE_URL is not a database URL: write it as {SHAPE} (see .env.example)."
        ) from None
    except ValueError:
        raise CourseError(
            f"DATABASE_URL's port is not a number: write it as {SHAPE}, and URL-encode any : "
            f"or / in the user name (%3A, %2F)."
        ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("postgresql", "postgres"):
        raise CourseError(f"DATABASE_URL is a {backend} URL; the course needs PostgreSQL: {SHAPE}.")
    if driver not in ("psycopg2", ""):
        raise CourseError(
            f"DATABASE_URL asks for the {driver} driver; the course connects with psycopg2: "
            f"write postgresql+psycopg2:// at its start."
        )
    return url


@lru_cache
def get_settings() -> Settings:
    from pydantic import ValidationError

    from course_app.errors import CourseError

    try:
        return Settings()
    except ValidationError as exc:  # e.g. DATABASE_PORT=abc: name the setting, not a traceback
        problem = exc.errors()[0]
        name = str(problem["loc"][0]).upper() if problem["loc"] else "a setting"
        raise CourseError(
            f"{name} in the environment or .env is not valid: {problem['msg']}."
        ) from None
