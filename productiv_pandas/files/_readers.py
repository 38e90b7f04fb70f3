"""Reading event files: one reader class per format, chosen by extension in :data:`READERS`.

Every reader answers the same four questions, which is all :mod:`._run` and :mod:`._stream`
ask: its :meth:`~EventReader.columns` (known before any chunk is read, so a missing column is
reported at once), its :meth:`~EventReader.chunks` (DataFrames of ``chunksize`` rows), its
:meth:`~EventReader.row_count` (when the file says it cheaply) and the whole file at once
(:meth:`~EventReader.read`). Errors are put in words once, here, for every format.

A new format is one new subclass of :class:`EventReader` and one line in :data:`READERS`::

    class FeatherReader(EventReader):
        name = "feather"
        ...

    READERS[".feather"] = FeatherReader

A file may be compressed whatever its name says: its first bytes decide (:mod:`._input`);
a format that cannot be (Parquet compresses itself) overrides :meth:`EventReader.compression_of`.

CSV is read by pyarrow's streaming reader (:mod:`._arrow_csv`), every column as text then
typed a chunk at a time as pandas' parser would type it (so a later block of another type
does not stop the read, as pyarrow's own inference from the first block would), in 1 MiB
blocks; pandas' C parser takes over from the first chunk pyarrow cannot read alike (a short
row, text that is not UTF-8, a repeated header name, a zip or zstd file), so rows, values and
error messages stay pandas'. Re-measured on a 1,000,000-row CSV (issue 15): pandas' chunks
0.37 s, pyarrow's 0.19 s as pandas frames of Arrow-backed ``str`` columns (an earlier
measurement, 0.13 s against 0.25 s, had pyarrow's batches converted to object columns).
Parquet is read with pyarrow (``ParquetFile.iter_batches``), JSON Lines a chunk of lines at
a time (:mod:`._input`), by pyarrow's JSON reader where it reads the chunk as pandas' would
(:mod:`._arrow_json`).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigurationError
from ._arrow_csv import ARROW_ERRORS, arrow_chunks
from ._input import (
    READ_ERRORS,
    BadLine,
    compression_of,
    json_chunks,
    json_columns,
    sniff_compression,
    what_is_inside,
)
from ._location import Location, is_url, location, name_of, readable, scrubbed, shown, suffixes_of

__all__ = [
    "COMPRESSED_SUFFIXES",
    "DEFAULT_CHUNKSIZE",
    "READERS",
    "CsvReader",
    "EventReader",
    "JsonLinesReader",
    "ParquetReader",
    "file_format",
    "open_reader",
    "read_events",
    "reader_class",
]

#: Rows per chunk. prepare runs at the same speed from 50,000 to 250,000 rows a chunk, but
#: peak memory grows with the chunk: on a 1,000,000-row CSV of three text columns, 285 MB peak
#: RSS at 100,000 rows a chunk against 406 MB at 250,000 (the interpreter and its imports
#: alone take 168 MB). So 100,000.
DEFAULT_CHUNKSIZE = 100_000

#: Suffixes that may follow a format's extension (``events.csv.gz``): the bytes say the rest.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
#: Separators a CSV export may use instead of commas (Excel in much of Europe writes ``;``).
_SEPARATORS = (";", "\t", "|")
#: Compressions read for pyarrow by Python's own decompressors (None: not compressed); a zip
#: archive or zstd is read by pandas' parser.
_OPENERS: dict[str, Any] = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
_ARROW_COMPRESSIONS = (None, *_OPENERS)
#: What stops pyarrow's read and hands the file to pandas' parser: anything pyarrow raises,
#: a Python file object's own errors (a truncated gzip file), NotLikePandas.
_ARROW_FALLBACK = (*ARROW_ERRORS, *READ_ERRORS)


class EventReader(ABC):
    """An events file opened for reading in chunks of ``chunksize`` rows.

    Opening reads what :meth:`columns` needs (a CSV's header, a Parquet file's schema, a JSON
    Lines file's first chunk), so a file that cannot be read fails at once. Subclasses set
    :attr:`name` and implement :meth:`columns` and :meth:`chunks`; the rest has defaults.
    """

    #: The format's name, in messages ("cannot read 'x.csv' as csv") and for the status writer.
    name: ClassVar[str]
    #: Lines before the first row, for a text format whose rows are lines (the line count of an
    #: uncompressed file then estimates the rows); None for a format that is not.
    header_lines: ClassVar[int | None] = None
    #: False when :meth:`columns` may miss columns that appear later in the file (JSON Lines:
    #: lines need not share keys, and only the first chunk's are known up front).
    complete_columns: ClassVar[bool] = True

    def __init__(self, path: Location, chunksize: int, compression: str | None) -> None:
        #: A Path, or a URL (a string) read through fsspec.
        self.path = path
        self.chunksize = chunksize
        #: What the file's first bytes show (pandas' name for it), whatever its name says.
        self.compression = compression

    @classmethod
    def compression_of(cls, path: Location) -> str | None:
        """The compression to read ``path`` with, from its first bytes (a ConfigurationError
        when it cannot be read, e.g. zstd without its package)."""
        return compression_of(path)

    @abstractmethod
    def columns(self) -> list[str]:
        """The file's column names, as pandas names them (see :attr:`complete_columns`)."""

    @abstractmethod
    def chunks(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        """The file's rows, ``chunksize`` at a time, only ``usecols`` (all if None; a column a
        chunk lacks is there, empty); columns named in ``text`` read as text where the format
        would guess their type. The index is left as it comes: :meth:`numbered_chunks`
        renumbers it and puts read errors in words."""

    def row_count(self) -> int | None:
        """The number of rows, when the file says it without being read (Parquet); else None."""
        return None

    def repeated(self) -> tuple[str, ...]:
        """The names the header holds more than once (pandas reads the second as ``name.1``)."""
        return ()

    def read(self) -> pd.DataFrame:
        """The whole file at once."""
        frames = list(self.chunks())
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def numbered_chunks(
        self, usecols: list[str] | None = None, text: tuple[str, ...] = ()
    ) -> Iterator[pd.DataFrame]:
        """:meth:`chunks`, each indexed by its rows' 0-based row numbers in the file. A read
        error mid-file is a ConfigurationError naming the first row not read."""
        offset = 0
        chunks = self.chunks(usecols, text)
        while True:
            try:
                frame = next(chunks, None)
            except READ_ERRORS as exc:
                if isinstance(exc, ConfigurationError):
                    raise
                # Before the first row the whole file is unreadable: where pandas notices (the
                # header read or the first chunk) varies by version, the message must not.
                where = f" from row {offset:,} on" if offset else ""
                raise unreadable(self.path, self.name, exc, where) from exc
            if frame is None:
                return
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame

    def estimate_rows(self) -> int | None:
        """:meth:`row_count`, or a line count for an uncompressed text file (for a progress
        bar's total only: a quoted field spanning lines makes it a little high), else None.
        An object in storage is not read twice for it: None."""
        rows = self.row_count()
        if (
            rows is not None
            or self.header_lines is None
            or self.compression is not None
            or not isinstance(self.path, Path)
            or self.path.suffix.lower() in COMPRESSED_SUFFIXES
        ):
            return rows
        lines, last = 0, b"\n"
        with open(self.path, "rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - self.header_lines, 0)


class CsvReader(EventReader):
    """CSV, comma-separated or (found from the header) ``;``, tab or ``|``; chunks by pyarrow,
    or pandas' C parser from where pyarrow cannot read the file as pandas would."""

    name = "csv"
    header_lines = 1

    def __init__(self, path: Location, chunksize: int, compression: str | None) -> None:
        super().__init__(path, chunksize, compression)
        self._columns, self.sep, self._repeated = _csv_header(path, compression)

    def columns(self) -> list[str]:
        return list(self._columns)

    def repeated(self) -> tuple[str, ...]:
        return self._repeated

    def chunks(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        """By pyarrow (:mod:`._arrow_csv`) while it reads the file as pandas would; from the
        first chunk it cannot, pandas' C parser goes on from the same row, so what a file gets
        (rows, values, an error's words and row) is pandas' whatever reads it."""
        given = 0
        if self.compression in _ARROW_COMPRESSIONS:
            with contextlib.ExitStack() as stack:
                try:
                    source = stack.enter_context(self._binary())
                    fast = arrow_chunks(source, self._columns, self.sep, self.chunksize, usecols, text)
                    while (frame := next(fast, None)) is not None:
                        yield frame
                        given += 1
                    return
                except _ARROW_FALLBACK:
                    pass  # pandas' parser reads the file again and says what it says
        chunks = self._pandas_chunks(usecols, text)
        for _ in range(given):  # the chunks pyarrow gave: the same rows, read and dropped
            next(chunks, None)
        yield from chunks

    @contextlib.contextmanager
    def _binary(self) -> Iterator[Any]:
        """The file's bytes, decompressed, for pyarrow: a local file by its path (pyarrow
        reads it itself), a URL's or a compressed file's through a Python file object."""
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(readable(self.path))
            if self.compression is not None:
                source = stack.enter_context(_OPENERS[self.compression](source, "rb"))
            elif isinstance(source, Path):
                source = str(source)
            yield source

    def _pandas_chunks(self, usecols: list[str] | None, text: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        # Left to inference, a column of event names like 1001 would be numbers in a chunk that
        # happens to hold only such names and text in the next (0.2 s a million rows).
        dtype = dict.fromkeys(text, str) or None
        with (
            readable(self.path) as source,
            pd.read_csv(
                source,
                chunksize=self.chunksize,
                usecols=usecols,
                dtype=dtype,
                sep=self.sep,
                compression=self.compression,
            ) as reader,
        ):
            yield from reader

    def read(self) -> pd.DataFrame:
        with readable(self.path) as source:
            return pd.read_csv(source, sep=self.sep, compression=self.compression)


class ParquetReader(EventReader):
    """Parquet, by pyarrow; the row count is in its metadata, a stored pandas index is not a
    column."""

    name = "parquet"

    def __init__(self, path: Location, chunksize: int, compression: str | None) -> None:
        super().__init__(path, chunksize, compression)
        import pyarrow.parquet as pq

        with readable(path) as source, pq.ParquetFile(source) as parquet:
            schema, self._rows = parquet.schema_arrow, parquet.metadata.num_rows
        pandas_meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
        stored_index = {name for name in pandas_meta.get("index_columns", []) if isinstance(name, str)}
        self._columns = [name for name in schema.names if name not in stored_index]

    @classmethod
    def compression_of(cls, path: Location) -> str | None:
        found = sniff_compression(path)
        if found is not None:
            raise ConfigurationError(
                f"cannot read {shown(path)!r} as parquet: the file is {found}-compressed; Parquet "
                f"compresses itself, so decompress it first and read the .parquet file inside"
            )
        return None

    def columns(self) -> list[str]:
        return list(self._columns)

    def row_count(self) -> int | None:
        return int(self._rows)

    def chunks(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        with readable(self.path) as source, pq.ParquetFile(source) as parquet:
            for batch in parquet.iter_batches(batch_size=self.chunksize, columns=usecols):
                yield batch.to_pandas(types_mapper=_dates_stay_arrow)

    def read(self) -> pd.DataFrame:
        import pyarrow.parquet as pq

        with readable(self.path) as source:
            return pq.read_table(source).to_pandas(types_mapper=_dates_stay_arrow)


def _dates_stay_arrow(kind):
    """Date columns as ``ArrowDtype``: pyarrow's own conversion to Python dates raises for the
    whole file on one date Python cannot hold (year 0); prepare converts them row by row."""
    import pyarrow as pa

    return pd.ArrowDtype(kind) if pa.types.is_date(kind) else None


class JsonLinesReader(EventReader):
    """JSON Lines, a chunk of lines at a time; lines need not share keys."""

    name = "jsonl"
    header_lines = 0
    complete_columns = False

    def __init__(self, path: Location, chunksize: int, compression: str | None) -> None:
        super().__init__(path, chunksize, compression)
        # The keys of a whole chunk, not of the first line: a first line without "email" must
        # not make the file look as if it had no such column.
        self._columns = json_columns(path, chunksize, compression)

    def columns(self) -> list[str]:
        return list(self._columns)

    def chunks(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        yield from json_chunks(self.path, self.chunksize, self.compression, usecols, text)


#: Extension -> reader class: the one place a format is chosen. A compression suffix may
#: follow (``.csv.gz``, ``.jsonl.zst``); the file's bytes, not its name, decide that.
READERS: dict[str, type[EventReader]] = {
    ".csv": CsvReader,
    ".parquet": ParquetReader,
    ".pq": ParquetReader,
    ".jsonl": JsonLinesReader,
    ".ndjson": JsonLinesReader,
}


def _format_suffix(path: str | os.PathLike[str]) -> str | None:
    suffixes = suffixes_of(path)
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else None


def file_format(path: str | os.PathLike[str], *, allowed: tuple[str, ...] | None = None) -> str:
    """The :attr:`~EventReader.name` of the reader for ``path``'s extension (``"csv"``...),
    among ``allowed`` names (all if None); a ConfigurationError names the extensions understood."""
    reader = READERS.get(_format_suffix(path) or "")
    if reader is None or (allowed is not None and reader.name not in allowed):
        known = sorted(ext for ext, cls in READERS.items() if allowed is None or cls.name in allowed)
        raise ConfigurationError(f"cannot tell the format of {shown(path)!r}: use one of {known}")
    return reader.name


def reader_class(path: str | os.PathLike[str]) -> type[EventReader]:
    """The reader for ``path``'s extension; a ConfigurationError names the extensions understood."""
    file_format(path)  # the error
    return READERS[_format_suffix(path) or ""]


def open_reader(path: str | os.PathLike[str], chunksize: int = DEFAULT_CHUNKSIZE) -> EventReader:
    """Open an events file for reading in chunks; a bad ``chunksize``, an unknown extension, a
    missing or unreadable file is a ConfigurationError, raised here rather than at the first
    chunk. ``path`` may be an fsspec URL (``s3://bucket/key.parquet``, ``https://...``)."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise ConfigurationError(f"chunksize must be a positive number of rows, got {chunksize!r}")
    where = location(path)
    cls = reader_class(where)
    try:
        return cls(where, int(chunksize), cls.compression_of(where))
    except READ_ERRORS as exc:
        raise unreadable(where, cls.name, exc) from (None if isinstance(exc, FileNotFoundError) else exc)
    except Exception as exc:
        if not is_url(where) or isinstance(exc, ConfigurationError):
            raise
        # A filesystem's own errors (credentials refused, no route to the endpoint): in its
        # words, without a secret; the chain is dropped for the same reason.
        raise unreadable(where, cls.name, exc) from None


def read_events(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a whole events file; a missing or unreadable file is a ConfigurationError."""
    reader = open_reader(path)
    try:
        return reader.read()
    except READ_ERRORS as exc:
        raise unreadable(path, reader.name, exc) from exc


def unreadable(
    path: str | os.PathLike[str], kind: str, exc: BaseException, where: str = ""
) -> ConfigurationError:
    """A read error in words: what is wrong with the file and what to do."""
    name = shown(path)
    if isinstance(exc, FileNotFoundError):
        said = scrubbed(exc.args[0]) if is_url(path) and exc.args and isinstance(exc.args[0], str) else ""
        # s3fs: FileNotFoundError('The specified bucket does not exist'), or the key itself.
        why = f" ({said[:1].lower() + said[1:]})" if said and " " in said else ""
        return ConfigurationError(f"no such file: {name!r}{why}")
    if isinstance(exc, pd.errors.EmptyDataError):
        return ConfigurationError(f"{name!r} is empty: an events file starts with a header line")
    if isinstance(exc, EOFError):
        return ConfigurationError(
            f"cannot read {name!r} as {kind}{where}: the compressed file is cut short "
            "(truncated, e.g. by an interrupted copy); copy it again"
        )
    if isinstance(exc, UnicodeDecodeError):
        inside = what_is_inside(path)
        if inside == "parquet":
            return ConfigurationError(
                f"cannot read {name!r} as {kind}: it is a Parquet file; name it .parquet"
            )
        if inside is not None:
            return ConfigurationError(
                f"cannot read {name!r} as {kind}: it is compressed twice (a {inside} file inside "
                "the compressed file); decompress it first"
            )
        # Excel and older tools save latin-1/cp1252 (or UTF-16) text; the codec's position is
        # within a buffer, not the file, so name the byte and the cure instead.
        source = "utf-16" if bytes(exc.object[:2]) in (b"\xff\xfe", b"\xfe\xff") else "latin1"
        file = name_of(path)
        return ConfigurationError(
            f"cannot read {name!r} as {kind}{where}: it is not UTF-8 text (byte "
            f"0x{exc.object[exc.start]:02x}); save it as UTF-8, e.g. "
            f"iconv -f {source} -t utf-8 {file} > utf8-{file}"
        )
    if isinstance(exc, ConfigurationError):  # already in words (a compression, a zip archive)
        return exc
    if isinstance(exc, BadLine):  # names its own line: a row number would only confuse
        return ConfigurationError(f"cannot read {name!r} as {kind}: {exc}")
    return ConfigurationError(f"cannot read {name!r} as {kind}{where}: {scrubbed(exc) or type(exc).__name__}")


def _csv_header(path: Location, compression: str | None = None) -> tuple[list[str], str, tuple[str, ...]]:
    """A CSV's column names (as pandas names them), its separator, and the names its header
    repeats.

    The separator is a comma unless the header, read with commas, is one name holding ``;``,
    a tab or ``|``: a semicolon export would otherwise be one column named
    ``'timestamp;email;eventName'``. Repeated names are found in the raw header because pandas
    renames a second ``email`` to ``email.1`` and the first would silently win.
    """
    sep = ","
    with readable(path) as source:
        columns = [str(name) for name in pd.read_csv(source, nrows=0, compression=compression).columns]
    if len(columns) == 1:
        found = [(columns[0].count(mark), mark) for mark in _SEPARATORS if mark in columns[0]]
        if found:
            sep = max(found)[1]
            with readable(path) as source:
                columns = [
                    str(name)
                    for name in pd.read_csv(source, nrows=0, sep=sep, compression=compression).columns
                ]
    with readable(path) as source:
        raw = pd.read_csv(
            source, nrows=1, header=None, sep=sep, dtype=str, keep_default_na=False, compression=compression
        )
    counts = Counter(name for name in raw.iloc[0].tolist() if name) if len(raw) else Counter()
    return columns, sep, tuple(name for name, count in counts.items() if count > 1)
