"""publish() end to end against the sandbox: every row sent in order and batches, every status in
one run, the arguments it refuses, stale rows, the status frame's columns.

After each test, what the sandbox stored equals exactly the rows marked ``sent``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from tests.helpers.publishing import APP, CATALOG, FAST, assert_stored_is_sent, event_requests, events


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


@pytest.mark.parametrize("size", [0, 1001, 2.5, True])
def test_batch_size_must_fit_the_api(client, size):
    with pytest.raises(ValueError, match="batch_size"):
        pp.publish(events(3), APP, client=client, progress=False, batch_size=size)


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
