"""Files bigger than memory: time and peak RSS of validate_file and publish_file as the file grows.

For each ``--sizes`` (default 1,000,000 and 10,000,000 rows) a CSV is generated in a temporary
directory, written a chunk at a time (the 10M-row file never sits in memory, here or anywhere
else), then deleted at the end. Its columns: ``timestamp`` as ISO-8601 text with milliseconds
and a ``Z`` (how exports usually write it), within the 12 hours before a fixed ``now``;
``email`` from 50,000 users, 1% without a domain; ``eventName`` from a 14-name catalog;
``department``, a column the API does not take. 2% of rows repeat an earlier row's event, most
of them from an earlier chunk (up to 2,000,000 rows back), so the cross-chunk de-duplication
does real work.

Each measurement runs in a fresh child process (this script with ``--child``), so its peak RSS
(``VmHWM``: the whole process, interpreter and imports included, the figure the 1 GiB goal is
about) is its own:

- ``validate``: ``pp.validate_file(path, status_out=<tmp>/status.parquet, now=NOW)``;
- ``publish``: ``pp.publish_file(path, app, client=..., status_out=..., now=NOW)`` to a sandbox
  in another child process (rate limit off, reset before each run, started as
  ``bench_sandbox.py`` starts it), which is checked to hold exactly the rows marked ``sent``.

Run: ``.venv/bin/python benchmarks/bench_files.py [--sizes 1000000 10000000] [--what validate publish]
[--chunksize N] [--no-status-out]``. A benchmark, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sandbox import ChildSandbox  # a sibling script, not a package

from productiv_pandas.sandbox import Sandbox

NOW = pd.Timestamp("2025-06-10T15:00:00Z")  # fixed: every run judges the same events alike
SPAN_MS = 11 * 3_600_000
USERS = 50_000
CATALOG = np.array(
    [
        "opened_file", "edited_doc", "shared_doc", "commented", "downloaded_file", "uploaded_file",
        "created_doc", "deleted_doc", "renamed_doc", "moved_doc", "printed_doc", "exported_doc",
        "viewed_report", "searched",
    ]
)  # fmt: skip
WRITE_ROWS = 500_000  # rows generated and written at a time
GOAL = 1 << 30


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """Write ``rows`` events to ``path`` as CSV, a slice at a time. Row ``i``'s event is a
    function of ``i``, so a duplicate is made by copying an earlier row's number, not its data."""
    rng = np.random.default_rng(seed)
    start_ms = NOW.value // 1_000_000 - SPAN_MS
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, WRITE_ROWS):
            number = np.arange(start, min(start + WRITE_ROWS, rows), dtype=np.int64)
            source = number.copy()
            repeat = rng.random(len(number)) < 0.02
            source[repeat] = np.maximum(number[repeat] - rng.integers(1, 2_000_000, repeat.sum()), 0)
            ms = start_ms + source * SPAN_MS // rows
            stamps = np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")
            users = pd.Series((source * 2_654_435_761) % USERS).astype(str)
            domain = np.where(rng.random(len(number)) < 0.01, "@", "@example.com")  # 1% "user12@"
            frame = pd.DataFrame(
                {
                    "timestamp": stamps,
                    "email": ("user" + users + domain).to_numpy(),
                    "eventName": CATALOG[source % len(CATALOG)],
                    "department": "sales",
                }
            )
            frame.to_csv(handle, header=start == 0, index=False)


def _proc_status_bytes(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak since the process started) of this process."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints a JSON line."""
    import productiv_pandas as pp

    imported = _proc_status_bytes("VmRSS")
    common = {"now": NOW, "chunksize": args.chunksize, "status_out": args.status_out}
    started = time.perf_counter()
    cpu = time.process_time()
    if args.child == "validate":
        report = pp.validate_file(args.file, **common)
    else:
        with pp.ProductivClient.from_client_credentials(
            args.client_id, args.client_secret, token_url=f"{args.url}/oauth2/token", base_url=args.url
        ) as client:
            report = pp.publish_file(args.file, Sandbox.DEMO_APP, client=client, progress=False, **common)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": time.process_time() - cpu,
                "peak": _proc_status_bytes("VmHWM"),
                "imported": imported,
                "rows": report.rows,
                "counts": {k: int(v) for k, v in report.counts.items() if v},
            }
        )
    )


def measure(what: str, path: Path, args: argparse.Namespace, server=None) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", what, "--file", str(path)]
    command += ["--chunksize", str(args.chunksize)]
    if not args.no_status_out:
        command += ["--status-out", str(path.with_suffix(".status.parquet"))]
    if server is not None:
        command += [
            "--url",
            server.url,
            "--client-id",
            server.client_id,
            "--client-secret",
            server.client_secret,
        ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def show(size: int, what: str, figures: dict, extra: str = "") -> None:
    peak = figures["peak"]
    goal = "met" if peak < GOAL else "MISSED"
    counts = ", ".join(f"{name} {count:,}" for name, count in figures["counts"].items())
    print(
        f"{size:>12,} {what:<9}{figures['seconds']:>8.1f} s{size / figures['seconds']:>10,.0f} rows/s"
        f"{figures['cpu']:>8.1f} s CPU{peak / 2**20:>8,.0f} MiB ({figures['imported'] / 2**20:,.0f} after "
        f"imports)  goal < 1 GiB: {goal}"
    )
    print(f"{'':>22}{counts}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--what", nargs="+", choices=["validate", "publish"], default=["validate", "publish"])
    parser.add_argument("--chunksize", type=int, default=None, help="default: the library's")
    parser.add_argument("--no-status-out", action="store_true", help="do not write status.parquet")
    parser.add_argument("--child", choices=["validate", "publish"], help=argparse.SUPPRESS)
    for hidden in ("--file", "--status-out", "--url", "--client-id", "--client-secret"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chunksize is None:
        from productiv_pandas.files._readers import DEFAULT_CHUNKSIZE

        args.chunksize = DEFAULT_CHUNKSIZE
    if args.child:
        child(args)
        return

    print(
        f"validate_file / publish_file on generated CSV files; chunksize {args.chunksize:,}; status to "
        f"{'nowhere' if args.no_status_out else 'a Parquet file'}; {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, pandas {pd.__version__}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'rows':>12} {'call':<9}{'time':>10}{'speed':>17}{'CPU':>12}{'peak RSS (VmHWM)':>30}")
    with tempfile.TemporaryDirectory(prefix="bench_files_") as folder, ChildSandbox() as server:
        for size in args.sizes:
            path = Path(folder) / f"events_{size}.csv"
            started = time.perf_counter()
            generate(path, size)
            print(
                f"{'':>12} generated {path.name}: {path.stat().st_size / 2**20:,.0f} MiB in "
                f"{time.perf_counter() - started:.0f} s"
            )
            for what in args.what:
                if what == "validate":
                    show(size, what, measure(what, path, args))
                    continue
                server.reset()
                figures = measure(what, path, args, server)
                stored = server.report()["stats"]["events_stored"]
                check = "ok" if stored == figures["counts"].get("sent", 0) else "MISMATCH"
                show(size, what, figures, f"; sandbox stored {stored:,} ({check})")
            server.reset()
            path.unlink()
            path.with_suffix(".status.parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
