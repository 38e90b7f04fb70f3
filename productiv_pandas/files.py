"""Reading event files and writing status files: CSV, Parquet and JSON Lines, by extension.

In chunks (:func:`open_chunks`, :class:`StatusWriter`), so a file bigger than memory is read
and its status written a piece at a time; :func:`read_events` reads a whole file at once.

The CSV reader was measured on a 1,000,000-row file (``benchmarks/bench_files.py`` has the
end-to-end figures): pandas' ``read_csv(chunksize=...)`` with its C parser reads it in 0.13 s
and peaks at 195 MB RSS; pyarrow's streaming reader (``pyarrow.csv.open_csv``) takes 0.25 s
and 300 MB once its batches become pandas frames, and it fixes each column's type from the
first block, so a later block of another type stops the read. Parquet is read with pyarrow
(``ParquetFile.iter_batches``), JSON Lines with ``read_json(lines=True, chunksize=...)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigurationError

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
    return ConfigurationError(f"cannot read {str(path)!r} as {kind}{where}: {exc}")


def read_events(path: str | Path) -> pd.DataFrame:
    """Read a whole events file; a missing or unreadable file is a ConfigurationError."""
    kind = file_format(path)
    try:
        if kind == "csv":
            return pd.read_csv(path)
        if kind == "parquet":
            return pd.read_parquet(path)
        # dtype=False also keeps pandas from guessing the unit of epoch numbers in columns
        # named like dates: the ``unit`` option decides that, and prepare reads ISO text.
        return pd.read_json(path, lines=True, dtype=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
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
    the file says it (Parquet), else None.
    """

    path: Path
    kind: str
    chunksize: int
    columns: list[str]
    rows: int | None = None
    _first: pd.DataFrame | None = field(default=None, repr=False)

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
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise _unreadable(self.path, self.kind, exc, f" from row {offset:,} on") from exc
            if frame is None:
                return
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame

    def _raw(self, usecols: list[str] | None, text: tuple[str, ...]) -> Iterator[pd.DataFrame]:
        if self.kind == "csv":
            dtype = dict.fromkeys(text, str) or None
            with pd.read_csv(self.path, chunksize=self.chunksize, usecols=usecols, dtype=dtype) as reader:
                yield from reader
        elif self.kind == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetFile(self.path) as parquet:
                for batch in parquet.iter_batches(batch_size=self.chunksize, columns=usecols):
                    yield batch.to_pandas()
        else:
            with _json_reader(self.path, self.chunksize) as reader:
                for frame in reader:
                    # Lines need not share keys: a chunk lacking one gets it, empty, as a whole
                    # file's read would.
                    yield frame if usecols is None else frame.reindex(columns=usecols)

    def estimate_rows(self) -> int | None:
        """The row count, or a line count for an uncompressed text file (for a progress bar's
        total only: a quoted field spanning lines makes it a little high), else None."""
        if self.rows is not None or self.path.suffix.lower() in _COMPRESSED:
            return self.rows
        lines, last = 0, b"\n"
        with open(self.path, "rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - (self.kind == "csv"), 0)


def _json_reader(path: Path, chunksize: int):
    return pd.read_json(path, lines=True, chunksize=chunksize, dtype=False)


def open_chunks(path: str | Path, chunksize: int) -> EventChunks:
    """Open an events file for reading in chunks; a missing or unreadable file is a
    ConfigurationError, raised here rather than at the first chunk."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise ConfigurationError(f"chunksize must be a positive number of rows, got {chunksize!r}")
    path = Path(path)
    kind = file_format(path)
    try:
        if kind == "csv":
            return EventChunks(path, kind, int(chunksize), list(pd.read_csv(path, nrows=0).columns))
        if kind == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetFile(path) as parquet:
                schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
            pandas_meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
            stored_index = {name for name in pandas_meta.get("index_columns", []) if isinstance(name, str)}
            columns = [name for name in schema.names if name not in stored_index]
            return EventChunks(path, kind, int(chunksize), columns, rows)
        with _json_reader(path, 1) as reader:
            first = next(iter(reader), None)
        return EventChunks(path, kind, int(chunksize), [] if first is None else list(first.columns))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _unreadable(path, kind, exc) from (None if isinstance(exc, FileNotFoundError) else exc)


class StatusWriter:
    """Write a status frame chunk by chunk to a CSV or Parquet file (by extension).

    The CSV header and the Parquet schema are written once, from the first chunk; the index
    (the file row number) is the first column, as ``DataFrame.to_csv`` writes it. Use as a
    context manager: closing writes the Parquet footer, without which the file is unreadable,
    and writes an empty status file when no chunk came.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kind = file_format(self.path, allowed=("csv", "parquet"))
        self.rows = 0
        self._sink: Any = None
        self._schema: Any = None

    def write(self, status: pd.DataFrame) -> None:
        try:
            if self.kind == "csv":
                if self._sink is None:
                    self._sink = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                status.to_csv(self._sink, header=self._sink.tell() == 0)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(_for_parquet(status), schema=self._schema, preserve_index=True)
                if self._sink is None:
                    self._schema = table.schema
                    self._sink = pq.ParquetWriter(self.path, self._schema)
                self._sink.write_table(table)
        except OSError as exc:
            raise ConfigurationError(f"cannot write the status to {str(self.path)!r}: {exc}") from exc
        self.rows += len(status)

    def close(self, empty: pd.DataFrame | None = None) -> None:
        """Finish the file; ``empty`` (a status frame without rows) is written if nothing was."""
        if self._sink is None and empty is not None:
            self.write(empty)
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> StatusWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
