"""``validate`` and ``publish`` with ``--sql QUERY --db URL`` (or PRODUCTIV_DB_URL) instead of a
file, on a SQLite database; the PostgreSQL run is in tests/sources/test_sql_postgres.py."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from productiv_pandas.cli import main

MAPPING = ["--column", "when=timestamp", "--column", "user=email", "--column", "action=eventName"]
QUERY = "SELECT * FROM audit ORDER BY rowid"


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "app.db"
    now = pd.Timestamp.now(tz="UTC").floor("s")
    rows = [
        ((now - pd.Timedelta(minutes=10 + i)).isoformat(), f"user{i}@example.com", "opened_file")
        for i in range(5)
    ]
    rows[1] = (rows[1][0], "bob@", "opened_file")
    with sqlite3.connect(path) as con:
        con.execute('CREATE TABLE audit ("when" TEXT, user TEXT, action TEXT)')
        con.executemany("INSERT INTO audit VALUES (?, ?, ?)", rows)
    return f"sqlite:///{path}"


def test_validate_a_query(db, tmp_path, capsys) -> None:
    out = tmp_path / "status.csv"
    code = main(
        ["validate", "--sql", QUERY, "--db", db, *MAPPING, "--chunksize", "2", "--status-out", str(out)]
    )
    assert code == 1  # one invalid row
    assert capsys.readouterr().out.splitlines()[:3] == ["5 rows", "  valid              4   80.0%",
                                                        "  invalid            1   20.0%"]  # fmt: skip
    assert pd.read_csv(out, index_col=0)["status"].tolist() == ["valid", "invalid", "valid", "valid", "valid"]


def test_publish_a_query_from_the_url_in_the_environment(db, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PRODUCTIV_DB_URL", db)
    code = main(["publish", "--sql", QUERY, "--app-id", "acme", "--sandbox", "--no-progress", *MAPPING])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("5 rows\n  sent               4   80.0%\n  invalid            1   20.0%\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sql", QUERY],
         "--sql needs a database: --db URL, or the URL in the environment variable PRODUCTIV_DB_URL"),
        (["events.csv", "--sql", QUERY, "--db", "sqlite://"],
         "give an events file or --sql QUERY, not both (got 'events.csv' and --sql)"),
        (["events.csv", "--db", "sqlite://"],
         "--db names the database of --sql QUERY: give --sql too, or drop --db"),
        ([], "give an events file, or --sql QUERY (with --db URL or PRODUCTIV_DB_URL)"),
        (["--sql", "SELECT * FROM nope", "--db", "sqlite://"],
         "cannot run the query on sqlite://: no such table: nope"),
        (["--sql", QUERY, "--db", "postgresql://etl:hunter2@127.0.0.1:1/app"],
         'cannot connect to postgresql://etl:***@127.0.0.1:1/app: connection failed: connection to server at '
         '"127.0.0.1", port 1 failed: Connection refused'),
    ],
    ids=["no-db", "file-and-sql", "db-without-sql", "nothing", "bad-query", "refused"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["validate", "publish"])
def test_usage_and_database_errors_are_one_line_and_exit_2(command, args, message, capsys) -> None:
    extra = ["--app-id", "acme", "--sandbox"] if command == "publish" else []
    assert main([command, *args, *MAPPING, *extra]) == 2
    err = capsys.readouterr().err
    assert err == f"productiv-pandas: error: {message}\n"
    assert "hunter2" not in err
