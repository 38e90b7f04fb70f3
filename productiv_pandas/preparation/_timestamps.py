"""Reading event times of any shape into Unix milliseconds.

Analysts' exports hold times as datetime64 (naive or tz-aware, any unit), object columns of
``datetime``/``Timestamp``, ISO-8601 strings with mixed offsets, or epoch numbers. Each value
is read on its own merits; one that cannot be read gets a reason instead of a guess.
Fractional milliseconds are floored, so the millisecond is the one the event happened in.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._findings import Finding, coded, render_each
from ._text import as_arrow_text, describe_value, from_arrow, is_missing, regex_mask, unicode_name

__all__ = ["UNITS", "ParsedTimestamps", "date_without_time", "parse_timestamps"]

#: Milliseconds per unit, for epoch numbers.
UNITS: dict[str, float] = {"s": 1_000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_MS_LIMIT = 2**62  # beyond this, milliseconds do not fit comfortably in int64

# [0-9], never \d: Python's re (a string[python] column) takes full-width and Arabic-Indic
# digits for \d, RE2 does not, and pd.to_numeric refuses them; they are explained instead.
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_INTEGER = r"[+-]?[0-9]+"
# A time of day followed by an offset: "...T10:17:58.123+02:00", "... 10:17Z".
_WITH_OFFSET = r".*[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)? ?(?:[zZ]|[+-][0-9]{2}(?::?[0-9]{2})?)"
# A calendar date and nothing else ("2026-11-26", "2026/11/26", "2026-11"): pandas reads it as
# midnight, which is a guess about the time, as much as a datetime.date is.
_DATE_ONLY = r"[0-9]{4}[-/][0-9]{1,2}(?:[-/][0-9]{1,2})?(?: ?[zZ])?"
_INT64 = (-(2**63), 2**63 - 1)
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
    #: What could not be read, as data (codes ``timestamp.*``, see :mod:`._findings`).
    findings: list[Finding] = field(default_factory=list)
    naive_read_as_utc: int = 0
    #: Integers a float64 does not hold exactly (beyond 2**53), as text by position, so a
    #: reason names 1111111111111111111 rather than 1111111111111111168.
    exact: dict[int, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[tuple[int, str]]:
        """``(position, sentence)`` of each finding's rows (a debugging view)."""
        return render_each(self.findings)

    def flagged(self) -> np.ndarray:
        """The positions of every finding."""
        if not self.findings:
            return np.array([], dtype=np.int64)
        return np.concatenate([f.positions for f in self.findings])


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

    def problem(self, positions: np.ndarray, code: str, values, explain) -> None:
        """Record problem ``code`` at ``positions``; ``explain(value)`` is its sentence for each
        of ``values`` (one a position)."""
        if len(positions):
            self.out.findings.append(
                Finding(
                    np.asarray(positions, dtype=np.int64),
                    values,
                    functools.partial(coded, code, explain),
                    "timestamp",
                )
            )

    def fixed(self, positions: np.ndarray, code: str, sentence: str) -> None:
        """Record problem ``code`` at ``positions``, with one sentence for them all."""
        if len(positions):
            self.out.findings.append(Finding.fixed(positions, code, sentence))

    # -- datetimes ---------------------------------------------------------------------------
    def datetimes(self, positions: np.ndarray, values: pd.Series, shown: pd.Series) -> None:
        """Store datetime64 values (naive or aware) found at ``positions``."""
        values = values.reset_index(drop=True)
        missing = values.isna().to_numpy()
        if values.dt.tz is None:
            if self.tz is None:
                self.out.naive_read_as_utc += int((~missing).sum())
            else:
                localized = _localize(values, self.tz)
                lost = np.flatnonzero(localized.isna().to_numpy() & ~missing)
                if len(lost):
                    self.problem(
                        positions[lost],
                        "timestamp.nonexistent_local_time",
                        shown.iloc[lost].to_numpy(dtype=object),
                        lambda value: (
                            f"local time {value} does not exist or is ambiguous in {self.tz} "
                            "(a daylight-saving change); give it with an explicit offset"
                        ),
                    )
                missing = missing | localized.isna().to_numpy()
                values = localized
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
    def numbers(self, positions: np.ndarray, values: np.ndarray, shown: pd.Series | None = None) -> None:
        """Store epoch numbers (int or float arrays without missing values) in ``self.unit``.

        ``shown`` (same length) is how each value is named in a reason when ``values`` does
        not hold it as given (the text of a number); by default the value itself.
        """
        if not self.out.number.flags.writeable:
            self.out.number = np.full(len(self.out.ms), np.nan)
        self.out.number[positions] = values.astype(np.float64)
        original = values  # a uint64 above int64's range is named, not the 0 stored in its place
        if values.dtype.kind in "iu":
            inexact = np.flatnonzero((values > 2**53) | (values < -(2**53)))
            for i in inexact:
                self.out.exact[int(positions[i])] = str(values[i].item())
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

        def given(local: np.ndarray) -> np.ndarray:
            chosen = np.empty(len(local), dtype=object)
            chosen[:] = shown.iloc[local].tolist() if shown is not None else original[local].tolist()
            return chosen

        not_finite_at = np.flatnonzero(not_finite)
        if len(not_finite_at):
            self.problem(
                positions[not_finite_at], "timestamp.not_finite", given(not_finite_at),
                lambda value: f"timestamp {describe_value(value)} is not a finite number",
            )  # fmt: skip
        out_of_range = np.flatnonzero(bad & ~not_finite)
        if len(out_of_range):
            self.problem(
                positions[out_of_range], "timestamp.out_of_range", given(out_of_range),
                lambda value: self._out_of_range(describe_value(value)),
            )  # fmt: skip
        self.store(positions, ms, bad)

    def _out_of_range(self, shown: str) -> str:
        return f"timestamp {shown} is out of range for {UNIT_NAMES[self.unit]}"

    def _numeric_texts(self, positions: np.ndarray, texts: pd.Series) -> None:
        """Epoch numbers written as text (ASCII digits only, see ``_NUMBER``)."""
        # pd.to_numeric gives back the texts themselves, or a float, for integers beyond
        # uint64: those few are read one by one, so a reason names them as written.
        long = regex_mask(texts, r"[+-]?0*[0-9]{19,}")
        if long.any():
            fitting: list[int] = []
            beyond: list[int] = []
            for i in np.flatnonzero(long):
                (fitting if _INT64[0] <= int(texts.iat[i]) <= _INT64[1] else beyond).append(int(i))
            if beyond:
                self.problem(
                    positions[beyond], "timestamp.out_of_range", texts.iloc[beyond].to_numpy(dtype=object),
                    lambda value: self._out_of_range(describe_value(value)),
                )  # fmt: skip
            fits = np.asarray(fitting, dtype=np.int64)
            if len(fits):
                chosen = texts.iloc[fits].reset_index(drop=True)
                self.numbers(positions[fits], np.array([int(t) for t in chosen], dtype=np.int64), chosen)
            positions, texts = positions[~long], texts[~long].reset_index(drop=True)
        if len(texts):
            self.numbers(positions, pd.to_numeric(texts).to_numpy(), texts)

    # -- strings -----------------------------------------------------------------------------
    def strings(self, positions: np.ndarray, values: pd.Series) -> None:
        """Store strings: epoch numbers written as text, or ISO-8601 date-times."""
        values = values.reset_index(drop=True)
        if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
            # One regex engine (RE2) for every storage; text pyarrow cannot encode (a lone
            # surrogate) becomes NA here and is explained.
            present = values.notna().to_numpy()
            values = as_arrow_text(values)
            broken = np.flatnonzero(present & values.isna().to_numpy())
            self.fixed(
                positions[broken],
                "timestamp.invalid_unicode",
                "timestamp contains characters that are not valid unicode",
            )
            if len(broken):
                keep = np.flatnonzero(values.notna().to_numpy())
                positions, values = positions[keep], values.iloc[keep].reset_index(drop=True)
        values = values.str.strip()
        empty = (values.str.len() == 0).to_numpy()
        self.fixed(positions[empty], "timestamp.missing", "timestamp is missing (empty text)")
        numeric = regex_mask(values, _NUMBER) & ~empty
        if numeric.any():
            self._numeric_texts(positions[numeric], values[numeric].reset_index(drop=True))
        date_only = regex_mask(values, _DATE_ONLY) & ~numeric & ~empty
        if date_only.any():
            local = np.flatnonzero(date_only)
            unreadable = (
                pd.to_datetime(values.iloc[local], format="ISO8601", errors="coerce").isna().to_numpy()
            )
            texts = values.iloc[local].to_numpy(dtype=object)
            # In the order of the rows, as each was found before: one finding per kind.
            self.problem(positions[local[unreadable]], "timestamp.unreadable", texts[unreadable], _not_iso)
            self.problem(
                positions[local[~unreadable]], "timestamp.date_only", texts[~unreadable], date_without_time
            )
        rest = ~numeric & ~empty & ~date_only
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
            retried: list[pd.Timestamp | None] = []
            said_missing: list[int] = []
            unreadable: list[int] = []
            for p in failed:
                try:
                    again_one = pd.to_datetime(texts.iat[p], format="ISO8601", utc=aware)
                    if pd.isna(again_one):
                        # "NaT", "nan", "NaN" parse to NaT without an error; they used to pass
                        # as valid rows with no timestamp at all. Text that says "missing" is missing.
                        said_missing.append(int(p))
                        retried.append(None)
                        continue
                    retried.append(
                        again_one.floor("us").as_unit("us") if again_one.unit == "ns" else again_one
                    )
                except (ValueError, OverflowError, TypeError):
                    unreadable.append(int(p))
                    retried.append(None)
            self.problem(
                positions[said_missing], "timestamp.missing", texts.iloc[said_missing].to_numpy(dtype=object),
                lambda value: f"timestamp is missing (the text {describe_value(value)})",
            )  # fmt: skip
            self.problem(
                positions[unreadable],
                "timestamp.unreadable",
                texts.iloc[unreadable].to_numpy(dtype=object),
                _not_iso,
            )
            ok = np.array([r is not None for r in retried])
            if ok.any():
                again = pd.Series([r for r in retried if r is not None], dtype=object)
                again = pd.to_datetime(again, utc=True) if aware else pd.to_datetime(again)
                self.datetimes(positions[failed[ok]], again, texts.iloc[failed[ok]])
            parsed = parsed[~parsed.isna()]
        keep = parsed.index.to_numpy()
        self.datetimes(positions[keep], parsed, texts.iloc[keep])

    # -- objects -----------------------------------------------------------------------------
    def objects(self, values: pd.Series) -> None:
        """Sort an object column's values by kind and read each kind in bulk."""
        groups: dict[str, list[int]] = {"str": [], "int": [], "float": [], "naive": [], "aware": []}
        refused: dict[tuple[str, object], tuple[list[int], list[object]]] = {}
        for position, value in enumerate(values):
            kind = self._kind(value)
            if isinstance(kind, str):
                groups[kind].append(position)
            else:  # (code, explain): a problem, gathered by kind
                where, which = refused.setdefault(kind, ([], []))
                where.append(position)
                which.append(value)
        for (code, explain), (where, which) in refused.items():
            chosen = np.empty(len(which), dtype=object)
            chosen[:] = which
            self.problem(np.asarray(where, dtype=np.int64), code, chosen, explain)
        for kind, members in groups.items():
            if not members:
                continue
            rows = np.asarray(members, dtype=np.int64)
            chosen = values.iloc[rows].reset_index(drop=True)
            if kind == "str":
                self.strings(rows, chosen)
            elif kind == "int":
                self.numbers(rows, np.array([int(v) for v in chosen], dtype=np.int64))
            elif kind == "float":
                self.numbers(rows, np.array([float(v) for v in chosen], dtype=np.float64), chosen)
            else:
                self._objects_as_datetimes(rows, chosen, aware=kind == "aware")

    def _kind(self, value: object) -> str | tuple[str, object]:
        """The group an object column's value is read with, or the problem it has: its code
        and the function that words it from the value."""
        if isinstance(value, str):
            return "str"
        if isinstance(value, bool | np.bool_):
            return ("timestamp.unreadable", _not_a_date_time)
        if isinstance(value, np.timedelta64):  # a subclass of np.signedinteger, but a duration
            return _MISSING if np.isnat(value) else ("timestamp.unreadable", _not_a_time)
        if isinstance(value, int | np.integer):
            return (
                "int"
                if _INT64[0] <= int(value) <= _INT64[1]
                else ("timestamp.out_of_range", self._out_of_range_int)
            )
        if isinstance(value, decimal.Decimal):
            # NUMBER(38,0) from Snowflake or Oracle, most DB drivers' numerics: numbers.
            if value.is_nan():
                return _MISSING
            if value.is_infinite():
                return ("timestamp.not_finite", _not_finite_object)
            if value != value.to_integral_value():
                return "float"  # as a float is: floored to the millisecond
            return (
                "int"
                if _INT64[0] <= int(value) <= _INT64[1]
                else ("timestamp.out_of_range", self._out_of_range_str)
            )
        if isinstance(value, numbers.Real | np.floating):
            # NaN: missing, as in a float column, not "not a finite number"
            return _MISSING if value != value else "float"
        if isinstance(value, np.datetime64):
            if np.isnat(value):
                return _MISSING
            if np.datetime_data(value.dtype)[0] in ("Y", "M", "W", "D"):
                return ("timestamp.date_only", _date_of)
            return "naive"
        if isinstance(value, dt.datetime):
            if pd.isna(value):
                return _MISSING
            return "naive" if value.tzinfo is None else "aware"
        if isinstance(value, dt.date):
            return ("timestamp.date_only", _date_of)
        if is_missing(value):
            return _MISSING
        return ("timestamp.unreadable", _not_a_time)

    def _out_of_range_int(self, value: object) -> str:
        return self._out_of_range(str(int(value)))  # type: ignore[call-overload]  # always an integer here

    def _out_of_range_str(self, value: object) -> str:
        return self._out_of_range(str(value))

    def _objects_as_datetimes(self, positions: np.ndarray, values: pd.Series, aware: bool) -> None:
        try:
            parsed = pd.to_datetime(values, utc=aware)
        except (ValueError, OverflowError, TypeError):
            ok, stamps, lost = [], [], []
            for p, value in enumerate(values):
                try:
                    stamp = pd.Timestamp(value)
                    # One resolution for all: next to datetime(9999, 12, 31), a "no end date"
                    # sentinel, a nanosecond Timestamp made the second to_datetime fail too.
                    # Microseconds hold every datetime; the nanoseconds dropped are below the
                    # millisecond kept.
                    stamps.append((stamp.floor("us") if stamp.unit == "ns" else stamp).as_unit("us"))
                    ok.append(p)
                except (ValueError, OverflowError, TypeError):
                    lost.append(p)
            if lost:
                chosen = np.empty(len(lost), dtype=object)
                chosen[:] = [values.iat[p] for p in lost]
                self.problem(
                    positions[lost],
                    "timestamp.out_of_range",
                    chosen,
                    lambda value: f"timestamp {value} is out of range",
                )
            if not ok:
                return
            parsed = pd.to_datetime(pd.Series(stamps, dtype=object), utc=aware)
            positions, values = positions[ok], values.iloc[ok].reset_index(drop=True)
        self.datetimes(positions, parsed, values)


# pandas localizes through Python's datetime, which ends with the year 9999: a naive "no end
# date" sentinel late on 9999-12-31 in a zone west of UTC (or 0001-01-01 east of it) cannot be
# localized. Values outside this range take the offset their zone has a day inside it.
_LOCALIZABLE = (pd.Timestamp("0001-01-02"), pd.Timestamp("9999-12-30"))


def _localize(values: pd.Series, tz: object) -> pd.Series:
    """Naive wall times in ``tz`` to naive UTC (same unit); NaT where the time does not exist
    or is ambiguous."""
    low, high = _LOCALIZABLE
    extreme = ((values < low) | (values > high)).to_numpy()
    if not extreme.any():
        return values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(None)
    clipped = values.clip(low, high)
    utc = clipped.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(None)
    return utc.where(~extreme, values + (utc - clipped))


def date_without_time(shown: str) -> str:
    """The reason of a date without a time of day: a ``datetime.date`` and the text
    ``"2026-11-26"`` get the same words (read as midnight, either would be a guess)."""
    return f"timestamp {shown} is a date without a time of day; give the time it happened, with its zone"


def _not_a_date_time(value: object) -> str:
    return f"timestamp {value} is not a date-time"


def _not_finite_object(value: object) -> str:
    return f"timestamp {value} is not a finite number"


def _date_of(value: object) -> str:
    return date_without_time(str(value))


def _missing(_: object) -> str:
    return "timestamp is missing"


_MISSING = ("timestamp.missing", _missing)


def _not_a_time(value: object) -> str:
    return (
        f"timestamp {describe_value(value)} ({type(value).__name__}) "
        "is not a date-time, a number or ISO-8601 text"
    )


def _not_iso(text: str) -> str:
    """Why a text is not a timestamp, naming a digit other than 0-9 when it has one."""
    odd = next((c for c in text if c.isdigit() and not c.isascii()), None)
    if odd is not None:
        return (
            f"timestamp {describe_value(text)} has the digit {odd!r} ({unicode_name(odd)}); "
            "write numbers and dates with the digits 0-9"
        )
    return f"timestamp {describe_value(text)} is not an ISO-8601 date-time"


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
    reader.fixed(positions[missing], "timestamp.missing", "timestamp is missing")
    if missing.any():
        present, values_present = positions[~missing], values[~missing].reset_index(drop=True)
    else:  # nothing missing, the usual case: no copy of the positions and the column
        present, values_present = positions, values
    if pd.api.types.is_bool_dtype(dtype):
        reader.problem(
            present, "timestamp.unreadable", values_present.to_numpy(dtype=object), _not_a_date_time
        )
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
        chosen = np.empty(len(present), dtype=object)
        chosen[:] = values_present.tolist()
        reader.problem(
            present,
            "timestamp.unreadable",
            chosen,
            lambda value: f"timestamp {describe_value(value)} is not a date-time",
        )
    return reader.out
