"""JSON Lines read by pyarrow's JSON reader against the old path (pandas' ``read_json``), in
the same run.

A ``--rows``-line file (default 1,000,000) is generated in a temporary directory: ``timestamp``
as ISO-8601 text with milliseconds and a ``Z``, ``email`` from 50,000 users, ``eventName`` from
a small catalog, and ``department``, a key the API does not take. Two legs, each timed best of
``--repeat`` (default 3), the old path and the new one alternating in this one process:

- ``read``: every chunk of the file as ``validate_file`` asks for it
  (``open_reader(path).numbered_chunks(usecols, text)``); the old path is the same call with
  the pyarrow attempts switched off (``ArrowJson.frame`` and ``arrow_columns``, which finds
  the first chunk's keys when the file is opened, returning None), so only the JSON parsing
  differs. Goal: new/old time < 1x.
- ``validate_file``: ``pp.validate_file(path, now=NOW)`` whole, without ``status_out``, shown
  for what the faster read is worth end to end (no goal).

Run: ``.venv/bin/python benchmarks/bench_jsonl.py [--rows N] [--repeat N]``. A benchmark, not a
test: it prints and exits 0. Times are wall-clock on a possibly shared machine: the ratio,
both paths measured in the same run, is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal  # a sibling script, not a package

import productiv_pandas as pp
from productiv_pandas.files import _input
from productiv_pandas.files._arrow_json import ArrowJson
from productiv_pandas.files._readers import open_reader

NOW = pd.Timestamp("2025-06-10T15:00:00Z")
SPAN_MS = 11 * 3_600_000
CATALOG = ["opened_file", "edited_doc", "shared_doc", "commented", "downloaded_file", "searched"]
USECOLS = ["timestamp", "email", "eventName", "targetApp"]  # what validate_file asks for
TEXT = ("email", "eventName", "targetApp")
WRITE_ROWS = 250_000
RATIO_BAR = 1.0


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` events as JSON Lines, a slice at a time."""
    rng = np.random.default_rng(seed)
    start_ms = NOW.value // 1_000_000 - SPAN_MS
    with open(path, "w", encoding="utf-8") as sink:
        for first in range(0, rows, WRITE_ROWS):
            n = min(WRITE_ROWS, rows - first)
            stamps = pd.to_datetime(start_ms + rng.integers(0, SPAN_MS, n), unit="ms", utc=True)
            texts = stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
            users = rng.integers(0, 50_000, n)
            events = rng.integers(0, len(CATALOG), n)
            sink.writelines(
                json.dumps(
                    {
                        "timestamp": stamp,
                        "email": f"user{user}@example.com",
                        "eventName": CATALOG[event],
                        "department": "Sales",
                    }
                )
                + "\n"
                for stamp, user, event in zip(texts, users.tolist(), events.tolist(), strict=True)
            )


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def read(path: Path) -> int:
    return sum(len(chunk) for chunk in open_reader(path).numbered_chunks(USECOLS, TEXT))


def validate(path: Path) -> int:
    return pp.validate_file(path, now=NOW).rows


def timed(leg: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, float, int]:
    """The old path's and the new one's best time, alternating, and the rows read."""
    fast, columns = ArrowJson.frame, _input.arrow_columns
    served: list[int] = []

    def spy(self: ArrowJson, lines: list[str]) -> pd.DataFrame | None:
        frame = fast(self, lines)
        served.append(frame is not None)
        return frame

    old_times, new_times, rows = [], [], 0
    for _ in range(repeat):
        ArrowJson.frame = lambda self, lines: None  # type: ignore[method-assign]
        _input.arrow_columns = lambda lines: None
        old_times.append(best(lambda: leg(path), 1))
        ArrowJson.frame = spy  # type: ignore[method-assign]
        _input.arrow_columns = columns
        started = time.perf_counter()
        rows = leg(path)
        new_times.append(time.perf_counter() - started)
    ArrowJson.frame = fast  # type: ignore[method-assign]
    if not served or not all(served):
        raise SystemExit(
            f"pyarrow served {sum(served)} of {len(served)} chunks: the benchmark measures nothing"
        )
    return min(old_times), min(new_times), rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        generate(path, args.rows)
        print(f"{args.rows:,} JSON lines, {path.stat().st_size / 2**20:,.0f} MiB; best of {args.repeat}")
        for name, leg in (("read", read), ("validate_file", validate)):
            old, new, rows = timed(leg, path, args.repeat)
            assert rows == args.rows, (rows, args.rows)
            print(f"  {name}: old path (pandas read_json) {old:.2f} s, pyarrow {new:.2f} s: {new / old:.2f}x")
            if name == "read":
                goal(
                    "jsonl",
                    f"JSON Lines chunks, {args.rows:,} lines: pyarrow / old path (pandas read_json)",
                    new / old,
                    f"< {RATIO_BAR:g}x",
                    new / old < RATIO_BAR,
                )


if __name__ == "__main__":
    main()
