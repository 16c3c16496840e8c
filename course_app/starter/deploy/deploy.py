"""The deploy step: `python deploy.py` brings the database to head before the new
release starts (the app's replicas never migrate themselves)."""

from alembic import command
from alembic.config import Config


def migrate() -> None:
    command.upgrade(Config("alembic.ini"), "head")


if __name__ == "__main__":
    migrate()
