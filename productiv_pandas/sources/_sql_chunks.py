"""A query's rows, ``chunksize`` at a time, never fetched whole: the chunks that
:func:`~productiv_pandas.validate_sql` and :func:`~productiv_pandas.publish_sql` hand to the
chunk functions.

- SQLAlchemy: ``stream_results`` with ``yield_per`` (PostgreSQL: a server-side cursor; SQLite
  steps through its result as it is read);
- psycopg (3, or psycopg2) connections: a named, server-side cursor;
- DuckDB: its Arrow record batch reader (the chunks are ``pyarrow.RecordBatch``);
- any other DB-API connection (sqlite3): ``cursor.fetchmany(chunksize)``.

Values arrive as the driver gives them (``Decimal`` epochs, ``date`` and ``timestamptz`` values,
``None`` for NULL) and prepare judges them as it would in any frame. A query without rows gives
one empty chunk with its columns, so a missing column is still reported.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from ._database import Database, open_database

__all__ = ["DEFAULT_SQL_CHUNKSIZE", "SqlRows", "sql_chunks"]

#: Rows fetched at a time: half a file's chunk, since a row from a driver arrives as Python
#: objects (a tuple of them) before it becomes a column, about twice the memory of a CSV's row.
DEFAULT_SQL_CHUNKSIZE = 50_000

#: The driver paramstyle is the user's (as for pd.read_sql): `?` for sqlite3, `%s` for psycopg,
#: `$1` for DuckDB; a SQLAlchemy `text()` clause takes `:name`.
_QUERY = "cannot run the query on"
_FETCH = "the query failed while its rows were read from"


class SqlRows:
    """The query's chunks, one at a time (an iterator), and ``database``: how to name where
    they come from (the URL without its password, or "a sqlite3 connection")."""

    def __init__(self, chunks: Iterator[Any], database: str) -> None:
        self.chunks = chunks
        self.database = database

    def __iter__(self) -> SqlRows:
        return self

    def __next__(self) -> Any:
        return next(self.chunks)


@contextlib.contextmanager
def sql_chunks(query: Any, con: object, *, params: Any = None, chunksize: int) -> Iterator[SqlRows]:
    """The query's rows as an iterator of chunks, while ``con`` is open; the query runs (and
    a refused connection or query fails) when the context is entered."""
    with open_database(con) as database, contextlib.ExitStack() as cleanup:
        read = _READERS[database.kind]
        yield SqlRows(read(database, cleanup, query, params, chunksize), database.label)


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns, coerce_float=False, nrows=len(rows))


def _chunks_of(database: Database, fetch, columns: list[str], chunksize: int) -> Iterator[pd.DataFrame]:
    """Frames of ``fetch(chunksize)``'s rows until it returns none (one empty frame at least)."""
    first = True
    while True:
        rows = database.call(_FETCH, fetch, chunksize)
        if not rows:
            if first:
                yield _frame([], columns)
            return
        first = False
        yield _frame(rows, columns)


def _sqlalchemy_chunks(
    database: Database, cleanup: contextlib.ExitStack, query: Any, params: Any, chunksize: int
) -> Iterator[pd.DataFrame]:
    # no_parameters: without parameters the driver gets none, not an empty dict, which psycopg
    # would take as a reason to read the query's % signs (LIKE '%@acme.com') as placeholders.
    options = {"stream_results": True, "yield_per": chunksize, "no_parameters": params is None}
    connection = database.handle
    if isinstance(query, str):  # as pd.read_sql: the driver's own SQL and paramstyle
        result = database.call(_QUERY, connection.exec_driver_sql, query, params, execution_options=options)
    else:  # a text() clause or a select(): SQLAlchemy binds :name parameters
        result = database.call(_QUERY, connection.execute, query, params, execution_options=options)
    cleanup.callback(_quietly, result.close)
    columns = [str(key) for key in result.keys()]  # noqa: SIM118 (a Result, not a dict)
    return _chunks_of(database, result.fetchmany, columns, chunksize)


def _cursor_chunks(
    database: Database, cleanup: contextlib.ExitStack, query: Any, params: Any, chunksize: int
) -> Iterator[pd.DataFrame]:
    con = database.handle
    if database.kind == "psycopg":
        # A named cursor lives on the server and sends rows as they are fetched; outside a
        # transaction (autocommit) it must be declared WITH HOLD.
        name = f"productiv_pandas_{secrets.token_hex(4)}"
        withhold = bool(getattr(con, "autocommit", False))
        cursor = database.call(_QUERY, con.cursor, name=name, withhold=withhold)
    else:
        cursor = database.call(_QUERY, con.cursor)
    cleanup.callback(_quietly, cursor.close)
    if params is None:
        database.call(_QUERY, cursor.execute, query)
    else:
        database.call(_QUERY, cursor.execute, query, params)
    columns = [str(column[0]) for column in cursor.description or ()]
    return _chunks_of(database, cursor.fetchmany, columns, chunksize)


def _duckdb_chunks(
    database: Database, cleanup: contextlib.ExitStack, query: Any, params: Any, chunksize: int
) -> Iterator[Any]:
    """DuckDB's own Arrow batches (``to_arrow_reader``; ``fetch_arrow_reader`` before DuckDB 2):
    no row is turned into a Python object on the way."""
    relation = database.call(_QUERY, database.handle.sql, query, params=params)
    if relation is None:  # a statement without a result
        return iter(())
    reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    batches = database.call(_QUERY, reader, chunksize)
    cleanup.callback(_quietly, batches.close)
    return _batches_of(database, batches)


def _batches_of(database: Database, batches: Any) -> Iterator[Any]:
    empty = True
    while True:
        batch = database.call(_FETCH, next, batches, None)
        if batch is None:
            break
        if batch.num_rows or empty:
            empty = False
            yield batch
    if empty:
        yield batches.schema.empty_table()


def _quietly(close) -> None:
    with contextlib.suppress(Exception):  # the connection may be the one that failed
        close()


_READERS = {
    "sqlalchemy": _sqlalchemy_chunks,
    "psycopg": _cursor_chunks,
    "dbapi": _cursor_chunks,
    "duckdb": _duckdb_chunks,
}
