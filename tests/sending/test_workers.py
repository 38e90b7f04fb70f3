"""The sending threads and Ctrl-C, in process: publish raises PublishInterrupted with every row's
status so far, the batches the server stored stay ``sent``, and no thread outlives the run.

The same with a real SIGINT to a real subprocess is in test_interrupts.py.
"""

from __future__ import annotations

import _thread
import importlib
import threading
import time

import pytest

import productiv_pandas as pp
from tests.helpers.publishing import APP, assert_stored_is_sent, events

publish_module = importlib.import_module("productiv_pandas.sending._publish")  # the attribute is the function


@pytest.mark.slow
def test_ctrl_c_raises_with_the_status_so_far(sb, client):
    sb.set_delay(0.1)
    frame = events(20_000)
    started: list[float] = []

    def interrupt_once_sending() -> None:
        # Not a fixed timer: on a busy machine prepare alone may outlast it, and a Ctrl-C
        # during prepare is a plain KeyboardInterrupt (nothing was sent).
        while sb.stats()["events_stored"] < 500:
            time.sleep(0.01)
        started.append(time.monotonic())
        _thread.interrupt_main()

    threading.Thread(target=interrupt_once_sending, daemon=True).start()
    with pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish(frame, APP, client=client, progress=False, batch_size=100, max_workers=2)
    assert time.monotonic() - started[0] < 2  # stops promptly
    status = caught.value.status
    assert list(status.index) == list(frame.index)
    sent = status["status"] == "sent"
    assert 0 < sent.sum() < 20_000
    assert set(status["status"]) == {"sent", "failed"}
    assert (status.loc[~sent, "reason"] == "interrupted").all()
    assert not [t for t in threading.enumerate() if t.name.startswith("productiv-publish")]
    assert_stored_is_sent(sb, status)


class _InterruptingClient:
    """Delegates to a real client; its first request raises Ctrl-C in the main thread first.

    The main thread is then still submitting batches, the moment an interrupt used to lose
    the outcome of a batch the server had already stored.
    """

    def __init__(self, client) -> None:
        self._client = client
        self._first = threading.Lock()

    def post_events(self, *args, **kwargs):
        if self._first.acquire(blocking=False):
            _thread.interrupt_main()
            time.sleep(0.05)  # let the main thread take the interrupt while this request goes out
        return self._client.post_events(*args, **kwargs)


@pytest.mark.parametrize("workers", [1, 4])
def test_ctrl_c_while_submitting_keeps_the_stored_batches_sent(sb, client, workers):
    frame = events(5_000)
    with pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish(
            frame,
            APP,
            client=_InterruptingClient(client),
            progress=False,
            batch_size=100,
            max_workers=workers,
        )
    status = caught.value.status
    assert not [t for t in threading.enumerate() if t.name.startswith("productiv-publish")]
    assert set(status["status"]) <= {"sent", "failed"}
    assert (status.loc[status["status"] == "failed", "reason"] == "interrupted").all()
    assert_stored_is_sent(sb, status)


def test_ctrl_c_during_prepare_still_gives_every_row_a_status(sb, client, monkeypatch):
    frame = events(50, index=[f"r{i}" for i in range(50)])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(publish_module, "prepare_events", interrupted)
    with pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish(frame, APP, client=client, progress=False)
    status = caught.value.status
    assert list(status.index) == list(frame.index)
    assert list(status.columns) == list(pp.validate(events(1)).columns)
    assert (status["status"] == "failed").all()
    assert (status["reason"] == "interrupted").all()
    assert status["batch"].isna().all()
    assert sb.stats()["event_requests"] == 0


def test_ctrl_c_before_the_first_request_settles_the_rows_to_send(sb, client, monkeypatch):
    frame = events(30)
    frame.loc[3, "email"] = "nobody"  # invalid: keeps its own status

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(publish_module, "progress_bar", interrupted)  # just before sending
    with pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish(frame, APP, client=client, progress=False)
    status = caught.value.status
    assert status.loc[3, "status"] == "invalid"
    rest = status.drop(index=3)
    assert (rest["status"] == "failed").all()
    assert (rest["reason"] == "interrupted").all()
    assert sb.stats()["event_requests"] == 0


def test_no_thread_outlives_publish_not_even_the_progress_bars(sb, client):
    before = set(threading.enumerate())
    for progress in (False, True):
        status = pp.publish(events(2000), APP, client=client, progress=progress, batch_size=500)
        assert (status["status"] == "sent").all()
    left = [t.name for t in set(threading.enumerate()) - before if "process_request" not in t.name]
    assert left == []
