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
import pyarrow as pa

from ..errors import ConfigurationError, NaiveTimestampWarning, StaleEventWarning, user_stacklevel
from ..status import PROBLEM_DTYPE, STATUS_DTYPE, STATUSES, WIRE_COLUMNS, new_status_frame, sparse_text
from . import _schema as s
from ._duplicates import find_duplicates
from ._findings import Finding, problem_rows, settle
from ._frames import ArrowFrame, as_pandas
from ._options import API_FIELDS, STALE_AFTER, PrepareOptions, PrepareOptionsDict
from ._reasons import failure_findings
from ._run_info import RUN_KEY, run_info
from ._terms import PYTHON, Terms, format_label
from ._text import NormalizedText, normalize_text, quiet_signaling_nans
from ._timestamps import parse_timestamps

__all__ = [
    "DETAIL_KEY",
    "PrepareCounts",
    "Prepared",
    "prepare",
    "prepare_events",
    "select_columns",
    "validate",
    "warn_counts",
]

REQUIRED = ("timestamp", "email", "eventName")
REASON_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
VALID, INVALID, DUPLICATE, SKIPPED = (
    STATUSES.index(name) for name in ("valid", "invalid", "duplicate", "skipped")
)


#: The key of the status frame's ``attrs`` that holds every problem of its invalid rows (a
#: :class:`~productiv_pandas.preparation._findings.ProblemDetail`), for ``problems()``.
DETAIL_KEY = "productiv_pandas.problems"
_PROBLEM_NUMBER = {code: number for number, code in enumerate(PROBLEM_DTYPE.categories)}


@dataclass(frozen=True)
class PrepareCounts:
    """What prepare counted that the caller warns about (:func:`warn_counts`), as values.

    ``naive`` timestamps had no zone and were read as UTC (only counted with ``tz=None``);
    ``stale`` valid rows are older than 12 hours and will be sent, the oldest at
    ``oldest_stale_ms``. Counts of several chunks or partitions add up with ``+``.
    """

    naive: int = 0
    stale: int = 0
    oldest_stale_ms: int | None = None

    def __add__(self, other: PrepareCounts) -> PrepareCounts:
        oldest = [ms for ms in (self.oldest_stale_ms, other.oldest_stale_ms) if ms is not None]
        return PrepareCounts(
            self.naive + other.naive, self.stale + other.stale, min(oldest) if oldest else None
        )


def warn_counts(counts: PrepareCounts, options: PrepareOptions) -> None:
    """The warnings of one call (a frame, a file, a Dask frame), made from its counts: one
    StaleEventWarning (with ``on_stale="warn"``), then one NaiveTimestampWarning (with
    ``tz=None``). The only place either is issued."""
    if counts.stale and options.on_stale == "warn" and counts.oldest_stale_ms is not None:
        _warn_stale(counts.stale, counts.oldest_stale_ms, options.now_ms, options.terms)
    if counts.naive and options.tz is None:
        _warn_naive(counts.naive, options.terms)


@dataclass(frozen=True)
class Prepared:
    """What prepare found: the status frame, the positions of the rows to send, and the counts
    to warn about (prepare itself does not warn: its caller calls :func:`warn_counts`)."""

    status: pd.DataFrame
    to_send: np.ndarray
    counts: PrepareCounts = PrepareCounts()

    def wire(self) -> pd.DataFrame:
        """The rows to send, in the wire format, with their original index labels.

        Only the four wire columns are taken, and not at all when every row is sent: their
        arrays are then the status frame's own (copy-on-write keeps either from changing the
        other). Taking the rows of all eleven columns, then copying the four, cost two copies
        of the text columns and one of seven columns never sent.
        """
        wire = self.status.loc[:, list(WIRE_COLUMNS)]
        n = len(wire)
        every_row = len(self.to_send) == n and np.array_equal(self.to_send, np.arange(n))
        if not every_row:
            wire = wire.iloc[self.to_send]
        return wire.astype({"timestamp": np.int64})


def select_columns(
    frame: pd.DataFrame, columns: dict[str, str], terms: Terms = PYTHON
) -> dict[str, pd.Series]:
    """The input columns that feed each API field; an explicit mapping wins over a same-named column.

    Raises ConfigurationError (a ValueError) naming what is missing and what the frame has, in
    ``terms`` (a file's header, checked by the command line, is "the file", mapped with ``--column``).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    unknown = [name for name in columns if name not in frame.columns]
    if unknown:
        raise ConfigurationError(
            f"{terms.name('columns')} maps {unknown} but {terms.holder} has no such column; "
            f"it has {list(frame.columns)}"
        )
    picked: dict[str, pd.Series] = {}
    for field in API_FIELDS:
        sources = [name for name, target in columns.items() if target == field]
        if len(sources) > 1:
            raise ConfigurationError(f"{terms.name('columns')} maps {sources} all to {field!r}; keep one")
        if not sources and field in frame.columns and field not in columns:
            sources = [field]
        if sources:
            picked_column = frame[sources[0]]
            if isinstance(picked_column, pd.DataFrame):
                raise _not_one_column(frame, sources[0], terms)
            picked[field] = picked_column
    missing = [field for field in REQUIRED if field not in picked]
    if missing:
        hints = []
        for field in missing:
            close = difflib.get_close_matches(field.lower(), [str(c).lower() for c in frame.columns], n=1)
            if close:
                original = next(c for c in frame.columns if str(c).lower() == close[0])
                hints.append((original, field))
        if hints:
            hint = f"; map yours with {terms.columns(hints)}"
        elif len(frame.columns) and not any(isinstance(c, str) for c in frame.columns):
            # read_csv(header=None) and DataFrame(rows) number the columns.
            hint = (
                f"; its column labels are not names (was the file read with header=None?): "
                f"map them with {terms.columns([(frame.columns[0], missing[0])])}"
            )
        else:
            # Name the field that is actually missing (this used to say 'email' whatever was).
            hint = f"; map yours with {terms.columns([('your_column', missing[0])])}"
        raise ConfigurationError(
            f"missing required column(s) {missing}; {terms.holder} has {list(frame.columns)}{hint}"
        )
    return picked


def _not_one_column(frame: pd.DataFrame, name: object, terms: Terms) -> ConfigurationError:
    """What the frame has when a column name picks more than one column (pandas code to fix
    it only for a Python user)."""
    if isinstance(frame.columns, pd.MultiIndex):
        return ConfigurationError(
            f"the frame has MultiIndex columns ({frame.columns.nlevels} levels, e.g. "
            f"{format_label(frame.columns[0])}), so frame[{format_label(name)}] is not one column: "
            "flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns], or map whole tuples with "
            f"columns={{{format_label(frame.columns[0])}: ...}}"
        )
    where = [int(i) for i in np.flatnonzero(frame.columns == name)]
    fix = "" if terms.shell else ", e.g. df = df.loc[:, ~df.columns.duplicated()] keeps the first"
    return ConfigurationError(
        f"{terms.holder} has {len(where)} columns named {format_label(name)} (at positions {where}): "
        f"drop or rename all but one{fix}"
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


def _missing(text: NormalizedText, name: str) -> Finding:
    """A required text field that is missing, as its own problem (``<name>.missing``).

    The schema runs with ``allow_missing`` (so it can check the other values), hence nothing
    else refuses a missing email or eventName; without this such rows passed as ``valid``.
    Values the normalizer already explained (not text, bad unicode) are not reported twice.
    """
    missing = text.values.isna().to_numpy().copy()
    missing[text.flagged()] = False
    return Finding.fixed(np.flatnonzero(missing), f"{name}.missing", f"{name} is missing")


def _age(ms: int, now_ms: int) -> str:
    hours = (now_ms - ms) / 3_600_000
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def _warn_stale(count: int, oldest_ms: int, now_ms: int, terms: Terms) -> None:
    """The one StaleEventWarning of a call (a frame, a file, a Dask frame), worded once here."""
    warnings.warn(
        f"{count} event(s) are older than 12 hours (the oldest by {_age(oldest_ms, now_ms)}); "
        "Productiv only guarantees to aggregate events pushed within 12 hours. "
        f"{terms.verb.title()} {terms.option('on_stale', 'skip')} to leave them out or "
        f"{terms.option('on_stale', 'ignore')} to send them quietly.",
        StaleEventWarning,
        stacklevel=user_stacklevel(),
    )


def _warn_naive(count: int, terms: Terms) -> None:
    """The one NaiveTimestampWarning of a call: ``count`` naive times were read as UTC."""
    warnings.warn(
        f"{count} timestamp(s) had no timezone and were read as UTC; "
        f"{terms.hint('tz', 'Area/City')} (the zone they were recorded in), or "
        f"{terms.option('tz', 'UTC')} if they are UTC.",
        NaiveTimestampWarning,
        stacklevel=user_stacklevel(),
    )


def _target_app(sources: dict[str, pd.Series], n: int) -> NormalizedText:
    if "targetApp" not in sources:  # absent: all missing, without a column of n Nones
        return NormalizedText(pd.Series(sparse_text(n, np.array([], dtype=np.int64), [])))
    target = normalize_text(sources["targetApp"], name="targetApp")
    target.values = target.values.mask(target.values.str.len() == 0)  # empty means absent
    return target


def _read(sources: dict[str, pd.Series], n: int, options: PrepareOptions):
    """Timestamps and text read and normalized, and what could not be read, as findings."""
    times = parse_timestamps(sources["timestamp"], unit=options.unit, tz=options.tz)
    email = normalize_text(sources["email"], name="email", lower=True)
    event = normalize_text(sources["eventName"], name="eventName")
    target = _target_app(sources, n)
    # Safety net: a timestamp the reader could not use but did not explain must never leave a
    # row "valid" without a time (de-duplication and the wire format both need one).
    unexplained = ~times.readable
    unexplained[times.flagged()] = False
    findings = [
        *times.findings,
        Finding.fixed(np.flatnonzero(unexplained), "timestamp.unreadable", "timestamp could not be read"),
        *email.findings,
        *event.findings,
        *target.findings,
        _missing(email, "email"),
        _missing(event, "eventName"),
    ]
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
    return times, checked, findings


def _stale(
    status: np.ndarray, stale: np.ndarray, ms: np.ndarray, options: PrepareOptions
) -> tuple[np.ndarray, list[str], PrepareCounts]:
    """Apply ``on_stale`` to the valid stale rows: the skipped ones and their reasons, or the
    count of those to send (for the warning)."""
    sendable = np.flatnonzero((status == VALID) & stale)
    if not len(sendable):
        return sendable, [], PrepareCounts()
    if options.on_stale == "skip":
        status[sendable] = SKIPPED
        return (
            sendable,
            [
                f"stale: {_age(int(when), options.now_ms)} old; only events pushed "
                "within 12 hours are guaranteed to be aggregated"
                for when in ms[sendable]
            ],
            PrepareCounts(),
        )
    return sendable[:0], [], PrepareCounts(stale=len(sendable), oldest_stale_ms=int(ms[sendable].min()))


def _reason_column(
    n: int, positions: np.ndarray, texts: pa.Array, which: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """A ``str`` array of length ``n``: ``texts[which[i]]`` at ``positions[i]`` (distinct),
    missing elsewhere.

    One take of exactly the rows that have a reason, in row order, then the column's offsets
    and validity are laid around its bytes: no take over ``n`` rows (Arrow's take of strings
    with null indices cannot size its output and grows it several times over)."""
    if not len(positions):
        return sparse_text(n, np.array([], dtype=np.int64), [])
    order = np.argsort(positions, kind="stable")
    positions = positions[order]
    dense = texts.take(pa.array(which[order], type=pa.int64()))
    del order
    dense_offsets = np.frombuffer(dense.buffers()[1], dtype=np.int64)[
        dense.offset : dense.offset + len(dense) + 1
    ]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[positions + 1] = np.diff(dense_offsets)
    np.cumsum(offsets, out=offsets)
    valid = np.zeros(n, dtype=bool)
    valid[positions] = True
    data = dense.buffers()[2].slice(int(dense_offsets[0]))
    column = pa.LargeStringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        data,
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        n - len(positions),
    )
    return pd.array(column, dtype=REASON_DTYPE)


def _stale_rows(readable: np.ndarray, ms: np.ndarray, findings: list[Finding], now_ms: int) -> np.ndarray:
    """Rows whose timestamp was read, passed its checks and is over 12 hours before ``now``.

    A timestamp that failed a check says nothing about when the event happened: seconds read as
    milliseconds land in 1970, and calling that row stale would blame the 12-hour window for a
    unit mistake. Such a row is invalid, and only invalid.
    """
    stale = readable & (ms < now_ms - int(STALE_AFTER / pd.Timedelta(milliseconds=1)))
    for finding in findings:
        if finding.field == "timestamp" and len(finding.positions):
            stale[np.asarray(finding.positions, dtype=np.int64)] = False
    return stale


def prepare_events(frame: pd.DataFrame, options: PrepareOptions) -> Prepared:
    """The whole prepare stage on plain values; ``validate``, ``prepare`` and ``publish`` call it.

    It issues no warning: the counts to warn about are in the result (:func:`warn_counts`).
    """
    sources = select_columns(frame, dict(options.columns), options.terms)
    n = len(frame)
    try:
        times, checked, findings = _read(sources, n, options)
    except decimal.InvalidOperation:
        # A signaling NaN Decimal makes pandas' own isna raise: it is a NaN, so missing.
        sources = {name: quiet_signaling_nans(values) for name, values in sources.items()}
        times, checked, findings = _read(sources, n, options)
    findings += failure_findings(
        _failures(checked, options), checked, times.number, options, exact=times.exact
    )
    invalid = problem_rows(findings)
    # Status as category codes: an array of a million status names would be a million objects.
    status = np.full(n, VALID, dtype=np.int8)
    status[invalid] = INVALID
    stale = _stale_rows(times.readable, times.ms, findings, options.now_ms)

    keys = [times.ms, checked["email"].array, checked["eventName"].array]
    duplicate, kept = find_duplicates(keys, np.flatnonzero(status == VALID))
    status[duplicate] = DUPLICATE
    labels = frame.index.take(kept)
    duplicate_reasons = [f"duplicate of row {format_label(label)}" for label in labels]
    skipped, skipped_reasons, counts = _stale(status, stale, times.ms, options)
    if options.tz is None:
        counts = counts + PrepareCounts(naive=times.naive_read_as_utc)

    # The three sets of rows are disjoint: a row is invalid, a duplicate or skipped, not two.
    others = pa.array(duplicate_reasons + skipped_reasons, type=pa.large_string())
    del duplicate_reasons, skipped_reasons
    settled = settle(findings, frame.index, extra=(np.concatenate([duplicate, skipped]), others))
    del findings, others  # their values and rendered sentences: the detail holds what is kept
    # Hand the rendering's scratch memory back: Arrow's pool (mimalloc, jemalloc) keeps freed
    # blocks for reuse, which the numpy arrays built next cannot use, so they would add up.
    pa.default_memory_pool().release_unused()
    reason = _reason_column(n, settled.reason_positions, settled.reason_texts, settled.reason_of)
    codes = pd.Categorical.from_codes(status, dtype=STATUS_DTYPE)
    problem = np.full(n, -1, dtype=np.int16)
    problem[invalid] = settled.first_code
    problem[duplicate] = _PROBLEM_NUMBER["duplicate"]
    problem[skipped] = _PROBLEM_NUMBER["stale"]
    result = new_status_frame(
        frame.index, checked, codes, reason, stale, pd.Categorical.from_codes(problem, dtype=PROBLEM_DTYPE)
    )
    result.attrs[DETAIL_KEY] = settled.detail
    result.attrs[RUN_KEY] = run_info(options)  # what the report's summary names
    return Prepared(status=result, to_send=np.flatnonzero(status == VALID), counts=counts)


def validate(frame: pd.DataFrame | ArrowFrame, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
    """Check every row without sending anything; return the status frame.

    Parameters
    ----------
    frame : DataFrame, or any frame exporting Arrow
        The events, one row each; any index. A pyarrow Table or RecordBatch, a polars
        DataFrame, a DuckDB relation (anything with ``__arrow_c_stream__``) is read as a
        pandas frame of ``ArrowDtype`` columns, without copying where Arrow allows; the
        status is then indexed by row number (0, 1, ...).
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
    shaping = PrepareOptions.from_kwargs(**options)
    prepared = prepare_events(as_pandas(frame), shaping)
    warn_counts(prepared.counts, shaping)
    return prepared.status


def prepare(frame: pd.DataFrame | ArrowFrame, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
    """The rows that would be sent, wire-ready: ``timestamp`` (int64 ms), ``email``,
    ``eventName``, ``targetApp``, with their original index labels (row numbers for a frame
    exporting Arrow). Same inputs and options as :func:`validate`
    (:class:`~productiv_pandas.PrepareOptionsDict`)."""
    shaping = PrepareOptions.from_kwargs(**options)
    prepared = prepare_events(as_pandas(frame), shaping)
    warn_counts(prepared.counts, shaping)
    return prepared.wire()
