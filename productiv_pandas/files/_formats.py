"""Reading event files and writing status files: CSV, Parquet and JSON Lines, by extension.

In chunks (:func:`open_chunks`, :class:`StatusWriter`), so a file bigger than memory is read
and its status written a piece at a time; :func:`read_events` reads a whole file at once.

The CSV reader was measured on a 1,000,000-row file (``benchmarks/bench_files.py`` has the
end-to-end figures): pandas' ``read_csv(chunksize=...)`` with its C parser reads it in 0.13 s
and peaks at 195 MB RSS; pyarrow's streaming reader (``pyarrow.csv.open_csv``) takes 0.25 s
and 300 MB once its batches become pandas frames, and it fixes each column's type from the
first block, so a later block of another type stops the read. Parquet is read with pyarrow
(``ParquetFile.iter_batches``), JSON Lines by :mod:`.file_input` (chunks of lines); any of
them compressed as its first bytes say, whatever its name.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigurationError, StatusFileError
from ._input import READ_ERRORS, BadLine, compression_of, json_chunks, what_is_inside

__all__ = [
    "DEFAULT_CHUNKSIZE",
    "EventChunks",
    "StatusWriter",
    "file_format",
    "open_chunks",
    "read_events",
]

_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: Each chunk of a compressed status CSV is one whole stream: readers go on from one to the next.
_COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
#: Separators a CSV export may use instead of commas (Excel in much of Europe writes ``;``).
_SEPARATORS = (";", "\t", "|")

#: Rows per chunk. prepare runs at the same speed from 50,000 to 250,000 rows a chunk, but
#: peak memory grows with the chunk: on a 1,000,000-row CSV of three text columns, 285 MB peak
#: RSS at 100,000 rows a chunk against 406 MB at 250,000 (the interpreter and its imports
#: alone take 168 MB). So 100,000.
DEFAULT_CHUNKSIZE = 100_000


def file_format(path: str | Path, *, allowed: tuple[str, ...] = ("csv", "parquet", "jsonl")) -> str:
    """``"csv"``, ``"parquet"`` or ``"jsonl"`` from the file's extension (``.gz`` etc. allowed
    after ``.csv``/``.jsonl``); a ConfigurationError names the extensions understood."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    kind = _FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None or kind not in allowed:
        known = sorted(ext for ext, k in _FORMATS.items() if k in allowed)
        raise ConfigurationError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return kind


def _unreadable(path: str | Path, kind: str, exc: BaseException, where: str = "") -> ConfigurationError:
    if isinstance(exc, FileNotFoundError):
        return ConfigurationError(f"no such file: {str(path)!r}")
    if isinstance(exc, pd.errors.EmptyDataError):
        return ConfigurationError(f"{str(path)!r} is empty: an events file starts with a header line")
    if isinstance(exc, EOFError):
        return ConfigurationError(
            f"cannot read {str(path)!r} as {kind}{where}: the compressed file is cut short "
            "(truncated, e.g. by an interrupted copy); copy it again"
        )
    if isinstance(exc, UnicodeDecodeError):
        inside = what_is_inside(path)
        if inside == "parquet":
            return ConfigurationError(
                f"cannot read {str(path)!r} as {kind}: it is a Parquet file; name it .parquet"
            )
        if inside is not None:
            return ConfigurationError(
                f"cannot read {str(path)!r} as {kind}: it is compressed twice (a {inside} file inside "
                "the compressed file); decompress it first"
            )
        # Excel and older tools save latin-1/cp1252 (or UTF-16) text; the codec's position is
        # within a buffer, not the file, so name the byte and the cure instead.
        source = "utf-16" if bytes(exc.object[:2]) in (b"\xff\xfe", b"\xfe\xff") else "latin1"
        return ConfigurationError(
            f"cannot read {str(path)!r} as {kind}{where}: it is not UTF-8 text (byte "
            f"0x{exc.object[exc.start]:02x}); save it as UTF-8, e.g. "
            f"iconv -f {source} -t utf-8 {Path(path).name} > utf8-{Path(path).name}"
        )
    if isinstance(exc, ConfigurationError):  # already in words (a compression, a zip archive)
        return exc
    if isinstance(exc, BadLine):  # names its own line: a row number would only confuse
        return ConfigurationError(f"cannot read {str(path)!r} as {kind}: {exc}")
    return ConfigurationError(f"cannot read {str(path)!r} as {kind}{where}: {exc}")


def _csv_header(path: Path, compression: str | None = None) -> tuple[list[str], str, tuple[str, ...]]:
    """A CSV's column names (as pandas names them), its separator, and the names its header
    repeats.

    The separator is a comma unless the header, read with commas, is one name holding ``;``,
    a tab or ``|``: a semicolon export would otherwise be one column named
    ``'timestamp;email;eventName'``. Repeated names are found in the raw header because pandas
    renames a second ``email`` to ``email.1`` and the first would silently win.
    """
    sep = ","
    columns = [str(name) for name in pd.read_csv(path, nrows=0, compression=compression).columns]
    if len(columns) == 1:
        found = [(columns[0].count(mark), mark) for mark in _SEPARATORS if mark in columns[0]]
        if found:
            sep = max(found)[1]
            columns = [
                str(name) for name in pd.read_csv(path, nrows=0, sep=sep, compression=compression).columns
            ]
    raw = pd.read_csv(
        path, nrows=1, header=None, sep=sep, dtype=str, keep_default_na=False, compression=compression
    )
    counts = Counter(name for name in raw.iloc[0].tolist() if name) if len(raw) else Counter()
    return columns, sep, tuple(name for name, count in counts.items() if count > 1)


def read_events(path: str | Path) -> pd.DataFrame:
    """Read a whole events file; a missing or unreadable file is a ConfigurationError."""
    kind = file_format(path)
    try:
        compression = compression_of(Path(path), kind)
        if kind == "csv":
            return pd.read_csv(path, compression=compression)
        if kind == "parquet":
            return pd.read_parquet(path)
        frames = list(json_chunks(Path(path), DEFAULT_CHUNKSIZE, compression))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    except READ_ERRORS as exc:
        raise _unreadable(path, kind, exc) from (None if isinstance(exc, FileNotFoundError) else exc)


def _for_parquet(status: pd.DataFrame) -> pd.DataFrame:
    frame = status.copy()
    frame["status"] = frame["status"].astype(str)  # plain text: the same in every chunk
    return frame


@dataclass
class EventChunks:
    """An events file opened for reading in chunks of ``chunksize`` rows.

    ``columns`` are the file's columns (for JSON Lines, those of its first chunk), known before
    any chunk is read so a missing column is reported at once; ``rows`` is the row count when
    the file says it (Parquet), else None; ``sep`` is a CSV's separator and ``repeated`` the
    names its header has more than once; ``compression`` is what the file's first bytes show
    (pandas' name for it), whatever its name says.
    """

    path: Path
    kind: str
    chunksize: int
    columns: list[str]
    rows: int | None = None
    sep: str = ","
    repeated: tuple[str, ...] = ()
    compression: str | None = None

    def frames(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        """Yield the chunks, only ``usecols`` (all columns if None), each indexed by its rows'
        0-based row numbers in the file. A read error mid-file is a ConfigurationError naming
        the first row not read.

        CSV columns named in ``text`` are read as text whatever they look like: left to
        inference, a column of event names like ``1001`` would be numbers in a chunk that
        happens to hold only such names and text in the next, and its rows' fate would hang
        on where the chunks fall. (It costs 0.2 s a million rows.)
        """
        offset = 0
        chunks = self._raw(usecols, text)
        while True:
            try:
                frame = next(chunks, None)
            except READ_ERRORS as exc:
                if isinstance(exc, ConfigurationError):
                    raise
                # Before the first row the whole file is unreadable: where pandas notices (the
                # header read or the first chunk) varies by version, the message must not.
                where = f" from row {offset:,} on" if offset else ""
                raise _unreadable(self.path, self.kind, exc, where) from exc
            if frame is None:
                return
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame

    def _raw(self, usecols: list[str] | None, text: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        if self.kind == "csv":
            dtype = dict.fromkeys(text, str) or None
            with pd.read_csv(
                self.path,
                chunksize=self.chunksize,
                usecols=usecols,
                dtype=dtype,
                sep=self.sep,
                compression=self.compression,
            ) as reader:
                yield from reader
        elif self.kind == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetFile(self.path) as parquet:
                for batch in parquet.iter_batches(batch_size=self.chunksize, columns=usecols):
                    yield batch.to_pandas()
        else:
            for frame in json_chunks(self.path, self.chunksize, self.compression):
                # Lines need not share keys: a chunk lacking one gets it, empty, as a whole
                # file's read would.
                yield frame if usecols is None else frame.reindex(columns=usecols)

    def estimate_rows(self) -> int | None:
        """The row count, or a line count for an uncompressed text file (for a progress bar's
        total only: a quoted field spanning lines makes it a little high), else None."""
        if self.rows is not None or self.compression is not None or self.path.suffix.lower() in _COMPRESSED:
            return self.rows
        lines, last = 0, b"\n"
        with open(self.path, "rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - (self.kind == "csv"), 0)


def open_chunks(path: str | Path, chunksize: int) -> EventChunks:
    """Open an events file for reading in chunks; a missing or unreadable file is a
    ConfigurationError, raised here rather than at the first chunk."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise ConfigurationError(f"chunksize must be a positive number of rows, got {chunksize!r}")
    path = Path(path)
    kind = file_format(path)
    try:
        compression = compression_of(path, kind)
        if kind == "csv":
            columns, sep, repeated = _csv_header(path, compression)
            return EventChunks(
                path, kind, int(chunksize), columns, sep=sep, repeated=repeated, compression=compression
            )
        if kind == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetFile(path) as parquet:
                schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
            pandas_meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
            stored_index = {name for name in pandas_meta.get("index_columns", []) if isinstance(name, str)}
            columns = [name for name in schema.names if name not in stored_index]
            return EventChunks(path, kind, int(chunksize), columns, rows)
        # The keys of a whole chunk, not of the first line: lines need not share keys, and a
        # first line without "email" must not make the file look as if it had no such column.
        with contextlib.closing(json_chunks(path, int(chunksize), compression)) as chunks:
            first = next(chunks, None)
        columns = [] if first is None else list(first.columns)
        return EventChunks(path, kind, int(chunksize), columns, compression=compression)
    except READ_ERRORS as exc:
        raise _unreadable(path, kind, exc) from (None if isinstance(exc, FileNotFoundError) else exc)


class StatusWriter:
    """Write a status frame chunk by chunk to a CSV (``.gz``, ``.bz2``, ``.xz`` compress it)
    or Parquet file (by extension).

    The CSV header and the Parquet schema are written once, from the first chunk; the index
    (the file row number) is the first column, as ``DataFrame.to_csv`` writes it. Use as a
    context manager: closing writes the Parquet footer, without which the file is unreadable,
    and writes an empty status file when no chunk came.

    ``rows`` counts the rows the file holds. A write that fails (a full disk) raises
    :class:`~productiv_pandas.errors.StatusFileError` carrying the chunk that was not written
    (``.status``) and how many rows the file still holds (``.rows_in_file``), which is exact: a
    CSV's chunk is written whole and flushed, or cut back off (each chunk of a compressed CSV
    is a compressed stream of its own, which gzip, bzip2 and xz readers read on as one
    file); a Parquet file cut short is finished with its footer and counted by reading it
    back, or said to be unreadable. Each chunk of a CSV is rendered in memory first (about
    20 MB for 100,000 rows).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kind = file_format(self.path, allowed=("csv", "parquet"))
        self._check_writable()
        self.rows = 0
        self._sink: Any = None
        self._schema: Any = None
        self._good = 0  # bytes of a CSV that hold whole chunks
        self._broken = False

    def _check_writable(self) -> None:
        """Refuse a path the status cannot go to now, before any row is read or sent: found at
        the first write, it would come after the first chunk had been published."""
        folder = self.path.parent
        problem = None
        squeeze = self.path.suffix.lower()
        if squeeze in _COMPRESSED and (self.kind == "parquet" or squeeze not in _OPENERS):
            # Parquet compresses itself; a name promising compression it does not have would
            # fail whoever opens it.
            problem = (
                f"cannot compress a {self.kind} status file with {squeeze}; "
                "use .csv.gz, .csv.bz2, .csv.xz or .parquet"
            )
        elif self.path.is_dir():
            problem = "it is a directory"
        elif not folder.is_dir():
            problem = f"the folder {str(folder)!r} does not exist; create it first"
        elif not os.access(self.path if self.path.exists() else folder, os.W_OK):
            problem = "permission denied"
        if problem is not None:
            raise ConfigurationError(f"cannot write the status to {str(self.path)!r}: {problem}")

    def write(self, status: pd.DataFrame) -> None:
        """Append ``status``; a StatusFileError if it could not be (the file then holds
        exactly ``rows_in_file`` rows, or is said to be unreadable)."""
        if self._broken:
            raise ConfigurationError(f"the status file {str(self.path)!r} failed earlier")
        try:
            if self.kind == "csv":
                self._write_csv(status)
            else:
                self._write_parquet(status)
        except OSError as exc:
            raise self._failed(status, exc) from exc
        self.rows += len(status)

    def _write_csv(self, status: pd.DataFrame) -> None:
        if self._sink is None:
            self._sink = open(self.path, "wb")  # noqa: SIM115 (closed by close())
        data = status.to_csv(header=self._good == 0).encode("utf-8")
        squeeze = self.path.suffix.lower()
        if squeeze in _OPENERS:
            data = _COMPRESSORS[squeeze](data)
        self._sink.write(data)
        self._sink.flush()  # a full disk shows here, for this chunk, not at a later one
        self._good = self._sink.tell()

    def _write_parquet(self, status: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(_for_parquet(status), schema=self._schema, preserve_index=True)
        if self._sink is None:
            self._schema = table.schema
            self._sink = pq.ParquetWriter(self.path, self._schema)
        self._sink.write_table(table)

    def _failed(self, status: pd.DataFrame, exc: OSError) -> StatusFileError:
        """Make the file hold whole chunks only, and say how many rows it holds."""
        self._broken = True
        sink, self._sink = self._sink, None
        rows: int | None = self.rows
        if self.kind == "csv":
            try:
                if sink is not None:
                    with contextlib.suppress(OSError):
                        sink.close()  # nothing buffered: each chunk was written raw
                os.truncate(self.path, self._good)
            except OSError:
                rows = None  # not cut back: the file may end with part of this chunk
        else:
            try:
                if sink is not None:
                    sink.close()  # the footer: without it no row can be read
                import pyarrow.parquet as pq

                rows = pq.read_metadata(self.path).num_rows
            except Exception:  # any failure to finish or read it back: unreadable
                rows = None
        return StatusFileError(self.path, exc, status, rows)

    def close(self, empty: pd.DataFrame | None = None) -> None:
        """Finish the file; ``empty`` (a status frame without rows) is written if nothing was."""
        if self._broken:
            return
        if self._sink is None and empty is not None:
            self.write(empty)
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> StatusWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
