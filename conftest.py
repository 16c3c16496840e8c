"""The environment of a test run, for everything pytest collects (tests/ and
the solved lessons nbval executes, whose kernels inherit it).

The run gets its own embedded server, data and workspace under a temporary
folder, so running the tests never resets a lesson a developer has open, and
it is stopped and removed at the end. With pytest-xdist each worker gets its
own: two workers never start the same lesson on the same server.
"""

import os
import shutil
import tempfile
from pathlib import Path

_RUN_DIR = Path(
    tempfile.mkdtemp(prefix=f"course-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
)


def pytest_configure(config):
    # Before anything reads settings; nbval's kernels inherit this environment.
    for name in (
        "DATABASE_URL",
        "DATABASE_HOSTNAME",
        "DATABASE_PASSWORD",
        "COURSE_LEARNER",  # the stored outputs show a learner alone on their server
        "JUPYTERHUB_USER",
    ):
        os.environ.pop(name, None)
    os.environ["COURSE_DATA_DIR"] = str(_RUN_DIR / "course")
    os.environ["WORKSPACE_DIR"] = str(_RUN_DIR / "workspace")
    # Alembic logs some findings in set order; a fixed seed keeps the notebooks'
    # outputs byte-for-byte stable for nbval (kernels are new processes).
    os.environ["PYTHONHASHSEED"] = "0"


def pytest_unconfigure(config):
    from course_app import server
    from course_app.settings import get_settings

    get_settings.cache_clear()
    try:
        server.remove()  # as root its data lives outside _RUN_DIR, under /var/lib/alembic-course
    finally:
        shutil.rmtree(_RUN_DIR, ignore_errors=True)
