"""CSV chunks by pyarrow's streaming reader, giving what pandas' C parser gives, or saying it cannot.

pandas' C parser read a 1,000,000-row CSV in 0.37 s of ``validate_file``'s 2.3 s; pyarrow's
``open_csv`` reads it in 0.12 s with the chunks already pandas frames of Arrow-backed ``str``
columns (pandas 3's text dtype), and :mod:`._readers` falls back to pandas' parser for
whatever this module cannot read exactly as pandas would (:class:`NotLikePandas`, or any
error of pyarrow's). So the rows, the values and the error messages stay pandas'.

What is made to agree with pandas:

- every column is read as text, so no column's type is fixed by the first block (pyarrow's
  inference would stop the read at a later block of another type); the columns read as text
  by pandas too (``text``: email, eventName, targetApp) become ``str`` columns;
- the others (the timestamp) get the type pandas' parser would infer for that chunk: text
  when a value cannot be a number (ISO date-times), int64 for whole numbers (float64 with a
  missing one), and for anything else pandas itself reads the column's values;
- missing is pandas' list of missing values (``""``, ``NA``, ``null``, ``NaN``...), quoted
  or not; quoted fields may hold newlines and separators; a UTF-8 BOM and CRLF are dropped;
- chunks have exactly ``chunksize`` rows (the last fewer), as pandas' chunks, so a fallback
  mid-file goes on from the same row.

A header pyarrow names otherwise than pandas (a repeated or empty name) is :class:`NotLikePandas`
before any row is read; a row with too many or too few fields, text that is not UTF-8, a
field larger than a block: pyarrow raises and pandas' parser takes over (and says what it says).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pandas._libs.parsers import STR_NA_VALUES

__all__ = ["ARROW_ERRORS", "NotLikePandas", "arrow_chunks", "block_size"]

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv(dtype=str) gives in pandas 3
_NULLS = sorted(STR_NA_VALUES)
#: A value pandas' parser cannot read as a number nor as a boolean has a character outside
#: these, and is not one of the words pandas reads as infinity or a boolean.
_NOT_NUMERIC = r"[^0-9+\-.eE \t]"
_WORDS = pa.array(["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "true", "false"])
#: Whole numbers pyarrow's cast reads exactly as pandas' parser (no sign "+", no spaces, and
#: short enough for int64 and, missing values making it float64, for a double).
_INTEGER = r"^-?[0-9]{1,15}$"
#: The one way of writing a date-time read as one here: ISO-8601 in UTC, ``Z``, seconds given.
_UTC_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z$"


class NotLikePandas(Exception):
    """This file's chunks, read by pyarrow, would not be what pandas' parser gives."""


#: What ends the read by pyarrow, for pandas' parser to read on.
ARROW_ERRORS = (NotLikePandas, pa.ArrowException)


def block_size(chunksize: int) -> int:
    """Bytes pyarrow parses at a time: 1 MiB, whatever the chunk. Its streaming reader reads
    some 35 blocks ahead of the rows taken, so the block sets that memory: 6.4 MiB blocks (a
    100,000-row chunk's bytes) held 240 MB at times, and a 10,000,000-row file then peaked
    at 660 MiB; 1 MiB blocks hold 35 MB and read as fast. A row longer than a block (a
    quoted field of more than 1 MiB) is pyarrow's error: pandas' parser reads on."""
    return 1 << 20


def arrow_chunks(
    source: Any,
    columns: list[str],
    sep: str,
    chunksize: int,
    usecols: list[str] | None,
    text: tuple[str, ...],
) -> Iterator[pd.DataFrame]:
    """``source``'s rows as pandas' C parser would give them in chunks of ``chunksize``.

    ``columns`` are the header's names as pandas gave them; ``usecols`` the columns to read
    (all if None), ``text`` those read as ``str``. Raises NotLikePandas when the header is not
    read alike; pyarrow's own errors (ArrowInvalid...) when a row cannot be read.
    """
    wanted = [name for name in columns if usecols is None or name in usecols]
    reader = pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(block_size=block_size(chunksize), use_threads=True),
        parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.string()),
            null_values=_NULLS,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    if reader.schema.names != wanted or len(set(columns)) != len(columns):
        raise NotLikePandas("the header is read otherwise")
    rows = held = 0
    pending: list[pa.RecordBatch] = []
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunksize:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield _frame(table.slice(0, chunksize), text)
            rest = table.slice(chunksize)
            pending, held = rest.to_batches(), rest.num_rows
            rows += chunksize
    if held:
        yield _frame(pa.Table.from_batches(pending, schema=reader.schema), text)
        rows += held
    if not rows:  # pandas gives a header-only file one empty chunk, with its own dtypes
        raise NotLikePandas("no rows")


def _frame(table: pa.Table, text: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: pd.array(column, dtype=TEXT) if name in text else _inferred(column)
            for name, column in zip(table.column_names, table.columns, strict=True)
        },
        copy=False,
    )


def _inferred(column: pa.ChunkedArray) -> Any:
    """A column of text as pandas' parser would type it: ``str`` when one value cannot be a
    number, int64 (float64 with a missing value) when all are short whole numbers, else what
    pandas reads from the values themselves."""
    if column.null_count == len(column):
        return np.full(len(column), np.nan)
    fixed = _fixed_width_times(column)  # the usual case: first
    if fixed is not None:
        if fixed[0]:
            return _times(column, years_in_range=fixed[1])
    elif pc.all(pc.match_substring_regex(column, _UTC_TIME)).as_py():
        return _times(column)
    odd = pc.filter(column, pc.match_substring_regex(column, _NOT_NUMERIC))
    if (
        len(odd)
        and not pc.all(pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(odd)), value_set=_WORDS)).as_py()
    ):
        return pd.array(column, dtype=TEXT)
    if pc.all(pc.match_substring_regex(column, _INTEGER)).as_py():
        numbers = pc.cast(column, pa.int64())
        if column.null_count:
            return pc.cast(numbers, pa.float64()).to_numpy()
        return numbers.to_numpy()
    return _by_pandas(column)


#: Bytes checked at a time by :func:`_fixed_width_times` (about: a whole number of values).
_BLOCK = 1 << 18


def _fixed_width_times(column: pa.ChunkedArray) -> tuple[bool, bool] | None:
    """``(every value matches _UTC_TIME, every year is within 1678-2261)``, read off the bytes
    when no value is missing and all have one length (an export writes its times alike), else
    None: the values side by side as a (rows, width) byte matrix, each of its columns checked
    for its character, 2 ms a 100,000-row chunk against the regular expression's 10-17 ms."""
    if column.null_count or not len(column):
        return None
    flat = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(flat.type) and not pa.types.is_large_string(flat.type):
        return None
    kind = np.int64 if pa.types.is_large_string(flat.type) else np.int32
    _, offsets_buffer, data_buffer = flat.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=kind, count=len(flat) + 1, offset=flat.offset * kind().itemsize
    )
    width = int(offsets[1] - offsets[0])
    if not (np.diff(offsets) == width).all():
        return None
    if width < 20 or width == 21 or width > 30:  # "…:SSZ", or "…:SS." and 1-9 digits and "Z"
        return False, False
    text = np.frombuffer(data_buffer, dtype=np.uint8, count=width * len(flat), offset=int(offsets[0]))
    lowest, spread = _layout(width)
    # Each byte minus the lowest allowed at its place (wrapping around below it, as uint8) is
    # within that place's spread: 0-9 for a digit, 0 for a fixed character. A block of whole
    # values at a time: the temporaries of one pass over the chunk, fresh memory each time,
    # took ten times as long (page faults).
    for start in range(0, len(text), len(lowest)):
        block = text[start : start + len(lowest)]
        if ((block - lowest[: len(block)]) > spread[: len(block)]).any():
            return False, False
    # The year as its 4 bytes read big-endian, compared with "1678" and "2261" read alike.
    chars = text.reshape(len(flat), width)
    year = chars.view(">u4")[:, 0] if width % 4 == 0 else np.ascontiguousarray(chars[:, :4]).view(">u4")
    first, last = np.frombuffer(b"16782261", dtype=">u4")
    return True, bool(((year >= first) & (year <= last)).all())


@functools.lru_cache(maxsize=16)
def _layout(width: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest byte allowed at each place of a time of ``width`` characters, and how far
    above it a byte may be, repeated for a block of :data:`_BLOCK` bytes of whole values (flat
    arrays: numpy's loops over rows of 20-30 bytes cost three times as much)."""
    layout = "dddd-dd-ddTdd:dd:dd" + ("." + "d" * (width - 21) if width > 20 else "") + "Z"
    lowest = np.frombuffer(layout.replace("d", "0").encode(), dtype=np.uint8)
    spread = np.frombuffer(bytes(9 if char == "d" else 0 for char in layout), dtype=np.uint8)
    values = max(_BLOCK // width, 1)
    return np.tile(lowest, values), np.tile(spread, values)


def _times(column: pa.ChunkedArray, years_in_range: bool | None = None) -> Any:
    """UTC date-times written ``2025-06-10T04:00:00.123Z`` (every one of the chunk: pandas'
    parser would leave them text), parsed by
    pyarrow as pandas' pyarrow engine parses them: what prepare's reading of the text gives
    (the same instants, no naive time to count), at a fifth of the cost. A value pyarrow
    cannot hold (February 30th, year 2300 in nanoseconds) leaves the column text, for
    prepare to explain."""
    # pyarrow 15 wraps a year beyond nanoseconds around (2300 became 1715) where later ones
    # refuse it: years outside 1678-2261 (a 4-digit prefix, compared as text) stay text.
    if years_in_range is None:  # (known already when read off the bytes)
        year = pc.utf8_slice_codeunits(column, 0, 4)
        years_in_range = pc.all(pc.and_(pc.greater_equal(year, "1678"), pc.less_equal(year, "2261"))).as_py()
    if not years_in_range:
        return pd.array(column, dtype=TEXT)
    try:
        parsed = pc.cast(column, pa.timestamp("ns", tz="UTC"))
    except pa.ArrowException:
        return pd.array(column, dtype=TEXT)
    return parsed.to_pandas().array


def _by_pandas(column: pa.ChunkedArray) -> Any:
    """What pandas' parser makes of these values: each one quoted in a one-column CSV (a
    missing one an empty line, which pandas reads as missing)."""
    values = column.to_pylist()
    lines = ['"' + value.replace('"', '""') + '"' if value is not None else "" for value in values]
    frame = pd.read_csv(io.StringIO("x\n" + "\n".join(lines) + "\n"), skip_blank_lines=False)
    series = frame["x"]
    if len(series) != len(values):  # not expected: then pandas' own read of the file decides
        raise NotLikePandas("the column is read otherwise")
    return series.array
