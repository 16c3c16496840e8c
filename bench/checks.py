"""How long does a learner wait for ``check()``? Prints medians; asserts nothing.

    python bench/checks.py [--runs N] [--lessons 2 4 7]

For each exercise, its reference answer is put in place the way the catalogue of
learner mistakes does it (tests/exercises), then ``judge()`` is timed: that is the
whole check, scratch databases and alembic runs included. Runs on its own data
folder and workspace, so it never touches a lesson you have open.
"""

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lessons", type=int, nargs="*", default=list(range(8)))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="course-bench-checks-"))
    os.environ["COURSE_DATA_DIR"] = str(folder / "course")
    os.environ["WORKSPACE_DIR"] = str(folder / "workspace")
    for name in ("DATABASE_URL", "DATABASE_HOSTNAME", "DATABASE_PASSWORD"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    from course_app import server

    try:
        print(f"{'exercise':<34} {'kind':<9} median of {args.runs}")
        for number in args.lessons:
            module = importlib.import_module(f"tests.exercises.test_lesson{number:02d}")
            for case in (c for c in module.CASES if c.kind == "reference"):
                lesson = module.prepare(case.exercise)
                case.setup(lesson)
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    feedback = case.exercise.judge(*case.answers)
                    times.append(time.perf_counter() - start)
                assert feedback.outcome == "correct", feedback
                label = f"lesson {number} {case.exercise.name}"
                print(
                    f"{label:<34} {case.exercise.kind:<9} {statistics.median(times) * 1000:7.0f} ms"
                )
    finally:
        server.remove()


if __name__ == "__main__":
    main()
