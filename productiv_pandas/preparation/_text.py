"""Normalizing the text columns (email, eventName, targetApp) and fast regex masks.

Strings are handled in pyarrow where the column is pyarrow-backed (pandas 3's default ``str``
dtype): RE2 through ``pyarrow.compute`` is several times faster than ``Series.str.match``,
which matters at millions of rows. Other storages fall back to Python's ``re``.
"""

from __future__ import annotations

import decimal
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._findings import Finding, coded, render_each

__all__ = [
    "NormalizedText",
    "as_arrow_text",
    "control_mask",
    "describe_value",
    "first_control",
    "from_arrow",
    "is_missing",
    "length_at_most",
    "normalize_text",
    "not_empty_mask",
    "quiet_signaling_nans",
    "regex_mask",
    "unicode_name",
]


def _arrow_integers(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if pa.types.is_unsigned_integer(kind):
        return pd.UInt64Dtype()
    if pa.types.is_signed_integer(kind):
        return pd.Int64Dtype()
    return None


def from_arrow(values: pd.Series) -> pd.Series:
    """An ``ArrowDtype`` column as the dtype pyarrow's ``to_pandas`` gives; others unchanged.

    ``read_csv``/``read_parquet(dtype_backend="pyarrow")`` produce ``ArrowDtype`` columns, which
    the readers here used to refuse ("email 'ana@x.com' is not text"). Strings become ``str``,
    timestamps ``datetime64`` (unit and zone kept), dictionaries categoricals; integers become
    nullable ``Int64``/``UInt64`` rather than float64, so epoch nanoseconds stay exact.
    """
    if not isinstance(values.dtype, pd.ArrowDtype):
        return values
    arrow = values.array.__arrow_array__()
    if pa.types.is_date(arrow.type):
        return _arrow_dates(arrow)
    return pd.Series(arrow.to_pandas(types_mapper=_arrow_integers))


# Python's datetime.date holds years 1 to 9999, as seconds since the epoch; Arrow's dates hold
# millions of years either side, and to_pandas raises "year 0 is out of range" for the column.
_PYTHON_DATES = (-62_135_596_800, 253_402_214_400)


def _arrow_dates(arrow: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Dates as Python ``date`` objects, as ``to_pandas`` gives them, except the dates Python
    cannot hold: those become second-resolution Timestamps, so one such value is judged as a
    value of its row (a timestamp before 2000, an event name that is not text) instead of making
    the whole column unreadable."""
    seconds = pc.cast(pc.cast(arrow, pa.timestamp("s"), safe=False), pa.int64())
    low, high = _PYTHON_DATES
    outside = pc.fill_null(pc.or_(pc.less(seconds, low), pc.greater(seconds, high)), False)
    if not pc.any(outside).as_py():
        return pd.Series(arrow.to_pandas())
    stamps = pd.Series(pc.cast(seconds, pa.timestamp("s")).to_pandas()).astype(object)
    inside = ~np.asarray(outside) & stamps.notna().to_numpy()
    stamps[inside] = [stamp.date() for stamp in stamps[inside]]
    return stamps


def regex_mask(values: pd.Series, pattern: str) -> np.ndarray:
    """Boolean array: does each string fully match ``pattern``? Missing values give False.

    ``pattern`` must mean the same in RE2 and Python's ``re`` (no lookarounds, no ``\\s``).
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        matched = pc.match_substring_regex(pa.array(values.array), f"^(?:{pattern})$")
        return pc.fill_null(matched, False).to_numpy(zero_copy_only=False)
    compiled = re.compile(pattern)
    return np.fromiter(
        (isinstance(v, str) and compiled.fullmatch(v) is not None for v in values),
        dtype=bool,
        count=len(values),
    )


def describe_value(value: object, limit: int = 60) -> str:
    """A short, quoted rendering of a bad value for a reason: ``'bob@'``, ``12.5``, ``None``."""
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


@dataclass
class NormalizedText:
    """A text column after normalization.

    ``values`` is a pandas ``str`` Series (RangeIndex) with NA where the input was missing or
    not text; ``findings`` are the values that are not text (``<field>.not_text``) or not
    valid Unicode (``<field>.invalid_unicode``), as data.
    """

    values: pd.Series
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[tuple[int, str]]:
        """``(position, sentence)`` of each finding's rows (a debugging view)."""
        return render_each(self.findings)

    def flagged(self) -> np.ndarray:
        """The positions of every finding."""
        return (
            np.concatenate([f.positions for f in self.findings])
            if self.findings
            else np.array([], dtype=np.int64)
        )


def is_missing(value: object) -> bool:
    """Is a single value missing (None, NaN, NaT, NA)? Never raises, even for list-likes."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes: pd.isna returns an array
        return False


def quiet_signaling_nans(values: pd.Series) -> pd.Series:
    """``values`` with each signaling NaN ``Decimal("sNaN")`` (on which pandas' ``isna`` raises
    ``InvalidOperation``) replaced by a quiet ``Decimal("NaN")``; other values kept as they are."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return quiet_signaling_nans(values.astype(object))
    if not pd.api.types.is_object_dtype(values.dtype):
        return values
    quiet = decimal.Decimal("NaN")
    return values.map(lambda v: quiet if isinstance(v, decimal.Decimal) and v.is_snan() else v)


def as_arrow_text(values: pd.Series) -> pd.Series:
    """Strings to pandas' pyarrow-backed ``str`` dtype; values pyarrow cannot encode become NA."""
    try:
        return values.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    except (UnicodeEncodeError, pa.ArrowException):
        # Lone surrogates (from broken exports) cannot be UTF-8 encoded: find them one by one.
        def encodable(v: object) -> object:
            try:
                v.encode("utf-8")  # type: ignore[attr-defined]  # not a str: AttributeError, caught
            except (UnicodeEncodeError, AttributeError):
                return None
            return v

        return values.map(encodable).astype(pd.StringDtype("pyarrow", na_value=np.nan))


def normalize_text(values: pd.Series, *, name: str, lower: bool = False) -> NormalizedText:
    """Strip (and optionally lower-case) a text column; report values that are not text.

    Parameters
    ----------
    values : Series
        The input column, any dtype; its index is ignored (positions are used).
    name : str
        The API field name, used in reasons ("email 12 is not text").
    lower : bool
        Lower-case as well (emails: ``Bob@X.com`` and ``bob@x.com`` are the same user).
    """
    values = from_arrow(values.reset_index(drop=True))
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    findings: list[Finding] = []
    not_text = functools.partial(coded, f"{name}.not_text", functools.partial(_not_text, name))
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        strings = values
    elif pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind in ("string", "empty"):
            strings = values
        else:
            raw = values.to_numpy()
            is_text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=len(values))
            odd = np.flatnonzero(~is_text)
            present = np.fromiter((not is_missing(v) for v in raw[odd]), dtype=bool, count=len(odd))
            if present.any():
                findings.append(Finding(odd[present], raw[odd[present]], not_text, name))
            strings = values.where(is_text, None)
    else:
        present = np.flatnonzero(values.notna().to_numpy())
        if len(present):
            chosen = np.empty(len(present), dtype=object)
            chosen[:] = values.iloc[present].tolist()
            findings.append(Finding(present, chosen, not_text, name))
        strings = pd.Series([None] * len(values), dtype=object)
    before = strings.notna().to_numpy()
    result = as_arrow_text(strings)
    broken = np.flatnonzero(before & result.isna().to_numpy())
    if len(broken):
        findings.append(
            Finding.fixed(
                broken, f"{name}.invalid_unicode", f"{name} contains characters that are not valid unicode"
            )
        )
    result = _strip(result)
    if lower:
        lowered = result.str.lower()
        # Already lower-case (the usual export): keep the column's own Arrow array, shared
        # rather than held twice.
        result = result if lowered.equals(result) else lowered
    return NormalizedText(result, findings)


def _not_text(name: str, value: object) -> str:
    return f"{name} {describe_value(value)} is not text"


def _untrimmed(chunk: pa.Array) -> np.ndarray:
    """Which strings of one Arrow chunk might have whitespace at either end: a superset.

    Read from the offsets and bytes: a string whose first and last bytes are printable ASCII
    other than the space cannot start or end with whitespace (every whitespace character,
    ASCII or not, is outside that range). Costs two bytes a string instead of a new column.
    """
    offsets_buffer, data_buffer = chunk.buffers()[1:3]
    if data_buffer is None or len(chunk) == 0:
        return np.zeros(len(chunk), dtype=bool)
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    # As int64 whatever the width: numpy's stubs type a run-time dtype as generic, not a number.
    offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1].astype(
        np.int64, copy=False
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    if not len(data):
        return np.zeros(len(chunk), dtype=bool)
    first = data[np.minimum(offsets[:-1], len(data) - 1)]
    last = data[np.maximum(offsets[1:] - 1, 0)]
    edge = (first <= 0x20) | (first >= 0x7F) | (last <= 0x20) | (last >= 0x7F)
    return edge & (offsets[1:] > offsets[:-1])


def _strip(values: pd.Series) -> pd.Series:
    """``values.str.strip()``, but the column itself when no value would change (no copy)."""
    chunks = values.array.__arrow_array__().chunks
    suspects: np.ndarray | list[int] = (
        np.flatnonzero(np.concatenate([_untrimmed(chunk) for chunk in chunks])) if chunks else []
    )
    if not len(suspects):
        return values
    subset = values.iloc[suspects]
    if subset.str.strip().equals(subset):
        return values
    return values.str.strip()


# -- control and format characters -----------------------------------------------------------
# NUL, a tab, a zero-width space (U+200B), a BOM (U+FEFF), a bidi override: invisible in a
# report, different bytes on the wire. "a\u200bna@x.com" would be sent as another user than
# "ana@x.com", so text fields refuse them and the reason names the character.
_CATEGORIES = {"Cc": "a control character", "Cf": "a format character"}
_BLOCK = 1 << 20


@functools.cache
def _controls() -> tuple[tuple[int, int], ...]:
    """The code point ranges of categories Cc and Cf (Python's Unicode tables, so that RE2 and
    ``re`` agree). Format characters live below U+20000 and in the tag block; scanning those
    takes 20 ms, once."""
    points = [
        c
        for c in itertools.chain(range(0x20000), range(0xE0000, 0xE0080))
        if unicodedata.category(chr(c)) in _CATEGORIES
    ]
    ranges: list[list[int]] = []
    for c in points:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return tuple((a, b) for a, b in ranges)


@functools.cache
def _control_pattern(engine: str) -> str:
    """A character class of the control and format characters, escaped for RE2 or ``re``."""
    escape = (lambda c: f"\\x{{{c:x}}}") if engine == "re2" else (lambda c: f"\\U{c:08x}")
    parts = (escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in _controls())
    return "[" + "".join(parts) + "]"


def _suspects(chunk: pa.Array) -> np.ndarray:
    """Rows of one Arrow string chunk holding a byte that is not printable ASCII: a superset of
    those with a control or format character, found from the bytes without a regex."""
    offsets_buffer, data_buffer = chunk.buffers()[1:3]
    if data_buffer is None or len(chunk) == 0:
        return np.array([], dtype=np.int64)
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    # As int64 whatever the width: numpy's stubs type a run-time dtype as generic, not a number.
    offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1].astype(
        np.int64, copy=False
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    found = []
    # By blocks of 1 MB, so the temporary arrays stay small whatever the column's size.
    for start in range(0, len(data), _BLOCK):
        block = data[start : start + _BLOCK]
        # One pass: bytes below 0x20 wrap to 0xe0 and above, 0x7f and up stay at 0x5f and up.
        odd = np.flatnonzero(np.subtract(block, 0x20, dtype=np.uint8) >= 0x5F)
        if len(odd):
            found.append(np.unique(np.searchsorted(offsets, odd + (offsets[0] + start), side="right") - 1))
    return np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)


def _byte_lengths(chunk: pa.Array) -> np.ndarray | None:
    """Bytes of each string of one Arrow chunk, read from its offsets (no new column); None
    for a layout without offsets (a string view)."""
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    if len(chunk) == 0:
        return np.zeros(0, dtype=np.int64)
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
    return np.diff(offsets)


def _arrow_chunks(values: pd.Series) -> list[pa.Array] | None:
    """The Arrow chunks of a pyarrow-backed ``str`` column, or None for any other storage."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return values.array.__arrow_array__().chunks
    return None


def length_at_most(values: pd.Series, limit: int) -> np.ndarray:
    """Boolean array: is each string at most ``limit`` characters long? Missing values give True.

    A string has at most as many characters as UTF-8 bytes, so only those longer than
    ``limit`` in bytes (read from the offsets) are counted in characters: usually none, and a
    column of a million short values costs one subtraction instead of a count of each.
    """
    chunks = _arrow_chunks(values)
    if chunks is None:
        return ~(values.str.len() > limit).to_numpy(dtype=bool, na_value=False)
    short = np.ones(len(values), dtype=bool)
    start = 0
    for chunk in chunks:
        sizes = _byte_lengths(chunk)
        check = np.arange(len(chunk)) if sizes is None else np.flatnonzero(sizes > limit)
        if len(check):
            chars = pc.utf8_length(chunk.take(pa.array(check)))
            fits = pc.fill_null(pc.less_equal(chars, limit), True)
            short[start + check] = fits.to_numpy(zero_copy_only=False)
        start += len(chunk)
    return short


def not_empty_mask(values: pd.Series) -> np.ndarray:
    """Boolean array: is each string non-empty? Missing values give True.

    From the offsets where the column is Arrow's (an empty string is one of zero bytes),
    rather than a count of every value's characters.
    """
    chunks = _arrow_chunks(values)
    if chunks is None:
        return (values.str.len() > 0).fillna(True).to_numpy(dtype=bool)
    parts = []
    for chunk in chunks:
        sizes = _byte_lengths(chunk)
        if sizes is None:
            sizes = pc.fill_null(pc.binary_length(chunk), 1).to_numpy(zero_copy_only=False)
        filled = sizes > 0
        if chunk.null_count:
            filled |= chunk.is_null().to_numpy(zero_copy_only=False)
        parts.append(filled)
    return np.concatenate(parts) if parts else np.ones(0, dtype=bool)


def control_mask(values: pd.Series) -> np.ndarray:
    """Boolean array: does each string contain a control or format character (Unicode Cc, Cf)?
    Missing values give False."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        mask = np.zeros(len(values), dtype=bool)
        start = 0
        pattern = _control_pattern("re2")
        for chunk in values.array.__arrow_array__().chunks:
            suspects = _suspects(chunk)
            if len(suspects):
                found = pc.match_substring_regex(chunk.take(pa.array(suspects)), pattern)
                mask[start + suspects] = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
            start += len(chunk)
        return mask
    compiled = re.compile(_control_pattern("re"))
    return np.fromiter(
        (isinstance(v, str) and compiled.search(v) is not None for v in values),
        dtype=bool,
        count=len(values),
    )


def first_control(value: str) -> tuple[int, str] | None:
    """The 0-based position and the character of the first control or format character."""
    found = re.compile(_control_pattern("re")).search(value)
    return None if found is None else (found.start(), found.group())


def unicode_name(char: str) -> str:
    """``'\u200b'`` -> ``'U+200B ZERO WIDTH SPACE'``; ``'\x00'`` -> ``'U+0000 (a control character)'``."""
    name = unicodedata.name(char, None)
    if name is None:
        name = f"({_CATEGORIES.get(unicodedata.category(char), 'an unnamed character')})"
    return f"U+{ord(char):04X} {name}"
