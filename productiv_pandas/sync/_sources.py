"""What a sync reads: a SQL query with ``:since``, a folder or glob of event files, or a callable
``since -> chunks``; and ``:since`` bound the way each database driver wants it.

Each source becomes a :class:`Read`: its chunks (handed to the chunk pass), what to call it, and
for files the marks (size, modification time) to remember once the run has finished.

``:since`` is written once, in the query, whatever the database: it is rewritten here into the
driver's own parameter style (SQLAlchemy ``text()`` takes ``:since`` as it is, sqlite3's named
style too; psycopg gets ``%(since)s``, DuckDB ``$since``, other DB-API drivers their
``paramstyle``), so one query text works from the CLI with ``--db`` URLs and from Python with a
connection.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import ConfigurationError
from ..files._readers import READERS
from ..files._run import FileRun
from ..preparation._options import PrepareOptionsDict
from ..sources._sql_chunks import DEFAULT_SQL_CHUNKSIZE, sql_chunks
from ._state import FileMark

__all__ = ["SINCE_FORMATS", "Read", "bound_since", "open_source"]

#: How ``:since`` is bound: a timezone-aware UTC datetime, epoch milliseconds, or ISO text.
SINCE_FORMATS = ("datetime", "epoch_ms", "iso")

#: ``:since`` as a parameter, not inside ``::since`` (a PostgreSQL cast) or a longer name.
_SINCE = re.compile(r"(?<![:\w]):since\b")
_FILE_CHUNKSIZE = 100_000


@dataclass
class Read:
    """One run's read of the source: the chunks, the source's name, and what to remember."""

    chunks: Any
    label: str
    files: dict[str, FileMark] = field(default_factory=dict)
    #: Files only: there is no ``since`` to read from, and the event time is the cursor.
    is_files: bool = False


def bound_since(since: pd.Timestamp, since_as: str) -> Any:
    """``since`` (UTC) as the query gets it: a datetime, epoch milliseconds or ISO text
    (``2026-12-01T10:00:00.000Z``, the form JavaScript's toISOString writes and text compares
    in time order)."""
    if since_as == "epoch_ms":
        return int(since.value // 1_000_000)
    if since_as == "iso":
        return since.strftime("%Y-%m-%dT%H:%M:%S.") + f"{since.microsecond // 1000:03d}Z"
    return since.to_pydatetime()


def _root(con: object) -> str:
    return type(con).__module__.split(".")[0].lstrip("_")


def _query_and_params(query: str, con: object, since: Any) -> tuple[Any, Any]:
    """The query and its parameters in the style of ``con``'s driver."""
    if not _SINCE.search(query):
        raise ConfigurationError(
            "the sync query needs a :since parameter (e.g. WHERE inserted_at >= :since): without it "
            "every run would read the whole table"
        )
    root = _root(con)
    if isinstance(con, str) or root == "sqlalchemy":
        try:
            import sqlalchemy
        except ImportError:
            raise ConfigurationError(
                "a database URL needs SQLAlchemy: pip install 'productiv-pandas[sql]'"
            ) from None
        return sqlalchemy.text(query), {"since": since}
    if root == "duckdb":
        return _SINCE.sub("$since", query), {"since": since}
    if root in ("psycopg", "psycopg2"):
        return _SINCE.sub("%(since)s", query.replace("%", "%%")), {"since": since}
    style = getattr(sys.modules.get(root), "paramstyle", "named")
    if root == "sqlite3" and not isinstance(since, int | str):
        since = since.isoformat(" ")  # what sqlite3's deprecated default datetime adapter wrote
    if style == "qmark":
        count = len(_SINCE.findall(query))
        return _SINCE.sub("?", query), (since,) * count
    if style == "pyformat":
        return _SINCE.sub("%(since)s", query.replace("%", "%%")), {"since": since}
    if style == "format":
        count = len(_SINCE.findall(query))
        return _SINCE.sub("%s", query.replace("%", "%%")), (since,) * count
    if style == "numeric":
        return _SINCE.sub(":1", query), (since,)
    return query, {"since": since}  # named


def _is_glob(text: str) -> bool:
    return any(char in text for char in "*?[")


def _event_files(source: str | os.PathLike) -> list[str]:
    """The event files of a folder (its files with a known extension, not recursing) or a glob,
    sorted by name."""
    text = os.fspath(source)
    if os.path.isdir(text):
        names = [os.path.join(text, name) for name in os.listdir(text)]
    elif _is_glob(text):
        names = glob.glob(text)
    elif os.path.isfile(text):
        names = [text]
    else:
        raise ConfigurationError(
            f"the sync source {text!r} is not a folder, a file or a glob that exists "
            "(a SQL query needs con=, or --db)"
        )
    known = tuple(READERS)
    return sorted(
        os.path.abspath(name)
        for name in names
        if os.path.isfile(name)
        and any(name.lower().endswith(ext) or name.lower().endswith(ext + ".gz") for ext in known)
    )


def _file_chunks(paths: list[str], options: PrepareOptionsDict) -> Iterator[pd.DataFrame]:
    for path in paths:
        yield from FileRun(path, _FILE_CHUNKSIZE, options).frames()


@contextlib.contextmanager
def open_source(
    source: Any,
    *,
    con: object,
    since: pd.Timestamp,
    since_as: str,
    marks: dict[str, FileMark],
    options: PrepareOptionsDict,
    chunksize: int = DEFAULT_SQL_CHUNKSIZE,
) -> Iterator[Read]:
    """The source opened for one run, reading from ``since`` (a refused connection or query
    fails here, before anything is sent)."""
    value = bound_since(since, since_as)
    if callable(source):
        yield Read(source(value), getattr(source, "__name__", "a callable"))
        return
    if isinstance(source, str) and con is not None:
        query, params = _query_and_params(source, con, value)
        with sql_chunks(query, con, params=params, chunksize=chunksize) as rows:
            yield Read(rows, f"SQL query on {rows.database}")
        return
    if con is not None:
        raise ConfigurationError(f"con= is for a SQL query; the source is a {type(source).__name__}")
    if isinstance(source, str | os.PathLike):
        changed: dict[str, FileMark] = {}
        for path in _event_files(source):
            stat = os.stat(path)
            mark = FileMark(stat.st_size, stat.st_mtime_ns)
            if marks.get(path) != mark:  # new, grown, or rewritten since the last run read it
                changed[path] = mark
        yield Read(_file_chunks(list(changed), options), os.fspath(source), changed, is_files=True)
        return
    raise ConfigurationError(
        "the sync source must be a SQL query (with con=), a folder or glob of event files, or a "
        f"callable since -> chunks; got {type(source).__name__}"
    )
