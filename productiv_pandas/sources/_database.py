"""What ``con`` is, for :mod:`._sql`: a database URL, a SQLAlchemy engine or connection, a DuckDB
connection or any other DB-API connection (sqlite3, psycopg), opened as one :class:`Database`
that knows how to name it without its password and which exceptions are the database's.

The database's own errors (a refused connection, a bad query, a row that fails mid-stream)
become one :class:`~productiv_pandas.ConfigurationError` here and nowhere else, its message
the driver's first line with every password scrubbed, raised outside the handler so that no
chained exception (whose text SQLAlchemy fills with the statement and its parameters) travels
with it.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any, TypeVar

from ..errors import ConfigurationError

__all__ = ["Database", "open_database"]

_T = TypeVar("_T")

#: What `pip install` brings a database URL its pieces.
SQL_EXTRA = "pip install 'productiv-pandas[sql]'"


@dataclass
class Database:
    """An opened ``con``: what kind it is, the object to run queries on, how to name it.

    ``kind`` is ``"sqlalchemy"`` (``handle`` a SQLAlchemy Connection), ``"duckdb"``,
    ``"psycopg"`` (psycopg 3 or psycopg2: server-side named cursors) or ``"dbapi"``.
    """

    kind: str
    handle: Any
    label: str
    secrets: tuple[str, ...] = ()
    errors: tuple[type[BaseException], ...] = field(default=())

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def call(self, what: str, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``function(*args, **kwargs)``, the database's errors turned into a ConfigurationError
        saying ``what`` failed (``"cannot run the query on"``, the label follows)."""
        try:
            return function(*args, **kwargs)
        except self.errors as exc:
            error = ConfigurationError(f"{what} {self.label}: {self.scrub(_first_line(exc))}")
        raise error  # out of the handler: no __context__ carries the driver's text


def _first_line(exc: BaseException) -> str:
    """The driver's own words: SQLAlchemy wraps them (``exc.orig``) with the statement and its
    parameters, and drivers add lines pointing at the query (``LINE 1: ...``)."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0] if lines else type(inner).__name__


def _root_module(obj: object) -> str:
    return type(obj).__module__.split(".")[0].lstrip("_")


def _dbapi_errors(con: object) -> tuple[type[BaseException], ...]:
    """The DB-API ``Error`` of the connection's driver module (PEP 249 requires one)."""
    module = sys.modules.get(type(con).__module__.split(".")[0]) or sys.modules.get(_root_module(con))
    error = getattr(module, "Error", None)
    if isinstance(error, type) and issubclass(error, BaseException):
        return (error,)
    return ()


def _sqlalchemy():
    try:
        import sqlalchemy
    except ImportError:
        raise ConfigurationError(f"a database URL needs SQLAlchemy: {SQL_EXTRA}") from None
    return sqlalchemy


def _url_secrets(url: Any) -> tuple[str, ...]:
    """The password of a SQLAlchemy URL, and a ``password=`` in its query, in every spelling."""
    from urllib.parse import quote, quote_plus

    found = [url.password] if url.password else []
    for key, value in url.query.items():
        if "password" in key.lower():
            found += [value] if isinstance(value, str) else list(value)
    spellings = {form for secret in found for form in (secret, quote(secret, safe=""), quote_plus(secret))}
    return tuple(sorted((s for s in spellings if s), key=len, reverse=True))


def _label(url: Any) -> str:
    """The URL as it may be shown: ``postgresql://etl:***@db/app``, query passwords too."""
    if any("password" in key.lower() for key in url.query):
        url = url.update_query_dict({key: "***" for key in url.query if "password" in key.lower()})
    return url.render_as_string(hide_password=True)


def _engine_for(text: str):
    """A SQLAlchemy engine for a URL string; psycopg 3 for plain ``postgresql://`` when
    psycopg2 (SQLAlchemy's default there) is not installed."""
    sqlalchemy = _sqlalchemy()
    try:
        url = sqlalchemy.engine.make_url(text)
    except sqlalchemy.exc.ArgumentError:
        # Not echoed: a URL that does not parse may still hold a password.
        raise ConfigurationError(
            "con is not a database URL (expected dialect+driver://user:password@host:port/database, "
            "e.g. postgresql://etl@db/app or sqlite:///events.db)"
        ) from None
    secrets = _url_secrets(url)
    # The user's URL, before a driver is chosen; as typed when it holds no password (SQLAlchemy's
    # rendering quotes sqlite:///:memory: as sqlite:///%3Amemory%3A).
    label = _label(url) if secrets else text
    if url.drivername == "postgresql" and find_spec("psycopg2") is None and find_spec("psycopg"):
        url = url.set(drivername="postgresql+psycopg")
    try:
        engine = sqlalchemy.create_engine(url)
    except (ImportError, sqlalchemy.exc.NoSuchModuleError) as exc:
        missing = getattr(exc, "name", None) or url.drivername
        error = ConfigurationError(
            f"{label} needs the database driver {missing!r}, which is not installed: {SQL_EXTRA} "
            "(PostgreSQL: psycopg), or name another driver in the URL (postgresql+psycopg://...)"
        )
    else:
        return engine, label, secrets
    raise error


@contextlib.contextmanager
def open_database(con: object) -> Iterator[Database]:
    """``con`` opened for one query; what this opened (an engine for a URL, a connection of an
    engine, a DuckDB cursor) is closed after, what the caller passed is left open."""
    if isinstance(con, str):
        engine, label, secrets = _engine_for(con)
        try:
            with _sqlalchemy_connection(engine, label, secrets) as database:
                yield database
        finally:
            engine.dispose()
        return
    root = _root_module(con)
    if root == "sqlalchemy":
        sqlalchemy = _sqlalchemy()
        if isinstance(con, sqlalchemy.engine.Connection):
            url = con.engine.url
            errors = (sqlalchemy.exc.SQLAlchemyError,)
            yield Database("sqlalchemy", con, _label(url), _url_secrets(url), errors)
            return
        if isinstance(con, sqlalchemy.engine.Engine):
            with _sqlalchemy_connection(con, _label(con.url), _url_secrets(con.url)) as database:
                yield database
            return
    elif root == "duckdb" and hasattr(con, "cursor"):
        duckdb = importlib.import_module("duckdb")
        database = Database("duckdb", None, "a DuckDB connection", (), (duckdb.Error,))
        database.handle = database.call("cannot open a cursor on", con.cursor)
        try:
            yield database
        finally:
            database.handle.close()
        return
    elif hasattr(con, "cursor"):
        kind = "psycopg" if root in ("psycopg", "psycopg2") else "dbapi"
        yield Database(kind, con, f"a {root} connection", _dsn_secrets(con), _dbapi_errors(con))
        return
    raise ConfigurationError(
        f"con must be a database URL, a SQLAlchemy engine or connection, a DuckDB connection or a "
        f"DB-API connection (sqlite3, psycopg); got {type(con).__name__}"
    )


def _dsn_secrets(con: object) -> tuple[str, ...]:
    """psycopg's connection knows the password it was opened with (``info.password``)."""
    password = getattr(getattr(con, "info", None), "password", None)
    return (password,) if isinstance(password, str) and password else ()


@contextlib.contextmanager
def _sqlalchemy_connection(engine, label: str, secrets: tuple[str, ...]) -> Iterator[Database]:
    import sqlalchemy

    database = Database("sqlalchemy", None, label, secrets, (sqlalchemy.exc.SQLAlchemyError,))
    database.handle = database.call("cannot connect to", engine.connect)
    try:
        yield database
    finally:
        with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):  # a connection lost mid-stream
            database.handle.close()
