"""Contract tests of the sandbox, spoken with plain ``requests`` and raw sockets.

Not through the toolkit's client on purpose: these tests pin what the server does on the wire
(status, headers, exact error bodies), so the client's own tests can trust it.
"""

from __future__ import annotations

import base64
import doctest
import http.client
import io
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pandas as pd
import pytest
import requests

from productiv_pandas.sandbox import RequestRecord, Sandbox, contract, core, serve_in_foreground

DEMO = Sandbox.DEMO_APP
T0 = 1_700_000_000_000
WRITE = Sandbox.WRITE_SCOPE
READ = Sandbox.READ_SCOPE


@pytest.fixture(scope="module")
def server():
    apps = {
        DEMO: {"login_events": ["sso_login"]},
        "mapped": {"events": ["opened_file", "shared_file"], "login_events": ["sso_login"]},
    }
    with Sandbox(apps=apps) as sandbox:
        yield sandbox


@pytest.fixture
def sb(server):
    server.reset()
    yield server
    # Errors in the server thread surface in the test that caused them.
    assert server.server_errors == []


@pytest.fixture
def token(sb):
    return sb.issue_token()


def event(i: int = 0, **fields) -> dict:
    base = {"timestamp": T0 + i, "email": f"user{i}@example.com", "eventName": "opened_file"}
    base.update(fields)
    return {name: value for name, value in base.items() if value is not ...}


def post(sb, body, token=None, *, app=DEMO, headers=None, session=None, **kwargs) -> requests.Response:
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, bytes | str):
        headers.setdefault("Content-Type", "application/json")
        kwargs["data"] = body
    else:
        kwargs["json"] = body
    return (session or requests).post(sb.events_url(app), headers=headers, timeout=5, **kwargs)


def assert_error(response: requests.Response, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "success"}
    assert body["code"] == str(status)
    assert body["success"] is False
    for fragment in fragments:
        assert fragment in body["message"]
    return body["message"]


def form_token(sb, auth=None, **form) -> requests.Response:
    return requests.post(sb.token_url, data=form, auth=auth, timeout=5)


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def raw_exchange(sb, data: bytes, *, shut_write: bool = False) -> bytes:
    host, port = sb.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def assert_still_serving(sb) -> None:
    assert post(sb, {"events": [event(999)]}, sb.issue_token()).status_code == 200


# -- success and storage ---------------------------------------------------------------------------


def test_accepted_events_are_stored_with_their_fields(sb, token):
    batch = [event(0), event(1, eventName="sso_login", targetApp="Slack")]
    response = post(sb, {"events": batch}, token)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    frame = sb.events()
    assert list(frame.columns) == ["timestamp", "email", "eventName", "targetApp"]
    assert frame["timestamp"].dtype == "int64"
    assert frame["timestamp"].tolist() == [T0, T0 + 1]
    assert frame["eventName"].tolist() == ["opened_file", "sso_login"]
    assert pd.isna(frame["targetApp"].iloc[0])
    assert frame["targetApp"].iloc[1] == "Slack"
    assert sb.stats()["events_stored"] == 2


def test_1000_events_are_accepted_and_1001_refused(sb, token):
    assert post(sb, {"events": [event(i) for i in range(1000)]}, token).status_code == 200
    assert len(sb.events()) == 1000
    response = post(sb, {"events": [event(i) for i in range(1001)]}, token)
    assert_error(response, 422, "1001 events", "at most 1000")
    assert len(sb.events()) == 1000


def test_duplicates_are_counted_and_stored_once(sb, token):
    batch = [event(0), event(1), event(0)]  # a duplicate within the batch, too
    assert post(sb, {"events": batch}, token).status_code == 200
    assert post(sb, {"events": [event(1), event(2)]}, token).status_code == 200
    stats = sb.stats()
    assert stats["events_received"] == 5
    assert stats["events_stored"] == 3
    assert stats["duplicates_received"] == 2
    assert sb.events()["timestamp"].tolist() == [T0, T0 + 1, T0 + 2]
    # Same time and email, another event name: a different event.
    assert post(sb, {"events": [event(0, eventName="shared_file")]}, token).status_code == 200
    assert len(sb.events()) == 4


def test_empty_events_list_is_accepted(sb, token):
    assert post(sb, {"events": []}, token).json() == {"success": True}
    assert sb.events().empty


def test_apps_store_their_events_separately(sb, token):
    assert post(sb, {"events": [event(0)]}, token, app="mapped").status_code == 200
    assert len(sb.events("mapped")) == 1
    assert sb.events(DEMO).empty
    with pytest.raises(KeyError, match="registered apps"):
        sb.events("nope")


# -- 401 and 403 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        (None, "missing Authorization"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer"),
        ("Bearer ", "must be 'Bearer"),
        ("Bearer not-a-token", "unknown token"),
    ],
)
def test_missing_or_unknown_token_is_401(sb, authorization, fragment):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = post(sb, {"events": [event()]}, headers=headers)
    assert_error(response, 401, fragment)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert sb.events().empty


def test_expire_tokens_makes_every_issued_token_401_and_new_ones_work(sb, token):
    sb.expire_tokens()
    assert_error(post(sb, {"events": [event()]}, token), 401, "expired")
    assert post(sb, {"events": [event()]}, sb.issue_token()).status_code == 200


def test_tokens_expire_after_their_lifetime():
    with Sandbox(token_lifetime=0.5) as short:
        answer = form_token(
            short,
            grant_type="client_credentials",
            client_id=short.client_id,
            client_secret=short.client_secret,
        ).json()
        assert answer["expires_in"] == 0.5
        assert post(short, {"events": [event()]}, answer["access_token"]).status_code == 200
        time.sleep(0.55)
        assert_error(post(short, {"events": [event(1)]}, answer["access_token"]), 401, "expired")


def test_token_without_write_scope_is_403(sb):
    answer = form_token(
        sb,
        grant_type="client_credentials",
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        scope=READ,
    ).json()
    assert answer["scope"] == READ
    assert_error(post(sb, {"events": [event()]}, answer["access_token"]), 403, WRITE)


def test_the_sandbox_knows_productivs_two_scopes():
    assert WRITE == "https://api.productiv.com/connector.write"
    assert READ == "https://api.productiv.com/report.read"


def test_a_report_read_token_is_issued_and_refused_by_the_events_endpoint(sb):
    answer = form_token(
        sb, auth=(sb.client_id, sb.client_secret), grant_type="client_credentials", scope=READ
    )
    assert answer.status_code == 200
    assert answer.json()["scope"] == "https://api.productiv.com/report.read"
    response = post(sb, {"events": [event()]}, answer.json()["access_token"])
    assert response.status_code == 403
    assert response.json() == {
        "code": "403",
        "message": "the access token has https://api.productiv.com/report.read but publishing usage "
        "events needs the scope https://api.productiv.com/connector.write; request it from the "
        "token endpoint",
        "success": False,
    }
    assert sb.events().empty


@pytest.mark.parametrize(
    "scope",
    [
        "https://api.productiv.com/connector.read",
        "connector.write",
        "admin",
        f"{WRITE} https://api.productiv.com/report.write",
    ],
)
def test_any_other_scope_is_400_invalid_scope(sb, scope):
    response = form_token(
        sb, auth=(sb.client_id, sb.client_secret), grant_type="client_credentials", scope=scope
    )
    assert response.status_code == 400
    unknown = sorted(set(scope.split()) - {WRITE})
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": f"unknown scopes {unknown}; known: ['{WRITE}', '{READ}']",
    }


def test_issue_token_refuses_a_scope_the_token_endpoint_would_not_issue(sb):
    with pytest.raises(ValueError, match=r"unknown scopes \['https://api.productiv.com/connector.read'\]"):
        sb.issue_token(["https://api.productiv.com/connector.read"])


def test_publishing_with_a_report_read_client_rejects_every_row_with_http_403(sb):
    import productiv_pandas as pp

    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {"timestamp": [now, now], "email": ["a@x.com", "b@x.com"], "eventName": ["view", "edit"]}
    )
    with sb.client(scope=READ) as client:
        status = pp.publish(frame, sb.DEMO_APP, client=client, progress=False)
    assert status["status"].tolist() == ["rejected", "rejected"]
    assert status["problem"].tolist() == ["http.403", "http.403"]
    assert status["reason"].str.contains("needs the scope https://api.productiv.com/connector.write").all()
    assert sb.events().empty


# -- 404, 400, 422 ---------------------------------------------------------------------------------


def test_unknown_app_is_404(sb, token):
    assert_error(post(sb, {"events": [event()]}, token, app="no-such-app"), 404, "'no-such-app'")


def test_unknown_path_is_404_and_wrong_method_405(sb, token):
    response = requests.post(sb.url + "/services/push/v1/events", timeout=5)
    assert_error(response, 404, "no such endpoint")
    response = requests.get(sb.events_url(), timeout=5)
    assert_error(response, 405)
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "headers", "query", "fragment"),
    [
        (b'{"events": []}', {}, "?dryRun=true", "unexpected query parameters ['dryRun']"),
        (b'{"events": []}', {"Content-Type": "text/plain"}, "", "Content-Type must be application/json"),
        (b'{"events": [', {}, "", "not valid JSON"),
        (b"", {}, "", "empty"),
        (b'{"events": ["\xff\xfe"]}', {}, "", "not valid UTF-8"),
        (b'{"events": [{"timestamp": NaN}]}', {}, "", "NaN is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, {}, "", "nested too deeply"),
    ],
    ids=["query", "content-type", "truncated-json", "empty", "non-utf8", "nan", "deep-nesting"],
)
def test_bad_request_is_400(sb, token, body, headers, query, fragment):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", **headers}
    response = requests.post(sb.events_url() + query, data=body, headers=headers, timeout=5)
    assert_error(response, 400, fragment)
    assert sb.events().empty


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, 'no "events" field'),
        ({"events": {"timestamp": T0}}, '"events" must be a list'),
        ({"events": [], "extra": 1}, "unexpected top-level fields ['extra']"),
        ([event()], "must be a JSON object"),
        ({"events": [event(), "x"]}, "events[1]: must be an object"),
        ({"events": [event(timestamp=T0 + 0.5)]}, "events[0]: timestamp must be an integer"),
        ({"events": [event(timestamp=float(T0))]}, "got 1700000000000.0 (float)"),
        ({"events": [event(timestamp=True)]}, "got True (bool)"),
        ({"events": [event(timestamp=str(T0))]}, "(str)"),
        ({"events": [event(timestamp=...)]}, "events[0]: timestamp is missing"),
        ({"events": [event(timestamp=T0 // 1000)]}, "seconds? multiply by 1000"),
        ({"events": [event(timestamp=T0 * 1000)]}, "divide by 1000"),
        ({"events": [event(email=...)]}, "events[0]: email is missing"),
        ({"events": [event(email=None)]}, "events[0]: email is missing"),
        ({"events": [event(email=7)]}, "email must be a string"),
        ({"events": [event(email="nobody")]}, "is not an email address"),
        ({"events": [event(eventName=...)]}, "eventName is missing"),
        ({"events": [event(eventName=["x"])]}, "eventName must be a string"),
        (
            {"events": [event(), event(1, eventName="sso_login")]},
            "events[1]: eventName 'sso_login' is a Login",
        ),
        ({"events": [event(eventName="sso_login", targetApp=None)]}, "targetApp must be a non-empty string"),
        ({"events": [event(colour="red")]}, "unexpected fields ['colour']"),
    ],
)
def test_contract_violations_are_422_naming_the_event(sb, token, body, fragment):
    assert_error(post(sb, body, token), 422, fragment)
    assert sb.events().empty


def test_event_name_outside_the_apps_mapping_is_422(sb, token):
    response = post(sb, {"events": [event(0), event(1, eventName="deleted_file")]}, token, app="mapped")
    assert_error(response, 422, "1 invalid event of 2", "events[1]: eventName 'deleted_file' is not in")
    login = event(2, eventName="sso_login", targetApp="Okta")  # Login events belong to the mapping
    assert post(sb, {"events": [event(0), login]}, token, app="mapped").status_code == 200


def test_422_lists_at_most_twenty_problems(sb, token):
    message = assert_error(post(sb, {"events": [event(i, email=1) for i in range(50)]}, token), 422)
    assert message.startswith("50 invalid events of 50: events[0]: email must be a string")
    assert message.count("events[") == 20
    assert message.endswith("and 30 more problems")


def test_checks_run_in_the_documented_order(sb):
    read_only = sb.issue_token([READ])
    bad = {"events": [event(email=1)]}
    assert_error(post(sb, bad, app="nope"), 401)
    assert_error(post(sb, bad, read_only, app="nope"), 403)
    assert_error(post(sb, b"not json", sb.issue_token(), app="nope"), 404)
    response = requests.post(
        sb.events_url() + "?x=1",
        json=bad,
        headers={"Authorization": f"Bearer {sb.issue_token()}"},
        timeout=5,
    )
    assert_error(response, 400)
    sb.set_rate_limit(1, 1)
    limited = sb.issue_token()
    assert post(sb, {"events": [event()]}, limited).status_code == 200
    assert_error(post(sb, bad, limited), 422)  # checked before the rate limit
    assert_error(post(sb, {"events": [event(1)]}, limited), 429)


# -- the token endpoint ----------------------------------------------------------------------------


def test_token_with_credentials_in_the_body(sb):
    response = form_token(
        sb, grant_type="client_credentials", client_id=sb.client_id, client_secret=sb.client_secret
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert answer["scope"] == WRITE
    assert response.headers["Cache-Control"] == "no-store"
    assert post(sb, {"events": [event()]}, answer["access_token"]).status_code == 200


def test_token_with_http_basic_credentials(sb):
    response = form_token(
        sb, auth=(sb.client_id, sb.client_secret), grant_type="client_credentials", scope=WRITE
    )
    assert response.status_code == 200
    assert post(sb, {"events": [event()]}, response.json()["access_token"]).status_code == 200


def test_token_carries_every_requested_scope(sb):
    answer = form_token(
        sb, auth=(sb.client_id, sb.client_secret), grant_type="client_credentials", scope=f"{READ} {WRITE}"
    )
    assert set(answer.json()["scope"].split()) == {READ, WRITE}
    assert post(sb, {"events": [event()]}, answer.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("where", ["body", "basic"])
def test_wrong_credentials_are_401_invalid_client(sb, where):
    if where == "body":
        response = form_token(
            sb, grant_type="client_credentials", client_id=sb.client_id, client_secret="wrong"
        )
    else:
        response = form_token(sb, auth=(sb.client_id, "wrong"), grant_type="client_credentials")
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin"}, 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "client_id": "someone-else"}, 401, "invalid_client"),
    ],
)
def test_token_request_errors(sb, form, status, error):
    response = form_token(sb, auth=(sb.client_id, sb.client_secret), **form)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_token_endpoint_wants_a_form_and_post(sb):
    response = requests.post(sb.token_url, json={"grant_type": "client_credentials"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert requests.get(sb.token_url, timeout=5).status_code == 405
    no_credentials = form_token(sb, grant_type="client_credentials")
    assert no_credentials.status_code == 401
    assert no_credentials.json()["error"] == "invalid_client"


# -- rate limit ------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_then_lets_the_client_in(sb, token):
    sb.set_rate_limit(2.0, 2)
    assert post(sb, {"events": [event(0)]}, token).status_code == 200
    assert post(sb, {"events": [event(1)]}, token).status_code == 200
    refused = post(sb, {"events": [event(2)]}, token)
    assert_error(refused, 429, "rate limit")
    assert refused.headers["Retry-After"] == "1"
    assert post(sb, {"events": [event(3)]}, sb.issue_token()).status_code == 200  # per token
    time.sleep(float(refused.headers["Retry-After"]))
    assert post(sb, {"events": [event(2)]}, token).status_code == 200
    assert sb.stats()["events_by_status"] == {200: 4, 429: 1}
    assert len(sb.events()) == 4


def test_default_rate_limit_allows_a_realistic_burst(sb, token):
    session = requests.Session()
    statuses = [post(sb, {"events": [event(i)]}, token, session=session).status_code for i in range(40)]
    assert statuses == [200] * 40
    sb.set_rate_limit(None)
    statuses = [post(sb, {"events": [event(i)]}, token, session=session).status_code for i in range(60)]
    assert statuses == [200] * 60


# -- fault injection -------------------------------------------------------------------------------


def test_fail_next_answers_the_next_requests_with_the_status(sb, token):
    sb.fail_next(2, status=503)
    assert_error(post(sb, {"events": [event()]}, token), 503, "Service Unavailable")
    assert_error(post(sb, {"events": [event()]}, None), 503)  # before any other check
    assert post(sb, {"events": [event()]}, token).status_code == 200
    assert sb.stats()["events_by_status"] == {200: 1, 503: 2}
    assert len(sb.events()) == 1


def test_fail_next_429_with_retry_after_and_message(sb, token):
    sb.fail_next(1, status=429, retry_after=0.2, message="slow down")
    sb.fail_next(1, status=500, retry_after=3)
    first = post(sb, {"events": [event()]}, token)
    assert first.json() == {"code": "429", "message": "slow down", "success": False}
    assert first.headers["Retry-After"] == "0.2"
    second = post(sb, {"events": [event()]}, token)
    assert_error(second, 500, "Internal Server Error")
    assert second.headers["Retry-After"] == "3"
    assert post(sb, {"events": [event()]}, token).status_code == 200


def test_fail_next_429_says_retry_after_1_unless_told_otherwise(sb, token):
    sb.fail_next(1, status=429)
    sb.fail_next(1, status=429, retry_after=0)
    sb.fail_next(1, status=503)
    default = post(sb, {"events": [event()]}, token)
    assert_error(default, 429, "Too Many Requests")
    assert default.headers["Retry-After"] == "1"  # as the sandbox's own rate limiter says
    assert post(sb, {"events": [event()]}, token).headers["Retry-After"] == "0"  # explicit wins
    unavailable = post(sb, {"events": [event()]}, token)
    assert_error(unavailable, 503, "Service Unavailable")
    assert "Retry-After" not in unavailable.headers
    assert sb.stats()["events_by_status"] == {429: 2, 503: 1}


def test_request_log_shows_when_each_request_arrived(sb, token):
    sb.fail_next(1, status=429, retry_after=0.2)
    post(sb, {"events": [event(0), event(1)]}, token)
    time.sleep(0.2)
    post(sb, {"events": [event(0), event(1)]}, token)
    first, second = sb.requests
    assert isinstance(first, RequestRecord)
    assert (first.method, first.status, first.events, first.app_id) == ("POST", 429, 2, DEMO)
    assert first.path == "/services/push/v1/customer/apps/demo-app/events"
    assert second.status == 200
    assert second.time - first.time >= 0.2
    assert 0 < second.handle_seconds < 0.5


def test_set_delay_delays_every_events_response(sb, token):
    sb.set_delay(0.2)
    started = time.monotonic()
    assert post(sb, {"events": [event()]}, token).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert sb.requests[-1].handle_seconds < 0.1  # server time excludes the injected delay
    sb.set_delay(0)
    started = time.monotonic()
    post(sb, {"events": [event(1)]}, token)
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize("after_store", [False, True])
def test_drop_next_closes_the_connection_without_answering(sb, token, after_store):
    sb.drop_next(1, after_store=after_store)
    session = requests.Session()
    with pytest.raises(requests.ConnectionError):
        post(sb, {"events": [event(0), event(1)]}, token, session=session)
    assert len(sb.events()) == (2 if after_store else 0)
    assert sb.requests[-1].status == 0
    assert sb.stats()["dropped"] == 1
    # The retry is served (and is a duplicate when the dropped batch had been stored).
    assert post(sb, {"events": [event(0), event(1)]}, token, session=session).status_code == 200
    assert sb.stats()["duplicates_received"] == (2 if after_store else 0)


def test_faults_are_spent_in_the_order_scripted(sb, token):
    sb.fail_next(1, status=500)
    sb.drop_next(1)
    sb.fail_next(1, status=503)
    assert post(sb, {"events": [event()]}, token).status_code == 500
    with pytest.raises(requests.ConnectionError):
        post(sb, {"events": [event()]}, token)
    assert post(sb, {"events": [event()]}, token).status_code == 503
    assert post(sb, {"events": [event()]}, token).status_code == 200


# -- life cycle, keep-alive, reset -----------------------------------------------------------------


def test_start_is_fast_and_stop_frees_the_port():
    started = time.monotonic()
    sandbox = Sandbox().start()
    assert time.monotonic() - started < 0.5
    answer = requests.post(sandbox.events_url(), json={"events": [event()]}, timeout=5)
    assert answer.status_code == 401  # ready when start() returned
    port = int(sandbox.url.rsplit(":", 1)[1])
    session = requests.Session()
    assert post(sandbox, {"events": [event()]}, sandbox.issue_token(), session=session).status_code == 200
    stopped = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - stopped < 0.5
    sandbox.stop()  # twice is fine
    with pytest.raises(requests.ConnectionError):  # not even over the pooled keep-alive connection
        post(sandbox, {"events": [event()]}, sandbox.issue_token(), session=session)
    with socket.socket() as probe:  # as any server binds: closed connections may linger in TIME_WAIT
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    with Sandbox(port=port) as again:  # the same port can be served again
        assert again.url == sandbox.url


def test_url_before_start_raises_and_double_start_raises():
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not been started"):
        sandbox.url  # noqa: B018
    with sandbox, pytest.raises(RuntimeError, match="already running"):
        sandbox.start()


def test_keep_alive_serves_many_requests_on_one_connection(sb, token):
    host, port = sb.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.connect()
    first_socket = connection.sock
    for i in range(5):
        body = b'{"events": [{"timestamp": %d, "email": "a@b.com", "eventName": "x"}]}' % (T0 + i)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        connection.request("POST", "/services/push/v1/customer/apps/demo-app/events", body, headers)
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == b'{"success": true}'
        assert connection.sock is first_socket
    connection.close()
    assert len(sb.events()) == 5


def test_reset_forgets_everything_but_apps_and_credentials(sb, token):
    sb.add_app("extra", events=["x"])
    post(sb, {"events": [event()]}, token)
    sb.fail_next(3)
    sb.set_delay(1)
    sb.set_rate_limit(0.1, 1)
    sb.reset()
    assert sb.stats()["requests"] == 0
    assert sb.requests == []
    assert sb.events().empty
    assert "extra" in sb.apps
    started = time.monotonic()
    statuses = [post(sb, {"events": [event(i)]}, token).status_code for i in range(3)]
    assert statuses == [200, 200, 200]  # no faults, no delay, default rate limit back
    assert time.monotonic() - started < 1
    assert form_token(sb, auth=(sb.client_id, sb.client_secret), grant_type="client_credentials").ok


def test_apps_as_a_list_of_ids():
    sandbox = Sandbox(apps=["billing", DEMO])
    assert set(sandbox.apps) == {"billing", DEMO}
    assert sandbox.apps["billing"].events is None
    assert sandbox.apps[DEMO].login_events == frozenset({"sso_login"})
    with pytest.raises(TypeError):
        Sandbox(apps="billing")


def test_concurrent_publishers_are_counted_exactly(sb, token):
    sb.set_rate_limit(None)

    def publish(worker: int) -> None:
        session = requests.Session()
        for batch in range(10):
            events = [event(worker * 10_000 + batch * 100 + i) for i in range(100)]
            assert post(sb, {"events": events}, token, session=session).status_code == 200

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = sb.stats()
    assert stats["events_stored"] == stats["events_received"] == 6000
    assert stats["by_status"] == {200: 60}
    assert len(sb.events()) == 6000


# -- bad input never kills the server --------------------------------------------------------------

EVENTS_TARGET = b"/services/push/v1/customer/apps/demo-app/events"


def test_truncated_body_is_400_and_the_server_goes_on(sb):
    request = b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"events"' % EVENTS_TARGET
    answer = raw_exchange(sb, request, shut_write=True)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"body truncated: 9 of 100 bytes" in answer
    assert_still_serving(sb)


def test_huge_body_is_413_without_reading_it(sb):
    request = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" % EVENTS_TARGET
    answer = raw_exchange(sb, request)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code": "413"' in answer
    assert_still_serving(sb)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["no-request-line", "unknown-method", "bad-length", "unknown-coding", "bad-chunk", "huge-header"],
)
def test_malformed_requests_get_an_error_and_the_server_goes_on(sb, request_bytes):
    answer = raw_exchange(sb, request_bytes, shut_write=True)
    assert b'"success": false' in answer
    assert_still_serving(sb)


def test_client_disconnecting_mid_request_does_not_hurt(sb, token):
    host, port = sb.url.removeprefix("http://").split(":")
    for _ in range(3):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b'POST %s HTTP/1.1\r\nContent-Length: 5000\r\n\r\n{"ev' % EVENTS_TARGET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, mid-body
    assert_still_serving(sb)


def test_chunked_body_is_accepted(sb, token):
    chunks = iter(
        [b'{"events": [', b'{"timestamp": 1700000000000, "email": "a@b.com",', b' "eventName": "x"}]}']
    )
    response = requests.post(
        sb.events_url(),
        data=chunks,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 200
    assert len(sb.events()) == 1


def test_server_errors_are_logged_counted_and_answered_500(caplog):
    with Sandbox() as sandbox:

        def broken_store(app_id, rows):
            raise RuntimeError("disk on fire")

        sandbox._state.store = broken_store
        with caplog.at_level(logging.ERROR, logger="productiv_pandas.sandbox"):
            response = post(sandbox, {"events": [event()]}, sandbox.issue_token())
        assert_error(response, 500, "RuntimeError: disk on fire")
        assert sandbox.stats()["server_errors"] == 1
        assert "disk on fire" in sandbox.server_errors[0]
        assert "disk on fire" in caplog.text


# -- the toolkit's client and the command line -----------------------------------------------------


def test_client_is_built_from_the_sandbox_credentials(sb, monkeypatch):
    calls = []

    class FakeClient:
        @classmethod
        def from_client_credentials(cls, *args, **kwargs):
            calls.append((args, kwargs))
            return cls()

    module = types.ModuleType("productiv_pandas.client._client")
    module.ProductivClient = FakeClient
    monkeypatch.setitem(sys.modules, "productiv_pandas.client._client", module)
    assert isinstance(sb.client(timeout=3), FakeClient)
    assert calls == [
        ((sb.client_id, sb.client_secret), {"token_url": sb.token_url, "base_url": sb.url, "timeout": 3})
    ]


@pytest.mark.slow
def test_sandbox_command_serves_until_ctrl_c():
    script = Path(sys.executable).with_name("productiv-pandas")
    process = subprocess.Popen(
        [str(script), "sandbox", "--port", "0", "--app", "billing"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports = {}
        for line in process.stdout:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = value
            if "PRODUCTIV_CLIENT_SECRET" in exports:
                break
        assert set(exports) == {
            "PRODUCTIV_API_URL",
            "PRODUCTIV_TOKEN_URL",
            "PRODUCTIV_CLIENT_ID",
            "PRODUCTIV_CLIENT_SECRET",
        }
        credentials = base64.b64encode(
            f"{exports['PRODUCTIV_CLIENT_ID']}:{exports['PRODUCTIV_CLIENT_SECRET']}".encode()
        ).decode()
        answer = requests.post(
            exports["PRODUCTIV_TOKEN_URL"],
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {credentials}"},
            timeout=5,
        )
        token = answer.json()["access_token"]
        base = exports["PRODUCTIV_API_URL"] + "/services/push/v1/customer/apps"
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.post(f"{base}/billing/events", json={"events": [event()]}, headers=auth, timeout=5).ok
        missing = requests.post(
            f"{base}/demo-app/events", json={"events": [event()]}, headers=auth, timeout=5
        )
        assert missing.status_code == 404  # only the apps asked for
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "1 events stored" in out
    # Each request exactly once: the CLI's root handler (logging.basicConfig) must not repeat it.
    assert request_lines(err) == [
        "POST /oauth2/token -> 200 (0 events)",
        "POST /services/push/v1/customer/apps/billing/events -> 200 (1 events)",
        "POST /services/push/v1/customer/apps/demo-app/events -> 404 (1 events)",
    ]


def request_lines(err: str) -> list[str]:
    """Every line of ``err`` that logs a request, however formatted, without time and duration."""
    found = [re.search(r"([A-Z]+ /\S* -> \S+ \(\d+ events), [\d.]+ ms\)$", line) for line in err.splitlines()]
    return [f"{match.group(1)})" for match in found if match]


def test_sandbox_in_process_logs_each_request_once_and_restores_the_logger(capsys, caplog):
    logger = logging.getLogger("productiv_pandas.sandbox")
    caplog.set_level(logging.INFO)  # a root handler listening, as the CLI's logging.basicConfig
    before = (logger.level, logger.propagate, list(logger.handlers))

    class Banner(io.StringIO):
        """Once the banner is out, the server is up: send one request, then ask it to stop."""

        def flush(self) -> None:
            super().flush()
            url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.getvalue())
            if url and not hasattr(self, "client"):
                self.client = threading.Thread(target=self.request_then_stop, args=(url.group(1),))
                self.client.start()

        def request_then_stop(self, url: str) -> None:
            self.status = requests.post(
                url + "/oauth2/token", data={"grant_type": "x"}, timeout=5
            ).status_code
            os.kill(os.getpid(), signal.SIGTERM)  # handled by serve_in_foreground on this main thread

    out = Banner()
    assert serve_in_foreground(apps=["billing"], out=out) == 0
    out.client.join(5)
    assert out.status == 401  # no credentials: refused, and logged
    assert request_lines(capsys.readouterr().err) == ["POST /oauth2/token -> 401 (0 events)"]
    assert [r for r in caplog.records if r.name == "productiv_pandas.sandbox"] == []  # not propagated
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    logger.warning("after the foreground server")
    assert [r.getMessage() for r in caplog.records] == ["after the foreground server"]  # propagates again


def test_sandbox_command_reports_a_busy_port(capsys):
    with Sandbox() as busy:
        assert serve_in_foreground(port=int(busy.url.rsplit(":", 1)[1]), apps=[]) == 2
    assert "cannot serve on 127.0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize("module", [core, contract], ids=lambda module: module.__name__)
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0
