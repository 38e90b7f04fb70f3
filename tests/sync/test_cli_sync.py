"""``productiv-pandas sync``: the flags, the printed summary, the exit codes (0, 1, 2, 3)."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from productiv_pandas.cli import main
from productiv_pandas.summary import check_summary
from productiv_pandas.sync._lock import state_lock

NOW = "2026-12-01T12:00:00Z"
QUERY = "SELECT ts, email, action, ins FROM audit WHERE ins >= :since"
MAPPING = ["--column", "ts=timestamp", "--column", "action=eventName"]


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "app.db"
    now = pd.Timestamp(NOW)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE audit (ts TEXT, email TEXT, action TEXT, ins TEXT)")
        times = [(now - pd.Timedelta(minutes=m)).isoformat() for m in range(4)]
        rows = [(t, f"u{m}@x.io", "open", t) for m, t in enumerate(times)]
        rows.append((now.isoformat(), "bob@", "open", now.isoformat()))
        con.executemany("INSERT INTO audit VALUES (?, ?, ?, ?)", rows)
    return f"sqlite:///{path}"


@pytest.fixture
def env(sandbox_with, monkeypatch):
    sb = sandbox_with("acme")
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", sb.issue_token())
    monkeypatch.setenv("PRODUCTIV_API_URL", sb.url)
    return sb


def command(db, tmp_path, *more):
    return ["sync", "--sql", QUERY, "--db", db, "--app-id", "acme", "--state", str(tmp_path / "acme.sync"),
            "--cursor", "ins", "--now", NOW, *MAPPING, *more]  # fmt: skip


def test_a_run_prints_its_summary_and_writes_the_json(env, db, tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(command(db, tmp_path, "--summary-json", str(out), "--max-invalid", "20%"))
    assert code == 0  # 1 invalid of 5 rows: within 20%
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "sync SQL query on sqlite:///" + db.split("///")[1] + ": 5 rows read, 0 retried from the outbox",
        "  sent               4   80.0%",
        "  invalid            1   20.0%",
        "most frequent problems:",
    ]
    assert lines[-1].startswith(
        "watermark none -> 2026-12-01T12:00:00.000Z; outbox 0 -> 0 rows; 1 requests in "
    )
    summary = json.loads(out.read_text())
    check_summary(summary)
    assert summary["exit_code"] == 0
    assert summary["statuses"]["sent"] == 4
    assert len(env.events("acme")) == 4
    # Beyond the threshold: 1 of 5 is more than 10%.
    assert main(command(db, tmp_path, "--max-invalid", "10%")) == 1


def test_a_second_run_on_the_same_state_exits_3(env, db, tmp_path, capsys):
    with state_lock(tmp_path / "acme.sync"):
        code = main(command(db, tmp_path))
    assert code == 3
    state = str(tmp_path / "acme.sync")
    assert capsys.readouterr().err == (
        f"productiv-pandas: another sync run holds the state {state!r}: this run read and sent "
        "nothing; try again when that run has finished\n"
    )
    assert env.stats()["event_requests"] == 0


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (["--overlap", "15"], "argument --overlap: expected a duration like 15min or 12h, got '15'"),
        (["--since-as", "unix"], "argument --since-as: invalid choice: 'unix'"),
        (
            ["--now", "noon"],
            "argument --now: expected an ISO 8601 time like 2026-12-02T12:00:00Z, got 'noon'",
        ),
    ],
)
def test_usage_errors_exit_2_in_one_line(db, tmp_path, capsys, more, message):
    with pytest.raises(SystemExit) as exit_:
        main(command(db, tmp_path, *more))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"productiv-pandas: error: {message}")
    assert err.count("\n") == 1


def test_a_database_that_refuses_the_query_exits_2(env, tmp_path, capsys):
    query = "SELECT * FROM nowhere WHERE ins >= :since"
    bad = ["sync", "--sql", query, "--db", f"sqlite:///{tmp_path / 'x.db'}", "--app-id", "acme",
           "--state", str(tmp_path / "s")]  # fmt: skip
    assert main(bad) == 2
    assert capsys.readouterr().err.startswith("productiv-pandas: error: cannot run the query on sqlite:///")


def test_a_folder_source(env, tmp_path, capsys):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.csv").write_text("timestamp,email,eventName\n2026-12-01T11:59:00Z,a@x.io,open\n")
    args = ["sync", str(folder), "--app-id", "acme", "--state", str(tmp_path / "s"), "--now", NOW]
    assert main(args) == 0
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-2].startswith(f"sync {folder}: 0 rows read")
    assert env.events("acme")["email"].tolist() == ["a@x.io"]
