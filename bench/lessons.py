"""How fast is the course where a learner waits? Prints medians; asserts nothing.

    python bench/lessons.py [--runs N]

Measures, each in a fresh data folder so "cold" really is cold:
  embedded server cold start (initdb + start) and warm start (existing data),
  the first lesson start on a cold server (templates built), a second lesson
  start (its own template), a reset (the same lesson again, as a learner re-runs
  its first cell),
  and one `upgrade head` through %alembic (in-process) and through a
  subprocess `alembic`, with the ratio.
"""

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    # Under the project's .course/, where a learner's server really keeps its data.
    project = Path(__file__).resolve().parent.parent
    (project / ".course").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-", dir=project / ".course"))
    os.environ.pop("DATABASE_URL", None)
    os.environ["WORKSPACE_DIR"] = str(root / "workspace")

    from course_app import database, lessons, magics, server
    from course_app.settings import get_settings

    def fresh_folder(i: int) -> None:
        os.environ["COURSE_DATA_DIR"] = str(root / f"course{i}")
        get_settings.cache_clear()
        database._embedded = None

    figures: dict[str, list[float]] = {
        k: []
        for k in (
            "server cold start",
            "server warm start",
            "first lesson start (cold server)",
            "second lesson start (warm)",
            "lesson reset (re-run, median of 5)",
            "upgrade head: %alembic",
            "upgrade head: subprocess alembic",
        )
    }
    try:
        for i in range(runs):
            fresh_folder(i)
            figures["server cold start"].append(timed(server.start))
            server.stop()
            figures["server warm start"].append(timed(server.start))
            server.remove()
            fresh_folder(runs + i)
            figures["first lesson start (cold server)"].append(timed(lambda: lessons.start(4)))
            figures["second lesson start (warm)"].append(timed(lambda: lessons.start(5)))
            figures["lesson reset (re-run, median of 5)"].append(
                statistics.median(timed(lambda: lessons.start(4)) for _ in range(5))
            )
            lesson = lessons.start(4)
            with contextlib.redirect_stderr(io.StringIO()):  # the migration log
                figures["upgrade head: %alembic"].append(
                    timed(lambda path=lesson.path: magics.run(["-q", "upgrade", "head"], path))
                )
            lesson = lessons.start(4)
            figures["upgrade head: subprocess alembic"].append(
                timed(
                    lambda path=lesson.path: subprocess.run(
                        [sys.executable, "-m", "alembic", "-q", "upgrade", "head"],
                        cwd=path,
                        check=True,
                        stdin=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            )
            server.remove()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"medians of {runs} runs, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"  {name:<36} {value * 1000:8.1f} ms")
    ratio = medians["upgrade head: subprocess alembic"] / medians["upgrade head: %alembic"]
    print(f"  {'%alembic speed-up over subprocess':<36} {ratio:8.1f} x")


if __name__ == "__main__":
    main()
