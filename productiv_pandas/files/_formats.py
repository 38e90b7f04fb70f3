"""Writing status files, chunk by chunk: CSV (optionally compressed) or Parquet, by extension,
to a local file or a URL in object storage (written locally, uploaded when finished).

Reading event files is :mod:`._readers`' job.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigurationError, StatusFileError
from ._location import check_writable_url, is_url, name_of, scrubbed, shown, upload
from ._readers import COMPRESSED_SUFFIXES, file_format

__all__ = ["StatusWriter"]

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: Each chunk of a compressed status CSV is one whole stream: readers go on from one to the next.
_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


def _for_parquet(status: pd.DataFrame) -> pd.DataFrame:
    frame = status.copy()
    frame["status"] = frame["status"].astype(str)  # plain text: the same in every chunk
    return frame


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

    A URL (``s3://bucket/status.parquet``) is :attr:`target`: an object cannot be appended to,
    so the chunks go to a local file in the temp folder (:attr:`path`, where everything above
    holds) that closing uploads, then removes. An upload that fails keeps the local file and
    says where it is. What can be known of the URL beforehand (the bucket exists, the protocol
    can write) is checked on opening.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        #: Where the status goes: a Path, or a URL the finished file is uploaded to.
        self.target: Path | str = path if isinstance(path, str) and is_url(path) else Path(path)
        self.kind = file_format(self.target, allowed=("csv", "parquet"))
        self.path = self._local_copy() if isinstance(self.target, str) else self.target
        self._check_writable()
        self.rows = 0
        self._sink: Any = None
        self._schema: Any = None
        self._good = 0  # bytes of a CSV that hold whole chunks
        self._broken = False
        self._written = False  # the local file exists (a URL's is uploaded only then)
        self._uploaded = False

    def _local_copy(self) -> Path:
        """The local file a URL's status is written to first, created at the first write as a
        local status file is (named after the URL's file: its extension still says the kind
        and the compression)."""
        assert isinstance(self.target, str)
        problem = check_writable_url(self.target)
        if problem is not None:
            raise ConfigurationError(f"cannot write the status to {shown(self.target)!r}: {problem}")
        name = f"productiv-status-{secrets.token_hex(8)}-{name_of(self.target)}"
        return Path(tempfile.gettempdir()) / name

    def _check_writable(self) -> None:
        """Refuse a path the status cannot go to now, before any row is read or sent: found at
        the first write, it would come after the first chunk had been published."""
        folder = self.path.parent
        problem = None
        squeeze = self.path.suffix.lower()
        if squeeze in COMPRESSED_SUFFIXES and (self.kind == "parquet" or squeeze not in _OPENERS):
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
            raise ConfigurationError(f"cannot write the status to {shown(self.target)!r}: {problem}")

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
            self._written = True
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
            self._written = True
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
        """Finish the file; ``empty`` (a status frame without rows) is written if nothing was.
        For a URL, upload the finished file (a ConfigurationError naming the local copy when
        that fails)."""
        if self._broken:
            return
        if self._sink is None and empty is not None:
            self.write(empty)
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if isinstance(self.target, str) and self._written and not self._uploaded:
            self._upload()

    def _upload(self) -> None:
        assert isinstance(self.target, str)
        self._uploaded = True
        try:
            upload(self.path, self.target)
        except Exception as exc:  # the filesystem's own errors (denied, no network), in its words
            raise ConfigurationError(
                f"cannot upload the status to {shown(self.target)!r}: {scrubbed(exc) or type(exc).__name__}; "
                f"the status of all {self.rows:,} rows is in {str(self.path)!r}: upload it from there"
            ) from None
        self._discard_local_copy()

    def _discard_local_copy(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def __enter__(self) -> StatusWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
