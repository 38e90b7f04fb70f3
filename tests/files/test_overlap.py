"""publish_chunks (and so publish_file, publish_sql: one pass, files/_pass.py) reads and prepares
the next chunk, in the calling thread, while the current one is sent by worker threads
(sending/_relay.py); one chunk ahead at most. Checked against a real sandbox with 50 ms added to
every answer and one worker, so each chunk of 4 batches takes ~200 ms on the wire and the
order of events is plain: when each chunk was asked for, when each request arrived.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.files._run import ChunkRun
from productiv_pandas.sandbox import Sandbox
from productiv_pandas.sending._delivery import Run
from tests.helpers.publishing import APP, assert_stored_is_sent, events, triples

ROWS = 200  # a chunk: 4 batches of 50
LOST_REASON = "internal error: no outcome was recorded for this row"
SEND = {"batch_size": 50, "max_workers": 1, "progress": False}


@pytest.fixture
def sb(sandbox_with) -> Sandbox:
    sandbox = sandbox_with(APP)
    sandbox.set_delay(0.05)
    return sandbox


class Chunks:
    """Chunks of ``events``, recording when each is asked for (and what the sandbox held then);
    ``fail_at``: the chunk whose reading raises ``error`` instead."""

    def __init__(self, sb: Sandbox, count: int, fail_at: int | None = None, error=None) -> None:
        self.sb, self.frame, self.fail_at, self.error = sb, events(ROWS * count), fail_at, error
        self.asked: list[float] = []
        self.stored: list[int] = []
        self.threads: set[str] = set()

    def __iter__(self):
        for k in range(0, len(self.frame), ROWS):
            self.asked.append(time.monotonic())
            self.stored.append(len(self.sb.events(APP)))
            self.threads.add(threading.current_thread().name)
            if len(self.asked) - 1 == self.fail_at:
                raise self.error
            yield self.frame.iloc[k : k + ROWS]


def requests_of(sb: Sandbox) -> list[float]:
    return [r.time for r in sb.requests if r.app_id is not None]


def test_the_next_chunk_is_read_while_this_one_is_sent_one_ahead_at_most(sb, tmp_path):
    chunks = Chunks(sb, 4)
    out = tmp_path / "status.parquet"
    with sb.client() as client:
        report = pp.publish_chunks(chunks, APP, client=client, status_out=out, **SEND)
    status = pd.read_parquet(out)
    assert report.counts["sent"] == 800
    assert_stored_is_sent(sb, status)
    arrived = requests_of(sb)
    assert len(arrived) == 16  # 4 a chunk, none more: no chunk sent twice
    for k in range(1, 4):
        # chunk k was asked for before chunk k-1's last request even reached the server ...
        assert chunks.asked[k] < arrived[4 * k - 1], k
        # ... but only once chunk k-2 was sent, all of it: never two chunks ahead
        assert chunks.stored[k] >= ROWS * (k - 1), k
    assert chunks.threads == {threading.main_thread().name}  # the iterable stays in the caller's thread
    assert status["batch"].tolist() == [n for n in range(16) for _ in range(50)]  # numbered across chunks
    assert pd.Index(status.index).equals(pd.RangeIndex(800))


def test_an_error_reading_the_next_chunk_still_sends_and_writes_the_one_on_the_wire(sb, tmp_path):
    chunks = Chunks(sb, 4, fail_at=2, error=RuntimeError("the database went away"))
    out = tmp_path / "status.csv"
    with sb.client() as client, pytest.raises(RuntimeError) as caught:
        pp.publish_chunks(chunks, APP, client=client, status_out=out, **SEND)
    assert chunks.stored[2] < 2 * ROWS  # it raised while chunk 1 was on the wire
    assert caught.value.__notes__ == [
        f"The 400 rows before it have a status, written to {str(out)!r} (400 sent): fix the source and "
        "publish it again (with journal= to skip the rows already sent)"
    ]
    status = pd.read_csv(out, index_col=0)
    assert status.index.tolist() == list(range(400))
    assert (status["status"] == "sent").all()
    assert triples(sb.events(APP)) == triples(status)


def test_a_bad_chunk_ahead_keeps_the_outcome_of_the_one_on_the_wire(sb, tmp_path):
    chunks = Chunks(sb, 3, fail_at=1, error=pp.ConfigurationError("chunk 1 has no email column"))
    out = tmp_path / "status.csv"
    with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
        pp.publish_chunks(chunks, APP, client=client, status_out=out, **SEND)
    assert str(caught.value) == (
        f"chunk 1 has no email column; the 200 rows before it have a status, written to {str(out)!r} "
        "(200 sent): fix the source and publish it again (with journal= to skip the rows already sent)"
    )
    assert (pd.read_csv(out, index_col=0)["status"] == "sent").sum() == len(sb.events(APP)) == 200


def test_ctrl_c_while_the_next_chunk_is_read_stops_the_one_on_the_wire(sb, tmp_path):
    chunks = Chunks(sb, 4, fail_at=2, error=KeyboardInterrupt())
    out, journal = tmp_path / "status.parquet", tmp_path / "run.journal"
    with sb.client() as client, pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish_chunks(chunks, APP, client=client, status_out=out, journal=journal, **SEND)
    status = pd.read_parquet(out)
    sent = int((status["status"] == "sent").sum())
    assert str(caught.value) == (
        f"publish of the chunks interrupted: 400 rows have a status, written to {str(out)!r} "
        f"({sent:,} sent); the rows from row 400 on were not read, so not sent. Publish again "
        "with the same journal to send only what is missing."
    )
    assert caught.value.status.index.tolist() == list(range(200, 400))  # the chunk on the wire
    assert (status.loc[:199, "status"] == "sent").all()
    assert 200 <= sent < 400  # the request in flight came back within the grace; no other started
    second = status.loc[200:]
    assert (second.loc[second["status"] != "sent", "reason"] == "interrupted").all()
    assert_stored_is_sent(sb, status)
    with pp.Journal(journal, APP) as opened:
        assert opened.count() == sent


def test_ctrl_c_after_a_chunk_came_back_and_before_its_status_is_written_still_writes_it(
    sb, tmp_path, monkeypatch
):
    # The chunk's rows were sent: its status must reach the file, and the message count them.
    chunks = Chunks(sb, 3)
    out = tmp_path / "status.csv"
    write, calls = ChunkRun.write, []

    def interrupted_once(self, status, writer):
        calls.append(len(status))
        if len(calls) == 2:  # chunk 1 is back, nothing of it written yet
            raise KeyboardInterrupt
        return write(self, status, writer)

    monkeypatch.setattr(ChunkRun, "write", interrupted_once)
    with sb.client() as client, pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish_chunks(chunks, APP, client=client, status_out=out, **SEND)
    status = pd.read_csv(out, index_col=0)
    assert status.index.tolist() == list(range(400))
    assert (status["status"] == "sent").all()
    assert_stored_is_sent(sb, status)
    assert str(caught.value) == (
        f"publish of the chunks interrupted: 400 rows have a status, written to {str(out)!r} "
        "(400 sent); the rows from row 400 on were not read, so not sent. Pass journal= to be "
        "able to resume without sending rows twice."
    )
    assert caught.value.status.index.tolist() == list(range(200, 400))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the bug, shown
def test_a_worker_lost_to_a_bug_does_not_hang_the_run(sb, tmp_path, monkeypatch):
    # deliver catches every Exception; something else escaping it (a bug) ends that worker
    # only: its batch's rows say so, the other workers send the rest, the run ends.
    deliver, calls = Run.deliver, []

    def lost_once(self, batch):
        calls.append(batch)
        if len(calls) == 2:
            raise SystemExit("a bug")
        return deliver(self, batch)

    monkeypatch.setattr(Run, "deliver", lost_once)
    out = tmp_path / "status.csv"
    with sb.client() as client:
        report = pp.publish_chunks(
            Chunks(sb, 2), APP, client=client, status_out=out, **{**SEND, "max_workers": 2}
        )
    status = pd.read_csv(out, index_col=0)
    assert report.counts[["sent", "failed"]].tolist() == [350, 50]
    failed = status[status["status"] == "failed"]
    assert failed.index.tolist() == list(range(50, 100))  # batch 1, the one lost
    assert failed["reason"].unique().tolist() == [LOST_REASON]
    assert_stored_is_sent(sb, status)


class RefusingClient:
    """A real client, except that its ``at``-th request is refused with HTTP 403."""

    def __init__(self, sb: Sandbox, client, at: int) -> None:
        self.sb, self.client, self.at, self.calls = sb, client, at, 0

    def post_events(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            self.sb.fail_next(1, status=403)
        return self.client.post_events(*args, **kwargs)


def test_a_403_mid_chunk_leaves_the_chunk_ahead_not_attempted(sb, tmp_path):
    chunks = Chunks(sb, 4)
    out = tmp_path / "status.csv"
    with sb.client() as client:
        report = pp.publish_chunks(
            chunks, APP, client=RefusingClient(sb, client, at=6), status_out=out, **SEND
        )
    status = pd.read_csv(out, index_col=0)
    assert len(requests_of(sb)) == 6  # chunk 0's four, chunk 1's first two
    assert report.counts[["sent", "rejected", "failed"]].tolist() == [250, 50, 500]
    assert status.loc[250:299, "reason"].str.startswith("HTTP 403").all()
    later = status.loc[300:, "reason"]
    assert later.str.startswith("not attempted: the API answered HTTP 403").all()
    assert status.loc[400:, "batch"].isna().all()  # the chunks ahead: never put on the wire
    assert len(chunks.asked) == 4  # the rest is still read, each row given its status
    assert_stored_is_sent(sb, status)


def test_no_sending_thread_outlives_the_run(sb):
    with sb.client() as client:
        pp.publish_chunks(Chunks(sb, 2), APP, client=client, **SEND)
        with pytest.raises(pp.PublishInterrupted):
            pp.publish_chunks(Chunks(sb, 3, fail_at=1, error=KeyboardInterrupt()), APP, client=client, **SEND)
    assert [t.name for t in threading.enumerate() if t.name.startswith("productiv-publish")] == []
