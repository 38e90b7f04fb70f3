"""publish's error policy per answer of the API, against the sandbox: 5xx and 429 retried, dropped
connections, a token renewed mid-run, 401/403/404 stopping the run, 400/422/413 split until
the refused rows are isolated.

After each test, what the sandbox stored equals exactly the rows marked ``sent``.
"""

from __future__ import annotations

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sandbox import server as sandbox_server
from tests.helpers.publishing import APP, FAST, assert_stored_is_sent, event_requests, events


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
            lambda sb: pp.ProductivClient(
                access_token=sb.issue_token(scopes=(sb.READ_SCOPE,)), base_url=sb.url
            ),
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
