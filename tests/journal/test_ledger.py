"""A journal with publish, against the sandbox: a re-run sends only what the journal does not hold,
a split batch records exactly the rows sent, Ctrl-C leaves every acknowledged batch recorded, and
a journal that is another app's or cannot be written stops the run before sending.
"""

from __future__ import annotations

import _thread
import shutil
import threading
import time

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.journal._store import Journal
from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sending._publish import deliver_prepared
from productiv_pandas.sending._settings import SendSettings

APP = "acme"
CATALOG = {"opened_file", "shared_doc"}
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05)


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
    status = deliver_prepared(
        prepared, SendSettings(APP, client=client, journal=tmp_path / "j", batch_size=20)
    )
    assert status["status"].value_counts()[["sent", "invalid"]].tolist() == [49, 1]
    assert status["batch"].max() == 2
    shutil.copy(tmp_path / "j", tmp_path / "copy")  # closed by the call: a plain copy is whole
    with Journal(tmp_path / "copy", APP) as copy:
        assert copy.count() == 49
