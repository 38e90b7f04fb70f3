"""Normalizing the text columns (email, eventName, targetApp) and fast regex masks.

Strings are handled in pyarrow where the column is pyarrow-backed (pandas 3's default ``str``
dtype): RE2 through ``pyarrow.compute`` is several times faster than ``Series.str.match``,
which matters at millions of rows. Other storages fall back to Python's ``re``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NormalizedText", "describe_value", "from_arrow", "is_missing", "normalize_text", "regex_mask"]


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
    return pd.Series(values.array.__arrow_array__().to_pandas(types_mapper=_arrow_integers))


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
    not text; ``problems`` lists ``(position, reason)`` for values that are not text.
    """

    values: pd.Series
    problems: list[tuple[int, str]] = field(default_factory=list)


def is_missing(value: object) -> bool:
    """Is a single value missing (None, NaN, NaT, NA)? Never raises, even for list-likes."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes: pd.isna returns an array
        return False


def _to_str(values: pd.Series) -> pd.Series:
    """Strings to pandas' pyarrow-backed ``str`` dtype; values pyarrow cannot encode become NA."""
    try:
        return values.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    except (UnicodeEncodeError, pa.ArrowException):
        # Lone surrogates (from broken exports) cannot be UTF-8 encoded: find them one by one.
        def encodable(v: object) -> object:
            try:
                v.encode("utf-8")  # type: ignore[union-attr]
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
    problems: list[tuple[int, str]] = []
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        strings = values
    elif pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind in ("string", "empty"):
            strings = values
        else:
            is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
            for position in np.flatnonzero(~is_text):
                value = values.iat[position]
                if not is_missing(value):
                    problems.append((int(position), f"{name} {describe_value(value)} is not text"))
            strings = values.where(is_text, None)
    else:
        for position in np.flatnonzero(values.notna().to_numpy()):
            problems.append((int(position), f"{name} {describe_value(values.iat[position])} is not text"))
        strings = pd.Series([None] * len(values), dtype=object)
    before = strings.notna().to_numpy()
    result = _to_str(strings)
    for position in np.flatnonzero(before & result.isna().to_numpy()):
        problems.append((int(position), f"{name} contains characters that are not valid unicode"))
    result = _strip(result)
    if lower:
        lowered = result.str.lower()
        # Already lower-case (the usual export): keep the column's own Arrow array, shared
        # rather than held twice.
        result = result if lowered.equals(result) else lowered
    return NormalizedText(result, problems)


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
    offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
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
    suspects = np.flatnonzero(np.concatenate([_untrimmed(chunk) for chunk in chunks])) if chunks else []
    if not len(suspects):
        return values
    subset = values.iloc[suspects]
    if subset.str.strip().equals(subset):
        return values
    return values.str.strip()
