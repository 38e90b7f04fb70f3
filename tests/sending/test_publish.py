"""publish() end to end against the sandbox: every branch of the error policy.

After each test, what the sandbox stored equals exactly the rows marked ``sent``.
"""

from __future__ import annotations

import _thread
import importlib
import logging
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sandbox import Sandbox
from productiv_pandas.sandbox import server as sandbox_server

publish_module = importlib.import_module("productiv_pandas.sending._publish")  # the attribute is the function

APP = "acme"
CATALOG = {"opened_file", "shared_doc", "sso_login"}
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05)


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=CATALOG, login_events={"sso_login"})


@pytest.fixture
def client(sb):
    with sb.client(retry=FAST) as c:
        yield c


def events(n: int, *, index=None, minutes_ago: float = 60) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame(
        {
            "timestamp": [
                now - pd.Timedelta(minutes=minutes_ago) + pd.Timedelta(milliseconds=i) for i in range(n)
            ],
            "email": [f"user{i % 97}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        },
        index=index,
    )


def triples(frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    return set(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


def assert_stored_is_sent(sb: Sandbox, status: pd.DataFrame) -> None:
    stored = sb.events(APP)
    sent = status[status["status"] == "sent"]
    assert len(stored) == len(sent)
    assert triples(stored) == triples(sent)


def event_requests(sb: Sandbox):
    return [r for r in sb.requests if r.app_id is not None]


def test_everything_sent_with_index_order_and_batches(sb, client):
    frame = events(2500, index=[f"r{i}" for i in range(2500)][::-1])
    status = pp.publish(frame, APP, client=client, progress=False)
    assert list(status.index) == list(frame.index)
    assert (status["status"] == "sent").all()
    assert status["reason"].isna().all()
    assert status["batch"].tolist() == [i // 1000 for i in range(2500)]
    assert (status["http_status"] == 200).all()
    assert (status["attempts"] == 1).all()
    assert [r.events for r in event_requests(sb)] == [1000, 1000, 500] or sorted(
        r.events for r in event_requests(sb)
    ) == [500, 1000, 1000]
    assert_stored_is_sent(sb, status)


def test_every_status_in_one_run(sb, client):
    frame = events(6)
    frame.loc[1, "email"] = "bob@"  # invalid
    frame.loc[2] = frame.loc[0]  # duplicate of row 0
    frame.loc[3, "timestamp"] = pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=20)  # stale
    frame.loc[4, "eventName"] = "sso_login"  # Login without targetApp: invalid
    status = pp.publish(
        frame, APP, client=client, progress=False, on_stale="skip", login_events={"sso_login"}
    )
    assert status["status"].tolist() == ["sent", "invalid", "duplicate", "skipped", "invalid", "sent"]
    assert status.loc[1, "reason"] == "email 'bob@' has no domain"
    assert status.loc[2, "reason"] == "duplicate of row 0"
    assert status.loc[3, "reason"].startswith("stale: 20.0 hours old")
    assert pd.isna(status.loc[1, "batch"])
    assert pd.isna(status.loc[1, "attempts"])
    assert_stored_is_sent(sb, status)


def test_503_burst_is_retried(sb, client):
    sb.fail_next(3, status=503)
    status = pp.publish(events(1500), APP, client=client, progress=False, max_workers=1)
    assert (status["status"] == "sent").all()
    assert status["attempts"].max() == 4  # the first batch met all three 503s
    assert sorted(r.status for r in event_requests(sb)) == [200, 200, 503, 503, 503]
    assert_stored_is_sent(sb, status)


def test_retries_exhausted_fail_with_the_last_error(sb, client):
    sb.fail_next(100, status=503, message="maintenance window")
    status = pp.publish(events(30), APP, client=client, progress=False, batch_size=10, max_retries=2)
    assert (status["status"] == "failed").all()
    assert status["reason"].str.contains("maintenance window").all()
    assert (status["http_status"] == 503).all()
    assert (status["attempts"] == 3).all()
    assert len(event_requests(sb)) == 9
    assert_stored_is_sent(sb, status)


def test_429_retry_after_is_honoured(sb, client):
    sb.fail_next(1, status=429, retry_after=1)
    status = pp.publish(events(10), APP, client=client, progress=False)
    assert (status["status"] == "sent").all()
    limited, retried = event_requests(sb)
    assert limited.status == 429
    assert retried.status == 200
    assert retried.time - limited.time >= 0.99


def test_429_slows_the_whole_run(sb, client):
    sb.fail_next(1, status=429, retry_after=1)
    sb.set_delay(0.05)
    status = pp.publish(events(4000), APP, client=client, progress=False, batch_size=500, max_workers=4)
    assert (status["status"] == "sent").all()
    requests = event_requests(sb)
    first_429 = next(r for r in requests if r.status == 429)
    # The 429 reaches the client 50 ms after its request arrived (the delay). Requests already
    # on their way by then arrive within moments of it; after that no worker sends anything
    # until the second the server asked for has passed (0.1 s of slack for a busy machine).
    answered = first_429.time + 0.05
    late = [r for r in requests if answered + 0.1 < r.time < first_429.time + 0.99]
    assert late == []
    assert any(r.time >= first_429.time + 0.99 for r in requests)  # and then the run went on
    assert_stored_is_sent(sb, status)


def test_dropped_connections_are_retried_and_stored_once(sb, client):
    sb.drop_next(1)
    sb.drop_next(1, after_store=True)
    status = pp.publish(events(1200), APP, client=client, progress=False, max_workers=1)
    assert (status["status"] == "sent").all()
    assert sb.stats()["dropped"] == 2
    assert_stored_is_sent(sb, status)


def test_token_expiring_mid_run_is_renewed(sb, client):
    first = pp.publish(events(500, minutes_ago=30), APP, client=client, progress=False)
    sb.expire_tokens()
    second = pp.publish(events(500, minutes_ago=20), APP, client=client, progress=False)
    assert (first["status"] == "sent").all()
    assert (second["status"] == "sent").all()
    assert sb.stats()["token_requests"] == 2
    assert sorted(r.status for r in event_requests(sb)) == [200, 200, 401]
    assert second["attempts"].tolist() == [2] * 500


def test_refused_credentials_stop_the_run(sb):
    client = pp.ProductivClient(access_token="not-a-valid-token", base_url=sb.url, retry=FAST)
    status = pp.publish(events(5000), APP, client=client, progress=False, max_workers=2)
    assert (status["status"] == "failed").all()
    tried = status["http_status"] == 401
    assert 1 <= tried.sum() // 1000 <= 2
    assert status.loc[tried, "reason"].str.startswith("credentials refused").all()
    assert status.loc[~tried, "reason"].str.startswith("not attempted: the credentials were refused").all()
    assert len(event_requests(sb)) <= 2
    assert "not-a-valid-token" not in status.to_string()


@pytest.mark.parametrize(
    ("make_client", "app", "code"),
    [
        (
            lambda sb: pp.ProductivClient(access_token=sb.issue_token(scopes=("read",)), base_url=sb.url),
            APP,
            403,
        ),
        (lambda sb: sb.client(), "no-such-app", 404),
    ],
)
def test_403_and_404_stop_at_once(sb, make_client, app, code):
    status = pp.publish(events(5000), app, client=make_client(sb), progress=False, max_workers=2)
    rejected = status[status["status"] == "rejected"]
    failed = status[status["status"] == "failed"]
    assert len(rejected) + len(failed) == 5000
    assert 1000 <= len(rejected) <= 2000
    assert rejected["reason"].str.startswith(f"HTTP {code}: ").all()
    assert (rejected["http_status"] == code).all()
    assert failed["reason"].str.startswith(f"not attempted: the API answered HTTP {code}").all()
    assert failed["batch"].isna().all()
    assert len(event_requests(sb)) <= 2
    assert len(sb.events(APP)) == 0


def test_one_bad_row_among_1000_is_isolated(sb, client):
    frame = events(1000)
    frame.loc[637, "eventName"] = "opened_flie"  # not in the app's mapping: the server refuses it
    status = pp.publish(frame, APP, client=client, progress=False)
    assert status.loc[637, "status"] == "rejected"
    assert status.loc[637, "reason"].startswith("HTTP 422: ")
    assert "opened_flie" in status.loc[637, "reason"]
    assert (status.drop(index=637)["status"] == "sent").all()
    assert len(sb.events(APP)) == 999
    assert len(event_requests(sb)) <= 1 + 2 * 10  # binary search: two requests per level
    assert_stored_is_sent(sb, status)


def test_split_requests_are_capped(sb, client):
    frame = events(8)
    frame.loc[5, "eventName"] = "nope"
    status = pp.publish(frame, APP, client=client, progress=False, max_split_requests=2)
    assert len(event_requests(sb)) == 3
    assert status["status"].tolist() == ["sent"] * 4 + ["rejected"] * 4
    assert status.loc[5, "reason"].endswith(
        "(refused as a group of 4 rows: splitting stopped after 2 extra requests for this batch)"
    )
    assert_stored_is_sent(sb, status)


def test_413_splits_the_batch_and_rejects_only_the_rows_too_large(sb, client, monkeypatch):
    # The server's limit is not known in advance: a batch over it is halved until what fits is
    # sent, and a single row still over it is rejected with the 413, like a 422's bad row.
    # Values within the schema's length limits (targetApp <= 1000 characters): a server's own
    # limit can still be lower.
    monkeypatch.setattr(sandbox_server, "MAX_BODY_BYTES", 1_000)
    frame = events(60)
    huge = [7, 31, 32]
    frame.loc[huge, "eventName"] = "sso_login"
    frame["targetApp"] = pd.Series({i: f"app-{i}-" + "x" * 980 for i in huge}, dtype=object)
    status = pp.publish(frame, APP, client=client, progress=False, batch_size=15)
    assert status.loc[huge, "status"].tolist() == ["rejected"] * 3
    assert status.loc[huge, "http_status"].tolist() == [413] * 3
    assert status.loc[huge, "reason"].str.startswith("HTTP 413: body of ").all()
    assert (status.drop(index=huge)["status"] == "sent").all()
    assert_stored_is_sent(sb, status)
    assert len(sb.events(APP)) == 57


@pytest.mark.parametrize("size", [0, 1001, 2.5, True])
def test_batch_size_must_fit_the_api(client, size):
    with pytest.raises(ValueError, match="batch_size"):
        pp.publish(events(3), APP, client=client, progress=False, batch_size=size)


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


def test_republishing_the_failed_rows_completes_the_job(sb, client):
    sb.fail_next(100, status=503)
    frame = events(50)
    first = pp.publish(frame, APP, client=client, progress=False, batch_size=25, max_retries=0)
    assert (first["status"] == "failed").all()
    sb.reset()  # the outage is over
    sb.add_app(APP, events=CATALOG, login_events={"sso_login"})
    retry = pp.publish(frame.loc[first["status"] == "failed"], APP, client=client, progress=False)
    assert (retry["status"] == "sent").all()
    assert len(sb.events(APP)) == 50


def test_accessor_publish_logs_a_summary_and_keeps_secrets(sb, caplog):
    client = sb.client(retry=FAST)
    with caplog.at_level(logging.DEBUG, logger="productiv_pandas"):
        status = events(20).productiv.publish(APP, client=client, progress=False)
    assert (status["status"] == "sent").all()
    assert "published to acme: 20 sent" in caplog.text
    assert sb.client_secret not in caplog.text
    assert sb.client_secret not in repr(client)


def test_stale_rows_warn_and_are_sent(sb, client):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = pp.publish(events(5, minutes_ago=60 * 13), APP, client=client, progress=False)
    assert [w.category for w in caught] == [pp.StaleEventWarning]
    assert (status["status"] == "sent").all()
    assert status["stale"].all()


def test_nothing_to_send_sends_nothing(sb, client):
    frame = events(3)
    frame["email"] = "nobody"
    status = pp.publish(frame, APP, client=client, progress=False)
    assert (status["status"] == "invalid").all()
    assert event_requests(sb) == []


@pytest.mark.parametrize("workers", [0, -1, 1.5])
def test_max_workers_must_be_positive(client, workers):
    with pytest.raises(ValueError, match="max_workers"):
        pp.publish(events(3), APP, client=client, max_workers=workers)


def test_status_columns_and_dtypes(sb, client):
    status = pp.publish(events(3), APP, client=client, progress=False)
    assert list(status.columns) == [
        "timestamp", "email", "eventName", "targetApp", "status", "reason", "problem", "stale",
        "batch", "http_status", "attempts",
    ]  # fmt: skip
    assert list(status["status"].cat.categories) == list(pp.STATUSES)
    for name in ("timestamp", "batch", "http_status", "attempts"):
        assert status[name].dtype == "Int64"
    assert status["stale"].dtype == np.bool_


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
