"""The journal on its own (SQLite file, identity, concurrency, refusals) and with publish against
the sandbox: a re-run sends only what the journal does not hold. The kill -9 test is in
test_journal_crash.py.
"""

from __future__ import annotations

import _thread
import os
import random
import shutil
import sqlite3
import threading
import time

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.journal._store import Journal
from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sending._publish import deliver_prepared

APP = "acme"
CATALOG = {"opened_file", "shared_doc"}
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05)
T0 = 1_700_000_000_000


def keys(n: int, start: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    positions = np.arange(start, start + n)
    return (
        T0 + positions,
        [f"user{i % 13}@example.com" for i in positions],
        ["opened_file" if i % 2 else "shared_doc" for i in positions],
    )


def test_record_and_look_up(tmp_path):
    with Journal(tmp_path / "j", APP) as journal:
        assert journal.count() == 0
        assert journal.sent_mask(*keys(5)).tolist() == [False] * 5
        journal.record(*keys(3))
        journal.record(*keys(3, start=1))  # two triples again: stored once
        assert journal.count() == 4
        times, emails, names = keys(6)
        assert journal.sent_mask(times, emails, names).tolist() == [True] * 4 + [False] * 2
        # The whole triple is the key: the same time and email with another name is not sent.
        assert journal.sent_mask(times[:1], emails[:1], ["other"]).tolist() == [False]
        assert journal.sent_mask([], [], []).tolist() == []
        # Series in, as publish and the file publishers have them (Int64, pyarrow strings).
        series = (
            pd.Series(times, dtype="Int64"),
            pd.Series(emails, dtype="str"),
            pd.Series(names, dtype="str"),
        )
        assert journal.sent_mask(*series).tolist() == [True] * 4 + [False] * 2
        journal.record([], [], [])
        assert journal.count() == 4


def test_reopened_journal_remembers(tmp_path):
    path = tmp_path / "backfill.journal"
    with Journal.open(path, APP) as journal:
        journal.record(*keys(1000))
    assert not (tmp_path / "backfill.journal-wal").exists()  # closing folds the WAL back in
    with Journal(str(path), APP) as journal:
        assert journal.count() == 1000
        assert journal.sent_mask(*keys(1010)).sum() == 1000
        assert repr(journal) == f"<Journal {str(path)!r} app_id='acme' open>"
    assert "closed" in repr(journal)
    with pytest.raises(pp.JournalError, match="is closed"):
        journal.count()


def test_concurrent_writers_from_eight_threads(tmp_path):
    # Thread k records triples k*500 .. k*500+1999 (overlapping its neighbours) in shuffled
    # batches of 100, all threads released at once: the union is 0 .. 5499, stored once each.
    journal = Journal(tmp_path / "j", APP)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            batches = list(range(k * 500, k * 500 + 2000, 100))
            random.Random(k).shuffle(batches)
            start.wait()
            for first in batches:
                journal.record(*keys(100, start=first))
                journal.sent_mask(*keys(100, start=first))  # readers interleave with writers
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert journal.count() == 5500
    assert journal.sent_mask(*keys(5600)).tolist() == [True] * 5500 + [False] * 100
    journal.close()


def _refused(path, app_id=APP) -> str:
    before = path.read_bytes()
    with pytest.raises(pp.JournalError) as caught:
        Journal(path, app_id)
    assert path.read_bytes() == before  # never overwritten
    assert not os.path.exists(f"{path}-wal")
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_file_of_random_bytes_is_refused(tmp_path):
    path = tmp_path / "j"
    path.write_bytes(random.Random(1).randbytes(10_000))
    message = _refused(path)
    assert "not a productiv_pandas journal, or it is corrupted" in message
    assert "delete the file if you mean to start over" in message


def test_a_truncated_journal_is_refused(tmp_path):
    with Journal(tmp_path / "real", APP) as journal:
        journal.record(*keys(20_000))
    data = (tmp_path / "real").read_bytes()
    assert len(data) > 100_000
    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[: len(data) // 2])
    assert "corrupted" in _refused(truncated)


def test_a_damaged_page_is_refused(tmp_path):
    with Journal(tmp_path / "real", APP) as journal:
        journal.record(*keys(20_000))
    data = bytearray((tmp_path / "real").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = random.Random(2).randbytes(64)
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(data))
    assert "corrupted" in _refused(damaged)


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts (email TEXT)")
        db.execute("INSERT INTO contacts VALUES ('a@b.com')")
    db.close()
    message = _refused(path)
    assert "a SQLite database but not a productiv_pandas journal" in message
    assert "contacts" in message
    with sqlite3.connect(path) as db:  # still the user's database, untouched
        assert db.execute("SELECT email FROM contacts").fetchall() == [("a@b.com",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    db.close()


def test_a_journal_of_another_app_is_refused(tmp_path):
    path = tmp_path / "j"
    with Journal(path, "acme-docs") as journal:
        journal.record(*keys(3))
    message = _refused(path, "acme-chat")
    assert "'acme-docs'" in message
    assert "'acme-chat'" in message
    with Journal(path, "acme-docs") as journal:  # and left intact for its own app
        assert journal.count() == 3


def test_an_empty_file_becomes_a_journal(tmp_path):
    # What a crash during creation leaves behind (the file exists, nothing was committed).
    path = tmp_path / "j"
    path.touch()
    with Journal(path, APP) as journal:
        journal.record(*keys(2))
    with Journal(path, APP) as journal:
        assert journal.count() == 2


def test_bad_keys_and_paths_are_refused(tmp_path):
    with Journal(tmp_path / "j", APP) as journal:
        times, emails, names = keys(3)
        with pytest.raises(pp.JournalError, match="position 1 holds None"):
            journal.record(times, [emails[0], None, emails[2]], names)
        with pytest.raises(pp.JournalError, match="as many eventNames as timestamps"):
            journal.record(times, emails, names[:2])
        with pytest.raises(pp.JournalError, match="whole milliseconds"):
            journal.sent_mask([1.5, 2.0, 3.0], emails, names)
        assert journal.count() == 0
    with pytest.raises(pp.JournalError, match=r"cannot open the journal .* check the path"):
        Journal(tmp_path / "no" / "such" / "dir" / "j", APP)
    with pytest.raises(pp.JournalError, match="non-empty app id"):
        Journal(tmp_path / "k", " ")


# -- with publish, against the sandbox ----------------------------------------------------------


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=CATALOG)


@pytest.fixture
def client(sb):
    with sb.client(retry=FAST) as c:
        yield c


def events(n: int) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame(
        {
            "timestamp": [now - pd.Timedelta(minutes=30) + pd.Timedelta(milliseconds=i) for i in range(n)],
            "email": [f"User{i % 97}@Example.com" for i in range(n)],  # normalized before keying
            "eventName": ["opened_file"] * n,
        }
    )


def triples(frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    return set(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


def test_a_second_run_sends_nothing(sb, client, tmp_path):
    frame = events(2500)
    journal = tmp_path / "backfill.journal"
    first = pp.publish(frame, APP, client=client, journal=journal, progress=False)
    assert (first["status"] == "sent").all()
    with Journal(journal, APP) as opened:
        assert opened.count() == 2500
    requests = sb.stats()["event_requests"]
    second = frame.productiv.publish(APP, client=client, journal=str(journal), progress=False)
    assert sb.stats()["event_requests"] == requests
    assert (second["status"] == "skipped").all()
    assert (second["reason"] == "already sent").all()
    assert second["batch"].isna().all()
    assert list(second.index) == list(frame.index)
    assert len(sb.events(APP)) == 2500


def test_a_rerun_after_failures_sends_exactly_the_missing_rows(sb, client, tmp_path):
    frame = events(1000)
    journal = tmp_path / "j"
    sb.fail_next(3, status=503)
    first = pp.publish(
        frame, APP, client=client, journal=journal, batch_size=100, max_workers=1, max_retries=0,
        progress=False,
    )  # fmt: skip
    failed = first["status"] == "failed"
    assert failed.sum() == 300
    assert (first.loc[~failed, "status"] == "sent").all()
    received = sb.stats()["events_received"]
    second = pp.publish(frame, APP, client=client, journal=journal, progress=False)
    assert sb.stats()["events_received"] - received == 300  # only the missing rows went out
    assert (second.loc[failed, "status"] == "sent").all()
    assert (second.loc[~failed, "status"] == "skipped").all()
    assert (second.loc[~failed, "reason"] == "already sent").all()
    stored = sb.events(APP)
    assert len(stored) == 1000
    assert triples(stored) == triples(second)


def test_a_split_batch_records_exactly_the_rows_sent(sb, client, tmp_path):
    frame = events(1000)
    frame.loc[637, "eventName"] = "opened_flie"  # not in the app's mapping: HTTP 422
    journal = Journal(tmp_path / "j", APP)
    status = pp.publish(frame, APP, client=client, journal=journal, progress=False)
    assert status.loc[637, "status"] == "rejected"
    assert journal.count() == 999  # an open Journal is left open
    sent = status["status"] == "sent"
    wire = status.loc[:, ["timestamp", "email", "eventName"]]
    mask = journal.sent_mask(wire["timestamp"], wire["email"], wire["eventName"])
    assert mask.tolist() == sent.tolist()
    again = pp.publish(frame, APP, client=client, journal=journal, progress=False)
    assert (again.loc[sent, "reason"] == "already sent").all()
    assert again.loc[637, "status"] == "rejected"  # tried again, refused again, still not recorded
    assert journal.count() == 999
    journal.close()


def test_secrets_never_reach_the_journal_file(sb, tmp_path):
    token = sb.issue_token()
    path = tmp_path / "j"
    with pp.ProductivClient(access_token=token, base_url=sb.url) as by_token:
        pp.publish(events(10), APP, client=by_token, journal=path, progress=False)
    with sb.client() as by_secret:
        status = pp.publish(events(20), APP, client=by_secret, journal=path, progress=False)
    assert (status["status"] != "failed").all()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("j")]
    data = b"".join(p.read_bytes() for p in files)
    assert b"user1@example.com" in data  # the file is readable as bytes: the check means something
    for secret in (token, sb.client_secret):
        assert secret.encode() not in data


def test_a_journal_of_another_app_stops_publish_before_sending(sb, client, tmp_path):
    with Journal(tmp_path / "j", "other-app") as other, pytest.raises(pp.JournalError, match="'other-app'"):
        pp.publish(events(5), APP, client=client, journal=other, progress=False)
    with pytest.raises(pp.JournalError, match="'other-app'"):
        pp.publish(events(5), APP, client=client, journal=tmp_path / "j", progress=False)
    with pytest.raises(pp.ConfigurationError, match="journal must be a file path"):
        pp.publish(events(5), APP, client=client, journal=42, progress=False)
    assert sb.stats()["event_requests"] == 0


def test_a_journal_that_cannot_be_written_stops_the_run(sb, client, tmp_path):
    class Failing(Journal):
        calls = 0

        def record(self, *triples):
            Failing.calls += 1
            if Failing.calls > 1:
                raise pp.JournalError("disk full (simulated)")
            super().record(*triples)

    with Failing(tmp_path / "j", APP) as journal:
        status = pp.publish(
            events(1000), APP, client=client, journal=journal, batch_size=100, max_workers=1, progress=False
        )
        assert journal.count() == 100
    sent = status["status"] == "sent"
    # Batch 0 recorded, batch 1 sent but not recorded; batch 2 may have been on the wire already.
    assert sent.sum() in (200, 300)
    assert (status.loc[~sent, "status"] == "failed").all()
    assert (
        status.loc[~sent, "reason"]
        .str.startswith("not attempted: the journal could not be written (disk full (simulated))")
        .all()
    )
    assert triples(sb.events(APP)) == triples(status[sent])


def test_ctrl_c_leaves_every_acknowledged_batch_in_the_journal(sb, client, tmp_path):
    sb.set_delay(0.05)

    def interrupt_once_sending() -> None:  # Ctrl-C during the sending, not during prepare
        while sb.stats()["events_stored"] < 1000:
            time.sleep(0.005)
        _thread.interrupt_main()

    interrupter = threading.Thread(target=interrupt_once_sending)
    interrupter.start()
    with pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish(events(20_000), APP, client=client, journal=tmp_path / "j", batch_size=100, progress=False)
    interrupter.join()
    status = caught.value.status
    sent = status[status["status"] == "sent"]
    assert 0 < len(sent) < 20_000
    with Journal(tmp_path / "j", APP) as journal:
        assert journal.count() == len(sent)
        assert journal.sent_mask(sent["timestamp"], sent["email"], sent["eventName"]).all()
    assert triples(sb.events(APP)) == triples(sent)


def test_deliver_prepared_is_publish_without_prepare(sb, client, tmp_path):
    frame = events(50)
    frame.loc[3, "email"] = "nobody"
    prepared = prepare_events(frame, PrepareOptions.from_kwargs())
    status = deliver_prepared(prepared, APP, client=client, journal=tmp_path / "j", batch_size=20)
    assert status["status"].value_counts()[["sent", "invalid"]].tolist() == [49, 1]
    assert status["batch"].max() == 2
    shutil.copy(tmp_path / "j", tmp_path / "copy")  # closed by the call: a plain copy is whole
    with Journal(tmp_path / "copy", APP) as copy:
        assert copy.count() == 49
