"""Reading event times of any shape into Unix milliseconds.

Analysts' exports hold times as datetime64 (naive or tz-aware, any unit), object columns of
``datetime``/``Timestamp``, ISO-8601 strings with mixed offsets, or epoch numbers. Each value
is read on its own merits; one that cannot be read gets a reason instead of a guess.
Fractional milliseconds are floored, so the millisecond is the one the event happened in.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .text import describe_value, from_arrow, is_missing, regex_mask

__all__ = ["UNITS", "ParsedTimestamps", "parse_timestamps"]

#: Milliseconds per unit, for epoch numbers.
UNITS: dict[str, float] = {"s": 1_000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_MS_LIMIT = 2**62  # beyond this, milliseconds do not fit comfortably in int64

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# A time of day followed by an offset: "...T10:17:58.123+02:00", "... 10:17Z".
_WITH_OFFSET = r".*[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)? ?(?:[zZ]|[+-]\d{2}(?::?\d{2})?)"
# " UTC", " GMT" and a lower-case "z" (RFC 3339 allows it; _WITH_OFFSET accepts it) all become
# "Z": pandas' ISO8601 parser only knows the upper-case letter.
_UTC_SUFFIX = r"(.*\d) ?(?:UTC|GMT|z)"


@dataclass
class ParsedTimestamps:
    """The result of :func:`parse_timestamps`, by position.

    ``ms`` holds Unix milliseconds where ``readable``; ``number`` holds the raw epoch number
    where the input was numeric (NaN elsewhere), so a reason can name the likely unit.
    """

    ms: np.ndarray
    readable: np.ndarray
    number: np.ndarray
    problems: list[tuple[int, str]] = field(default_factory=list)
    naive_read_as_utc: int = 0


class _Reader:
    def __init__(self, n: int, unit: str, tz: object) -> None:
        self.unit = unit
        self.tz = tz
        self.out = ParsedTimestamps(
            ms=np.zeros(n, dtype=np.int64),
            readable=np.zeros(n, dtype=bool),
            # All NaN, read-only and without memory of its own until numbers() needs it:
            # datetime columns, the common case, never do.
            number=np.broadcast_to(np.float64(np.nan), n),
        )

    def store(self, positions: np.ndarray, ms: np.ndarray, missing: np.ndarray) -> None:
        """Keep ``ms`` where not ``missing``; ``ms`` must be a new array (modified, maybe kept)."""
        if len(positions) == len(self.out.ms):  # every row (positions is 0..n-1): keep ms itself
            ms[missing] = 0
            self.out.ms = ms
            self.out.readable = ~missing
            return
        keep = positions[~missing]
        self.out.ms[keep] = ms[~missing]
        self.out.readable[keep] = True

    def problem(self, positions: np.ndarray, local: np.ndarray, reason_of) -> None:
        """Record ``reason_of(i)`` for each subset index ``i`` in ``local`` (at ``positions[i]``)."""
        for i in local:
            self.out.problems.append((int(positions[i]), reason_of(int(i))))

    # -- datetimes ---------------------------------------------------------------------------
    def datetimes(self, positions: np.ndarray, values: pd.Series, shown: pd.Series) -> None:
        """Store datetime64 values (naive or aware) found at ``positions``."""
        values = values.reset_index(drop=True)
        missing = values.isna().to_numpy()
        if values.dt.tz is None:
            if self.tz is None:
                self.out.naive_read_as_utc += int((~missing).sum())
            else:
                localized = values.dt.tz_localize(self.tz, ambiguous="NaT", nonexistent="NaT")
                lost = np.flatnonzero(localized.isna().to_numpy() & ~missing)
                self.problem(
                    positions,
                    lost,
                    lambda i: (
                        f"local time {shown.iat[i]} does not exist or is ambiguous in {self.tz} "
                        "(a daylight-saving change); give it with an explicit offset"
                    ),
                )
                missing = missing | localized.isna().to_numpy()
                values = localized.dt.tz_convert("UTC")
            values = values.dt.tz_localize(None) if values.dt.tz is not None else values
        else:
            values = values.dt.tz_convert(None)  # UTC wall time, sharing the ticks (no copy)
        unit = values.dt.unit
        ticks = values.to_numpy().view("i8")
        per_ms = {"s": None, "ms": 1, "us": 1_000, "ns": 1_000_000}[unit]
        if per_ms is None:
            overflow = np.abs(ticks) >= _MS_LIMIT // 1000
            ms = np.where(overflow, 0, ticks) * 1000
            missing = missing | overflow
        else:
            ms = ticks // per_ms
        self.store(positions, ms, missing)

    # -- numbers -----------------------------------------------------------------------------
    def numbers(self, positions: np.ndarray, values: np.ndarray) -> None:
        """Store epoch numbers (int or float arrays without missing values) in ``self.unit``."""
        if not self.out.number.flags.writeable:
            self.out.number = np.full(len(self.out.ms), np.nan)
        self.out.number[positions] = values.astype(np.float64)
        if values.dtype.kind in "iu":
            if values.dtype.kind == "u":
                too_big = values > np.iinfo(np.int64).max
                values = np.where(too_big, 0, values).astype(np.int64)
            else:
                too_big = np.zeros(len(values), dtype=bool)
            # Two-sided bounds, not np.abs: abs(int64 min) overflows to itself, so -2**63 s used
            # to slip through and be read as 1970 (-2**63 * 1000 wraps to 0).
            if self.unit == "s":
                too_big |= (values >= _MS_LIMIT // 1000) | (values <= -(_MS_LIMIT // 1000))
                ms = np.where(too_big, 0, values) * 1000
            else:
                ms = values // {"ms": 1, "us": 1_000, "ns": 1_000_000}[self.unit]
                # The same range floats get: int64 min is pandas' NaT sentinel, and nothing
                # this far from 1970 is an event time.
                too_big |= (ms >= _MS_LIMIT) | (ms <= -_MS_LIMIT)
            bad = too_big
            not_finite = np.zeros(len(values), dtype=bool)
        else:
            values = values.astype(np.float64)
            not_finite = ~np.isfinite(values)
            with np.errstate(invalid="ignore", over="ignore"):
                scaled = np.floor(values * UNITS[self.unit])
            bad = not_finite | ~(np.abs(np.nan_to_num(scaled, nan=np.inf)) < _MS_LIMIT)
            ms = np.where(bad, 0, scaled).astype(np.int64)
        self.problem(
            positions,
            np.flatnonzero(not_finite),
            lambda i: f"timestamp {self.out.number[positions[i]]} is not a finite number",
        )
        self.problem(
            positions,
            np.flatnonzero(bad & ~not_finite),
            lambda i: f"timestamp {values[i]} is out of range for {UNIT_NAMES[self.unit]}",
        )
        self.store(positions, ms, bad)

    # -- strings -----------------------------------------------------------------------------
    def strings(self, positions: np.ndarray, values: pd.Series) -> None:
        """Store strings: epoch numbers written as text, or ISO-8601 date-times."""
        values = values.reset_index(drop=True).str.strip()
        empty = (values.str.len() == 0).to_numpy()
        self.problem(positions, np.flatnonzero(empty), lambda i: "timestamp is missing (empty text)")
        numeric = regex_mask(values, _NUMBER) & ~empty
        if numeric.any():
            numbers = pd.to_numeric(values[numeric]).to_numpy()
            self.numbers(positions[numeric], numbers)
        rest = ~numeric & ~empty
        if not rest.any():
            return
        texts = values[rest].str.replace(_UTC_SUFFIX, r"\1Z", regex=True).reset_index(drop=True)
        where = positions[rest]
        with_offset = regex_mask(texts, _WITH_OFFSET)
        for aware in (True, False):
            subset = texts[with_offset == aware]
            if len(subset):
                self._iso(where[with_offset == aware], subset.reset_index(drop=True), aware)

    def _iso(self, positions: np.ndarray, texts: pd.Series, aware: bool) -> None:
        parsed = pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=aware)
        failed = np.flatnonzero(parsed.isna().to_numpy())
        if len(failed):
            # One call infers one resolution; a value out of its range (year 3000 in ns) is
            # retried alone so it gets its own resolution instead of a false "unreadable".
            retried = []
            for p in failed:
                try:
                    again_one = pd.to_datetime(texts.iat[p], format="ISO8601", utc=aware)
                    if pd.isna(again_one):
                        # "NaT", "nan", "NaN" parse to NaT without an error; they used to pass
                        # as valid rows with no timestamp at all. Text that says "missing" is missing.
                        self.out.problems.append(
                            (
                                int(positions[p]),
                                f"timestamp is missing (the text {describe_value(texts.iat[p])})",
                            )
                        )
                        retried.append(None)
                        continue
                    retried.append(again_one)
                except (ValueError, OverflowError, TypeError):
                    self.out.problems.append(
                        (
                            int(positions[p]),
                            f"timestamp {describe_value(texts.iat[p])} is not an ISO-8601 date-time",
                        )
                    )
                    retried.append(None)
            ok = np.array([r is not None for r in retried])
            if ok.any():
                again = pd.Series([r for r in retried if r is not None])
                again = pd.to_datetime(again, utc=True) if aware else pd.to_datetime(again)
                self.datetimes(positions[failed[ok]], again, texts.iloc[failed[ok]])
            parsed = parsed[~parsed.isna()]
        keep = parsed.index.to_numpy()
        self.datetimes(positions[keep], parsed, texts.iloc[keep])

    # -- objects -----------------------------------------------------------------------------
    def objects(self, values: pd.Series) -> None:
        """Sort an object column's values by kind and read each kind in bulk."""
        groups: dict[str, list[int]] = {"str": [], "int": [], "float": [], "naive": [], "aware": []}
        for position, value in enumerate(values):
            if isinstance(value, str):
                groups["str"].append(position)
            elif isinstance(value, bool | np.bool_):
                self.out.problems.append((position, f"timestamp {value} is not a date-time"))
            elif isinstance(value, int | np.integer):
                groups["int" if -(2**63) <= value < 2**63 else "float"].append(position)
            elif isinstance(value, numbers.Real | np.floating):
                if value != value:  # NaN: missing, as in a float column, not "not a finite number"
                    self.out.problems.append((position, "timestamp is missing"))
                else:
                    groups["float"].append(position)
            elif isinstance(value, dt.datetime | np.datetime64) and not pd.isna(value):
                naive = isinstance(value, np.datetime64) or value.tzinfo is None
                groups["naive" if naive else "aware"].append(position)
            elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                self.out.problems.append((position, f"timestamp {value} is a date without a time of day"))
            elif is_missing(value):
                self.out.problems.append((position, "timestamp is missing"))
            else:
                self.out.problems.append(
                    (
                        position,
                        f"timestamp {describe_value(value)} is not a date-time, a number or ISO-8601 text",
                    )
                )
        for kind, members in groups.items():
            if not members:
                continue
            where = np.asarray(members, dtype=np.int64)
            chosen = values.iloc[where].reset_index(drop=True)
            if kind == "str":
                self.strings(where, chosen.astype(pd.StringDtype("pyarrow", na_value=np.nan)))
            elif kind == "int":
                self.numbers(where, np.array([int(v) for v in chosen], dtype=np.int64))
            elif kind == "float":
                self.numbers(where, np.array([float(v) for v in chosen], dtype=np.float64))
            else:
                self._objects_as_datetimes(where, chosen, aware=kind == "aware")

    def _objects_as_datetimes(self, positions: np.ndarray, values: pd.Series, aware: bool) -> None:
        try:
            parsed = pd.to_datetime(values, utc=aware)
        except (ValueError, OverflowError, TypeError):
            ok, stamps = [], []
            for p, value in enumerate(values):
                try:
                    stamps.append(pd.Timestamp(value))
                    ok.append(p)
                except (ValueError, OverflowError, TypeError):
                    self.out.problems.append((int(positions[p]), f"timestamp {value} is out of range"))
            if not ok:
                return
            parsed = pd.to_datetime(pd.Series(stamps, dtype=object), utc=aware)
            positions, values = positions[ok], values.iloc[ok].reset_index(drop=True)
        self.datetimes(positions, parsed, values)


def parse_timestamps(values: pd.Series, *, unit: str = "ms", tz: object = None) -> ParsedTimestamps:
    """Read a column of event times into Unix milliseconds, by position.

    Parameters
    ----------
    values : Series
        Any dtype; its index is ignored.
    unit : {"ms", "s", "us", "ns"}
        The unit of epoch numbers.
    tz : str or tzinfo, optional
        The zone of naive datetimes and of strings without an offset. None reads them as UTC
        and counts them in ``naive_read_as_utc`` so the caller can warn once.
    """
    values = from_arrow(values.reset_index(drop=True))
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    reader = _Reader(len(values), unit, tz)
    positions = np.arange(len(values))
    dtype = values.dtype
    missing = values.isna().to_numpy()
    if len(values) == 0:
        return reader.out
    if pd.api.types.is_object_dtype(dtype):
        reader.objects(values)
        return reader.out
    reader.problem(positions, np.flatnonzero(missing), lambda p: "timestamp is missing")
    if missing.any():
        present, values_present = positions[~missing], values[~missing].reset_index(drop=True)
    else:  # nothing missing, the usual case: no copy of the positions and the column
        present, values_present = positions, values
    if pd.api.types.is_bool_dtype(dtype):
        reader.problem(positions, present, lambda p: f"timestamp {values.iat[p]} is not a date-time")
    elif isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        reader.datetimes(present, values_present, values_present)
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        numeric = values_present
        kind = (
            "f"
            if pd.api.types.is_float_dtype(dtype)
            else ("u" if pd.api.types.is_unsigned_integer_dtype(dtype) else "i")
        )
        target = {"f": np.float64, "u": np.uint64, "i": np.int64}[kind]
        reader.numbers(present, numeric.to_numpy(dtype=target))
    elif isinstance(dtype, pd.StringDtype):
        reader.strings(present, values_present)
    else:
        reader.problem(
            positions,
            present,
            lambda p: f"timestamp {describe_value(values.iat[p])} is not a date-time",
        )
    return reader.out
