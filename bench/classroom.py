"""A class on one server: N learners (processes) start a lesson and migrate at once.

    python bench/classroom.py [--learners 30] [--lesson 0]

Starts a class server (a second PostgreSQL 18 from the embedded server's programs, TCP
on 127.0.0.1, password logins), runs ``classroom setup`` for N learners, then starts N
processes. Each imports the course first, as a warm kernel has, then all wait at a
barrier and, at once: ``course_app.start(LESSON)`` (timed: the lesson start as a learner
waits for it), then ``alembic downgrade base`` and ``alembic upgrade head`` in their
workspace (real DDL on every learner's copy); then, all together again, the next lesson's
start, whose databases were copied in the background while they worked (``ready``: ten
seconds after a start; each waits for its copy first, as minutes spent on a lesson would).
Prints the median and 95th percentile of each, and the total wall time. Asserts nothing.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def learner(env: dict, lesson: int, barrier, results) -> None:
    os.environ.update(env)
    import course_app  # imports done before the clock starts, as in a warm kernel
    from course_app import database

    database.check_connection()  # the lobby connection a kernel already has
    barrier.wait()
    began = time.perf_counter()
    started = course_app.start(lesson)
    ready = time.perf_counter()
    for step in (["downgrade", "base"], ["upgrade", "head"]):
        subprocess.run(
            [sys.executable, "-m", "alembic", *step],
            cwd=started.path,
            capture_output=True,
            check=True,
        )
    migrated = time.perf_counter()
    for thread in threading.enumerate():  # a learner spends minutes on a lesson, not seconds:
        if thread.name.endswith("ready copies"):  # the next one's copy is made by then
            thread.join()
    barrier.wait()  # all together again, to the next lesson (copied ahead while they worked)
    began_next = time.perf_counter()
    course_app.start(lesson + 1)
    results.put((ready - began, migrated - ready, time.perf_counter() - began_next))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--lesson", type=int, default=0)
    args = parser.parse_args()
    from course_app.lessons import STAGES

    if args.lesson + 1 not in STAGES:
        parser.error(f"--lesson: lessons {min(STAGES)} to {max(STAGES) - 1} (then the next)")

    from tests.classroom.conftest import class_server_running, course, course_env

    tmp = Path(tempfile.mkdtemp(prefix="bench-class-"))
    with class_server_running() as url:
        admin = course_env(tmp / "admin", DATABASE_URL=url.render_as_string(hide_password=False))
        names = [f"learner{n:03d}" for n in range(args.learners)]
        began = time.perf_counter()
        done = course(
            admin, "classroom", "setup", "--settings-dir", str(tmp / "s"), "--learners", *names
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        print(f"classroom setup, {args.learners} learners: {time.perf_counter() - began:.1f} s")
        kept = json.loads((tmp / "s" / "jupyterhub.json").read_text())
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(args.learners + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=learner,
                args=(course_env(tmp / name, **kept[name]), args.lesson, barrier, results),
            )
            for name in names
        ]
        for process in processes:
            process.start()
        barrier.wait()
        began = time.perf_counter()
        barrier.wait()
        times = [results.get(timeout=600) for _ in processes]
        wall = time.perf_counter() - began
        for process in processes:
            process.join()
        starts, migrations, next_starts = zip(*times, strict=True)
        for what, values in (
            (f"lesson {args.lesson} start", starts),
            ("downgrade base + upgrade head", migrations),
            (f"then lesson {args.lesson + 1} start", next_starts),
        ):
            print(
                f"{what}, {args.learners} learners at once on {os.cpu_count()} cores: median "
                f"{statistics.median(values):.2f} s, 95th percentile {percentile(values, 0.95):.2f} s"
            )
        print(f"total wall time, all learners: {wall:.1f} s")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
