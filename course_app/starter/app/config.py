"""The blog app's settings, read from the environment or from the .env file
next to alembic.ini. The course wrote that file for this lesson; in your own
project you write it (and never commit it: it holds the password).

The variable is APP_DATABASE_URL rather than DATABASE_URL so that a
DATABASE_URL exported in your shell for another project cannot redirect
these migrations to it.
"""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=Path(__file__).resolve().parent.parent / ".env", extra="ignore"
    )

    database_url: str


settings = Settings()
