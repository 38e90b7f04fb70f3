"""The ``sync`` command: :func:`productiv_pandas.sync` from its flags, one summary printed.

The source is ``--sql QUERY`` on ``--db URL`` (else ``PRODUCTIV_DB_URL``), or a folder, glob or
file given as the positional argument. Exit codes are the run's (:attr:`SyncReport.exit_code`:
0, or 1 for invalid rows beyond ``--max-invalid`` and rows failed, rejected or given up); a
usage, configuration or database error is 2, another run holding the state 3 (:mod:`.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

from ..errors import ConfigurationError
from ._args import shape_options

__all__ = ["run_sync", "sync_lines"]


def _local(when, tz: str | None) -> pd.Timestamp | None:
    """--now/--start: a time without an offset is in --tz, else UTC (as validate reads --now)."""
    if when is None:
        return None
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz or "UTC")
    return stamp.tz_convert("UTC")


def _source(args: argparse.Namespace) -> tuple[object, str | None]:
    if args.sql is not None:
        if args.source is not None:
            raise ConfigurationError(
                f"give a folder or --sql QUERY, not both (got {args.source!r} and --sql)"
            )
        url = args.db or os.environ.get("PRODUCTIV_DB_URL")
        if not url:
            raise ConfigurationError(
                "--sql needs a database: --db URL, or the URL in the environment variable PRODUCTIV_DB_URL"
            )
        return args.sql, url
    if args.db is not None:
        raise ConfigurationError("--db names the database of --sql QUERY: give --sql too, or drop --db")
    if args.source is None:
        raise ConfigurationError("give a folder, glob or file of events, or --sql QUERY (with --db URL)")
    return args.source, None


def sync_lines(summary: dict, source: str) -> list[str]:
    """The run's summary as printed: what was read, per status, the problems, the watermark."""
    rows = summary["rows_read"]
    lines = [f"sync {source}: {rows:,} rows read, {summary['outbox_retried']:,} retried from the outbox"]
    total = max(sum(summary["statuses"].values()), 1)
    for name, count in summary["statuses"].items():
        if count:
            lines.append(f"  {name:<10}{count:>10,}  {count / total:6.1%}")
    if summary["problems"]:
        lines.append("most frequent problems:")
        lines += [f"  {count:>8,}  {code}" for code, count in list(summary["problems"].items())[:10]]
    lines.append(
        f"watermark {summary['watermark_before'] or 'none'} -> {summary['watermark_after'] or 'none'}; "
        f"outbox {summary['outbox_before']:,} -> {summary['outbox_after']:,} rows; "
        f"{summary['requests']:,} requests in {summary['duration_s']:.1f} s"
    )
    return lines


def run_sync(args: argparse.Namespace) -> int:
    from ..sync._run import sync

    source, url = _source(args)
    options = shape_options(args)
    if args.chunksize is not None:
        options["chunksize"] = args.chunksize
    if args.summary_json is not None and args.summary_json.resolve() == args.state.resolve():
        raise ConfigurationError(
            f"--summary-json {str(args.summary_json)!r} is --state: write the summary elsewhere"
        )
    report = sync(
        source, args.app_id, state=args.state, con=url, cursor=args.cursor, overlap=args.overlap,
        start=_local(args.start, args.tz), now=_local(args.now, args.tz), since_as=args.since_as,
        max_outbox_age=args.max_outbox_age, max_invalid=args.max_invalid,
        summary_json=args.summary_json, batch_size=args.batch_size, max_workers=args.workers,
        max_retries=args.max_retries, progress=False, **options,
    )  # fmt: skip
    if args.summary_json is not None:
        print(f"summary written to {args.summary_json}", file=sys.stderr)
    print("\n".join(sync_lines(report.summary, report.run.source)))
    return report.exit_code
