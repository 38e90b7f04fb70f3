"""The ``productiv-pandas`` command line (also ``python -m productiv_pandas``), for backfill
scripts and cron jobs.

``validate`` and ``publish`` read the file in chunks (:func:`~productiv_pandas.validate_file`,
:func:`~productiv_pandas.publish_file`), so their memory stays flat however big the file is;
the per-row status goes to ``--status-out`` as it is made.

Exit codes:

- 0: every row was sent or deliberately left out (duplicate, stale under ``--on-stale skip``);
  for ``validate``: no row is invalid.
- 1: some rows were invalid, rejected or failed (the summary and ``--status-out`` say which).
- 2: usage or configuration errors (missing credentials, unreadable file, missing column),
  with a one-line message and no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .errors import ConfigurationError
from .files import DEFAULT_CHUNKSIZE

__all__ = ["main"]

_EXAMPLES = {
    "validate": """examples:
  productiv-pandas validate export.csv --column user=email --column action=eventName \\
      --column when=timestamp --tz America/New_York --status-out report.csv
  productiv-pandas validate huge.csv.gz --chunksize 250000 --status-out report.parquet""",
    "publish": """examples:
  export PRODUCTIV_CLIENT_ID=... PRODUCTIV_CLIENT_SECRET=...
  productiv-pandas publish export.parquet --app-id acme-docs --column user=email \\
      --login-event sso_login --on-stale skip --status-out status.parquet
  productiv-pandas publish export.csv --app-id acme-docs --sandbox   # a rehearsal, no credentials
  # a long backfill: re-run the same command after a crash or Ctrl-C; the journal makes it
  # skip the rows already sent ("skipped", "already sent") and send only the rest
  productiv-pandas publish backfill.csv --app-id acme-docs --journal backfill.journal \\
      --status-out status.parquet""",
}


def _add_shape_options(parser: argparse.ArgumentParser) -> None:
    """The options of validate/prepare, mirrored from the Python API."""
    parser.add_argument("file", type=Path, help="events file: .csv, .parquet or .jsonl")
    parser.add_argument(
        "--column", action="append", default=[], metavar="INPUT=API",
        help="map an input column to an API field (timestamp, email, eventName, targetApp); repeatable",
    )  # fmt: skip
    parser.add_argument("--unit", choices=("ms", "s", "us", "ns"), default="ms",
                        help="unit of numeric timestamps (default: ms)")  # fmt: skip
    parser.add_argument("--tz", help="zone of timestamps written without an offset, e.g. Europe/Paris")
    parser.add_argument("--login-event", action="append", default=[], metavar="NAME",
                        help="an event name of category Login (needs targetApp); repeatable")  # fmt: skip
    parser.add_argument("--allowed-events", type=Path, metavar="FILE",
                        help="the app's event mapping: a text file with one event name per line")  # fmt: skip
    parser.add_argument(
        "--on-stale", choices=("warn", "skip", "ignore"), default="warn",
                        help="events older than 12 hours: warn and send (default), skip, or send quietly",
    )  # fmt: skip
    parser.add_argument(
        "--status-out", type=Path, metavar="FILE",
        help="write the per-row status here (.csv or .parquet), indexed by file row number",
    )  # fmt: skip
    parser.add_argument(
        "--chunksize", type=int, default=DEFAULT_CHUNKSIZE, metavar="ROWS",
        help=f"rows read at a time; memory grows with it (default {DEFAULT_CHUNKSIZE:,})",
    )  # fmt: skip


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="productiv-pandas",
        description="Validate and publish usage events to Productiv's Publish Usage Events API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    validate = commands.add_parser(
        "validate", help="check an events file row by row; nothing is sent",
        description="Check every row of an events file and print a summary; nothing is sent.",
        epilog=_EXAMPLES["validate"], formatter_class=formatter,
    )  # fmt: skip
    _add_shape_options(validate)
    validate.set_defaults(run=_run_validate)

    publish = commands.add_parser(
        "publish", help="validate an events file and send its valid rows",
        description="Validate an events file and send its valid rows to the app. Credentials come "
        "from PRODUCTIV_ACCESS_TOKEN, or PRODUCTIV_CLIENT_ID and PRODUCTIV_CLIENT_SECRET "
        "(PRODUCTIV_API_URL and PRODUCTIV_TOKEN_URL override the endpoints).",
        epilog=_EXAMPLES["publish"], formatter_class=formatter,
    )  # fmt: skip
    _add_shape_options(publish)
    publish.add_argument("--app-id", required=True, help="the Productiv app the events belong to")
    publish.add_argument(
        "--batch-size", type=int, default=1000, help="events per request, 1-1000 (default 1000)"
    )
    publish.add_argument("--workers", type=int, default=4, help="requests in flight at once (default 4)")
    publish.add_argument(
        "--max-retries", type=int, help="retries for 429, 5xx and network errors (default 5)"
    )
    publish.add_argument(
        "--sandbox", action="store_true", help="publish to an in-process sandbox, not Productiv: a rehearsal"
    )
    publish.add_argument(
        "--journal", type=Path, metavar="FILE",
        help="remember the events the API accepted in this file (created if missing), so that running "
        "the same command again sends only what is missing",
    )  # fmt: skip
    publish.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    publish.set_defaults(run=_run_publish)

    demo = commands.add_parser(
        "demo", help="publish the bundled sample to an in-process sandbox",
        description="Publish data/'s sample export to an in-process sandbox and print what happened.",
        epilog="example: productiv-pandas demo", formatter_class=formatter,
    )  # fmt: skip
    demo.set_defaults(run=_run_demo)

    sandbox = commands.add_parser(
        "sandbox", help="run a local Productiv-compatible API server in the foreground",
        description="Run the local Productiv sandbox on 127.0.0.1 until Ctrl-C.",
        epilog="example: productiv-pandas sandbox --port 8750 --app demo-app --app billing",
        formatter_class=formatter,
    )  # fmt: skip
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    sandbox.add_argument(
        "--app", action="append", default=[], metavar="ID", help="register an app (repeatable)"
    )
    sandbox.set_defaults(run=_run_sandbox)
    return parser


def _options(args: argparse.Namespace) -> dict:
    columns = {}
    for pair in args.column:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise ConfigurationError(f"--column takes INPUT=API, e.g. --column user=email; got {pair!r}")
        columns[source] = target
    options: dict = {"columns": columns, "unit": args.unit, "tz": args.tz, "on_stale": args.on_stale}
    if args.login_event:
        options["login_events"] = set(args.login_event)
    if args.allowed_events is not None:
        try:
            lines = args.allowed_events.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read --allowed-events {str(args.allowed_events)!r}: {exc}"
            ) from None
        options["allowed_events"] = {line.strip() for line in lines if line.strip()}
    return options


def _print_summary(report, stream=sys.stdout) -> None:
    counts = report.counts[report.counts > 0]
    print(f"{report.rows:,} rows", file=stream)
    for name, count in counts.items():
        print(f"  {name:<10}{count:>10,}  {count / max(report.rows, 1):6.1%}", file=stream)
    if len(report.problems):
        print("most frequent problems:", file=stream)
        for kind, row in report.problems.head(10).iterrows():
            print(f"  {int(row.sum()):>8,}  {kind}", file=stream)


def _finish(report, args: argparse.Namespace, bad: tuple[str, ...]) -> int:
    if args.status_out is not None:
        print(f"status written to {args.status_out}", file=sys.stderr)
    _print_summary(report)
    return 1 if report.counts[list(bad)].sum() else 0


def _run_validate(args: argparse.Namespace) -> int:
    from .stream import validate_file

    report = validate_file(args.file, status_out=args.status_out, chunksize=args.chunksize, **_options(args))
    return _finish(report, args, bad=("invalid",))


def _run_publish(args: argparse.Namespace) -> int:
    from .stream import publish_file

    options = _options(args)
    knobs = dict(status_out=args.status_out, chunksize=args.chunksize, journal=args.journal,
                 batch_size=args.batch_size, max_workers=args.workers, max_retries=args.max_retries,
                 progress=False if args.no_progress else None)  # fmt: skip
    if args.sandbox:
        from .sandbox import Sandbox

        with Sandbox(rate_limit=None) as sandbox:
            sandbox.add_app(args.app_id, events=options.get("allowed_events"),
                            login_events=options.get("login_events", ()))  # fmt: skip
            report = publish_file(args.file, args.app_id, client=sandbox.client(), **knobs, **options)
            stored = sandbox.stats()["events_stored"]
            print(f"sandbox: stored {stored:,} events (a rehearsal)", file=sys.stderr)
    else:
        from .client import ProductivClient

        with ProductivClient.from_env() as client:
            report = publish_file(args.file, args.app_id, client=client, **knobs, **options)
    return _finish(report, args, bad=("invalid", "rejected", "failed"))


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _run_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import serve_in_foreground

    return serve_in_foreground(port=args.port, apps=args.app)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.simplefilter("default")
    warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except ConfigurationError as exc:
        print(f"productiv-pandas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # publish_file has already written the status of every row it read; its message says
        # which rows were not reached.
        print(f"interrupted: {exc}" if str(exc) else "interrupted", file=sys.stderr)
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr: a script's log is no place for source lines."""
    print(f"warning: {category.__name__}: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
