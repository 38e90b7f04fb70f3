"""A chunk of JSON Lines by pyarrow's JSON reader, as pandas' reader gives it, or None.

pandas' ``read_json(lines=True)`` took 2.15 s a million lines of three text fields; pyarrow's
``read_json`` reads the same bytes in 0.51 s. :mod:`._input` asks here first and reads the
chunk as before (pandas, then Python's ``json`` line by line) whenever this returns None, so
a file's rows, values, dtypes and error messages stay what they were. Only the columns asked
for are read (``explicit_schema``, other keys ignored unparsed into columns): as text, or,
for the timestamp, as int64 when text fails; a float timestamp goes to pandas (its parser
rounds otherwise than pyarrow's).

Where pyarrow reads what pandas would not read alike, this says None before or after asking:

- a line that is not one object (``null`` made pyarrow 26 crash; two objects on one line
  were two rows; a BOM was skipped): every non-blank line must start with ``{`` and end
  with ``}``, and the rows must be as many as those lines;
- ``Inf``, ``-Inf``, ``-NaN`` (read by pyarrow, refused by pandas and Python's json);
- a column with no value in the chunk: pandas' dtype then depends on whether some row lacks
  the key (float64) or every row holds null (object), which pyarrow's nulls cannot tell,
  unless a line plainly lacks the key; a chunk with no value in any column (rows of ``{}``)
  is left to pandas entirely;
- a string where a number is read, a number or object where text is, a duplicated key, a
  raw control character, a lone surrogate, a line longer than a block: pyarrow's errors.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

__all__ = ["ArrowJson", "arrow_columns"]

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_json gives text in pandas 3
#: Bytes pyarrow parses at a time (its default); a line longer than this is pandas' to read.
_BLOCK = 1 << 20


class ArrowJson:
    """Reads chunks of lines for ``usecols``; the columns not in ``text`` may be int64.

    Remembers whether the last chunk read its numbers as int64, to try that first (a file of
    epoch milliseconds would otherwise be parsed twice a chunk)."""

    def __init__(self, usecols: list[str], text: tuple[str, ...]) -> None:
        self.usecols = list(dict.fromkeys(usecols))
        numeric = [name for name in self.usecols if name not in text]
        as_text = pa.schema([(name, pa.string()) for name in self.usecols])
        as_numbers = pa.schema(
            [(name, pa.int64() if name in numeric else pa.string()) for name in self.usecols]
        )
        self.schemas = [as_text, as_numbers] if numeric else [as_text]
        #: Chunks pyarrow read (for the tests: the fast path is not silently dead).
        self.served = 0

    def frame(self, lines: list[str]) -> pd.DataFrame | None:
        """``lines`` (from a text file's iteration) as pandas' reader would give them, the
        columns reindexed to ``usecols``; None when they might not be read alike."""
        if not self.usecols:
            return None
        data = "".join(lines).encode("utf-8")
        rows = _object_lines(lines, data)
        if not rows or _odd_numbers(data):
            return None
        table = self._table(data)
        if table is None or table.num_rows != rows:
            return None
        if all(column.null_count == rows for column in table.columns):
            return None  # no key at all: pandas' frame has no column (and the chunk is dropped)
        columns: dict[str, object] = {}
        for name, column in zip(self.usecols, table.columns, strict=True):
            if column.null_count == len(column):
                if not _lacks(lines, name):
                    return None
                columns[name] = np.full(len(column), np.nan)
            elif pa.types.is_integer(column.type):
                # A missing value makes pandas' column float64: the nearest double, past 2**53 too.
                floats = pc.cast(column, pa.float64(), safe=False) if column.null_count else column
                columns[name] = floats.to_numpy()
            else:
                columns[name] = pd.array(column, dtype=TEXT)
        self.served += 1
        return pd.DataFrame(columns, copy=False)

    def _table(self, data: bytes) -> pa.Table | None:
        for schema in list(self.schemas):
            try:
                table = pa_json.read_json(
                    pa.BufferReader(data),
                    read_options=pa_json.ReadOptions(use_threads=True, block_size=_BLOCK),
                    parse_options=pa_json.ParseOptions(
                        explicit_schema=schema, unexpected_field_behavior="ignore"
                    ),
                )
            except pa.ArrowException:
                continue
            if schema is not self.schemas[0]:
                self.schemas.remove(schema)
                self.schemas.insert(0, schema)
            return table
        return None


def _object_lines(lines: list[str], data: bytes) -> int | None:
    """The number of non-blank lines (blank as pandas strips them) when every one starts with
    ``{`` and ends with ``}``; else None. Looked up in the bytes first (no Python loop when no
    line is blank or indented), line by line otherwise."""
    if data.startswith(b"{"):
        codes = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(codes == 10)  # a newline ends every line but perhaps the last
        starts = ends[:-1] + 1 if data.endswith(b"\n") else ends + 1
        if (
            (codes[starts] == 123).all()
            and (codes[ends - 1] == 125).all()
            and (data.endswith(b"\n") or data.endswith(b"}"))
        ):
            return len(lines)
    rows = 0
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] != "{" or stripped[-1] != "}":
            return None
        rows += 1
    return rows


def _odd_numbers(data: bytes) -> bool:
    """Might ``data`` hold ``Inf``, ``-Inf`` or ``-NaN`` (which pyarrow reads and pandas and
    Python's json refuse)? Any ``Inf`` not spelled ``Infinity``, any ``-NaN``, even in text."""
    codes = np.frombuffer(data, dtype=np.uint8)
    size = len(codes)
    for letter, rest in ((73, b"nf"), (78, b"aN")):  # I(nf), N(aN)
        found = np.flatnonzero(codes[: max(size - 2, 0)] == letter)
        if not len(found):
            continue
        found = found[(codes[found + 1] == rest[0]) & (codes[found + 2] == rest[1])]
        for at in found.tolist():
            if letter == 73 and data[at : at + 8] != b"Infinity":
                return True
            if letter == 78 and at and data[at - 1 : at] == b"-":
                return True
    return False


def _lacks(lines: list[str], name: str) -> bool:
    """Does some non-blank line plainly lack the key ``name`` (neither its name in quotes nor
    a backslash, which could spell it otherwise, anywhere in the line)?"""
    if any(char in name for char in '"\\') or any(ord(char) < 0x20 for char in name):
        return False
    quoted = f'"{name}"'
    return any(quoted not in line and "\\" not in line and line.strip() for line in lines)


def arrow_columns(lines: list[str]) -> list[str] | None:
    """The keys of a chunk of lines as pandas' reader names its columns (in order of first
    appearance), read by pyarrow; None when pyarrow might not read the chunk alike, or the
    names are ones pandas would turn into numbers or dates (then pandas says)."""
    data = "".join(lines).encode("utf-8")
    rows = _object_lines(lines, data)
    if not rows or _odd_numbers(data):
        return None
    try:
        table = pa_json.read_json(
            pa.BufferReader(data),
            # One thread: the keys in the order the lines first hold them, as pandas has them.
            read_options=pa_json.ReadOptions(use_threads=False, block_size=_BLOCK),
        )
    except pa.ArrowException:
        return None
    names = table.column_names
    if table.num_rows != rows or not names or len(set(names)) != len(names):
        return None
    if [str(name) for name in _pandas_names(names)] != names:
        return None
    return names


def _pandas_names(names: list[str]) -> pd.Index:
    """The columns pandas' reader makes of these keys (all numbers, or all dates, it converts)."""
    line = json.dumps(dict.fromkeys(names, 0)) + "\n"
    return pd.read_json(io.StringIO(line), lines=True, dtype=False).columns
