"""Prepare: from an analyst's frame to wire-ready events, with a status for every row.

    map columns -> read timestamps as ms -> normalize text -> check with the pandera schema
    -> flag stale -> drop duplicate triples

Everything is by position internally, so any index works (duplicated labels, strings, a
MultiIndex); the index is put back on the status frame at the end. The input is never modified.
"""

from __future__ import annotations

import decimal
import difflib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Unpack

import numpy as np
import pandas as pd

from ..errors import ConfigurationError, NaiveTimestampWarning, StaleEventWarning, user_stacklevel
from ..status import STATUS_DTYPE, STATUSES, WIRE_COLUMNS, new_status_frame, sparse_text
from . import _schema as s
from ._duplicates import find_duplicates
from ._options import API_FIELDS, STALE_AFTER, PrepareOptions, PrepareOptionsDict
from ._reasons import ORDER, ReasonBook, explain_failures, format_label
from ._text import NormalizedText, normalize_text, quiet_signaling_nans
from ._timestamps import parse_timestamps

__all__ = ["Prepared", "prepare", "prepare_events", "select_columns", "validate", "warn_naive", "warn_stale"]

REQUIRED = ("timestamp", "email", "eventName")
VALID, INVALID, DUPLICATE, SKIPPED = (
    STATUSES.index(name) for name in ("valid", "invalid", "duplicate", "skipped")
)


@dataclass(frozen=True)
class Prepared:
    """What prepare found: the status frame and the positions of the rows to send."""

    status: pd.DataFrame
    to_send: np.ndarray

    def wire(self) -> pd.DataFrame:
        """The rows to send, in the wire format, with their original index labels."""
        rows = self.status.iloc[self.to_send]
        wire = rows.loc[:, list(WIRE_COLUMNS)].copy()
        wire["timestamp"] = wire["timestamp"].astype(np.int64)
        return wire


def select_columns(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, pd.Series]:
    """The input columns that feed each API field; an explicit mapping wins over a same-named column.

    Raises ConfigurationError (a ValueError) naming what is missing and what the frame has.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    unknown = [name for name in columns if name not in frame.columns]
    if unknown:
        raise ConfigurationError(
            f"columns maps {unknown} but the frame has no such column; it has {list(frame.columns)}"
        )
    picked: dict[str, pd.Series] = {}
    for field in API_FIELDS:
        sources = [name for name, target in columns.items() if target == field]
        if len(sources) > 1:
            raise ConfigurationError(f"columns maps {sources} all to {field!r}; keep one")
        if not sources and field in frame.columns and field not in columns:
            sources = [field]
        if sources:
            picked_column = frame[sources[0]]
            if isinstance(picked_column, pd.DataFrame):
                raise _not_one_column(frame, sources[0])
            picked[field] = picked_column
    missing = [field for field in REQUIRED if field not in picked]
    if missing:
        hints = []
        for field in missing:
            close = difflib.get_close_matches(field.lower(), [str(c).lower() for c in frame.columns], n=1)
            if close:
                original = next(c for c in frame.columns if str(c).lower() == close[0])
                hints.append(f"{original!r}: {field!r}")
        if hints:
            hint = f"; map yours with columns={{{', '.join(hints)}}}"
        elif len(frame.columns) and not any(isinstance(c, str) for c in frame.columns):
            # read_csv(header=None) and DataFrame(rows) number the columns.
            hint = (
                f"; its column labels are not names (was the file read with header=None?): "
                f"map them with columns={{{format_label(frame.columns[0])}: {missing[0]!r}, ...}}"
            )
        else:
            # Name the field that is actually missing (this used to say 'email' whatever was).
            hint = f"; map yours with columns={{'your_column': {missing[0]!r}, ...}}"
        raise ConfigurationError(
            f"missing required column(s) {missing}; the frame has {list(frame.columns)}{hint}"
        )
    return picked


def _not_one_column(frame: pd.DataFrame, name: object) -> ConfigurationError:
    """What the frame has when a column name picks more than one column."""
    if isinstance(frame.columns, pd.MultiIndex):
        return ConfigurationError(
            f"the frame has MultiIndex columns ({frame.columns.nlevels} levels, e.g. "
            f"{format_label(frame.columns[0])}), so frame[{format_label(name)}] is not one column: "
            "flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns], or map whole tuples with "
            f"columns={{{format_label(frame.columns[0])}: ...}}"
        )
    where = [int(i) for i in np.flatnonzero(frame.columns == name)]
    return ConfigurationError(
        f"the frame has {len(where)} columns named {format_label(name)} (at positions {where}): "
        "drop or rename all but one, e.g. df = df.loc[:, ~df.columns.duplicated()] keeps the first"
    )


def _failures(checked: pd.DataFrame, options: PrepareOptions) -> Iterator[tuple[str | None, str, np.ndarray]]:
    """Run the pandera schema's checks; yield ``(column, check, failing positions)``."""
    schema = s.wire_schema(
        now=options.now,
        future_tolerance=options.future_tolerance,
        login_events=options.login_events,
        allowed_events=options.allowed_events,
        allow_missing=True,
    )
    return s.failed_checks(schema, checked)


def _report_missing(book: ReasonBook, text: NormalizedText, name: str) -> None:
    """Give a required text field that is missing its own reason.

    The schema runs with ``allow_missing`` (so it can check the other values), hence nothing
    else refuses a missing email or eventName; without this such rows passed as ``valid``.
    Values the normalizer already explained (not text, bad unicode) are not reported twice.
    """
    explained = {position for position, _ in text.problems}
    for position in np.flatnonzero(text.values.isna().to_numpy()):
        if int(position) not in explained:
            book.add(int(position), f"{name} is missing", ORDER[name])


def _age(ms: int, now_ms: int) -> str:
    hours = (now_ms - ms) / 3_600_000
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def warn_stale(count: int, oldest_ms: int, now_ms: int) -> None:
    """The one StaleEventWarning of a call (a frame, a file, a Dask frame), worded once here."""
    warnings.warn(
        f"{count} event(s) are older than 12 hours (the oldest by {_age(oldest_ms, now_ms)}); "
        "Productiv only guarantees to aggregate events pushed within 12 hours. Pass "
        "on_stale='skip' to leave them out or on_stale='ignore' to send them quietly.",
        StaleEventWarning,
        stacklevel=user_stacklevel(),
    )


def warn_naive(count: int) -> None:
    """The one NaiveTimestampWarning of a call: ``count`` naive times were read as UTC."""
    warnings.warn(
        f"{count} timestamp(s) had no timezone and were read as UTC; "
        "pass tz='Area/City' (the zone they were recorded in), or tz='UTC' if they are UTC.",
        NaiveTimestampWarning,
        stacklevel=user_stacklevel(),
    )


def _target_app(sources: dict[str, pd.Series], n: int) -> NormalizedText:
    if "targetApp" not in sources:  # absent: all missing, without a column of n Nones
        return NormalizedText(pd.Series(sparse_text(n, np.array([], dtype=np.int64), [])))
    target = normalize_text(sources["targetApp"], name="targetApp")
    target.values = target.values.mask(target.values.str.len() == 0)  # empty means absent
    return target


def _read(sources: dict[str, pd.Series], n: int, options: PrepareOptions, book: ReasonBook):
    """Timestamps and text read and normalized; what could not be read goes into ``book``."""
    times = parse_timestamps(sources["timestamp"], unit=options.unit, tz=options.tz)
    email = normalize_text(sources["email"], name="email", lower=True)
    event = normalize_text(sources["eventName"], name="eventName")
    target = _target_app(sources, n)
    book.add_all(times.problems, ORDER["timestamp"])
    # Safety net: a timestamp the reader could not use but did not explain must never leave a
    # row "valid" without a time (de-duplication and the wire format both need one).
    explained = {position for position, _ in times.problems}
    for position in np.flatnonzero(~times.readable):
        if int(position) not in explained:
            book.add(int(position), "timestamp could not be read", ORDER["timestamp"])
    book.add_all(email.problems, ORDER["email"])
    book.add_all(event.problems, ORDER["eventName"])
    book.add_all(target.problems, ORDER["targetApp"])
    _report_missing(book, email, "email")
    _report_missing(book, event, "eventName")
    checked = pd.DataFrame(
        {
            # times.ms is this call's own array: the Int64 column wraps it without a copy.
            "timestamp": pd.arrays.IntegerArray(times.ms, ~times.readable),
            "email": email.values.array,
            "eventName": event.values.array,
            "targetApp": target.values.array,
        },
        copy=False,
    )
    return times, checked


def _stale(
    status: np.ndarray, stale: np.ndarray, ms: np.ndarray, options: PrepareOptions
) -> tuple[np.ndarray, list[str]]:
    """Apply ``on_stale`` to the valid stale rows; return the skipped ones and their reasons."""
    sendable = np.flatnonzero((status == VALID) & stale)
    if not len(sendable):
        return sendable, []
    if options.on_stale == "skip":
        status[sendable] = SKIPPED
        return sendable, [
            f"stale: {_age(int(when), options.now_ms)} old; only events pushed "
            "within 12 hours are guaranteed to be aggregated"
            for when in ms[sendable]
        ]
    if options.on_stale == "warn":
        warn_stale(len(sendable), int(ms[sendable].min()), options.now_ms)
    return sendable[:0], []


def prepare_events(frame: pd.DataFrame, options: PrepareOptions) -> Prepared:
    """The whole prepare stage on plain values; ``validate``, ``prepare`` and ``publish`` call it."""
    sources = select_columns(frame, dict(options.columns))
    n = len(frame)
    book = ReasonBook(n)
    try:
        times, checked = _read(sources, n, options, book)
    except decimal.InvalidOperation:
        # A signaling NaN Decimal makes pandas' own isna raise: it is a NaN, so missing.
        sources = {name: quiet_signaling_nans(values) for name, values in sources.items()}
        book = ReasonBook(n)
        times, checked = _read(sources, n, options, book)
    explain_failures(_failures(checked, options), checked, times.number, options, book, exact=times.exact)
    invalid, invalid_reasons = book.build()
    # Status as category codes: an array of a million status names would be a million objects.
    status = np.full(n, VALID, dtype=np.int8)
    status[invalid] = INVALID
    stale = times.readable & (times.ms < options.now_ms - int(STALE_AFTER / pd.Timedelta(milliseconds=1)))

    keys = [times.ms, checked["email"].array, checked["eventName"].array]
    duplicate, kept = find_duplicates(keys, np.flatnonzero(status == VALID))
    status[duplicate] = DUPLICATE
    labels = frame.index.take(kept)
    duplicate_reasons = [f"duplicate of row {format_label(label)}" for label in labels]
    skipped, skipped_reasons = _stale(status, stale, times.ms, options)

    if times.naive_read_as_utc and options.tz is None:
        warn_naive(times.naive_read_as_utc)
    # The three sets of rows are disjoint: a row is invalid, a duplicate or skipped, not two.
    reason = sparse_text(
        n,
        np.concatenate([invalid, duplicate, skipped]),
        invalid_reasons + duplicate_reasons + skipped_reasons,
    )
    codes = pd.Categorical.from_codes(status, dtype=STATUS_DTYPE)
    problem = np.full(n, None, dtype=object)
    problem[duplicate] = "duplicate"
    problem[skipped] = "stale"
    result = new_status_frame(frame.index, checked, codes, reason, stale, problem)
    return Prepared(status=result, to_send=np.flatnonzero(status == VALID))


def validate(frame: pd.DataFrame, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
    """Check every row without sending anything; return the status frame.

    Parameters
    ----------
    frame : DataFrame
        The events, one row each; any index.
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    DataFrame
        Same index and order as ``frame``; ``status`` is ``valid``, ``invalid``, ``duplicate``
        or ``skipped``, and ``reason`` says why for every row that is not ``valid``.

    Raises
    ------
    ValueError
        For structural problems only (a required column missing, an unknown option value).
    """
    return prepare_events(frame, PrepareOptions.from_kwargs(**options)).status


def prepare(frame: pd.DataFrame, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
    """The rows that would be sent, wire-ready: ``timestamp`` (int64 ms), ``email``,
    ``eventName``, ``targetApp``, with their original index labels. Same options as
    :func:`validate` (:class:`~productiv_pandas.PrepareOptionsDict`)."""
    return prepare_events(frame, PrepareOptions.from_kwargs(**options)).wire()
