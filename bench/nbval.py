"""How long does nbval take to execute and compare the whole course? Prints; asserts nothing.

    python bench/nbval.py [--runs N]

Runs `pytest docs/lessons` (every solved lesson, strict output comparison) N
times, each a fresh pytest process with its own embedded server, and prints
the wall time of each run, the median, and the cell count; then, from the last
run, the seconds each lesson's cells took (on its worker) and each part's sum.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    times, cells = [], "?"
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "docs/lessons",
                "-q",
                "-p",
                "no:randomly",
                "--durations=0",
            ],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        found = re.search(r"(\d+) passed", summary)
        cells = found[1] if found else summary
        if result.returncode != 0:
            print(f"nbval run failed: {summary}")
            sys.exit(1)
    print(
        f"nbval over the whole course: {cells} cells, {len(list((PROJECT / 'docs/lessons').glob('*.ipynb')))} lessons, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print("  runs: " + ", ".join(f"{t:.1f} s" for t in times))
    print(
        f"  median: {statistics.median(times):.1f} s (pytest start-up and server cold start included)"
    )
    per_lesson: dict[str, float] = {}
    for seconds, lesson in re.findall(
        r"^([\d.]+)s \w+ +docs/lessons/(\d\d)_\S+::", result.stdout, re.M
    ):
        per_lesson[lesson] = per_lesson.get(lesson, 0.0) + float(seconds)
    parts = {"one (0-7)": range(0, 8), "two (8-11)": range(8, 12), "three (12-15)": range(12, 16)}
    print(
        "  per lesson (cells, last run): "
        + ", ".join(f"{k}: {v:.1f} s" for k, v in sorted(per_lesson.items()))
    )
    for part, numbers in parts.items():
        total = sum(v for k, v in per_lesson.items() if int(k) in numbers)
        if total:
            print(f"  part {part}: {total:.1f} s of cells")


if __name__ == "__main__":
    main()
