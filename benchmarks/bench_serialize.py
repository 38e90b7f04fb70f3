"""Time serializing 1M wire rows into batch bodies: a dict per row and ``json.dumps`` (what
``_batches.py`` did before issue 15), against the Arrow build of ``sending/_body.py``.

Both in the same run, over the same wire frame (``Prepared.wire()`` of bench_publish's input,
every 20th row a Login event with a ``targetApp``), batches of 1000; the best of ``--repeat``
runs of each. The bodies are checked equal byte for byte before anything is timed.

    python benchmarks/bench_serialize.py [--rows N] [--repeat R]

A benchmark, not a test: it prints its figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd

from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sending._batches import make_batches

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal  # siblings, not a package
from bench_publish import NOW, make_frame

BATCH = 1000


def dict_bodies(wire: pd.DataFrame) -> list[bytes]:
    """The bodies as before: one dict per row, ``json.dumps`` per batch."""
    bodies = []
    for start in range(0, len(wire), BATCH):
        chunk = wire.iloc[start : start + BATCH]
        rows = zip(
            chunk["timestamp"].astype(np.int64).tolist(),
            chunk["email"].tolist(),
            chunk["eventName"].tolist(),
            chunk["targetApp"].astype(object).where(chunk["targetApp"].notna(), None).tolist(),
            strict=True,
        )
        events = [
            {"timestamp": t, "email": e, "eventName": n}
            if a is None
            else {"timestamp": t, "email": e, "eventName": n, "targetApp": a}
            for t, e, n, a in rows
        ]
        bodies.append(json.dumps({"events": events}, separators=(",", ":"), ensure_ascii=False).encode())
    return bodies


def arrow_bodies(wire: pd.DataFrame) -> list[bytes]:
    """The bodies as publish builds them now."""
    return [batch.payload for batch in make_batches(wire, np.arange(len(wire)), BATCH)]


def best(function, wire: pd.DataFrame, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(wire)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = make_frame(args.rows)
    logins = np.arange(args.rows) % 20 == 0
    frame["eventName"] = frame["eventName"].where(~logins, "sso_login")
    frame["targetApp"] = pd.Series(np.where(logins, "slack", None), dtype="str")
    options = PrepareOptions.from_kwargs(now=NOW, login_events={"sso_login"})
    wire = prepare_events(frame, options).wire()
    assert dict_bodies(wire) == arrow_bodies(wire), "the two bodies differ"
    old = best(dict_bodies, wire, args.repeat)
    new = best(arrow_bodies, wire, args.repeat)
    per_million = 1_000_000 / len(wire)
    print(f"serialize {len(wire):,} rows in batches of {BATCH} (best of {args.repeat})")
    print(f"  dict per row + json.dumps   {old * per_million:6.3f} s per 1M rows")
    print(f"  Arrow columns (_body.py)    {new * per_million:6.3f} s per 1M rows")
    print(f"  ratio                       {old / new:6.1f}x faster")
    goal("serialize", "a dict per row + json.dumps / Arrow columns", old / new, "> 1x", old > new)


if __name__ == "__main__":
    main()
