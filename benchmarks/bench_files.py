"""Files bigger than memory: validate_file against pandas reading the whole file, and time and
peak RSS of validate_file and publish_file as the file grows.

For each ``--sizes`` (default 2,000,000 and 10,000,000 rows, issue 15's) a CSV is generated in
a temporary directory, written a chunk at a time (the 10M-row file never sits in memory, here
or anywhere else), then deleted at the end. Its columns: ``timestamp`` as ISO-8601 text with
milliseconds and a ``Z`` (how exports usually write it), within the 12 hours before a fixed
``now``; ``email`` from 50,000 users, 1% without a domain; ``eventName`` from a 14-name
catalog; ``department``, a column the API does not take. 2% of rows repeat an earlier row's
event, most of them from an earlier chunk (up to 2,000,000 rows back), so the cross-chunk
de-duplication does real work.

Each measurement runs in a fresh child process (this script with ``--child``), so its peak RSS
(``VmHWM``: the whole process, interpreter and imports included) is its own. The legs
(``--what``):

- ``compare`` (the default; issue 15's bar): ``pandas``, the baseline,
  ``pp.validate(pd.read_csv(path, engine="pyarrow"), now=NOW)`` (the whole file in memory,
  pyarrow's multithreaded reader); ``validate_file``, ``pp.validate_file(path, now=NOW)`` with
  the same options and NO ``status_out`` (the bar's figure: both give the status, neither
  writes it); and ``+ status``, the same with ``status_out=<tmp>/status.parquet``, shown for
  what writing the status costs. Goals: validate_file's time <= 1.2x the baseline's at every
  size, its peak RSS < 512 MiB at 10,000,000 rows.
- ``validate``: ``pp.validate_file(path, status_out=<tmp>/status.parquet, now=NOW)`` alone
  (``--no-status-out`` drops the status file); goal: peak < 1 GiB.
- ``publish``: ``pp.publish_file(path, app, client=..., status_out=..., now=NOW)`` to a sandbox
  in another child process (rate limit off, reset before each run, started as
  ``bench_sandbox.py`` starts it), which is checked to hold exactly the rows marked ``sent``;
  goal: peak < 1 GiB.

Run: ``.venv/bin/python benchmarks/bench_files.py [--sizes 2000000 10000000]
[--what compare validate publish] [--chunksize N] [--no-status-out]``. A benchmark, not a
test: it prints and exits 0. Times are wall-clock on a possibly shared machine: the ratio,
baseline and contender measured in the same run, is the figure to read.
"""

from __future__ import annotations

import argparse
import contextlib
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
from _goals import goal  # sibling scripts, not a package
from bench_sandbox import ChildSandbox

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
RATIO_BAR = 1.2  # validate_file's time over pandas' read + validate
PEAK_BAR = 512 << 20  # validate_file's peak RSS at 10,000,000 rows
PEAK_BAR_ROWS = 10_000_000


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
    if args.child == "pandas":
        frame = pd.read_csv(args.file, engine="pyarrow")
        status = pp.validate(frame, now=NOW)
        counts = status["status"].value_counts()
        report = argparse.Namespace(rows=len(status), counts=counts[counts.index.isin(pp.STATUSES)])
    elif args.child == "validate":
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


def measure(what: str, path: Path, args: argparse.Namespace, server=None, status: bool | None = None) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", what, "--file", str(path)]
    command += ["--chunksize", str(args.chunksize)]
    if (not args.no_status_out) if status is None else status:
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


def compare(size: int, path: Path, args: argparse.Namespace) -> None:
    """validate_file against pandas' whole-file read and validate, each in a fresh process."""
    pandas = measure("pandas", path, args)
    bare = measure("validate", path, args, status=False)
    written = measure("validate", path, args, status=True)
    for label, figures in (("pandas", pandas), ("validate_file", bare), ("+ status", written)):
        ratio = figures["seconds"] / pandas["seconds"]
        print(
            f"{size:>12,} {label:<14}{figures['seconds']:>7.2f} s{ratio:>6.2f}x{figures['cpu']:>7.2f} s CPU"
            f"{figures['peak'] / 2**20:>8,.0f} MiB peak ({figures['imported'] / 2**20:,.0f} after imports)"
        )
    if bare["counts"] != pandas["counts"]:
        print(f"{'':>13}COUNTS DIFFER: pandas {pandas['counts']}, validate_file {bare['counts']}")
    else:
        print(f"{'':>13}same counts: " + ", ".join(f"{k} {v:,}" for k, v in bare["counts"].items()))
    ratio = bare["seconds"] / pandas["seconds"]
    goal(
        "files",
        f"validate_file {size:,} rows vs pandas read_csv(pyarrow) + validate",
        ratio,
        f"<= {RATIO_BAR}x",
        ratio <= RATIO_BAR,
    )
    if size == PEAK_BAR_ROWS:
        peak = bare["peak"] / 2**20
        goal(
            "files",
            f"validate_file peak RSS at {size:,} rows",
            peak,
            "< 512 MiB",
            bare["peak"] < PEAK_BAR,
            " MiB",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000_000, 10_000_000])
    parser.add_argument("--what", nargs="+", choices=["compare", "validate", "publish"], default=["compare"])
    parser.add_argument("--chunksize", type=int, default=None, help="default: the library's")
    parser.add_argument("--no-status-out", action="store_true", help="do not write status.parquet")
    parser.add_argument("--child", choices=["pandas", "validate", "publish"], help=argparse.SUPPRESS)
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
        f"validate_file / publish_file on generated CSV files; chunksize {args.chunksize:,}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, pandas {pd.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    sandbox = ChildSandbox() if "publish" in args.what else contextlib.nullcontext()
    with tempfile.TemporaryDirectory(prefix="bench_files_") as folder, sandbox as server:
        for size in args.sizes:
            path = Path(folder) / f"events_{size}.csv"
            started = time.perf_counter()
            generate(path, size)
            print(
                f"{'':>12} generated {path.name}: {path.stat().st_size / 2**20:,.0f} MiB in "
                f"{time.perf_counter() - started:.0f} s"
            )
            for what in args.what:
                if what == "compare":
                    print(
                        f"{'rows':>12} {'call':<14}{'time':>9}{'ratio':>7}{'CPU':>13}{'peak RSS (VmHWM)':>30}"
                    )
                    compare(size, path, args)
                    continue
                status = "nowhere" if args.no_status_out else "a Parquet file"
                head = f"{'rows':>12} {'call':<9}{'time':>10}{'speed':>17}{'CPU':>12}{'peak RSS':>14}"
                print(f"{head}; status to {status}")
                if what == "validate":
                    show(size, what, measure(what, path, args))
                    continue
                server.reset()
                figures = measure(what, path, args, server)
                stored = server.report()["stats"]["events_stored"]
                check = "ok" if stored == figures["counts"].get("sent", 0) else "MISMATCH"
                show(size, what, figures, f"; sandbox stored {stored:,} ({check})")
            if server is not None:
                server.reset()
            path.unlink()
            path.with_suffix(".status.parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
