"""Files bigger than memory: validate or publish a CSV, Parquet or JSON Lines file chunk by chunk.

    open the file -> for each chunk: prepare (one set of options, one ``now``) -> mark events
    an earlier chunk already had ``duplicate`` -> [send] -> append its status to ``status_out``

Memory holds two chunks at most (the one being prepared or sent and the one read ahead),
whatever the file's size, plus the de-duplication key set: 12 bytes a distinct event and an
8 MiB filter (:mod:`._seen`; about 125 MB for ten million). The status frame of a
whole file would defeat that bound, so these functions return a small :class:`RunReport`
(counts) and write the per-row status to ``status_out`` as each chunk is done.

The result is what :func:`~productiv_pandas.validate` gives on the whole file read at once,
statuses, reasons and warnings included, with these differences by design:

- the status index is the row's 0-based row number in the file (what ``read_csv``'s
  RangeIndex gives; a Parquet file's stored index is not used), so ``duplicate of row N``
  names a file row, across chunks as within one;
- a CSV's email, eventName and targetApp columns are read as text, whatever they look like
  (see :meth:`.CsvReader.chunks`), where ``read_csv`` alone would
  make event names such as ``1001`` numbers, which prepare refuses as "not text";
- two distinct events in different chunks whose 64-bit key hashes collide would make the later
  one a ``duplicate``: odds of about 3 in a million for a file of ten million events.
"""

from __future__ import annotations

import os
from typing import Unpack

from ..preparation._options import PrepareOptionsDict
from ..sending._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, SendSettings
from ._pass import send_run, validate_run
from ._readers import DEFAULT_CHUNKSIZE
from ._run import FileReport, FileRun, RunReport, status_writer

__all__ = ["DEFAULT_CHUNKSIZE", "FileReport", "RunReport", "publish_file", "send_file", "validate_file"]


def validate_file(
    path: str | os.PathLike,
    *,
    status_out: str | os.PathLike | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """Check every row of an events file without sending anything, one chunk at a time.

    The file-sized :func:`productiv_pandas.validate`: same options, same checks, same
    statuses, with de-duplication across the whole file, and memory flat in the file's size.

    Parameters
    ----------
    path : str or PathLike
        ``.csv`` (optionally compressed), ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``.
    status_out : str or PathLike, optional
        Write the per-row status here (``.csv`` or ``.parquet``), chunk by chunk, indexed by
        file row number. Without it only the counts remain.
    chunksize : int
        Rows read at a time.
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem. The status frame itself is not returned:
        for a file bigger than memory it would not fit; ``status_out`` holds it.

    Raises
    ------
    ConfigurationError
        A missing or unreadable file, a required column missing (before any row is read), a
        bad option, ``status_out`` naming the events file.
    StatusFileError
        ``status_out`` could not be written mid-file (a full disk). Nothing is lost and nothing
        is claimed that is not on disk: the file is cut back to whole chunks (or, for a Parquet
        file that cannot be finished, said to be unreadable), the message names the rows it
        holds, and the chunk it could not take is written to a CSV in the temp folder, named in
        the message and in ``.fallback`` (and kept as ``.status``). Reading stops there.

    Warns
    -----
    StaleEventWarning, NaiveTimestampWarning
        Once each at most for the whole file, counting every chunk, in prepare's words.

    Examples
    --------
    >>> import tempfile, os, pandas as pd, productiv_pandas as pp
    >>> path = os.path.join(tempfile.mkdtemp(), "export.csv")
    >>> pd.DataFrame({"timestamp": [1_700_000_000_000] * 3, "email": ["a@x.io", "b@", "A@x.io"],
    ...               "eventName": ["open"] * 3}).to_csv(path, index=False)
    >>> report = pp.validate_file(path, chunksize=2, on_stale="ignore", status_out=path + ".status.csv")
    >>> report.counts[["valid", "invalid", "duplicate"]].tolist()
    [1, 1, 1]
    >>> pd.read_csv(report.status_out, index_col=0)["reason"].tolist()[1:]
    ["email 'b@' has no domain", 'duplicate of row 0']
    """
    writer = status_writer(status_out, path)  # a bad status file: before the file is opened
    return validate_run(FileRun(path, chunksize, options, ahead=True), writer, status_out)


def publish_file(
    path: str | os.PathLike,
    app_id: str,
    *,
    status_out: str | os.PathLike | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    client=None,
    journal=None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    progress: bool | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """Validate an events file and send its valid rows to app ``app_id``, one chunk at a time.

    The file-sized :func:`productiv_pandas.publish`: each chunk is prepared as
    :func:`validate_file` does (de-duplicated across the whole file), then sent with one
    shared client and journal, and its status appended to ``status_out`` before the next chunk
    is read. Memory stays flat in the file's size (see the module's notes).

    Parameters
    ----------
    path : str or PathLike
        ``.csv`` (optionally compressed), ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``.
    app_id : str
        The Productiv app the events belong to.
    status_out : str or PathLike, optional
        Write the per-row status here (``.csv`` or ``.parquet``), indexed by file row number.
    chunksize : int
        Rows read, prepared and sent at a time.
    client : ProductivClient, optional
        Defaults to ``ProductivClient.from_env()`` (closed at the end).
    journal : str, PathLike or Journal, optional
        As for :func:`productiv_pandas.publish`: rows the journal holds are ``skipped``
        ("already sent"), every batch the API accepts is recorded. Opened once for the file.
    batch_size, max_workers, max_retries, max_split_requests
        As for :func:`productiv_pandas.publish`. Batch numbers run on across chunks.
    progress : bool, optional
        One tqdm bar over the file's rows (its total from Parquet's metadata or a count of
        lines), moved as each chunk is done; by default shown in a notebook or terminal.
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem; ``status_out`` holds the rows themselves.
        When a chunk stops the run (HTTP 403/404, credentials refused), the chunks after it
        are still read and prepared but not sent: their rows are ``failed``, "not attempted".

    Raises
    ------
    PublishInterrupted
        On Ctrl-C, within a few seconds whatever the server does (requests in flight get a
        short grace, then are abandoned, as in :func:`productiv_pandas.publish`); the rows
        read so far have their status in ``status_out`` (the interrupted chunk's unsent rows
        ``failed``, "interrupted"); the
        rest of the file was not read and has no status anywhere. The message says from
        which row; ``.report`` counts the rows with a status, ``.status`` is the interrupted
        chunk's status frame. Publishing again with the same journal sends only what is missing.
    ConfigurationError, JournalError
        As for :func:`validate_file` and :func:`productiv_pandas.publish`, before anything is
        sent; also when two of ``path``, ``status_out`` and ``journal`` are the same file
        (however spelled: relative or absolute, through a symlink).
    StatusFileError
        As for :func:`validate_file`: the rows of the chunk that could not be written were
        sent (the message counts them) and their status is in the fallback file; the journal,
        if any, has recorded them, so publishing again with it sends only the rest.
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
    )  # fmt: skip  (before the file is read)
    return send_file(path, settings, status_out=status_out, chunksize=chunksize, **options)


def send_file(
    path: str | os.PathLike,
    settings: SendSettings,
    *,
    status_out: str | os.PathLike | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """:func:`publish_file` with its sending arguments as one :class:`SendSettings`, already
    checked (the ``publish`` command builds them from its options)."""
    # A bad status file or journal path: before any work.
    writer = status_writer(status_out, path, settings.journal)
    return send_run(FileRun(path, chunksize, options), settings, writer, status_out)
