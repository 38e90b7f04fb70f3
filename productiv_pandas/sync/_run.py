"""One scheduled run, :func:`sync`: what is new in a source since the last run, sent once.

    take the lock (or SyncLocked at once)
    -> give up outbox rows too old to matter (problem ``outbox.given_up``)
    -> retry the outbox (its rows as they went on the wire; sent ones leave it)
    -> read the source since (watermark - overlap), or ``start`` the first time
    -> publish through the chunk pass with the state's journal: the overlap's rows already
       delivered are skipped, never resent; failed rows go to the outbox, chunk by chunk
    -> commit: the watermark (the latest cursor read, never past ``now``), the files read, the
       journal pruned, in one transaction
    -> the summary (:mod:`productiv_pandas.summary`), written atomically to ``summary_json``

Killed at any moment, a run loses nothing: until the commit the watermark stays where it was,
so the next run reads the same rows again; the journal (written as each batch is accepted)
skips the delivered ones, so at most the batches in flight (``max_workers``) are sent twice,
and the API keeps one of each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import ConfigurationError
from ..files._chunks import ChunksRun
from ..files._pass import send_run
from ..files._run import RunReport
from ..preparation._options import PrepareOptionsDict
from ..sending._settings import SendSettings
from ..summary import build_summary, exceeds, parse_max_invalid, write_summary
from ._lock import state_lock
from ._sources import SINCE_FORMATS, open_source
from ._state import SyncState

__all__ = ["SyncReport", "sync"]

#: Journal entries are kept this long before the earliest time the next run reads from: a row
#: read again whose event is older than that (a cursor far ahead of its event time) would be
#: sent again, and the API keeps one of each.
JOURNAL_KEEP = pd.Timedelta(hours=24)
#: The first run reads from ``now`` minus this, by default: the API's aggregation window.
WINDOW = pd.Timedelta(hours=12)

_SEND_KEYS = ("batch_size", "max_workers", "max_retries", "max_split_requests", "progress")
_NOT_TIMESTAMP = ("valid", "sent", "duplicate", "skipped", "rejected", "failed")


@dataclass(frozen=True, eq=False)
class SyncReport:
    """What one sync run did.

    Attributes
    ----------
    summary : dict
        The run's summary (the keys of ``--summary-json``; :data:`productiv_pandas.summary`).
    run : RunReport
        The rows read from the source this run, per status and problem.
    outbox_run : RunReport or None
        The outbox's rows retried first, or None when the outbox was empty.
    given_up : int
        Outbox rows dropped this run, too old to matter (problem ``outbox.given_up``).
    """

    summary: dict
    run: RunReport = field(repr=False)
    outbox_run: RunReport | None = field(repr=False)
    given_up: int

    @property
    def exit_code(self) -> int:
        """0 ok; 1 invalid rows beyond ``max_invalid``, or rows failed, rejected or given up."""
        return int(self.summary["exit_code"])

    def __repr__(self) -> str:
        s = self.summary
        counts = ", ".join(f"{name} {count:,}" for name, count in s["statuses"].items() if count)
        return (
            f"<SyncReport {self.run.source!r}: {s['rows_read']:,} rows read, {s['outbox_retried']:,} "
            f"retried: {counts or 'none'}; outbox {s['outbox_before']:,} -> {s['outbox_after']:,}; "
            f"watermark {s['watermark_after']}; exit {s['exit_code']}>"
        )


class _SyncRun(ChunksRun):
    """The chunk pass of one read, which also puts failed rows in the outbox as each chunk's
    status is written, and follows the latest cursor value read."""

    def __init__(
        self, chunks: Any, options: PrepareOptionsDict, state: SyncState, *, label: str, cursor: str | None
    ) -> None:
        super().__init__(chunks, options)
        self.source = label
        self.label = repr(label)
        self.state = state
        self.cursor = cursor
        self.latest: pd.Timestamp | None = None
        self.when = pd.Timestamp.now(tz="UTC").isoformat()

    def _see(self, latest: pd.Timestamp | None) -> None:
        if latest is not None and not pd.isna(latest) and (self.latest is None or latest > self.latest):
            self.latest = latest

    def frames(self):
        for frame in super().frames():
            if self.cursor is not None:
                if self.cursor not in frame.columns:
                    raise ConfigurationError(
                        f"the cursor column {self.cursor!r} is not among the source's columns "
                        f"{[str(c) for c in frame.columns]}"
                    )
                self._see(cursor_times(frame[self.cursor]).max())
            yield frame

    def write(self, status: pd.DataFrame, writer) -> None:
        super().write(status, writer)
        self.state.put_failed(status, self.when)
        if self.cursor is None:  # the event time is the cursor: of rows whose timestamp was read
            times = status["timestamp"][status["status"].isin(_NOT_TIMESTAMP)].dropna()
            if len(times):
                self._see(pd.Timestamp(int(times.max()), unit="ms", tz="UTC"))


class _OutboxRun(ChunksRun):
    """The outbox's retry: each chunk's rows that are no longer ``failed`` leave the outbox, the
    failed ones count one more attempt."""

    label = "the outbox"

    def __init__(self, frame: pd.DataFrame, options: PrepareOptionsDict, state: SyncState) -> None:
        super().__init__([frame], options)
        self.source = "outbox"
        self.state = state
        self.when = pd.Timestamp.now(tz="UTC").isoformat()

    def write(self, status: pd.DataFrame, writer) -> None:
        super().write(status, writer)
        self.state.settle_outbox(status)
        self.state.put_failed(status, self.when)


def cursor_times(values: pd.Series) -> pd.Series:
    """A cursor column as UTC times: numbers are epoch milliseconds, text and datetimes are read
    as pandas reads them (naive ones as UTC); what cannot be read is NaT."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.to_datetime(values, unit="ms", utc=True, errors="coerce")
    if values.dtype == object and len(values) and all(isinstance(v, int | float) for v in values.dropna()):
        return pd.to_datetime(values.astype("float64"), unit="ms", utc=True, errors="coerce")  # Decimal-free
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def _time(name: str, value: object) -> pd.Timestamp:
    try:
        when = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{name} must be a time (ISO 8601 text or a datetime), got {value!r}"
        ) from None
    if pd.isna(when) or isinstance(value, bool | int | float):
        raise ConfigurationError(f"{name} must be a time (ISO 8601 text or a datetime), got {value!r}")
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")


def _duration(name: str, value: object) -> pd.Timedelta:
    if isinstance(value, bool | int | float):
        raise ConfigurationError(f"{name} must be a duration with its unit ('15min', '12h'), got {value!r}")
    try:
        duration = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a duration ('15min', '12h'), got {value!r}") from None
    if pd.isna(duration) or duration < pd.Timedelta(0):
        raise ConfigurationError(f"{name} must be a duration >= 0 ('15min', '12h'), got {value!r}")
    return duration


def _ms(when: pd.Timestamp) -> int:
    return int(when.value // 1_000_000)


def _tally(reports: list[RunReport]) -> tuple[dict[str, int], dict[str, int]]:
    statuses: dict[str, int] = {}
    problems: dict[str, int] = {}
    for report in reports:
        for name, count in report.counts.items():
            statuses[str(name)] = statuses.get(str(name), 0) + int(count)
        for code, row in report.problems.iterrows():
            problems[str(code)] = problems.get(str(code), 0) + int(row.sum())
    return statuses, problems


def sync(
    source: Any,
    app_id: str,
    *,
    state: str | os.PathLike = "acme.sync",
    con: object = None,
    cursor: str | None = None,
    overlap: str | dt.timedelta | pd.Timedelta = "15min",
    start: Any = None,
    now: Any = None,
    since_as: str = "datetime",
    max_outbox_age: str | dt.timedelta | pd.Timedelta = "12h",
    max_invalid: int | str = 0,
    client=None,
    summary_json: str | os.PathLike | None = None,
    **options: Any,
) -> SyncReport:
    """Send what is new in ``source`` since the last run to app ``app_id``: one scheduled run.

    Run it every 15 or 30 minutes (cron, a systemd timer, Airflow: ``docs/scheduling.md``).
    Everything a run must remember is in the ``state`` file: the watermark, the journal of
    events the API accepted (so the overlap never resends), and the outbox of rows that failed.

    Parameters
    ----------
    source : str, PathLike or callable
        A SQL query with a ``:since`` parameter (``con=`` required; ``:since`` is rewritten into
        the driver's style: SQLAlchemy, sqlite3, psycopg, DuckDB); a folder or glob of event
        files (``.csv``, ``.parquet``, ``.jsonl``: new files and files that changed since the
        last run are read, whole: the journal skips their rows already sent); or a callable
        ``since -> chunks`` (anything :func:`~productiv_pandas.publish_chunks` takes).
    app_id : str
        The Productiv app the events belong to.
    state : str or PathLike
        The state file (SQLite). One state a source and app; keep it on a local disk.
    con : optional
        The database of a SQL query: anything :func:`~productiv_pandas.publish_sql` takes.
    cursor : str, optional
        The column saying when a row arrived in the source (an insert or load time): the
        watermark follows it, so rows arriving late with old event times are still read.
        Numbers are epoch milliseconds; text and datetimes are read as times (naive: UTC).
        Without it the event time is the cursor, and rows arriving more than ``overlap`` after
        their event time are missed.
    overlap : str or timedelta
        How far before the watermark each run reads again (default 15 minutes): rows committed
        late within it are still read; the journal skips those already sent.
    start : time, optional
        Where the first run reads from (default: ``now`` minus 12 hours).
    now : time, optional
        The reference time of the run (default: the current time): for the first run's start,
        the outbox's age, and the stale and future checks. Naive times are UTC.
    since_as : {"datetime", "epoch_ms", "iso"}
        How ``:since`` is bound: a timezone-aware UTC datetime, epoch milliseconds (a number),
        or ISO 8601 text (``2026-12-01T10:00:00.000Z``), for sources that store time that way.
    max_outbox_age : str or timedelta
        How long past its event time a failed row is retried (default 12 hours, the API's
        window); then it is given up, counted under ``outbox.given_up``.
    max_invalid : int or str
        Invalid rows tolerated before the exit code is 1: a number, or a percentage of the rows
        read this run (``"1%"``). Failed and rejected rows always make it 1.
    client : ProductivClient, optional
        The client; by default one from the ``PRODUCTIV_*`` environment.
    summary_json : str or PathLike, optional
        Write the run's summary here as JSON (atomically).
    **options
        ``batch_size``, ``max_workers``, ``max_retries``, ``max_split_requests``, ``progress``
        (as for :func:`~productiv_pandas.publish`), ``chunksize`` (rows fetched at a time from a
        query), and the options of :func:`~productiv_pandas.validate` (``columns``, ``unit``,
        ``tz``, ``login_events``, ``allowed_events``, ``on_stale``, ``future_tolerance``).

    Returns
    -------
    SyncReport
        ``.summary`` (the dict written to ``summary_json``), ``.exit_code``, ``.run``.

    Raises
    ------
    SyncLocked
        Another run holds the state: raised at once, nothing read or sent.
    ConfigurationError, JournalError
        A bad option, a state file of another app, a database that refuses the connection or
        the query: before anything is sent, and the watermark does not move.
    """
    began = time.monotonic()
    reference = pd.Timestamp.now(tz="UTC") if now is None else _time("now", now)
    lap = _duration("overlap", overlap)
    max_age = _duration("max_outbox_age", max_outbox_age)
    first = reference - WINDOW if start is None else _time("start", start)
    if since_as not in SINCE_FORMATS:
        raise ConfigurationError(f"since_as must be one of {list(SINCE_FORMATS)}, got {since_as!r}")
    limit = parse_max_invalid(max_invalid)
    send = {key: options.pop(key) for key in _SEND_KEYS if key in options}
    send.setdefault("progress", False)
    chunksize = options.pop("chunksize", 50_000)
    prepare: Any = {**options, "now": reference}
    settings = SendSettings(app_id, client=client, **send)  # checked before the state is opened

    with contextlib.ExitStack() as stack:
        stack.enter_context(state_lock(state))
        store = stack.enter_context(SyncState(state, app_id))
        if settings.client is None:
            from ..client._client import ProductivClient

            settings = settings.replace(client=stack.enter_context(ProductivClient.from_env()))
        settings = settings.replace(journal=store.journal)
        before = store.watermark()
        outbox_before = store.outbox_size()
        given_up = store.give_up(_ms(reference - max_age))
        retry = store.outbox()
        outbox_run = None
        if len(retry):
            outbox_options: Any = {"unit": "ms", "on_stale": "ignore", "now": reference}
            if "_terms" in options:
                outbox_options["_terms"] = options["_terms"]
            outbox_run = send_run(
                _OutboxRun(retry, outbox_options, store), settings, contextlib.nullcontext(), None
            )
        since = first if before is None else before - lap
        with open_source(
            source, con=con, since=since, since_as=since_as, marks=store.file_marks(),
            options=prepare, chunksize=chunksize,
        ) as read:  # fmt: skip
            run = _SyncRun(read.chunks, prepare, store, label=read.label, cursor=cursor)
            report = send_run(run, settings, contextlib.nullcontext(), None)
        after = before
        if run.latest is not None:
            latest = min(run.latest, reference)  # a cursor ahead of the clock must not skip rows
            after = latest if before is None else max(before, latest)
        prune = None if after is None else _ms(after - lap - JOURNAL_KEEP)
        store.finish(after, read.files, prune)
        outbox_after = store.outbox_size()

    reports = [report] if outbox_run is None else [outbox_run, report]
    statuses, problems = _tally(reports)
    if given_up:
        statuses["failed"] = statuses.get("failed", 0) + given_up
        problems["outbox.given_up"] = given_up
    bad = statuses.get("failed", 0) + statuses.get("rejected", 0)
    invalid = exceeds(statuses.get("invalid", 0), report.rows, limit)
    summary = build_summary(
        statuses=statuses,
        problems=problems,
        rows_read=report.rows,
        requests=sum(int(getattr(r, "requests", 0) or 0) for r in reports),
        duration_s=time.monotonic() - began,
        exit_code=1 if bad or invalid else 0,
        outbox_retried=len(retry),
        watermark_before=None if before is None else before.to_pydatetime(),
        watermark_after=None if after is None else after.to_pydatetime(),
        outbox_before=outbox_before,
        outbox_after=outbox_after,
    )
    if summary_json is not None:
        write_summary(summary, summary_json)
    return SyncReport(summary=summary, run=report, outbox_run=outbox_run, given_up=given_up)
