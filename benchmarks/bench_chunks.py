"""Chunks: peak RSS of validate_chunks over a generator, against validate on the whole frame.

The generator makes ``--chunks`` chunks of ``--chunksize`` rows of the messy sample
(``pp.sample_events(chunksize, seed=k)``), one at a time, as a database cursor or
``read_csv(chunksize=)`` would hand them over; every chunk repeats some events of the one before
it, so the cross-chunk de-duplication does real work. Each measurement runs in a fresh child
process (this script with ``--child``), so its peak RSS (``VmHWM``: the whole process,
interpreter and imports included) is its own:

- ``chunks``: ``pp.validate_chunks(generator, status_out=<tmp>/status.parquet)``;
- ``chunks-polars``: the same chunks as polars frames (read through Arrow);
- ``whole``: the chunks concatenated into one pandas frame, then ``pp.validate(frame)`` (the
  baseline: what a user without chunks does).

Run: ``.venv/bin/python benchmarks/bench_chunks.py [--chunks 10] [--chunksize 100000]``. A
benchmark, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _goals import goal  # a sibling script, not a package

NOW = pd.Timestamp("2025-06-10T15:00:00Z")


def _chunks(count: int, size: int, polars: bool = False):
    import productiv_pandas as pp

    previous = None
    for k in range(count):
        chunk = pp.sample_events(size, seed=k, now=NOW)
        if previous is not None:  # 1% of each chunk repeats the chunk before it
            chunk.iloc[: size // 100] = previous.iloc[-(size // 100) :].to_numpy()
        previous = chunk
        if polars:
            import polars as pl

            yield pl.from_pandas(chunk)
        else:
            yield chunk


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(what: str, count: int, size: int) -> None:
    import productiv_pandas as pp

    options = {**pp.SAMPLE_OPTIONS, "now": NOW, "on_stale": "ignore"}
    start = time.perf_counter()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("ignore")
        if what == "whole":
            frame = pd.concat(list(_chunks(count, size)), ignore_index=True)
            counts = pp.validate(frame, **options)["status"].value_counts().to_dict()
        else:
            report = pp.validate_chunks(
                _chunks(count, size, polars=what == "chunks-polars"),
                status_out=Path(folder) / "status.parquet",
                progress=False,
                **options,
            )
            counts = report.counts.to_dict()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mib": _peak_rss_mib(), "counts": counts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--chunksize", type=int, default=100_000)
    parser.add_argument("--child", choices=["chunks", "chunks-polars", "whole"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.chunks, args.chunksize)
        return
    rows = args.chunks * args.chunksize
    print(f"{rows:,} rows in {args.chunks} chunks of {args.chunksize:,}")
    peaks = {}
    for what in ("chunks", "chunks-polars", "whole"):
        sizes = ["--chunks", str(args.chunks), "--chunksize", str(args.chunksize)]
        command = [sys.executable, __file__, "--child", what, *sizes]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        counts = {k: v for k, v in result["counts"].items() if v}
        peaks[what] = result["peak_mib"]
        print(f"{what:14s} {result['seconds']:6.1f} s  peak RSS {result['peak_mib']:6.0f} MiB  {counts}")
    ratio = peaks["chunks"] / peaks["whole"]
    goal("chunks", f"validate_chunks peak RSS / validate of all {rows:,} rows", ratio, "< 1x", ratio < 1)


if __name__ == "__main__":
    main()
