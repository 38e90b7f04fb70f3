"""Time the HTML data-quality report of a 1M-row status frame, and its size, against a baseline.

The status frame is the sample export (``pp.sample_events``, 1,000,000 rows by default)
validated with the sample's options but its timezone (the data-quality notebook's first look:
every kind of problem, thousands of them). In the same run, on the same frame, each of these is
timed ``--repeat`` times and the best time kept:

- ``report``: ``status.productiv.report(path)``: collect (counts, examples, hours), render, write;
- of which ``collect``: the report's data alone (``productiv_pandas.report.collect``);
- baseline ``to_csv``: ``status.to_csv(path)``, the usual way a status frame is shared today.

Then the worst case, timed the same way: 1,000,000 rows that are all invalid (every other email
without an '@', every third event name outside ``allowed_events``: 1.33 million problems).

Goals: the page under 2 MB and written in under 5 s.

    python benchmarks/report.py [--rows N] [--repeat R]

A benchmark, not a test: it prints its figures and exits 0 whether or not the goals are met.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import productiv_pandas as pp
from productiv_pandas.report import collect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal  # a sibling script, not a package

NOW = pd.Timestamp("2026-06-10T15:00:00Z")  # fixed, so every run measures the same data
GOAL_BYTES = 2_000_000
GOAL_SECONDS = 5.0


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def all_invalid(rows: int) -> pd.DataFrame:
    """Every row invalid, most with two problems: the most a report has to collect."""
    number = np.arange(rows)
    frame = pd.DataFrame(
        {
            "timestamp": NOW.value // 1_000_000 - number * 50,
            "email": [f"user{i}" if i % 2 else f"u{i}@x" for i in range(rows)],
            "eventName": np.where(number % 3 == 0, "opn", "open"),
        }
    )
    return frame.productiv.validate(now=NOW, allowed_events=["open"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    options = {name: value for name, value in pp.SAMPLE_OPTIONS.items() if name != "tz"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = pp.sample_events(args.rows, now=NOW).productiv.validate(**options, now=NOW)
    counts = status["status"].value_counts()
    print(f"status frame: {len(status):,} rows; " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v))

    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "quality.html"
        csv = Path(folder) / "status.csv"
        status.productiv.report(page)  # warm-up: imports (matplotlib's colours), caches
        report_s = best_of(args.repeat, lambda: status.productiv.report(page))
        collect_s = best_of(args.repeat, lambda: collect(status))
        csv_s = best_of(args.repeat, lambda: status.to_csv(csv))
        size, csv_size = os.path.getsize(page), os.path.getsize(csv)
    problems = len(collect(status).problems)

    print(f"report:   {report_s:6.2f} s, page {size / 1e6:6.3f} MB ({problems} problem codes)")
    print(f"  collect {collect_s:6.2f} s (render and write: {report_s - collect_s:.2f} s)")
    print(f"to_csv:   {csv_s:6.2f} s, file {csv_size / 1e6:6.1f} MB (baseline)")
    print(f"report / to_csv: time {report_s / csv_s:.2f}x, size {size / csv_size:.4f}x")

    worst = all_invalid(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "worst.html"
        worst_s = best_of(args.repeat, lambda: worst.productiv.report(page))
        worst_size = os.path.getsize(page)
    entries = sum(item.rows for item in collect(worst).problems)
    print(f"all invalid ({len(worst):,} rows, {entries:,} problems): report {worst_s:.2f} s, "
          f"page {worst_size / 1e6:.3f} MB")  # fmt: skip
    largest, slowest = max(size, worst_size), max(report_s, worst_s)
    goal("report", "largest page (sample, all invalid)", largest / 1e6, "< 2 MB", largest < GOAL_BYTES, " MB")
    goal("report", "slowest page to write", slowest, "< 5 s", slowest < GOAL_SECONDS, " s")


if __name__ == "__main__":
    main()
