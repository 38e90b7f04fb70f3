"""Any iterable of frames as one run: what ``publish_file`` does for a file, for chunks.

    pd.read_csv(..., chunksize=)  pd.read_sql(..., chunksize=)  a generator of your own
    pyarrow RecordBatches or Tables  polars DataFrames  one Arrow stream (read batch by batch)
      -> validate_chunks / publish_chunks -> the :mod:`._pass` a file gets

Each chunk is a pandas DataFrame or anything exporting Arrow (read by
:func:`~productiv_pandas.preparation._frames.as_pandas`); its rows are renumbered 0, 1, ...
across the whole stream, so the status (written to ``status_out``) and ``duplicate of row N``
name a row of the stream whatever index the chunk had. The iterable is consumed lazily, in the
calling thread (a generator, a database cursor or session stays where it was made): validating,
a chunk is asked for only when the one before it has its status written; publishing, the next
chunk is read and prepared while the current one is sent (:mod:`._pass`), and asked for only
once the chunk before the current one has its status written. A generator never runs more
than one chunk ahead, and memory stays flat (two chunks at most).

``chunks`` may also be one Arrow stream itself (a pyarrow Table or RecordBatchReader, a polars
DataFrame, a DuckDB relation): its record batches are the chunks, read as the stream yields
them. One pandas DataFrame is one chunk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, Unpack

import pandas as pd

from ..preparation._frames import as_pandas, exports_arrow, readable_stream
from ..preparation._options import PrepareOptionsDict
from ..sending._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, SendSettings
from ._pass import send_run, validate_run
from ._run import ChunkRun, RunReport, status_writer

__all__ = ["ChunksRun", "publish_chunks", "validate_chunks"]


class ChunksRun(ChunkRun):
    """One pass over an iterable of frames, numbered across the stream."""

    def __init__(self, chunks: Any, options: PrepareOptionsDict) -> None:
        super().__init__(options)
        self.chunks = _iterate(chunks)

    def frames(self) -> Iterator[pd.DataFrame]:
        offset, number = 0, -1
        # Not enumerate: the tuple it keeps for reuse would hold on to a chunk.
        for chunk in self.chunks:
            number += 1
            try:
                frame = as_pandas(chunk)
            except TypeError:
                raise TypeError(
                    f"chunk {number} is a {type(chunk).__name__}: each chunk must be a pandas "
                    "DataFrame or a frame exporting Arrow (pyarrow, polars, DuckDB)"
                ) from None
            # A new frame on the same columns (no copy): the caller's chunk keeps its index.
            frame = frame.set_axis(pd.RangeIndex(offset, offset + len(frame)), axis=0)
            offset += len(frame)
            del chunk
            yield frame
            del frame  # nothing here holds a chunk once the next one is asked for


def _iterate(chunks: Any) -> Iterator[Any]:
    """The chunks, one at a time: a single frame or Arrow stream as its own chunks; a TypeError
    (before any work) for what is not iterable."""
    if isinstance(chunks, pd.DataFrame):
        return iter([chunks])
    if exports_arrow(chunks) and not isinstance(chunks, pd.Series | pd.Index):
        import pyarrow as pa

        return iter(pa.RecordBatchReader.from_stream(readable_stream(chunks)))
    if isinstance(chunks, str | bytes) or not isinstance(chunks, Iterable):
        raise TypeError(
            f"chunks must be an iterable of frames (pandas, pyarrow, polars), got {type(chunks).__name__}"
        )
    return iter(chunks)


def validate_chunks(
    chunks: Iterable[Any],
    *,
    status_out: str | os.PathLike | None = None,
    progress: bool | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """Check every row of a stream of frames without sending anything, one chunk at a time.

    :func:`~productiv_pandas.validate_file` for any iterable of frames: same options, same
    checks and statuses as :func:`~productiv_pandas.validate` on the whole stream at once, with
    de-duplication across chunks, and memory flat in the stream's length.

    Parameters
    ----------
    chunks : iterable of DataFrames, or of frames exporting Arrow
        ``pd.read_csv(..., chunksize=)``, ``pd.read_sql(..., chunksize=)``, a generator of your
        own; pyarrow RecordBatches or Tables, polars DataFrames. Also one Arrow stream (a
        pyarrow RecordBatchReader or Table, a polars DataFrame, a DuckDB relation), read batch
        by batch. A chunk is asked for only when the one before it is done.
    status_out : str or PathLike, optional
        Write the per-row status here (``.csv`` or ``.parquet``), chunk by chunk, indexed by
        row number in the stream (0, 1, ...). Without it only the counts remain.
    progress : bool, optional
        A tqdm bar over the rows done; by default shown in a notebook or terminal.
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem (``path`` None, ``source`` "chunks").

    Raises
    ------
    TypeError
        ``chunks`` is not iterable, or a chunk is not a frame (when it is reached).
    ConfigurationError
        A bad option or ``status_out``, before any chunk is read; a chunk lacking a required
        column, when it is reached.
    StatusFileError
        As for :func:`~productiv_pandas.validate_file`.

    Whatever the iterable raises stops the run and is raised as it is; the rows of the chunks
    before it have their status in ``status_out``.

    Examples
    --------
    >>> import pandas as pd, productiv_pandas as pp
    >>> chunks = (pd.DataFrame({"timestamp": [1_700_000_000_000], "email": [email], "eventName": ["open"]})
    ...           for email in ["a@x.io", "b@", "A@x.io"])
    >>> report = pp.validate_chunks(chunks, on_stale="ignore", progress=False)
    >>> report.counts[["valid", "invalid", "duplicate"]].tolist()
    [1, 1, 1]
    """
    writer = status_writer(status_out, None)  # a bad status file: before any chunk is read
    return validate_run(ChunksRun(chunks, options), writer, status_out, progress=progress)


def publish_chunks(
    chunks: Iterable[Any],
    app_id: str,
    *,
    client=None,
    journal=None,
    status_out: str | os.PathLike | None = None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    progress: bool | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """Validate a stream of frames and send its valid rows to app ``app_id``, one chunk at a time.

    :func:`~productiv_pandas.publish_file` for any iterable of frames: each chunk is prepared
    as :func:`validate_chunks` does (de-duplicated across the stream), sent with one client and
    journal, and its status appended to ``status_out`` before the next chunk is asked for.

    Parameters
    ----------
    chunks : iterable of DataFrames, or of frames exporting Arrow
        As for :func:`validate_chunks`.
    app_id : str
        The Productiv app the events belong to.
    client, journal, batch_size, max_workers, max_retries, max_split_requests
        As for :func:`~productiv_pandas.publish`; the journal is opened once for the stream,
        and batch numbers run on across chunks.
    status_out : str or PathLike, optional
        Write the per-row status here (``.csv`` or ``.parquet``), indexed by row number in the
        stream.
    progress : bool, optional
        A tqdm bar over the rows done; by default shown in a notebook or terminal.
    **options : Unpack[PrepareOptionsDict]
        As for :func:`validate_chunks`.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem; ``status_out`` holds the rows themselves.

    Raises
    ------
    PublishInterrupted, StatusFileError, ConfigurationError, JournalError
        As for :func:`~productiv_pandas.publish_file`.

    Whatever the iterable raises mid-stream stops the run and is raised as it is (its type
    kept, for the caller to catch), with a note saying how many rows before it have a status
    and how many were sent; publishing again with the same journal sends only the rest.
    """
    settings = SendSettings(
        app_id,
        client=client,
        journal=journal,
        batch_size=batch_size,
        max_workers=max_workers,
        max_retries=max_retries,
        max_split_requests=max_split_requests,
        progress=progress,
    )  # fmt: skip  (before any chunk is read)
    writer = status_writer(status_out, None, settings.journal)
    return send_run(ChunksRun(chunks, options), settings, writer, status_out)
