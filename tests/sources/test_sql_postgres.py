"""validate_sql / publish_sql against a real PostgreSQL server (started for the session on a
free loopback port, see tests/helpers/postgres.py): the messy sample gives the whole frame's
statuses and stored events through a URL, an engine and psycopg connections; rows come through
a server-side cursor; database types arrive as they are; a password never shows."""

from __future__ import annotations

import logging
import subprocess
import sys

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

import productiv_pandas as pp
from productiv_pandas.sources._sql_chunks import sql_chunks
from tests.helpers.publishing import APP

from .conftest import MISSING_POSTGRES, NOW, OPTIONS, SAMPLE, comparable, expected_status, unavailable

pytestmark = pytest.mark.filterwarnings("ignore::productiv_pandas.StaleEventWarning")
QUERY = "SELECT * FROM events ORDER BY n"


@pytest.fixture(scope="module")
def pg(postgres):
    """The server with the sample in table ``events`` (text columns and ``n``, the row number)."""
    with psycopg.connect(postgres.url) as con:
        con.execute("DROP TABLE IF EXISTS events")
        con.execute(
            "CREATE TABLE events (n integer, occurred_at text, user_email text, action text, "
            "target_app text, ip text, session_id text)"
        )
        with con.cursor().copy("COPY events FROM STDIN") as copy:
            for n, row in enumerate(
                SAMPLE.astype(object).where(SAMPLE.notna(), None).itertuples(index=False)
            ):
                copy.write_row((n, *row))
    return postgres


def _engine(url: str):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


@pytest.mark.parametrize("source", ["url", "engine", "psycopg", "psycopg-autocommit"])
def test_validate_sql_gives_the_status_of_the_whole_frame(pg, source, tmp_path) -> None:
    out = tmp_path / "status.parquet"
    options = dict(OPTIONS, columns=dict(OPTIONS["columns"]))
    if source.startswith("psycopg"):
        with psycopg.connect(pg.url, autocommit=source.endswith("autocommit")) as con:
            report = pp.validate_sql(QUERY, con, chunksize=300, status_out=out, **options)
    else:
        con = pg.url if source == "url" else _engine(pg.url)
        report = pp.validate_sql(QUERY, con, chunksize=300, status_out=out, **options)
    assert report.rows == 2_000
    assert comparable(pd.read_parquet(out)) == comparable(expected_status())


def test_publish_sql_stores_what_publishing_the_whole_frame_stores(pg, sandbox_with, tmp_path) -> None:
    sb = sandbox_with(APP, events=OPTIONS["allowed_events"], login_events=OPTIONS["login_events"])
    whole = pp.publish(SAMPLE, APP, client=sb.client(), progress=False, **OPTIONS)
    stored = sorted(sb.events(APP).astype(str).itertuples(index=False))
    sb.reset()
    sb.add_app(APP, events=OPTIONS["allowed_events"], login_events=OPTIONS["login_events"])
    out = tmp_path / "status.parquet"
    report = pp.publish_sql(QUERY, pg.url, APP, client=sb.client(), chunksize=450, status_out=out, **OPTIONS)
    assert sorted(sb.events(APP).astype(str).itertuples(index=False)) == stored
    assert report.counts["sent"] == len(stored) == int((whole["status"] == "sent").sum())
    assert comparable(pd.read_parquet(out).drop(columns=["batch"])) == comparable(whole)
    where = f"SQL query on postgresql://postgres:***@127.0.0.1:{pg.port}/postgres"
    assert repr(report).startswith(f"<RunReport '{where}': 2,000 rows: ")
    page = report.report(tmp_path / "quality.html").read_text(encoding="utf-8")
    assert where in page
    assert pg.password not in repr(report) + page + out.read_bytes().decode("latin-1")


@pytest.mark.parametrize("source", ["psycopg", "sqlalchemy"])
def test_rows_come_through_a_server_side_cursor(pg, source) -> None:
    """While the chunks are read, the session holds an open cursor on the server (pg_cursors),
    and it is gone once they are."""
    cursors = (
        "SELECT count(*) FROM pg_cursors WHERE NOT is_holdable OR starts_with(name, 'productiv_pandas_')"
    )
    with psycopg.connect(pg.url) if source == "psycopg" else _engine(pg.url).connect() as con:
        run = con.execute if source == "psycopg" else con.exec_driver_sql
        with sql_chunks(QUERY, con, chunksize=500) as chunks:
            first = next(chunks)
            assert run(cursors).fetchone()[0] == 1
            sizes = [len(first)] + [len(chunk) for chunk in chunks]
        assert run(cursors).fetchone()[0] == 0
    assert sizes == [500] * 4


@pytest.mark.parametrize("source", ["url", "psycopg"])
def test_a_percent_sign_in_a_query_without_parameters_is_sql_not_a_placeholder(pg, source) -> None:
    """psycopg reads %-placeholders whenever parameters are passed, even none: SQLAlchemy is told
    (no_parameters) to pass none at all, as a psycopg connection's cursor is."""
    query = "SELECT * FROM events WHERE user_email LIKE '%@acme-labs.io'"
    expected = int(SAMPLE["user_email"].str.endswith("@acme-labs.io", na=False).sum())
    assert expected > 10
    options = dict(OPTIONS, on_stale="ignore")
    if source == "url":
        assert pp.validate_sql(query, pg.url, **options).rows == expected
    else:
        with psycopg.connect(pg.url) as con:
            assert pp.validate_sql(query, con, **options).rows == expected
    with psycopg.connect(pg.url) as con:
        like = "SELECT * FROM events WHERE user_email LIKE %s"
        assert pp.validate_sql(like, con, params=("%@acme-labs.io",), **options).rows == expected


def test_database_types_arrive_as_they_are(postgres, tmp_path) -> None:
    """numeric epochs (Decimal), timestamptz, timestamp (read in tz), date (refused: no time), NULL."""
    ms = int(NOW.timestamp() * 1000) - 3_600_000
    with psycopg.connect(postgres.url) as con:
        con.execute("DROP TABLE IF EXISTS typed")
        con.execute(
            "CREATE TABLE typed (ms numeric, at_tz timestamptz, at timestamp, day date, email text, ev text)"
        )
        con.execute(
            "INSERT INTO typed VALUES (%s, %s, %s, %s, 'a@x.io', 'open'), "
            "(NULL, NULL, NULL, NULL, 'b@x.io', 'open')",
            (ms, "2026-12-01 11:00:00+00", "2026-12-01 06:00:00", "2026-12-01"),
        )
    expected = {"ms": ["valid", "invalid"], "at_tz": ["valid", "invalid"], "at": ["valid", "invalid"],
                "day": ["invalid", "invalid"]}  # fmt: skip
    for column, statuses in expected.items():
        out = tmp_path / f"{column}.csv"
        query = f"SELECT {column}, email, ev FROM typed"
        pp.validate_sql(query, postgres.url, now=NOW, tz="America/New_York",
                        status_out=out, columns={column: "timestamp", "ev": "eventName"})  # fmt: skip
        status = pd.read_csv(out, index_col=0)
        assert status["status"].tolist() == statuses, column
        if column != "day":
            assert status["timestamp"].tolist()[0] == ms, column
        assert status["reason"].tolist()[1] == "timestamp is missing"


def _chain(exc: BaseException | None) -> str:
    text = []
    while exc is not None:
        text += [repr(exc), str(exc)]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(text)


@pytest.mark.parametrize("failure", ["wrong-password", "bad-query", "closed-port"])
def test_a_refused_connection_or_query_never_shows_the_password(postgres, failure, caplog) -> None:
    wrong = "wrong-" + postgres.password[::-1]
    url = {"wrong-password": postgres.url.replace(postgres.password, wrong), "bad-query": postgres.url,
           "closed-port": postgres.url.replace(f":{postgres.port}/", ":1/")}[failure]  # fmt: skip
    query = "SELECT * FROM no_such_table" if failure == "bad-query" else QUERY
    caplog.set_level(logging.DEBUG)
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_sql(query, url, **OPTIONS)
    port = {"closed-port": 1}.get(failure, postgres.port)
    where = f"postgresql://postgres:***@127.0.0.1:{port}/postgres"
    message = {
        "wrong-password": f"cannot connect to {where}: connection failed: connection to server at "
        '"127.0.0.1", '
        f'port {port} failed: FATAL:  password authentication failed for user "postgres"',
        "bad-query": f'cannot run the query on {where}: relation "no_such_table" does not exist',
        "closed-port": f'cannot connect to {where}: connection failed: connection to server at "127.0.0.1", '
        f"port {port} failed: Connection refused",
    }[failure]
    assert str(caught.value) == message
    for secret in (postgres.password, wrong):
        assert secret not in _chain(caught.value)
        assert secret not in caplog.text


@pytest.mark.slow  # the console script in a subprocess
def test_the_cli_publishes_a_query_from_the_url_in_the_environment(pg, tmp_path, monkeypatch) -> None:
    """The URL (password and all) from PRODUCTIV_DB_URL; nothing printed or written holds it."""
    out = tmp_path / "status.csv"
    env = {"PRODUCTIV_DB_URL": pg.url, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "productiv_pandas", "publish", "--sql", QUERY, "--app-id", APP,
               "--sandbox",
               "--status-out", str(out), "--tz", "America/New_York", "--on-stale", "ignore", "--no-progress",
               "--column", "occurred_at=timestamp", "--column", "user_email=email",
               "--column", "action=eventName",
               "--column", "target_app=targetApp", "--login-event", "sso_login"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1, done.stderr  # the sample has invalid rows
    assert done.stdout.startswith("2,000 rows\n")
    status = pd.read_csv(out, index_col=0)
    assert len(status) == 2_000
    assert pg.password not in done.stdout + done.stderr + out.read_text()
    bad = subprocess.run([*command[:5], "SELECT * FROM nope", *command[6:]], capture_output=True, text=True,
                         env=env, timeout=120, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr == (
        "productiv-pandas: error: cannot run the query on "
        f"postgresql://postgres:***@127.0.0.1:{pg.port}/postgres: "
        'relation "nope" does not exist\n'
    )


def test_without_initdb_the_tests_skip_saying_why_but_fail_in_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"need initdb and pg_ctl \(Debian: apt-get install postgresql\)"
    ):
        unavailable(MISSING_POSTGRES)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\(CI never skips the PostgreSQL tests\)$"):
        unavailable(MISSING_POSTGRES)
