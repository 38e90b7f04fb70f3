"""The parser of the ``productiv-pandas`` command line (:mod:`.cli` runs the commands): its
options, mirrored from the Python API, and their types, which refuse a bad number, an empty app
id or a malformed ``--column`` before anything is read or sent. Every usage error is one line
on stderr and exit code 2, as every configuration error of :mod:`.cli` is.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ..errors import ConfigurationError
from ..files._location import is_url
from ..files._readers import DEFAULT_CHUNKSIZE
from ..preparation._terms import CLI
from ..sending._batches import MAX_BATCH_SIZE
from ..sources._sql_chunks import DEFAULT_SQL_CHUNKSIZE
from ..summary import parse_max_invalid

__all__ = ["build_parser", "one_line"]

_EXAMPLES = {
    "validate": """examples:
  productiv-pandas validate export.csv --column user=email --column action=eventName \\
      --column when=timestamp --tz America/New_York --status-out status.csv --report quality.html
  productiv-pandas validate huge.csv.gz --chunksize 250000 --status-out report.parquet
  export PRODUCTIV_DB_URL='postgresql://etl:secret@db.internal/app'   # out of shell history
  productiv-pandas validate --sql "SELECT user_email, action, occurred_at FROM audit" \\
      --column user_email=email --column action=eventName --column occurred_at=timestamp""",
    "sync": """examples:
  # every 30 minutes (cron, a systemd timer, Airflow: see docs/scheduling.md)
  export PRODUCTIV_DB_URL='postgresql://etl:secret@db.internal/app'
  productiv-pandas sync --app-id acme --state /var/lib/productiv/acme.sync \\
      --sql "SELECT user_email, action, occurred_at, inserted_at FROM audit WHERE inserted_at >= :since" \\
      --cursor inserted_at --column user_email=email --column action=eventName \\
      --column occurred_at=timestamp --summary-json run.json --max-invalid 1%
  productiv-pandas sync /data/drop --app-id acme --state drop.sync   # new and grown files""",
    "publish": """examples:
  export PRODUCTIV_CLIENT_ID='your-client-id' PRODUCTIV_CLIENT_SECRET='your-client-secret'
  productiv-pandas publish export.parquet --app-id acme-docs --column user=email \\
      --login-event sso_login --on-stale skip --status-out status.parquet
  productiv-pandas publish export.csv --app-id acme-docs --sandbox   # a rehearsal, no credentials
  # a long backfill: re-run the same command after a crash or Ctrl-C; the journal makes it
  # skip the rows already sent ("skipped", "already sent") and send only the rest
  productiv-pandas publish backfill.csv --app-id acme-docs --journal backfill.journal \\
      --status-out status.parquet
  # straight from the database (the URL from PRODUCTIV_DB_URL, or --db URL)
  productiv-pandas publish --sql "SELECT user_email, action, occurred_at FROM audit WHERE ..." \\
      --app-id acme-docs --column user_email=email --column action=eventName \\
      --column occurred_at=timestamp --journal backfill.journal --status-out status.parquet""",
}


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one line (and exit 2), like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"productiv-pandas: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, refused in words otherwise."""
    wanted = f"a whole number from {low:,} to {high:,}" if high is not None else f"a whole number >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value

    return parse


def _text(what: str, *, no_slash: bool = False) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{what} must not be empty")
        if what == "app id" and text in (".", ".."):
            raise argparse.ArgumentTypeError(
                f"app_id {text!r} is not an app id: a URL reads it as a path step"
            )
        if no_slash and "/" in text:
            raise argparse.ArgumentTypeError(f"the sandbox takes {what}s without '/', got {text!r}")
        return text

    return parse


def _path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file path, got an empty one")
    return Path(text)


def _path_or_url(text: str) -> Path | str:
    """A file path, or a URL kept as written (``s3://bucket/key``: Path would fold its ``//``)."""
    path = _path(text)
    return text if is_url(text) else path


def _iso_time(text: str) -> dt.datetime:
    """``--now``: an ISO 8601 time (``2026-12-02T12:00:00Z``, ``...+01:00``, or without an offset:
    then in ``--tz``, else UTC, as the file's own times are read). The value is parsed here, so
    a typo is exit 2 before anything is read."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time like 2026-12-02T12:00:00Z, got {text!r}"
        ) from None


def _max_invalid(text: str) -> str:
    """``--max-invalid``: ``N`` rows or ``P%`` of the rows read, checked here, kept as written
    (:func:`productiv_pandas.summary.exceeds` reads it)."""
    try:
        parse_max_invalid(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("max_invalid", "--max-invalid", 1)) from None
    return text.strip()


def _column(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"takes INPUT=API, e.g. --column user=email; got {text!r}")
    return source, target


def _add_shape_options(parser: argparse.ArgumentParser) -> None:
    """The options of validate/prepare, mirrored from the Python API."""
    parser.add_argument(
        "file", type=_path_or_url, nargs="?",
        help="events file: .csv, .parquet or .jsonl, a path or a URL (s3://, gs://, az://, https://); "
        "or --sql",
    )  # fmt: skip
    parser.add_argument(
        "--sql", metavar="QUERY", type=_text("the --sql query"),
        help="read the events from this SQL query instead of a file, streamed from the database --db names",
    )  # fmt: skip
    parser.add_argument(
        "--db", metavar="URL", type=_text("the --db URL"),
        help="the database --sql runs on, as a SQLAlchemy URL (postgresql://etl@db/app, "
        "sqlite:///events.db); default: the environment variable PRODUCTIV_DB_URL, which keeps a "
        "password out of shell history",
    )  # fmt: skip
    parser.add_argument(
        "--column", action="append", default=[], metavar="INPUT=API", type=_column,
        help="map an input column to an API field (timestamp, email, eventName, targetApp); repeatable",
    )  # fmt: skip
    parser.add_argument("--unit", choices=("ms", "s", "us", "ns"), default="ms",
                        help="unit of numeric timestamps (default: ms)")  # fmt: skip
    parser.add_argument("--tz", help="zone of timestamps written without an offset, e.g. Europe/Paris")
    parser.add_argument("--login-event", action="append", default=[], metavar="NAME",
                        help="an event name of category Login (needs targetApp); repeatable")  # fmt: skip
    parser.add_argument("--allowed-events", type=_path, metavar="FILE",
                        help="the app's event mapping: a text file with one event name per line")  # fmt: skip
    parser.add_argument(
        "--on-stale", choices=("warn", "skip", "ignore"), default="warn",
                        help="events older than 12 hours: warn and send (default), skip, or send quietly",
    )  # fmt: skip
    parser.add_argument(
        "--status-out", type=_path_or_url, metavar="FILE",
        help="write the per-row status here (.csv or .parquet, a path or an s3://, gs://, az:// URL), "
        "indexed by file row number",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=_path, metavar="FILE",
        help="write a self-contained HTML data-quality report of the run here (one file, to share)",
    )  # fmt: skip
    parser.add_argument(
        "--redact-emails", action="store_true",
        help="mask every email in the --report page as a***@acme.com (for reports that leave the team)",
    )  # fmt: skip
    parser.add_argument(
        "--now", type=_iso_time, metavar="ISO-TIME",
        help="the reference time that stale and future events are judged against (default: the "
        "current time), e.g. 2026-12-02T12:00:00Z, for replays and tests; without an offset it is "
        "in --tz, else UTC",
    )  # fmt: skip
    parser.add_argument(
        "--max-invalid", type=_max_invalid, default="0", metavar="N|P%",
        help="exit 1 only when more rows than this are invalid: a number of rows, or a percentage "
        "of the rows read (1%%, 0.5%%); default 0: any invalid row exits 1",
    )  # fmt: skip
    parser.add_argument(
        "--summary-json", type=_path, metavar="FILE",
        help="write the run's summary here as JSON (counts per status and problem, requests, "
        "duration, exit code; schema: productiv_pandas/schemas/run-summary.v1.json), replaced atomically",
    )  # fmt: skip
    parser.add_argument(
        "--chunksize", type=_integer(1), default=None, metavar="ROWS",
        help=f"rows read at a time; memory grows with it (default {DEFAULT_CHUNKSIZE:,}; "
        f"{DEFAULT_SQL_CHUNKSIZE:,} for --sql)",
    )  # fmt: skip


def _duration(text: str) -> str:
    """``--overlap``, ``--max-outbox-age``: a duration with its unit (``15min``, ``12h``)."""
    import pandas as pd

    try:
        value = pd.Timedelta(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration like 15min or 12h, got {text!r}") from None
    if pd.isna(value) or value < pd.Timedelta(0) or text.strip().lstrip("+").replace(".", "").isdigit():
        raise argparse.ArgumentTypeError(f"expected a duration like 15min or 12h, got {text!r}")
    return text.strip()


def _add_sync(commands, formatter) -> None:
    """``sync``: every option of ``pp.sync`` as a flag, and publish's sending options."""
    sync = commands.add_parser(
        "sync",
        help="send what is new in a table or folder since the last run (for cron, Airflow)",
        description="One scheduled run: read the rows of --sql (WHERE cursor >= :since) or the new "
        "and grown files of a folder, retry the outbox of rows that failed before, send what the "
        "journal has not seen, and remember the watermark, all in the --state file. Exit 0 ok, 1 "
        "invalid rows beyond --max-invalid or rows failed, 2 usage, configuration or database "
        "error, 3 another run holds the state.",
        epilog=_EXAMPLES["sync"],
        formatter_class=formatter,
    )
    sync.add_argument(
        "source",
        nargs="?",
        type=_text("the source"),
        help="a folder, a glob or a file of events (.csv, .parquet, .jsonl); or --sql",
    )
    sync.add_argument(
        "--sql",
        metavar="QUERY",
        type=_text("the --sql query"),
        help="the query, with a :since parameter (WHERE inserted_at >= :since)",
    )
    sync.add_argument(
        "--db",
        metavar="URL",
        type=_text("the --db URL"),
        help="the database of --sql (default: PRODUCTIV_DB_URL)",
    )
    sync.add_argument(
        "--app-id", required=True, type=_text("app id"), help="the Productiv app the events belong to"
    )
    sync.add_argument(
        "--state",
        required=True,
        type=_path,
        metavar="FILE",
        help="the state file (SQLite: watermark, journal, outbox), created if missing",
    )
    sync.add_argument(
        "--cursor",
        metavar="COLUMN",
        help="the column saying when a row arrived (insert or load time); default: the "
        "event time, and rows arriving later than --overlap are then missed",
    )
    sync.add_argument(
        "--overlap",
        type=_duration,
        default="15min",
        help="how far before the watermark each run reads again (default 15min)",
    )
    sync.add_argument(
        "--start",
        type=_iso_time,
        metavar="ISO-TIME",
        help="where the first run reads from (default: --now minus 12 hours)",
    )
    sync.add_argument(
        "--now",
        type=_iso_time,
        metavar="ISO-TIME",
        help="the reference time of the run (default: the current time); without an offset in --tz, else UTC",
    )
    sync.add_argument(
        "--since-as",
        choices=("datetime", "epoch_ms", "iso"),
        default="datetime",
        help=":since as a UTC datetime (default), epoch milliseconds, or ISO text",
    )
    sync.add_argument(
        "--max-outbox-age",
        type=_duration,
        default="12h",
        help="retry a failed row until its event is this old, then give it up (default 12h)",
    )
    sync.add_argument(
        "--max-invalid",
        type=_max_invalid,
        default="0",
        metavar="N|P%",
        help="exit 1 only when more rows than this are invalid (rows, or %% of the rows read)",
    )
    sync.add_argument(
        "--summary-json",
        type=_path,
        metavar="FILE",
        help="write the run's summary here as JSON, replaced atomically",
    )
    sync.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="INPUT=API",
        type=_column,
        help="map an input column to an API field; repeatable",
    )
    sync.add_argument(
        "--unit",
        choices=("ms", "s", "us", "ns"),
        default="ms",
        help="unit of numeric timestamps (default: ms)",
    )
    sync.add_argument("--tz", help="zone of timestamps written without an offset, e.g. Europe/Paris")
    sync.add_argument(
        "--login-event",
        action="append",
        default=[],
        metavar="NAME",
        help="an event name of category Login (needs targetApp); repeatable",
    )
    sync.add_argument(
        "--allowed-events",
        type=_path,
        metavar="FILE",
        help="the app's event mapping: a text file with one event name per line",
    )
    sync.add_argument(
        "--on-stale",
        choices=("warn", "skip", "ignore"),
        default="warn",
        help="events older than 12 hours: warn and send (default), skip, or send quietly",
    )
    sync.add_argument(
        "--batch-size",
        type=_integer(1, MAX_BATCH_SIZE),
        default=MAX_BATCH_SIZE,
        help=f"events per request, 1-{MAX_BATCH_SIZE} (default {MAX_BATCH_SIZE})",
    )
    sync.add_argument("--workers", type=_integer(1), default=4, help="requests in flight at once (default 4)")
    sync.add_argument(
        "--max-retries", type=_integer(0), help="retries for 429, 5xx and network errors (default 5)"
    )
    sync.add_argument(
        "--chunksize",
        type=_integer(1),
        default=None,
        metavar="ROWS",
        help=f"rows read at a time (default {DEFAULT_SQL_CHUNKSIZE:,})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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

    publish = commands.add_parser(
        "publish", help="validate an events file and send its valid rows",
        description="Validate an events file and send its valid rows to the app. Credentials come "
        "from PRODUCTIV_ACCESS_TOKEN, or PRODUCTIV_CLIENT_ID and PRODUCTIV_CLIENT_SECRET "
        "(PRODUCTIV_API_URL and PRODUCTIV_TOKEN_URL override the endpoints).",
        epilog=_EXAMPLES["publish"], formatter_class=formatter,
    )  # fmt: skip
    _add_shape_options(publish)
    publish.add_argument(
        "--app-id", required=True, type=_text("app id"), help="the Productiv app the events belong to"
    )
    publish.add_argument(
        "--batch-size", type=_integer(1, MAX_BATCH_SIZE), default=MAX_BATCH_SIZE,
        help=f"events per request, 1-{MAX_BATCH_SIZE} (default {MAX_BATCH_SIZE})",
    )  # fmt: skip
    publish.add_argument(
        "--workers", type=_integer(1), default=4, help="requests in flight at once (default 4)"
    )
    publish.add_argument(
        "--max-retries", type=_integer(0), help="retries for 429, 5xx and network errors (default 5)"
    )
    publish.add_argument(
        "--sandbox", action="store_true", help="publish to an in-process sandbox, not Productiv: a rehearsal"
    )
    publish.add_argument(
        "--journal", type=_path, metavar="FILE",
        help="remember the events the API accepted in this file (created if missing), so that running "
        "the same command again sends only what is missing",
    )  # fmt: skip
    publish.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    _add_sync(commands, formatter)

    demo = commands.add_parser(
        "demo", help="publish a generated sample export to an in-process sandbox",
        description="Publish a generated sample export (pp.sample_events()) to an in-process sandbox, "
        "print what happened and write the charts of its status as PNG files.",
        epilog="example: productiv-pandas demo --out charts", formatter_class=formatter,
    )  # fmt: skip
    demo.add_argument(
        "--out", type=_path, metavar="DIR", default=None,
        help="the folder the charts are written to (created if missing; default: ./productiv-demo)",
    )  # fmt: skip

    sandbox = commands.add_parser(
        "sandbox", help="run a local Productiv-compatible API server in the foreground",
        description="Run the local Productiv sandbox on 127.0.0.1 until Ctrl-C.",
        epilog="example: productiv-pandas sandbox --port 8750 --app demo-app --app billing",
        formatter_class=formatter,
    )  # fmt: skip
    sandbox.add_argument(
        "--port", type=_integer(0, 65535), default=0, help="port to listen on (default: any free port)"
    )
    sandbox.add_argument(
        "--app", action="append", default=[], metavar="ID", type=_text("app id", no_slash=True),
        help="register an app (repeatable)",
    )  # fmt: skip
    return parser


def shape_options(args: argparse.Namespace) -> dict:
    """The options that shape how rows are judged (--column, --unit, --tz, --on-stale,
    --login-event, --allowed-events), as the Python keywords, for validate, publish and sync."""
    # _terms: the messages and reasons of this run name --column, --unit... (see preparation._terms)
    options: dict = {"columns": dict(args.column), "unit": args.unit, "tz": args.tz,
                     "on_stale": args.on_stale, "_terms": CLI}  # fmt: skip
    if args.login_event:
        options["login_events"] = set(args.login_event)
    if args.allowed_events is not None:
        try:
            lines = args.allowed_events.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                f"cannot read --allowed-events {str(args.allowed_events)!r}: {exc}"
            ) from None
        options["allowed_events"] = {line.strip() for line in lines if line.strip()}
    return options
