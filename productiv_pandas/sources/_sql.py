"""``validate_sql`` and ``publish_sql``: a query's rows streamed from the database
(:mod:`._sql_chunks`) through the chunk functions, so a table bigger than memory is checked and
sent as a file is: one chunk at a time, duplicates found across chunks, one journal, one status.
"""

from __future__ import annotations

import os
from typing import Any, Unpack

from ..errors import ConfigurationError
from ..files._chunks import ChunksRun
from ..files._pass import send_run, validate_run
from ..files._run import RunReport, status_writer
from ..preparation._options import PrepareOptionsDict
from ..sending._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, SendSettings
from ._sql_chunks import DEFAULT_SQL_CHUNKSIZE, SqlRows, sql_chunks

__all__ = ["DEFAULT_SQL_CHUNKSIZE", "SqlRun", "publish_sql", "send_sql", "validate_sql"]


class SqlRun(ChunksRun):
    """The chunks of a query, named in the report and messages by the database, password hidden."""

    label = "the query"
    what = "the query or the data"

    def __init__(self, rows: SqlRows, options: PrepareOptionsDict) -> None:
        super().__init__(rows, options)
        self.source = f"SQL query on {rows.database}"


def _checked(chunksize: object) -> int:
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ConfigurationError(f"chunksize must be a whole number >= 1, got {chunksize!r}")
    return chunksize


def validate_sql(
    query: Any,
    con: object,
    *,
    params: Any = None,
    chunksize: int = DEFAULT_SQL_CHUNKSIZE,
    status_out: str | os.PathLike | None = None,
    progress: bool | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """Check every row a SQL query returns, without sending anything, streamed from the database.

    :func:`~productiv_pandas.validate_chunks` over the query's rows: same options, same checks,
    duplicates found across the whole result, memory flat in its length (rows are fetched
    ``chunksize`` at a time with a server-side cursor where the database has one).

    Parameters
    ----------
    query : str or SQLAlchemy selectable
        The query. A string is the database's own SQL, its parameters in the driver's style
        (as for :func:`pandas.read_sql`: ``?`` for sqlite3, ``%s`` or ``%(name)s`` for psycopg,
        ``$1`` or ``?`` for DuckDB); a ``sqlalchemy.text()`` clause takes ``:name``.
    con : str, SQLAlchemy Engine or Connection, DB-API connection or DuckDB connection
        A database URL (``postgresql://etl@db/app``, ``sqlite:///events.db``: an engine is made
        and disposed of after; needs the ``sql`` extra), an engine or connection, a ``sqlite3``
        or ``psycopg`` connection, or a ``duckdb`` connection (its Arrow batches are read as
        they are). What the caller passes is left open.
    params : sequence or mapping, optional
        The query's parameters.
    chunksize : int
        Rows fetched, checked and written at a time.
    status_out : str or PathLike, optional
        Write the per-row status here (``.csv`` or ``.parquet``), indexed by the row's number
        in the result (0, 1, ...).
    progress : bool, optional
        As for :func:`~productiv_pandas.validate_chunks`.
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``, as for :func:`~productiv_pandas.validate`. Database
        values are read as they come: ``Decimal`` epoch numbers (in ``unit``), ``timestamptz``
        and ``timestamp`` values (``tz`` for the latter), ``NULL`` as missing.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem; ``status_out`` holds the rows themselves.

    Raises
    ------
    ConfigurationError
        The database refused the connection or the query, or failed while the rows were read
        (the driver's words; never a password), a missing driver (``pip install
        'productiv-pandas[sql]'``), a bad option or a missing column (before a row is checked).

    Examples
    --------
    >>> import sqlite3, productiv_pandas as pp
    >>> con = sqlite3.connect(":memory:")
    >>> _ = con.execute("CREATE TABLE audit (ts INTEGER, user_email TEXT, action TEXT)")
    >>> _ = con.executemany("INSERT INTO audit VALUES (?, ?, ?)", [(1_700_000_000_000, "a@x.io", "open"),
    ...     (1_700_000_000_000, "b@", "open"), (1_700_000_000_000, "A@x.io", "open")])
    >>> report = pp.validate_sql("SELECT * FROM audit WHERE ts > ?", con, params=(0,), chunksize=2,
    ...     columns={"ts": "timestamp", "user_email": "email", "action": "eventName"}, on_stale="ignore")
    >>> report.counts[["valid", "invalid", "duplicate"]].tolist()
    [1, 1, 1]
    """
    chunksize = _checked(chunksize)
    writer = status_writer(status_out, None)  # a bad status file: before the database is opened
    with sql_chunks(query, con, params=params, chunksize=chunksize) as rows:
        return validate_run(SqlRun(rows, options), writer, status_out, progress=progress)


def publish_sql(
    query: Any,
    con: object,
    app_id: str,
    *,
    params: Any = None,
    chunksize: int = DEFAULT_SQL_CHUNKSIZE,
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
    """Validate the rows a SQL query returns and send the valid ones to app ``app_id``, streamed.

    :func:`validate_sql`'s rows through :func:`~productiv_pandas.publish_chunks`: each chunk
    fetched, prepared, sent with one client and journal, and its status written before the next
    is fetched. Run the same query again with the same journal after a crash or Ctrl-C and only
    the rows not yet sent are sent.

    Parameters
    ----------
    query, con, params, chunksize, status_out
        As for :func:`validate_sql`.
    app_id : str
        The Productiv app the events belong to.
    client, journal, batch_size, max_workers, max_retries, max_split_requests, progress
        As for :func:`~productiv_pandas.publish_file`.
    **options : Unpack[PrepareOptionsDict]
        As for :func:`validate_sql`.

    Returns
    -------
    RunReport
        Rows per status and per kind of problem.

    Raises
    ------
    ConfigurationError, JournalError
        As for :func:`validate_sql`; the sending options are checked before the database is
        opened, a refused connection or query before anything is sent.
    PublishInterrupted
        On Ctrl-C, as for :func:`~productiv_pandas.publish_chunks`.
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
    )  # fmt: skip  (before the database is opened)
    return send_sql(
        query, con, settings, params=params, chunksize=chunksize, status_out=status_out, **options
    )


def send_sql(
    query: Any,
    con: object,
    settings: SendSettings,
    *,
    params: Any = None,
    chunksize: int = DEFAULT_SQL_CHUNKSIZE,
    status_out: str | os.PathLike | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> RunReport:
    """:func:`publish_sql` with its sending arguments as one checked :class:`SendSettings` (the
    ``publish --sql`` command builds them from its options)."""
    chunksize = _checked(chunksize)
    writer = status_writer(status_out, None, settings.journal)  # before the database is opened
    with sql_chunks(query, con, params=params, chunksize=chunksize) as rows:
        return send_run(SqlRun(rows, options), settings, writer, status_out)
