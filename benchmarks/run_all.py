"""``make bench``: run every benchmark with its default arguments, then print one table of goals.

Each script runs in its own process, one after the other (they time themselves; two at once
would share the two CPUs), its output shown as it comes. The goals it measures reach the table
through ``benchmarks/_goals.py`` (a JSON line each, in a file named by ``PP_BENCH_GOALS``), so
the table holds what was measured in this run, nothing copied from elsewhere. A script that
fails is a row of its own; the run goes on with the next script.

    python benchmarks/run_all.py                  # everything (about 10 minutes on 2 CPUs)
    python benchmarks/run_all.py --only publish files_validate
    python benchmarks/run_all.py --list

A benchmark run, not a test: it exits 0 whether or not the goals are met (1 if a script failed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _goals import GOALS_ENV, RUN_ENV  # noqa: E402  (a sibling script, not a package)

#: name -> the script and its arguments (the defaults: the sizes each goal is set at).
BENCHMARKS: dict[str, list[str]] = {
    "validate": ["bench_validate.py"],
    "publish": ["bench_publish.py"],
    "serialize": ["bench_serialize.py"],
    "files": ["bench_files.py"],
    "publish_file": ["bench_publish_file.py"],
    "chunks": ["bench_chunks.py"],
    "sql": ["bench_sql.py"],
    "report": ["report.py"],
    "sandbox": ["bench_sandbox.py"],
    "jsonl": ["bench_jsonl.py"],
}


def run(name: str, goals_file: Path) -> tuple[float, int]:
    """Run one benchmark, its output passed through; its wall time and exit code."""
    script, *arguments = BENCHMARKS[name]
    print(f"\n{'=' * 30} {name}: {script} {' '.join(arguments)}".rstrip(), flush=True)
    environment = {**os.environ, GOALS_ENV: str(goals_file), RUN_ENV: name, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *arguments], env=environment, check=False)
    return time.perf_counter() - started, done.returncode


def table(goals: list[dict], runs: dict[str, tuple[float, int]]) -> str:
    """The goals as one markdown table, in the order run, then the scripts without a goal."""
    lines = ["| benchmark | goal | measured | bar | |", "|---|---|---|---|---|"]
    for line in goals:
        value = f"{line['value']:,.2f}{line['unit']}"
        verdict = "met" if line["met"] else "**MISSED**"
        lines.append(f"| {line['run']} | {line['label']} | {value} | {line['target']} | {verdict} |")
    with_goals = {line["run"] for line in goals}
    for name, (seconds, code) in runs.items():
        if code != 0:
            failed = f"exit code {code} after {seconds:,.0f} s"
            lines.append(f"| {name} | the script ran | {failed} | exit code 0 | **FAILED** |")
        elif name not in with_goals:
            lines.append(f"| {name} | figures only (see its output) | {seconds:,.0f} s | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run these only")
    parser.add_argument("--skip", nargs="+", choices=sorted(BENCHMARKS), default=[], help="leave these out")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--table-out", type=Path, help="also write the table (markdown) here")
    args = parser.parse_args(argv)
    if args.list:
        for name, command in BENCHMARKS.items():
            print(f"{name:<14}{' '.join(command)}")
        return 0
    names = [name for name in (args.only or BENCHMARKS) if name not in args.skip]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        goals_file = Path(folder) / "goals.jsonl"
        goals_file.touch()
        runs = {name: run(name, goals_file) for name in names}
        goals = [json.loads(line) for line in goals_file.read_text().splitlines() if line.strip()]
    load = os.getloadavg()[0]
    print(f"\n{'=' * 30} make bench: {len(names)} scripts in {time.perf_counter() - started:,.0f} s "
          f"({os.cpu_count()} CPUs, load average {load:.1f} at the end)\n")  # fmt: skip
    text = table(goals, runs)
    print(text)
    missed = sum(not line["met"] for line in goals)
    print(f"\n{len(goals) - missed} of {len(goals)} goals met")
    if args.table_out:
        args.table_out.write_text(text + "\n", encoding="utf-8")
    return 1 if any(code != 0 for _, code in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
