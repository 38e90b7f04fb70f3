"""pp.sync: sources (SQL with :since, a folder, a callable), the watermark, the overlap never
resending, the outbox and giving up, the summary."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.summary import check_summary
from productiv_pandas.sync._lock import state_lock

#: Problem codes only sync produces (tests/test_problems.py checks every code has a producer).
SYNC_CODES = {"outbox.given_up"}

APP = "acme"
NOW = pd.Timestamp("2026-12-01T12:00Z")
COLUMNS = {"ts": "timestamp", "action": "eventName"}
QUERY = "SELECT ts, email, action, ins FROM audit WHERE ins >= :since"


def ms(when: pd.Timestamp) -> int:
    return int(when.value // 1_000_000)


def minutes(n: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)


@pytest.fixture
def db(tmp_path):
    con = sqlite3.connect(tmp_path / "events.db")
    con.execute("CREATE TABLE audit (ts INTEGER, email TEXT, action TEXT, ins INTEGER)")
    yield con
    con.close()


def insert(con, rows):
    """rows: (event time, email, insert time)."""
    con.executemany(
        "INSERT INTO audit VALUES (?, ?, 'open', ?)", [(ms(t), email, ms(i)) for t, email, i in rows]
    )
    con.commit()


def run(sb, db, tmp_path, now, **kwargs):
    kwargs = {"cursor": "ins", "since_as": "epoch_ms", "columns": COLUMNS, "max_retries": 0, **kwargs}
    return pp.sync(QUERY, APP, state=tmp_path / "acme.sync", con=db, now=now, client=sb.client(), **kwargs)


def test_the_watermark_follows_the_cursor_and_the_overlap_never_resends(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    insert(db, [(NOW - minutes(m), f"u{m}@x.io", NOW - minutes(m)) for m in range(5)])
    first = run(sb, db, tmp_path, NOW, summary_json=tmp_path / "1.json")
    assert first.summary["statuses"]["sent"] == 5
    assert first.summary["watermark_before"] is None
    assert first.summary["watermark_after"] == "2026-12-01T12:00:00.000Z"
    assert first.exit_code == 0
    assert json.loads((tmp_path / "1.json").read_text()) == first.summary
    check_summary(first.summary)
    # A late row: its event 2 hours old, inserted after the first run; and one new row.
    insert(
        db,
        [
            (NOW - minutes(120), "late@x.io", NOW + minutes(10)),
            (NOW + minutes(20), "new@x.io", NOW + minutes(25)),
        ],
    )
    second = run(sb, db, tmp_path, NOW + minutes(30))
    # Read from 11:45: the 5 rows again (skipped: the journal has them), the late and the new one.
    assert second.summary["rows_read"] == 7
    assert second.summary["statuses"]["skipped"] == 5
    assert second.summary["statuses"]["sent"] == 2
    assert second.summary["problems"] == {}  # skipped rows are not problems in a summary
    assert second.summary["watermark_before"] == "2026-12-01T12:00:00.000Z"
    assert second.summary["watermark_after"] == "2026-12-01T12:25:00.000Z"
    assert second.summary["requests"] == 1
    events = sb.events(APP)
    assert len(events) == 7
    assert sb.stats()["duplicates_received"] == 0


def test_failed_rows_wait_in_the_outbox_and_are_sent_first_next_run(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    insert(
        db, [(NOW - minutes(1), "a@x.io", NOW - minutes(1)), (NOW - minutes(2), "b@x.io", NOW - minutes(2))]
    )
    sb.fail_next(1, 503)
    outage = run(sb, db, tmp_path, NOW)
    assert outage.summary["statuses"]["failed"] == 2
    assert outage.summary["problems"] == {"http.503": 2}
    assert (outage.summary["outbox_before"], outage.summary["outbox_after"]) == (0, 2)
    assert outage.exit_code == 1
    # The watermark moved over them: they are in the outbox, not lost.
    assert outage.summary["watermark_after"] == "2026-12-01T11:59:00.000Z"
    back = run(sb, db, tmp_path, NOW + minutes(30))
    assert back.summary["outbox_retried"] == 2
    assert back.outbox_run.counts["sent"] == 2
    assert back.summary["rows_read"] == 2  # the overlap: read again, the journal skips them
    assert back.summary["statuses"]["sent"] == 2
    assert back.summary["statuses"]["skipped"] == 2
    assert (back.summary["outbox_before"], back.summary["outbox_after"]) == (2, 0)
    assert back.exit_code == 0
    assert sorted(sb.events(APP)["email"]) == ["a@x.io", "b@x.io"]


def test_outbox_rows_too_old_are_given_up_with_their_own_code(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    insert(db, [(NOW - minutes(60), "a@x.io", NOW)])
    sb.fail_next(1, 503)
    run(sb, db, tmp_path, NOW)
    # 11 hours later the event is 12 h 00 min old: still retried (not older than 12 h); a row
    # inserted 10 hours later moves the watermark past the overlap that would read it again.
    insert(db, [(NOW + pd.Timedelta(hours=10), "b@x.io", NOW + pd.Timedelta(hours=10))])
    sb.fail_next(2, 503)  # the outbox's retry and the new row's batch
    kept = run(sb, db, tmp_path, NOW + pd.Timedelta(hours=11))
    assert (kept.given_up, kept.summary["outbox_after"]) == (0, 2)
    # A minute later it is older than max_outbox_age: given up, never sent; b is retried, sent.
    gone = run(sb, db, tmp_path, NOW + pd.Timedelta(hours=11, minutes=1))
    assert gone.given_up == 1
    assert gone.summary["problems"] == {"outbox.given_up": 1}
    assert gone.summary["statuses"]["failed"] == 1
    assert gone.summary["outbox_retried"] == 1
    assert (gone.summary["outbox_before"], gone.summary["outbox_after"]) == (2, 0)
    assert gone.exit_code == 1
    assert sb.events(APP)["email"].tolist() == ["b@x.io"]
    check_summary(gone.summary)


def test_a_callable_gets_since_in_the_asked_form(sandbox_with, tmp_path):
    sb = sandbox_with(APP)
    seen = []

    def source(since):
        seen.append(since)
        return [pd.DataFrame({"timestamp": [ms(NOW)], "email": ["a@x.io"], "eventName": ["open"]})]

    for since_as in ("datetime", "epoch_ms", "iso"):
        pp.sync(source, APP, state=tmp_path / f"{since_as}.sync", now=NOW, since_as=since_as,
                start="2026-12-01T10:30:00+01:00", client=sb.client())  # fmt: skip
    assert seen == [
        dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        ms(pd.Timestamp("2026-12-01T09:30Z")),
        "2026-12-01T09:30:00.000Z",
    ]
    # Later runs read from the watermark (the event time here) minus the overlap.
    pp.sync(source, APP, state=tmp_path / "iso.sync", now=NOW, since_as="iso", client=sb.client())
    assert seen[-1] == "2026-12-01T11:45:00.000Z"


def test_the_first_run_reads_the_last_12_hours_by_default(sandbox_with, tmp_path):
    sb = sandbox_with(APP)
    seen = []
    pp.sync(lambda since: seen.append(since) or [], APP, state=tmp_path / "s", now=NOW, client=sb.client())
    assert seen == [dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)]


def test_a_folder_source_reads_new_and_grown_files_only(sandbox_with, tmp_path):
    sb = sandbox_with(APP)
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.csv").write_text(f"timestamp,email,eventName\n{ms(NOW)},a@x.io,open\n")
    (folder / "notes.txt").write_text("not events")
    state = tmp_path / "s"
    first = pp.sync(folder, APP, state=state, now=NOW, client=sb.client())
    assert (first.summary["rows_read"], first.summary["statuses"]["sent"]) == (1, 1)
    assert pp.sync(folder, APP, state=state, now=NOW, client=sb.client()).summary["rows_read"] == 0
    with open(folder / "a.csv", "a") as grown:
        grown.write(f"{ms(NOW)},b@x.io,open\n")
    (folder / "b.csv").write_text(f"timestamp,email,eventName\n{ms(NOW)},c@x.io,open\n")
    third = pp.sync(str(folder / "*.csv"), APP, state=state, now=NOW, client=sb.client())
    # a.csv read whole again (a@ skipped: already sent), b.csv new.
    assert third.summary["rows_read"] == 3
    assert (third.summary["statuses"]["sent"], third.summary["statuses"]["skipped"]) == (2, 1)
    assert sorted(sb.events(APP)["email"]) == ["a@x.io", "b@x.io", "c@x.io"]


def test_without_a_cursor_the_event_time_is_the_watermark(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    insert(db, [(NOW - minutes(5), "a@x.io", NOW)])
    query = "SELECT ts, email, action FROM audit WHERE ts >= :since"
    report = pp.sync(query, APP, state=tmp_path / "s", con=db, now=NOW, since_as="epoch_ms",
                     columns=COLUMNS, client=sb.client())  # fmt: skip
    assert report.summary["watermark_after"] == "2026-12-01T11:55:00.000Z"


def test_since_in_each_driver_style(sandbox_with, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("sqlalchemy")
    sb = sandbox_with(APP)
    path = tmp_path / "events.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE audit (ts INTEGER, email TEXT, action TEXT, ins TEXT)")
    con.execute("INSERT INTO audit VALUES (?, 'a@x.io', 'open', '2026-12-01T11:00:00.000Z')", (ms(NOW),))
    con.execute("INSERT INTO audit VALUES (?, 'old@x.io', 'open', '2026-11-30T11:00:00.000Z')", (ms(NOW),))
    con.commit()
    query = "SELECT ts, email, action, ins FROM audit WHERE ins >= :since"
    kwargs = {"cursor": "ins", "since_as": "iso", "columns": COLUMNS, "now": NOW, "client": sb.client()}
    via_url = pp.sync(query, APP, state=tmp_path / "1", con=f"sqlite:///{path}", **kwargs)
    via_sqlite3 = pp.sync(query, APP, state=tmp_path / "2", con=con, **kwargs)
    ddb = duckdb.connect()
    ddb.execute("CREATE TABLE audit AS SELECT * FROM read_csv_auto(?)", [_csv(tmp_path, con)])
    via_duckdb = pp.sync(query, APP, state=tmp_path / "3", con=ddb, **kwargs)
    for report in (via_url, via_sqlite3, via_duckdb):
        assert report.summary["rows_read"] == 1, report
        assert report.summary["watermark_after"] == "2026-12-01T11:00:00.000Z"


def _csv(tmp_path, con) -> str:
    frame = pd.read_sql("SELECT * FROM audit", con)
    path = tmp_path / "audit.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_a_second_run_on_the_same_state_raises_sync_locked(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    with state_lock(tmp_path / "acme.sync"), pytest.raises(pp.SyncLocked, match="another sync run holds"):
        run(sb, db, tmp_path, NOW)
    assert sb.stats()["event_requests"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"overlap": 15}, "overlap must be a duration with its unit ('15min', '12h'), got 15"),
        ({"max_outbox_age": "soon"}, "max_outbox_age must be a duration ('15min', '12h'), got 'soon'"),
        ({"since_as": "unix"}, "since_as must be one of ['datetime', 'epoch_ms', 'iso'], got 'unix'"),
        ({"now": "yesterday"}, "now must be a time (ISO 8601 text or a datetime), got 'yesterday'"),
        ({"max_invalid": "x%"}, "max_invalid takes a number of rows"),
    ],
)
def test_bad_options_fail_before_anything_is_opened(tmp_path, kwargs, message):
    with pytest.raises(
        pp.ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        pp.sync(lambda since: [], APP, state=tmp_path / "s", **kwargs)
    assert not (tmp_path / "s").exists()


def test_a_query_without_since_is_refused(sandbox_with, db, tmp_path):
    sb = sandbox_with(APP)
    with pytest.raises(pp.ConfigurationError, match="the sync query needs a :since parameter"):
        pp.sync("SELECT * FROM audit", APP, state=tmp_path / "s", con=db, client=sb.client())
