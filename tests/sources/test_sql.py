"""validate_sql / publish_sql on the embedded databases, in every run: sqlite3 (a DB-API
connection), SQLite through SQLAlchemy (a URL, an engine, a connection) and DuckDB (Arrow
batches). The same messy sample gives the same statuses, reasons and stored events as the
whole frame in memory."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

import productiv_pandas as pp
from productiv_pandas.sources._sql_chunks import sql_chunks
from tests.helpers.publishing import APP

from .conftest import OPTIONS, SAMPLE, comparable, expected_status

QUERY = "SELECT * FROM events"
pytestmark = pytest.mark.filterwarnings("ignore::productiv_pandas.StaleEventWarning")


@pytest.fixture(scope="module")
def sqlite_path(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("sqlite") / "events.db")
    with sqlite3.connect(path) as con:
        SAMPLE.to_sql("events", con, index=False)
    return path


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("sample", SAMPLE)
    con.execute("CREATE TABLE events AS SELECT * FROM sample")
    con.unregister("sample")
    return con


def _sources(sqlite_path: str, duck) -> dict[str, Callable[[], object]]:
    url = f"sqlite:///{sqlite_path}"
    return {
        "sqlite3": lambda: sqlite3.connect(sqlite_path),
        "url": lambda: url,
        "engine": lambda: sa.create_engine(url),
        "connection": lambda: sa.create_engine(url).connect(),
        "duckdb": lambda: duck,
    }


SOURCES = ["sqlite3", "url", "engine", "connection", "duckdb"]


@pytest.mark.parametrize("source", SOURCES)
def test_validate_sql_gives_the_status_of_the_whole_frame(source, sqlite_path, duck, tmp_path) -> None:
    con = _sources(sqlite_path, duck)[source]()
    out = tmp_path / "status.parquet"
    report = pp.validate_sql(QUERY, con, chunksize=300, status_out=out, **OPTIONS)
    expected = expected_status()
    assert report.rows == len(SAMPLE) == 2_000
    assert (
        report.counts.to_dict()
        == expected["status"].value_counts().reindex(pp.STATUSES, fill_value=0).to_dict()
    )
    assert comparable(pd.read_parquet(out)) == comparable(expected)


@pytest.mark.parametrize("source", ["sqlite3", "url", "duckdb"])
def test_publish_sql_stores_what_publishing_the_whole_frame_stores(
    source, sqlite_path, duck, sandbox_with, tmp_path
):
    sb = sandbox_with(APP, events=OPTIONS["allowed_events"], login_events=OPTIONS["login_events"])
    whole = pp.publish(SAMPLE, APP, client=sb.client(), progress=False, **OPTIONS)
    stored = sorted(sb.events(APP).astype(str).itertuples(index=False))
    assert len(stored) == int((whole["status"] == "sent").sum()) > 1_000
    sb.reset()
    sb.add_app(APP, events=OPTIONS["allowed_events"], login_events=OPTIONS["login_events"])
    con = _sources(sqlite_path, duck)[source]()
    out = tmp_path / "status.csv"
    report = pp.publish_sql(QUERY, con, APP, client=sb.client(), chunksize=450, status_out=out, **OPTIONS)
    assert sorted(sb.events(APP).astype(str).itertuples(index=False)) == stored
    assert report.counts["sent"] == len(stored)
    status = pd.read_csv(out, index_col=0, keep_default_na=False, dtype=str)
    assert status["status"].tolist() == whole["status"].astype(str).tolist()
    assert status["reason"].tolist() == whole["reason"].fillna("").astype(str).tolist()


def test_a_second_publish_with_the_same_journal_sends_nothing(sqlite_path, sandbox_with, tmp_path) -> None:
    sb = sandbox_with(APP, events=OPTIONS["allowed_events"], login_events=OPTIONS["login_events"])
    journal = tmp_path / "backfill.journal"
    first = pp.publish_sql(
        QUERY, f"sqlite:///{sqlite_path}", APP, client=sb.client(), journal=journal, **OPTIONS
    )
    requests = len(sb.requests)
    again = pp.publish_sql(
        QUERY, f"sqlite:///{sqlite_path}", APP, client=sb.client(), journal=journal, **OPTIONS
    )
    assert len(sb.requests) == requests
    assert again.counts["sent"] == 0
    assert again.counts["skipped"] == first.counts["sent"] + first.counts["skipped"]


def test_parameters_go_to_the_driver_in_its_own_style(sqlite_path, duck) -> None:
    options = dict(OPTIONS, on_stale="ignore")
    query = "SELECT * FROM events WHERE action = ?"
    expected = int((SAMPLE["action"] == "sso_login").sum())
    assert expected > 10
    with sqlite3.connect(sqlite_path) as con:
        assert pp.validate_sql(query, con, params=("sso_login",), **options).rows == expected
    assert (
        pp.validate_sql(query, f"sqlite:///{sqlite_path}", params=("sso_login",), **options).rows == expected
    )
    assert (
        pp.validate_sql("SELECT * FROM events WHERE action = $1", duck, params=["sso_login"], **options).rows
        == expected
    )
    clause = sa.text("SELECT * FROM events WHERE action = :action")
    with sa.create_engine(f"sqlite:///{sqlite_path}").connect() as con:
        assert pp.validate_sql(clause, con, params={"action": "sso_login"}, **options).rows == expected


class _Recording:
    """A DB-API connection whose cursors record each fetch, and refuse fetchall."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.fetches: list[int] = []

    def cursor(self) -> _Recording:
        self.cur = self.con.cursor()
        return self

    def execute(self, *args):
        return self.cur.execute(*args)

    @property
    def description(self):
        return self.cur.description

    def fetchmany(self, size: int):
        self.fetches.append(size)
        return self.cur.fetchmany(size)

    def fetchall(self):
        raise AssertionError("fetched whole")

    def close(self) -> None:
        self.cur.close()


def test_rows_are_fetched_a_chunk_at_a_time_as_they_are_consumed(sqlite_path) -> None:
    recording = _Recording(sqlite3.connect(sqlite_path))
    with sql_chunks(QUERY, recording, chunksize=700) as chunks:
        assert recording.fetches == []  # the query ran; no row was fetched yet
        first = next(chunks)
        assert (len(first), recording.fetches) == (700, [700])
        rest = [len(chunk) for chunk in chunks]
    assert rest == [700, 600]
    assert recording.fetches == [700] * 4


def test_duckdb_chunks_are_arrow_batches_of_chunksize_rows(duck) -> None:
    with sql_chunks(QUERY, duck, chunksize=512) as chunks:
        sizes = [(type(chunk).__name__, chunk.num_rows) for chunk in chunks]
    assert sizes == [("RecordBatch", 512)] * 3 + [("RecordBatch", 464)]


def test_database_types_arrive_as_they_are(tmp_path) -> None:
    """Decimal epochs, ISO text, NULLs from SQLite; DuckDB's decimal, timestamptz, date."""
    now = pd.Timestamp("2026-12-01T12:00Z")
    ms = int(now.timestamp() * 1000) - 3_600_000
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (ts NUMERIC, email TEXT, ev TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(ms, "a@x.io", "open"), (None, "b@x.io", "open"),
                                                        (ms, "c@x.io", None)])  # fmt: skip
    columns = {"ts": "timestamp", "email": "email", "ev": "eventName"}
    out = tmp_path / "s.csv"
    pp.validate_sql("SELECT * FROM t", con, columns=columns, now=now, status_out=out)
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["valid", "invalid", "invalid"]
    assert status["reason"].tolist()[1:] == ["timestamp is missing", "eventName is missing"]
    duck = duckdb.connect()
    duck.execute(
        f"CREATE TABLE t AS SELECT * FROM (VALUES ({ms}::DECIMAL(18, 0), "
        "TIMESTAMPTZ '2026-12-01 11:00:00+00', DATE '2026-12-01', 'a@x.io', 'open'), "
        "(NULL, NULL, NULL, 'b@x.io', 'open')) v(ms, at_utc, day, email, ev)"
    )
    for column, expected in (
        ("ms", ["valid", "invalid"]),
        ("at_utc", ["valid", "invalid"]),
        ("day", ["invalid", "invalid"]),
    ):
        out = tmp_path / f"{column}.csv"
        pp.validate_sql(f"SELECT {column}, email, ev FROM t", duck, now=now, status_out=out,
                        columns={column: "timestamp", "email": "email", "ev": "eventName"})  # fmt: skip
        assert pd.read_csv(out, index_col=0)["status"].tolist() == expected, column


def test_a_query_without_rows_still_has_its_columns_checked(sqlite_path, duck) -> None:
    empty = "SELECT * FROM events WHERE 1 = 0"
    assert pp.validate_sql(empty, sqlite3.connect(sqlite_path), **OPTIONS).rows == 0
    assert pp.validate_sql(empty, duck, **OPTIONS).rows == 0
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_sql(
            "SELECT occurred_at, user_email FROM events WHERE 1 = 0", sqlite3.connect(sqlite_path), **OPTIONS
        )
    assert str(caught.value).startswith("columns maps ['action', 'target_app'] but the ")
    assert str(caught.value).endswith("it has ['occurred_at', 'user_email']")


@pytest.mark.parametrize(
    ("con", "message"),
    [
        (
            lambda: sqlite3.connect(":memory:"),
            "cannot run the query on a sqlite3 connection: no such table: events",
        ),
        (lambda: "sqlite:///:memory:", "cannot run the query on sqlite:///:memory:: no such table: events"),
        (
            lambda: duckdb.connect(),
            "cannot run the query on a DuckDB connection: Catalog Error: Table with name events does not "
            "exist!",
        ),
    ],
    ids=["sqlite3", "url", "duckdb"],
)
def test_a_refused_query_is_one_configuration_error(con, message) -> None:
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_sql(QUERY, con(), **OPTIONS)
    assert str(caught.value) == message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_a_failure_while_rows_are_read_keeps_the_rows_before_it(tmp_path) -> None:
    con = sqlite3.connect(":memory:")
    SAMPLE.head(1_000).to_sql("events", con, index=False)
    con.create_function("check_row", 1, lambda n: 1 / (n != 650))  # ZeroDivisionError on row 650
    out = tmp_path / "status.csv"
    query = "SELECT *, check_row(rowid) AS ok FROM events ORDER BY rowid"
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_sql(query, con, chunksize=200, status_out=out, **OPTIONS)
    assert str(caught.value).startswith(
        "the query failed while its rows were read from a sqlite3 connection: "
        "user-defined function raised exception"
    )
    assert pd.read_csv(out, index_col=0).index.tolist() == list(range(600))


@pytest.mark.parametrize(
    ("con", "message"),
    [
        ("not a url",
         "con is not a database URL (expected dialect+driver://user:password@host:port/database, "
         "e.g. postgresql://etl@db/app or sqlite:///events.db)"),
        ("mysql+nosuchdriver://u:hunter2@db/app",
         "mysql+nosuchdriver://u:***@db/app needs the database driver 'mysql+nosuchdriver', which is not "
         "installed: pip install 'productiv-pandas[sql]' (PostgreSQL: psycopg), "
         "or name another driver in the URL (postgresql+psycopg://...)"),
        (42, "con must be a database URL, a SQLAlchemy engine or connection, a DuckDB connection or a DB-API "
         "connection (sqlite3, psycopg); got int"),
    ],
    ids=["not-a-url", "no-driver", "not-a-connection"],
)  # fmt: skip
def test_what_con_cannot_be_is_said(con, message) -> None:
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_sql(QUERY, con)
    assert str(caught.value) == message


@pytest.mark.parametrize("chunksize", [0, -1, 2.5, True])
def test_chunksize_must_be_a_positive_whole_number(chunksize) -> None:
    with pytest.raises(
        pp.ConfigurationError, match=rf"^chunksize must be a whole number >= 1, got {chunksize!r}$"
    ):
        pp.validate_sql(QUERY, "sqlite:///:memory:", chunksize=chunksize)


def test_the_docstring_example_runs() -> None:
    import doctest

    from productiv_pandas.sources import _sql

    assert doctest.testmod(_sql, raise_on_error=False).failed == 0
