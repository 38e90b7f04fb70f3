"""The ``productiv-pandas`` command line (also ``python -m productiv_pandas``), for backfill
scripts and cron jobs.

``validate`` and ``publish`` read the file in chunks (:func:`~productiv_pandas.validate_file`,
:func:`~productiv_pandas.publish_file`), so their memory stays flat however big the file is;
the per-row status goes to ``--status-out`` as it is made.

Exit codes (``sync`` differs in 3 and 4):

- 0: every row was sent or deliberately left out (duplicate, stale under ``--on-stale skip``);
  for ``validate``: no row is invalid. Invalid rows within ``--max-invalid N`` (rows) or
  ``P%`` (of the rows read) still exit 0; the default 0 lets no invalid row pass.
- 1: some rows were not ok: for ``validate`` more rows are invalid than ``--max-invalid``
  allows; for ``publish`` that, or a row rejected or failed (whatever ``--max-invalid`` says:
  it counts invalid rows only). The summary and ``--status-out`` say which. Only rows make 1.
- 2: a usage or configuration error, as ONE line on stderr (``productiv-pandas: error: ...``),
  no traceback: a bad option value (argparse's own errors included: they are made one line
  too), a missing or unreadable file, missing or malformed credentials (``PRODUCTIV_*``), a
  bad ``PRODUCTIV_API_URL``, a journal that cannot be used, two options naming one file, a
  status file that could not be written (a full disk; the line says where each row's status
  is). Every :class:`~productiv_pandas.ProductivError` and every ``OSError`` that reaches the
  command line is one of these: they are about the user's input or machine, not the code.
  Numbers are checked by the parser, before anything is read or sent.
- 3: an internal error, a bug: one line naming the exception's type and where it was raised,
  never its text, which might quote a credential; please report it. On ``sync``, 3 means
  another run holds the state (nothing was read or sent: try again later).
- 4: ``sync`` only: an internal error, as 3 is on the other commands, so that a scheduler
  retrying on 3 never takes a bug for a busy state.
- 130: interrupted (Ctrl-C); the line says which rows have a status.

``--summary-json FILE`` writes the run's summary as JSON (:mod:`productiv_pandas.summary`: the
keys, their schema ``schemas/run-summary.v1.json``) once the run has ended with 0 or 1, or was
interrupted (130: the rows read so far); its ``exit_code`` is the code the process exits with.
On 2, 3 or 4 no summary is written (a file already there is left as it was). ``--now ISO-TIME``
is the reference time of the stale and future checks; without an offset it is in ``--tz``,
else UTC, as times in the file are.

An app id is any non-empty text: the client URL-quotes it (``acme/docs`` goes on the wire as
``acme%2Fdocs``). The ``--sandbox`` rehearsal takes app ids without ``/`` and says so (exit 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigurationError, ProductivError, SyncLocked
from ..summary import build_summary, exceeds, write_summary
from ._args import build_parser, one_line, shape_options

__all__ = ["main"]


def _check_report(args: argparse.Namespace) -> None:
    """--report and --redact-emails, checked before the file is read."""
    if args.redact_emails and args.report is None:
        raise ConfigurationError("--redact-emails masks the emails of the --report page: give --report FILE")
    if args.report is None:
        return
    for other, what in ((args.file, "the events file"), (args.status_out, "--status-out"),
                        (getattr(args, "journal", None), "--journal")):  # fmt: skip
        if other is not None and Path(args.report).resolve() == Path(other).resolve():
            raise ConfigurationError(f"--report {str(args.report)!r} is {what}: write the report elsewhere")


def _check_summary_json(args: argparse.Namespace) -> None:
    """--summary-json must not overwrite the events file or another output of the run."""
    if args.summary_json is None:
        return
    outputs = ((args.file, "the events file"), (args.status_out, "--status-out"), (args.report, "--report"),
               (getattr(args, "journal", None), "--journal"))  # fmt: skip
    for other, what in outputs:
        if isinstance(other, Path) and args.summary_json.resolve() == other.resolve():  # not a URL
            raise ConfigurationError(
                f"--summary-json {str(args.summary_json)!r} is {what}: write the summary elsewhere"
            )


def _database(args: argparse.Namespace) -> str | None:
    """The database URL of ``--sql`` (``--db``, else ``PRODUCTIV_DB_URL``), or None for a file;
    checked before anything is read."""
    if args.sql is None:
        if args.db is not None:
            raise ConfigurationError("--db names the database of --sql QUERY: give --sql too, or drop --db")
        if args.file is None:
            raise ConfigurationError(
                "give an events file, or --sql QUERY (with --db URL or PRODUCTIV_DB_URL)"
            )
        return None
    if args.file is not None:
        raise ConfigurationError(
            f"give an events file or --sql QUERY, not both (got {str(args.file)!r} and --sql)"
        )
    url = args.db or os.environ.get("PRODUCTIV_DB_URL")
    if not url:
        raise ConfigurationError(
            "--sql needs a database: --db URL, or the URL in the environment variable PRODUCTIV_DB_URL"
        )
    return url


def _options(args: argparse.Namespace) -> dict:
    _check_report(args)
    _check_summary_json(args)
    options = shape_options(args)
    if args.now is not None:  # without an offset: in --tz, else UTC (as the Python now= reads it)
        options["now"] = args.now
    return options


def _print_summary(report, stream=None) -> None:
    # sys.stdout looked up at the call, not bound at import: redirections made later still apply.
    stream = sys.stdout if stream is None else stream
    counts = report.counts[report.counts > 0]
    print(f"{report.rows:,} rows", file=stream)
    for name, count in counts.items():
        print(f"  {name:<10}{count:>10,}  {count / max(report.rows, 1):6.1%}", file=stream)
    if len(report.problems):
        print("most frequent problems:", file=stream)
        for code, row in report.problems.head(10).iterrows():
            print(f"  {int(row.sum()):>8,}  {code}", file=stream)


def _exit_code(report, args: argparse.Namespace, undelivered: tuple[str, ...]) -> int:
    """1 when the invalid rows exceed --max-invalid (of the rows read) or a row of ``undelivered``
    (publish: rejected, failed) exists; else 0. A line says how the invalid rows stood against a
    --max-invalid other than 0, so a log shows why a run with invalid rows passed."""
    invalid = int(report.counts["invalid"])
    over = exceeds(invalid, report.rows, args.max_invalid)
    if invalid and args.max_invalid != "0":
        verdict = "exceed" if over else "within"
        print(f"{invalid:,} of {report.rows:,} rows invalid: {verdict} --max-invalid {args.max_invalid}",
              file=sys.stderr)  # fmt: skip
    return 1 if over or report.counts[list(undelivered)].sum() else 0


def _write_summary_json(report, args: argparse.Namespace, code: int) -> None:
    """--summary-json: the run's summary, ``exit_code`` the code the process exits with."""
    if args.summary_json is None:
        return
    summary = build_summary(
        statuses=report.counts.to_dict(),
        problems=report.problems.sum(axis=1).to_dict() if len(report.problems) else {},
        rows_read=report.rows,
        requests=report.requests,
        duration_s=time.monotonic() - args.started,
        exit_code=code,
    )
    write_summary(summary, args.summary_json)
    print(f"summary written to {args.summary_json}", file=sys.stderr)


def _finish(report, args: argparse.Namespace, undelivered: tuple[str, ...]) -> int:
    if args.status_out is not None:
        print(f"status written to {args.status_out}", file=sys.stderr)
    if args.report is not None:  # collected during the run: no second pass over the file
        report.report(args.report, redact_emails=args.redact_emails)
        print(f"report written to {args.report}", file=sys.stderr)
    _print_summary(report)
    code = _exit_code(report, args, undelivered)
    _write_summary_json(report, args, code)
    return code


def _run_validate(args: argparse.Namespace) -> int:
    url = _database(args)
    options = _options(args)
    if url is not None:
        from ..sources._sql import DEFAULT_SQL_CHUNKSIZE, validate_sql

        chunksize = args.chunksize or DEFAULT_SQL_CHUNKSIZE
        report = validate_sql(args.sql, url, status_out=args.status_out, chunksize=chunksize, **options)
    else:
        from ..files._stream import DEFAULT_CHUNKSIZE, validate_file

        chunksize = args.chunksize or DEFAULT_CHUNKSIZE
        report = validate_file(args.file, status_out=args.status_out, chunksize=chunksize, **options)
    return _finish(report, args, undelivered=())


def _run_publish(args: argparse.Namespace) -> int:
    from ..files._stream import DEFAULT_CHUNKSIZE, send_file
    from ..sending._settings import SendSettings
    from ..sources._sql import DEFAULT_SQL_CHUNKSIZE, send_sql
    from ._summary import publish_summary

    url = _database(args)
    options = _options(args)
    # The sending options as one value, checked once, before the file is read (the parser has
    # already refused bad numbers); the client is added once it exists.
    settings = SendSettings(args.app_id, journal=args.journal, batch_size=args.batch_size,
                            max_workers=args.workers, max_retries=args.max_retries,
                            progress=False if args.no_progress else None)  # fmt: skip
    chunksize = args.chunksize or (DEFAULT_CHUNKSIZE if url is None else DEFAULT_SQL_CHUNKSIZE)
    shape = dict(status_out=args.status_out, chunksize=chunksize, **options)

    def send(settings: SendSettings):
        if url is None:
            return send_file(args.file, settings, **shape)
        return send_sql(args.sql, url, settings, **shape)

    if args.sandbox:
        from ..sandbox import Sandbox

        with Sandbox(rate_limit=None) as sandbox:
            try:
                sandbox.add_app(args.app_id, events=options.get("allowed_events"),
                                login_events=options.get("login_events", ()))  # fmt: skip
            except ValueError as exc:  # the sandbox's own rules for app ids (no '/')
                raise ConfigurationError(
                    f"--sandbox cannot rehearse --app-id {args.app_id!r}: {exc}"
                ) from None
            report = send(settings.replace(client=sandbox.client()))
    else:
        from ..client._client import ProductivClient

        with ProductivClient.from_env() as client:
            report = send(settings.replace(client=client))
    code = _finish(report, args, undelivered=("rejected", "failed"))
    print(publish_summary(report.counts, report.rows, args.app_id, args.status_out, sandbox=args.sandbox))
    return code


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(args.out)


def _run_sandbox(args: argparse.Namespace) -> int:
    from ..sandbox import serve_in_foreground

    return serve_in_foreground(port=args.port, apps=args.app)


def _run_sync(args: argparse.Namespace) -> int:
    from ._sync import run_sync

    return run_sync(args)


_COMMANDS = {"validate": _run_validate, "publish": _run_publish, "sync": _run_sync, "demo": _run_demo,
             "sandbox": _run_sandbox}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    args.started = time.monotonic()  # the summary's duration_s counts from here
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.simplefilter("default")
    warnings.showwarning = _show_warning
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt as exc:  # PublishInterrupted too (a ProductivError as well)
        # publish_file has already written the status of every row it read; its message says
        # which rows were not reached.
        print(f"interrupted: {one_line(exc)}" if str(exc) else "interrupted", file=sys.stderr)
        report = getattr(exc, "report", None)  # the rows read before Ctrl-C, when a run had begun
        if report is not None and getattr(args, "summary_json", None) is not None:
            _write_summary_json(report, args, 130)
        return 130
    except SyncLocked as exc:  # sync: another run holds the state; nothing was read or sent
        print(f"productiv-pandas: {one_line(exc)}", file=sys.stderr)
        return 3
    except (ProductivError, OSError) as exc:
        # The user's input, environment or machine: our messages never quote a secret.
        print(f"productiv-pandas: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A bug. Its text is not shown: an exception from below (http.client, a codec) may
        # quote a credential; the type and the place are enough to find it.
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"productiv-pandas: internal error: {type(exc).__name__} at {Path(frame.filename).name}:"
            f"{frame.lineno} (a bug in productiv-pandas: please report it)",
            file=sys.stderr,
        )
        # sync's 3 says "another run holds the state, try later": a bug must not read as that.
        return 4 if args.command == "sync" else 3


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr: a script's log is no place for source lines."""
    print(f"warning: {category.__name__}: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
