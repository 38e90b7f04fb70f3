"""Time ``productiv_pandas.validate`` against a minimal hand-written pandas baseline, on clean
and on dirty data.

Both run in the same process on the same generated frame (1,000,000 rows by default): epoch
millisecond timestamps, mostly within the last 12 hours; emails of 50,000 users, ~1% malformed
and ~1% upper-cased; ~2% duplicate events; event names from a catalog, with a targetApp. Then
0%, 12.5% and 25% of the rows (``--levels``) are made invalid, of five kinds in equal parts:
a bad email, an event name outside ``allowed_events`` that is a near miss of one inside, a
Login event without targetApp, a timestamp in the future, seconds passed as milliseconds.
At each level both are timed ``--repeat`` times (default 3) and the best time is kept. Peak
memory is measured in a fresh process per function and level (see ``measure_peak``). Goals at
every level: validate <= 2.0x the baseline's time, and its peak memory <= 3x the input frame's.

    python benchmarks/bench_validate.py [--rows N] [--repeat R] [--seed S] [--levels 0,0.125,0.25]

A benchmark, not a test: it prints its figures and exits 0 whether or not the goals are met.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa

import productiv_pandas as pp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal  # a sibling script, not a package

NOW = pd.Timestamp("2025-06-10T15:00:00Z")  # fixed, so every run measures the same data
USERS = 50_000
CATALOG = (
    "opened_file", "edited_doc", "shared_doc", "commented_doc", "created_doc", "viewed_contact",
    "created_deal", "updated_deal", "logged_call", "sent_message", "reacted_to_message",
    "joined_channel", "started_call", "sso_login",
)  # fmt: skip
# What a hand-written check would use: one '@', something before it, a dotted domain, no spaces.
# Spaces are spelled ' ' rather than \s on purpose: pandas 3 sends a pattern with \s to Python's
# re instead of pyarrow's RE2 (their \s differ), which costs the baseline ~1.4 s per million rows
# and would flatter the ratio. The fastest honest baseline makes the ratio a conservative one.
BASELINE_EMAIL = r"[^@ ]+@[^@ .]+(?:\.[^@ .]+)+$"
HOUR_US = 3_600_000_000


LOGIN = "sso_login"
KINDS = ("email", "event name", "login without targetApp", "future", "seconds as ms")


def make_frame(rows: int, seed: int = 1, invalid: float = 0.0) -> pd.DataFrame:
    """``timestamp`` (int64 ms), ``email``, ``eventName`` and ``targetApp`` (str), RangeIndex;
    ``invalid`` of the rows made invalid, of the five ``KINDS`` in equal parts."""
    rng = np.random.default_rng(seed)
    n_dup = round(0.02 * rows)
    n = rows - n_dup
    surnames = np.array(["lee", "smith", "ng", "garcia", "okafor"])[rng.integers(5, size=USERS)]
    users = np.char.add(np.char.add("user", np.arange(USERS).astype(str)), np.char.add(".", surnames))
    domains = np.where(rng.random(USERS) < 0.9, "@example.com", "@example-labs.io")
    good = np.char.add(users, domains).astype(object)
    bad = np.stack(
        [
            np.char.add(users, "@").astype(object),  # no domain
            users.astype(object),  # no '@'
            np.char.add(np.char.replace(users, ".", " "), domains).astype(object),  # a space
            np.char.add(users, "@example").astype(object),  # no dot in the domain
        ]
    )
    user = rng.integers(USERS, size=n)
    email = good[user]
    draw = rng.random(n)
    broken = draw < 0.01
    email[broken] = bad[rng.integers(4, size=int(broken.sum())), user[broken]]
    upper = (draw >= 0.01) & (draw < 0.02)  # valid once lower-cased
    email[upper] = np.char.upper(email[upper].astype(str)).astype(object)

    now_us = NOW.value // 1_000
    age = rng.integers(1_000_000, 12 * HOUR_US, size=n)
    stale = rng.random(n) < 0.03
    age[stale] = rng.integers(12 * HOUR_US, 96 * HOUR_US, size=int(stale.sum()))
    event = np.array(CATALOG, dtype=object)[rng.integers(len(CATALOG), size=n)]
    base = pd.DataFrame(
        {
            "timestamp": (now_us - age) // 1_000,
            "email": email,
            "eventName": event,
            "targetApp": np.array(["slack", "zoom", "notion"], dtype=object)[rng.integers(3, size=n)],
        }
    )
    copies = base.iloc[rng.integers(n, size=n_dup)]
    frame = pd.concat([base, copies]).iloc[rng.permutation(rows)].reset_index(drop=True)
    return spoil(frame, invalid, rng)


def spoil(frame: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``share`` of the rows made invalid, one of the five ``KINDS`` each, in equal parts."""
    chosen = rng.choice(len(frame), size=round(share * len(frame)), replace=False)
    kind = np.arange(len(chosen)) % len(KINDS)
    email = frame["email"].to_numpy(dtype=object, copy=True)
    event = frame["eventName"].to_numpy(dtype=object, copy=True)
    app = frame["targetApp"].to_numpy(dtype=object, copy=True)
    ms = frame["timestamp"].to_numpy(copy=True)
    at = chosen[kind == 0]
    email[at] = [address.replace("@", "_at_") for address in email[at]]  # no '@'
    at = chosen[kind == 1]
    event[at] = [name + "s" for name in event[at]]  # a near miss: "opened_files"
    at = chosen[kind == 2]
    event[at], app[at] = LOGIN, None
    at = chosen[kind == 3]
    ms[at] = NOW.value // 1_000_000 + rng.integers(3_600_000, 30 * 24 * 3_600_000, size=len(at))
    at = chosen[kind == 4]
    ms[at] //= 1_000
    return pd.DataFrame({"timestamp": ms, "email": email, "eventName": event, "targetApp": app})


def baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """The same core work written by hand: ms, a normalized and regex-checked email, dedup.

    Emails are stripped and lower-cased, as validate does, so both keep the same rows.
    """
    ms = frame["timestamp"]
    email = frame["email"].str.strip().str.lower()
    plausible = email.str.match(BASELINE_EMAIL)
    keys = pd.DataFrame({"timestamp": ms, "email": email, "eventName": frame["eventName"]})
    return keys[plausible].drop_duplicates()


def run_validate(frame: pd.DataFrame) -> pd.DataFrame:
    return pp.validate(frame, now=NOW, on_stale="ignore", allowed_events=CATALOG, login_events=[LOGIN])


FUNCTIONS = {"baseline": baseline, "validate": run_validate}


def best_time(function, frame: pd.DataFrame, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function(frame)
        times.append(time.perf_counter() - start)
    return min(times)


# -- peak memory --------------------------------------------------------------------------
# Method: each function runs once in a fresh interpreter (``--child NAME``), so nothing from
# the timed runs (caches, allocator pools) is counted or reused. The child builds the frame,
# warms the function up on 1,000 rows (lazy imports and schema building are not data-sized),
# collects garbage and hands freed memory back to the OS (glibc malloc_trim, pyarrow's pool),
# then reads its RSS: that is the baseline, input frame included. On Linux it then resets the
# kernel's high-water mark (write "5" to /proc/self/clear_refs), runs the function, and reads
# VmHWM from /proc/self/status: the exact peak RSS during the call, result included.
# Elsewhere a thread samples RSS with psutil every millisecond (may miss very short peaks).
# The figure printed is peak - baseline: the memory the call itself needed.


def _release_free_memory() -> None:
    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _hwm_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_peak(function, frame: pd.DataFrame) -> tuple[int, int, str]:
    """(RSS before the call, peak RSS during it, method)."""
    process = psutil.Process()
    _release_free_memory()
    before = process.memory_info().rss
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
        function(frame)
        return before, _hwm_bytes(), "VmHWM"
    except OSError:
        peak, done = before, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.001)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            function(frame)
        finally:
            done.set()
            sampler.join()
        return before, peak, "sampled"


def child(name: str, rows: int, seed: int, invalid: float) -> None:
    function = FUNCTIONS[name]
    frame = make_frame(rows, seed, invalid)
    function(make_frame(1_000, seed + 1))
    before, peak, method = measure_peak(function, frame)
    print(json.dumps({"before": before, "peak": peak, "method": method}))


def peak_in_fresh_process(name: str, rows: int, seed: int, invalid: float) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", name]
    done = subprocess.run(
        [*command, "--rows", str(rows), "--seed", str(seed), "--levels", str(invalid)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate (1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best counts (3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--child", choices=sorted(FUNCTIONS), help=argparse.SUPPRESS)
    parser.add_argument("--levels", default="0,0.125,0.25", help="shares of invalid rows (0,0.125,0.25)")
    args = parser.parse_args(argv)
    levels = [float(level) for level in args.levels.split(",")]
    if args.child:
        child(args.child, args.rows, args.seed, levels[0])
        return 0
    for level in levels:
        measure(args, level)
    return 0


def measure(args: argparse.Namespace, invalid: float) -> None:
    frame = make_frame(args.rows, args.seed, invalid)
    input_bytes = int(frame.memory_usage(deep=True).sum())
    dtypes = ", ".join(f"{c} {t}" for c, t in frame.dtypes.items())
    print(f"\n== {invalid:.1%} invalid rows ==")
    print(f"validate() on {len(frame):,} rows ({dtypes}); best of {args.repeat}")
    print(f"input frame memory (memory_usage(deep=True)): {input_bytes / 1e6:,.1f} MB")

    kept = baseline(frame)
    report = run_validate(frame)
    counts = report["status"].value_counts()
    summary = ", ".join(f"{status} {counts[status]:,}" for status in counts.index if counts[status])
    print(f"validate statuses: {summary}; baseline keeps {len(kept):,} rows")
    top = report["problem"].value_counts().head(6)
    print("problems: " + ", ".join(f"{code} {count:,}" for code, count in top.items() if count))
    del kept, report

    seconds = {name: best_time(function, frame, args.repeat) for name, function in FUNCTIONS.items()}
    ratio = seconds["validate"] / seconds["baseline"]
    print(f"baseline (hand-written pandas): {seconds['baseline']:8.3f} s")
    print(f"productiv_pandas.validate:      {seconds['validate']:8.3f} s")
    print(f"ratio validate / baseline:      {ratio:8.2f}")
    goal("validate", f"{invalid:.1%} invalid: time / hand-written pandas", ratio, "<= 2.0x", ratio <= 2.0)

    del frame
    print("peak memory of the call above the RSS before it (fresh process each):")
    for name in FUNCTIONS:
        figures = peak_in_fresh_process(name, args.rows, args.seed, invalid)
        extra = figures["peak"] - figures["before"]
        times = extra / input_bytes
        rss = f"RSS {figures['before'] / 1e6:,.0f} -> {figures['peak'] / 1e6:,.0f} MB, {figures['method']}"
        print(f"  {name:<9} {extra / 1e6:8.1f} MB = {times:4.2f}x input ({rss})")
        if name == "validate":
            label = f"{invalid:.1%} invalid: peak memory / input frame"
            goal("validate", label, times, "<= 3.0x", times <= 3.0)


if __name__ == "__main__":
    raise SystemExit(main())
