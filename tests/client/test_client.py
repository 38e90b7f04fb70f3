"""ProductivClient against a scripted HTTP server on 127.0.0.1: auth, retries, error policy, secrecy.

The server here is deliberately tiny and local to this file (the sandbox is tested elsewhere):
each test scripts the answers, the server records every request with its arrival time.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus

import pandas as pd
import pytest

import productiv_pandas
from productiv_pandas.client._auth import ClientCredentials, Redactor
from productiv_pandas.client._client import DELIVERY_KINDS, Delivery, ProductivClient
from productiv_pandas.client._retry import RetryPolicy
from productiv_pandas.errors import APIError, AuthenticationError, ConfigurationError, ProductivError

MARK = "s3cr3t"  # every secret below contains it; no log line, message or repr may
ACCESS_TOKEN = f"fixed-token-{MARK}"
CLIENT_SECRET = f"client-secret-{MARK}"
CLIENT_ID = "client-id-42"
TOKEN_PATH = "/oauth2/token"
EVENTS_PATH = "/services/push/v1/customer/apps/app-1/events"
PAYLOAD = b'{"events":[{"timestamp":1566340678676,"email":"a@b.com","eventName":"opened_file"}]}'
FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05)


# --- the scripted server -----------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: {"success": True})  # bytes are sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def bearer(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


def productiv_error(status: int, message: str) -> dict[str, object]:
    return {"code": str(status), "message": message, "success": False}


class FakeProductiv:
    """Answers ``events`` and ``tokens`` from scripts; when a script is empty, succeeds.

    Default token answers issue ``issued-1-s3cr3t``, ``issued-2-s3cr3t``, ...; ``on_events``, if
    set, answers event requests whose script is empty.
    """

    def __init__(self) -> None:
        self.events: deque[Reply] = deque()
        self.tokens: deque[Reply] = deque()
        self.on_events: Callable[[Seen], Reply] | None = None
        self.on_tokens: Callable[[Seen], Reply] | None = None  # else the default token answer
        self.expires_in: float | None = 3600
        self.issued = 0
        self.seen: list[Seen] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def latest_token(self) -> str:
        return f"issued-{self.issued}-{MARK}"

    def token_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path == TOKEN_PATH]

    def event_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path != TOKEN_PATH]

    def reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if seen.path == TOKEN_PATH:
                if self.tokens:
                    return self.tokens.popleft()
                if self.on_tokens is not None:
                    return self.on_tokens(seen)
                self.issued += 1
                body = {"access_token": self.latest_token, "token_type": "Bearer"}
                if self.expires_in is not None:
                    body["expires_in"] = self.expires_in
                return Reply(200, body)
            if self.events:
                return self.events.popleft()
        return self.on_events(seen) if self.on_events else Reply()

    def __enter__(self) -> FakeProductiv:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API: the client's pool is exercised
    disable_nagle_algorithm = True  # else headers and body, written apart, cost 40 ms a request
    fake: FakeProductiv

    def do_POST(self) -> None:
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen = Seen(self.path, dict(self.headers), body, time.monotonic())
            reply = self.fake.reply(seen)
            time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
        except BaseException as exc:  # surfaced by the fixture, in the test
            self.fake.errors.append(exc)
            raise

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeProductiv]:
    with FakeProductiv() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test also checks that no log line, of ours or of requests/urllib3, holds a secret."""
    caplog.set_level(logging.DEBUG)
    yield
    assert MARK not in caplog.text


@pytest.fixture
def clients() -> Iterator[list[ProductivClient]]:
    made: list[ProductivClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def make(fake: FakeProductiv, clients: list[ProductivClient]) -> Callable[..., ProductivClient]:
    """A client-credentials client of ``fake`` with fast retries; keyword arguments override."""

    def make_client(**kwargs: object) -> ProductivClient:
        kwargs.setdefault("retry", FAST)
        client = ProductivClient.from_client_credentials(
            CLIENT_ID, CLIENT_SECRET, token_url=fake.token_url, base_url=fake.url, **kwargs
        )
        clients.append(client)
        return client

    return make_client


@pytest.fixture
def make_fixed(fake: FakeProductiv, clients: list[ProductivClient]) -> Callable[..., ProductivClient]:
    def make_client(**kwargs: object) -> ProductivClient:
        kwargs.setdefault("retry", FAST)
        client = ProductivClient(ACCESS_TOKEN, base_url=fake.url, **kwargs)
        clients.append(client)
        return client

    return make_client


def clean(delivery: Delivery) -> Delivery:
    assert MARK not in repr(delivery)
    assert delivery.kind in DELIVERY_KINDS
    return delivery


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


# --- success and the request on the wire -------------------------------------------------


def test_success_with_client_credentials(fake, make):
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    token_request, events_request = fake.seen
    assert token_request.path == TOKEN_PATH
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": ["https://api.productiv.com/connector.write"],
    }
    assert events_request.path == EVENTS_PATH
    assert events_request.headers["Content-Type"] == "application/json"
    assert events_request.headers["Authorization"] == f"Bearer {fake.latest_token}"
    assert events_request.body == PAYLOAD


def test_success_with_a_fixed_token_and_app_id_quoted(fake, make_fixed):
    delivery = clean(make_fixed().post_events("app/1 ü?", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.ok
    (request,) = fake.seen  # no token request
    assert request.path == "/services/push/v1/customer/apps/app%2F1%20%C3%BC%3F/events"
    assert request.bearer == ACCESS_TOKEN


def test_the_token_is_reused_across_requests(fake, make):
    client = make()
    for _ in range(3):
        assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert len(fake.token_requests()) == 1


# --- retries -----------------------------------------------------------------------------


def test_503_twice_then_success(fake, make_fixed, caplog):
    fake.events.extend([Reply(503, productiv_error(503, "busy")), Reply(503, b"")])
    sleeps: list[float] = []
    client = make_fixed(sleep=sleeps.append, random=lambda: 0.5)
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 3, None, None, "sent")
    assert len(fake.event_requests()) == 3
    assert sleeps == [pytest.approx(0.005), pytest.approx(0.01)]  # half of 0.01 * 2**n: full jitter
    assert "HTTP 503 (busy); retry 1 of 5" in caplog.text


def test_retries_exhausted_keeps_the_last_error(fake, make_fixed):
    fake.on_events = lambda seen: Reply(503, productiv_error(503, f"try later #{len(fake.seen)}"))
    client = make_fixed(retry=RetryPolicy(max_retries=2, backoff_base=0.001))
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, 503, 3, "503", "try later #3", "retry_exhausted")


@pytest.mark.parametrize("status", [500, 507, 520, 522, 524, 599])
def test_every_5xx_is_retried_then_sent(fake, make_fixed, status):
    fake.events.append(Reply(status, productiv_error(status, "passing trouble")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.event_requests()) == 2


@pytest.mark.parametrize("status", [507, 520, 524])
def test_a_5xx_outside_the_common_ones_is_retry_exhausted_with_the_last_error(fake, make_fixed, status):
    fake.on_events = lambda seen: Reply(status, productiv_error(status, f"origin down #{len(fake.seen)}"))
    client = make_fixed(retry=RetryPolicy(max_retries=2, backoff_base=0.001))
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, status, 3, str(status), "origin down #3", "retry_exhausted")


def test_a_status_left_out_of_retry_statuses_is_final(fake, make_fixed):
    fake.events.append(Reply(520, b"<html>origin error</html>"))
    delivery = clean(make_fixed(retry=RetryPolicy(retry_statuses={429, 503})).post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, 520, 1, None, "HTTP 520: <html>origin error</html>", "other")
    assert len(fake.event_requests()) == 1


def test_max_retries_argument_overrides_the_policy(fake, make_fixed):
    fake.on_events = lambda seen: Reply(502, b"<html>bad gateway</html>")
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, max_retries=0))
    assert delivery.kind == "retry_exhausted"
    assert delivery.attempts == 1
    assert delivery.message == "Bad Gateway: <html>bad gateway</html>"  # reason and body excerpt
    with pytest.raises(ConfigurationError, match="max_retries"):
        make_fixed().post_events("app-1", PAYLOAD, max_retries=-1)


def test_429_retry_after_seconds_is_honoured(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "1"}))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.attempts == 2
    first, second = fake.event_requests()
    assert second.at - first.at >= 1.0


def test_429_slows_down_every_thread_of_the_client(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "1"}))
    client = make_fixed()
    results: dict[str, Delivery] = {}
    first = threading.Thread(target=lambda: results.update(a=client.post_events("app-1", PAYLOAD)))
    first.start()
    wait_for(lambda: client._not_before != float("-inf"))  # the 429 has been seen
    results["b"] = client.post_events("app-1", PAYLOAD)  # another caller, not the one refused
    first.join(5)
    assert {k: clean(d).kind for k, d in results.items()} == {"a": "sent", "b": "sent"}
    refused, *later = fake.event_requests()
    assert len(later) == 2
    assert all(request.at - refused.at >= 1.0 for request in later)


def test_a_429_that_gives_up_still_slows_down_the_others(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "30"}))
    client = make_fixed()
    assert clean(client.post_events("app-1", PAYLOAD, max_retries=0)).kind == "retry_exhausted"
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    delivery = clean(client.post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery.kind == "cancelled"
    assert delivery.attempts == 0
    assert time.monotonic() - started < 2.0
    assert len(fake.event_requests()) == 1  # the second call never went out


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(fake, make_fixed, status):
    when = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    fake.events.append(Reply(status, productiv_error(status, "later"), {"Retry-After": when}))
    sleeps: list[float] = []
    delivery = clean(make_fixed(sleep=sleeps.append, random=lambda: 0.0).post_events("app-1", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.attempts == 2
    assert len(sleeps) == 1
    assert 1.9 <= sleeps[0] <= 3.0


def test_retry_after_beyond_the_policy_limit_gives_up_at_once(fake, make_fixed):
    fake.events.append(Reply(503, productiv_error(503, "maintenance"), {"Retry-After": "3600"}))
    sleeps: list[float] = []
    delivery = clean(make_fixed(sleep=sleeps.append).post_events("app-1", PAYLOAD))
    assert delivery.kind == "retry_later"
    assert delivery.attempts == 1
    assert "3600 s" in delivery.message
    assert "max_retry_after" in delivery.message
    assert sleeps == []


def test_dropped_connection_is_retried(fake, make_fixed):
    fake.events.append(Reply(drop=True))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.event_requests()) == 2


def test_timeout_is_retried(fake, make_fixed):
    fake.events.append(Reply(delay=2.0))
    delivery = clean(make_fixed(timeout=(2.0, 0.5)).post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")


def test_timeouts_exhausted_say_so(fake, make_fixed):
    fake.on_events = lambda seen: Reply(delay=0.4)
    delivery = clean(make_fixed(timeout=0.1).post_events("app-1", PAYLOAD, max_retries=1))
    assert delivery.kind == "retry_exhausted"
    assert delivery.status is None
    assert delivery.attempts == 2
    assert delivery.message.startswith("timed out waiting for the answer")


def test_connection_refused_is_retried_then_reported(clients):
    client = ProductivClient(ACCESS_TOKEN, base_url=f"http://127.0.0.1:{free_port()}", retry=FAST)
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD, max_retries=2))
    assert delivery.kind == "retry_exhausted"
    assert delivery.status is None
    assert delivery.attempts == 3
    assert delivery.message.startswith("connection failed:")
    assert "refused" in delivery.message.lower()


# --- final answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid"), (422, "invalid"), (403, "forbidden"), (404, "not_found"), (409, "other")],
)
def test_final_statuses_are_not_retried(fake, make_fixed, status, kind):
    fake.events.append(Reply(status, productiv_error(status, f"refused with {status}")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, status, 1, str(status), f"refused with {status}", kind)
    assert len(fake.event_requests()) == 1


def test_error_without_a_json_body_uses_the_reason_and_an_excerpt(fake, make_fixed):
    fake.events.append(Reply(422, b"  payload\n  is   not valid  " + b"x" * 500))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "invalid"
    assert delivery.code is None
    assert delivery.message.startswith("Unprocessable Entity: payload is not valid xxx")
    assert len(delivery.message) < 250


@pytest.mark.parametrize("body", [{"success": False}, b"OK", b"", {"ok": True}])
def test_2xx_without_success_true_is_other(fake, make_fixed, body):
    fake.events.append(Reply(200, body))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "other"
    assert not delivery.ok
    assert delivery.status == 200
    assert '"success": true' in delivery.message
    assert len(fake.event_requests()) == 1


def test_redirects_are_not_followed(fake, make_fixed):
    fake.events.append(Reply(307, b"", {"Location": "http://127.0.0.1:1/elsewhere"}))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "redirected"
    assert delivery.status == 307
    assert delivery.message == (
        "redirected to http://127.0.0.1:1/elsewhere, not followed so that no credentials go to "
        "another address; set base_url (or token_url) to the address that answers"
    )
    assert len(fake.event_requests()) == 1


# --- tokens ------------------------------------------------------------------------------


def test_401_renews_the_token_once_then_succeeds(fake, make):
    fake.events.append(Reply(401, productiv_error(401, "token expired")))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.token_requests()) == 2
    refused, accepted = fake.event_requests()
    assert (refused.bearer, accepted.bearer) == (f"issued-1-{MARK}", f"issued-2-{MARK}")


def test_401_after_renewal_is_auth(fake, make):
    fake.on_events = lambda seen: Reply(401, productiv_error(401, "token invalid"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 401
    assert delivery.attempts == 2
    assert delivery.message == "a renewed access token was refused: token invalid"
    assert len(fake.token_requests()) == 2
    assert len(fake.event_requests()) == 2


def test_401_with_a_fixed_token_is_final(fake, make_fixed):
    fake.events.append(Reply(401, productiv_error(401, "token expired")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.attempts == 1
    assert "cannot be renewed" in delivery.message
    assert fake.token_requests() == []


def test_a_server_quoting_the_token_is_redacted(fake, make):
    fake.on_events = lambda seen: Reply(401, productiv_error(401, f"bad token {seen.bearer}"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.message == "a renewed access token was refused: bad token ***"


def test_token_endpoint_refusal_is_auth(fake, make):
    refusal = {"error": "invalid_client", "error_description": f"wrong secret {CLIENT_SECRET}"}
    fake.tokens.extend([Reply(401, refusal), Reply(401, refusal)])
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 401
    assert delivery.attempts == 0
    assert delivery.code == "invalid_client"
    assert (
        delivery.message == "the token endpoint refused the client credentials (HTTP 401): wrong secret ***"
    )
    assert fake.event_requests() == []
    with pytest.raises(AuthenticationError) as info:
        make().authenticate()
    assert isinstance(info.value, APIError)
    assert info.value.status == 401
    assert MARK not in str(info.value)
    assert MARK not in repr(info.value)


def test_token_endpoint_503_is_retried(fake, make):
    fake.tokens.append(Reply(503, b"busy"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    assert len(fake.token_requests()) == 2


def test_token_endpoint_522_is_retried(fake, make):
    fake.tokens.append(Reply(522, b"Connection timed out"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    assert len(fake.token_requests()) == 2


@pytest.mark.parametrize(
    "body", [{"token_type": "Bearer"}, b"not json", {"access_token": "x", "token_type": "mac"}]
)
def test_token_endpoint_answer_without_a_bearer_token_is_auth(fake, make, body):
    fake.tokens.append(Reply(200, body))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 200
    assert "token" in delivery.message


def test_unreachable_token_endpoint_is_retried_then_reported(fake, clients):
    client = ProductivClient.from_client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        token_url=f"http://127.0.0.1:{free_port()}/token",
        base_url=fake.url,
        retry=FAST,
    )
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD, max_retries=1))
    assert delivery.kind == "retry_exhausted"
    assert delivery.attempts == 0
    assert delivery.status is None
    assert delivery.message.startswith("token request: connection failed")
    with pytest.raises(AuthenticationError, match="connection failed") as info:
        client.authenticate()
    assert info.value.status is None
    assert info.value.retryable
    assert MARK not in str(info.value)


@pytest.mark.parametrize(("expires_in", "still_fresh", "renewed"), [(1000, 899.0, 901.0), (100, 49.0, 51.0)])
def test_token_is_renewed_before_it_expires(fake, make, expires_in, still_fresh, renewed):
    fake.expires_in = expires_in
    now = [0.0]
    client = make(clock=lambda: now[0])
    for moment in (0.0, still_fresh, renewed):
        now[0] = moment
        assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.bearer for s in fake.event_requests()] == [
        f"issued-1-{MARK}",
        f"issued-1-{MARK}",
        f"issued-2-{MARK}",
    ]


def test_token_without_expires_in_is_kept_until_a_401(fake, make):
    fake.expires_in = None
    now = [0.0]
    client = make(clock=lambda: now[0])
    client.post_events("app-1", PAYLOAD)
    now[0] = 1e9
    client.post_events("app-1", PAYLOAD)
    assert len(fake.token_requests()) == 1


def test_concurrent_401s_share_one_renewal(fake, make):
    def answer(seen: Seen) -> Reply:
        if fake.issued >= 2 and seen.bearer == fake.latest_token:
            return Reply()
        return Reply(401, productiv_error(401, "token expired"), delay=0.05)

    fake.on_events = answer
    client = make(pool_size=8)
    client.authenticate()  # token 1, which the server now refuses
    start = threading.Barrier(8)
    results: list[Delivery] = []

    def send() -> None:
        start.wait()
        results.append(client.post_events("app-1", PAYLOAD))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [clean(d).kind for d in results] == ["sent"] * 8
    assert len(fake.token_requests()) == 2  # eight refusals, one renewal
    assert all(d.attempts <= 2 for d in results)


def test_token_provider_callable(fake, clients):
    calls: list[int] = []

    def provider() -> tuple[str, float]:
        calls.append(1)
        return f"provided-{len(calls)}-{MARK}", 3600.0

    client = ProductivClient(token_provider=provider, base_url=fake.url, retry=FAST)
    clients.append(client)
    assert repr(client) == f"ProductivClient(base_url='{fake.url}', auth='token_provider')"
    fake.events.append(Reply(401, productiv_error(401, "expired")))
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.bearer for s in fake.event_requests()] == [f"provided-1-{MARK}", f"provided-2-{MARK}"]


def test_a_failing_token_provider_is_auth_and_redacted(fake, clients):
    def provider() -> str:
        raise RuntimeError(f"vault said no to {CLIENT_SECRET}")

    client = ProductivClient(token_provider=provider, base_url=fake.url)
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.message.startswith("token_provider raised RuntimeError")
    with pytest.raises(AuthenticationError) as info:
        client.authenticate()
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert MARK not in str(info.value)
    assert fake.event_requests() == []


def test_redactor_keeps_the_client_secret_however_many_tokens_come():
    redact = Redactor()
    redact.add(CLIENT_SECRET, keep=True)
    for n in range(20):
        redact.add(f"issued-{n}-{MARK}")
    assert redact(f"{CLIENT_SECRET} issued-19-{MARK} issued-12-{MARK}") == "*** *** ***"
    redact.add("t")  # too short to be a secret; redacting it would garble every message
    assert redact("token expired") == "token expired"


# --- secrets echoed back in the forms they travel in -------------------------------------

ODD_SECRET = f"p@ss+w/rd=xyz!{MARK}"  # every character URL encoding changes
ODD_TOKEN = f"tok+en/{MARK}=a!b"


def lower_escapes(text: str) -> str:
    """``%2B`` as ``%2b``: how some servers write the percent escapes they echo."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def forms_of(secret: str) -> list[str]:
    """The forms a secret travels in, as a server or proxy echoing a request would quote it."""
    encoded = [quote_plus(secret), quote(secret, safe=""), quote(secret)]
    return [secret, *encoded, *map(lower_escapes, encoded)]


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


SECRET_FORMS = [*forms_of(ODD_SECRET), *forms_of(basic(CLIENT_ID, ODD_SECRET)), *forms_of(ODD_TOKEN)]


def echo_token_request(status: int, as_json: bool) -> Callable[[Seen], Reply]:
    """A token endpoint (or a proxy before it) that quotes the request in its error page."""

    def answer(seen: Seen) -> Reply:
        form = seen.body.decode()
        sent = parse_qs(form)
        credentials = basic(sent["client_id"][0], sent["client_secret"][0])
        text = f"while handling {form} ({lower_escapes(form)}) as Basic {credentials}"
        if as_json:
            return Reply(status, {"error": "server_error", "error_description": text})
        return Reply(status, f"<html>{credentials} {text}</html>".encode())

    return answer


def events_frame(rows: int = 3) -> pd.DataFrame:
    now = int(time.time() * 1000)
    return pd.DataFrame(
        {
            "timestamp": [now - 60_000 - i for i in range(rows)],
            "email": [f"user{i}@example.com" for i in range(rows)],
            "eventName": ["opened_file"] * rows,
        }
    )


def assert_no_secret_form(*texts: str) -> None:
    for text in texts:
        shown = [form for form in SECRET_FORMS if form in text]
        assert shown == [], f"{shown} in {text!r}"


@pytest.mark.parametrize(
    ("status", "as_json", "prefix", "message"),
    [
        (  # retried, then given up: the whole JSON description, redacted, then cut at 500
            500,
            True,
            "",
            "the token endpoint failed (HTTP 500): while handling grant_type=client_credentials&"
            "client_id=client-id-42&client_secret=***&scope=https%3A%2F%2Fapi.productiv.com%2F"
            "connector.write (grant_type=client_credentials&client_id=client-id-42&client_secret=***&"
            "scope=https%3a%2f%2fapi.productiv.com%2fconnector.write) as Basic ***",
        ),
        (  # final: an HTML page, redacted, then cut at 200 characters
            401,
            False,
            "credentials refused: ",
            "the token endpoint refused the client credentials (HTTP 401): Unauthorized: <html>*** "
            "while handling grant_type=client_credentials&client_id=client-id-42&client_secret=***&"
            "scope=https%3A%2F%2Fapi.productiv.com%2Fconnector.write (grant_type=client_credentials&"
            "client_id=client-",
        ),
    ],
)
def test_a_token_endpoint_echoing_the_form_leaks_no_form_of_the_secret(
    fake, clients, caplog, status, as_json, prefix, message
):
    fake.on_tokens = echo_token_request(status, as_json)
    client = ProductivClient.from_client_credentials(
        CLIENT_ID, ODD_SECRET, token_url=fake.token_url, base_url=fake.url, retry=FAST
    )
    clients.append(client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = productiv_pandas.publish(
            events_frame(), "app-1", client=client, max_retries=1, progress=False
        )
        with pytest.raises(AuthenticationError) as info:
            client.authenticate()
    assert result["status"].tolist() == ["failed"] * 3
    assert result["reason"].tolist() == [prefix + message] * 3
    assert fake.event_requests() == []
    assert (info.value.status, info.value.message) == (status, message)
    assert_no_secret_form(
        result.to_csv(), caplog.text, str(info.value), repr(info.value), *(str(w.message) for w in caught)
    )


def test_an_events_endpoint_echoing_the_token_leaks_no_form_of_it(fake, clients, caplog):
    fake.on_tokens = lambda seen: Reply(200, {"access_token": ODD_TOKEN, "token_type": "Bearer"})
    echoed = f"{quote_plus(ODD_TOKEN)} {lower_escapes(quote(ODD_TOKEN, safe=''))} {quote(ODD_TOKEN)}"
    fake.on_events = lambda seen: Reply(
        503, productiv_error(503, f"busy; you sent {seen.headers['Authorization']} ({echoed})")
    )
    client = ProductivClient.from_client_credentials(
        CLIENT_ID, ODD_SECRET, token_url=fake.token_url, base_url=fake.url, retry=FAST
    )
    clients.append(client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = productiv_pandas.publish(
            events_frame(), "app-1", client=client, max_retries=1, progress=False
        )
    assert result["status"].tolist() == ["failed"] * 3
    assert result["reason"].tolist() == ["busy; you sent Bearer *** (*** *** ***)"] * 3
    assert result["attempts"].tolist() == [2] * 3
    assert [seen.bearer for seen in fake.event_requests()] == [ODD_TOKEN] * 2
    assert_no_secret_form(result.to_csv(), caplog.text, *(str(w.message) for w in caught))


def test_the_redactor_hides_every_form_and_shows_none_in_its_repr():
    redact = Redactor()
    redact.add(ODD_SECRET, keep=True)
    redact.add_basic(CLIENT_ID, ODD_SECRET)
    redact.add(ODD_TOKEN)
    assert redact(" | ".join(SECRET_FORMS)) == " | ".join(["***"] * len(SECRET_FORMS))
    assert repr(redact) == "Redactor(3 secrets)"


# --- cancellation ------------------------------------------------------------------------


def test_cancel_before_sending(fake, make_fixed):
    cancel = threading.Event()
    cancel.set()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery == Delivery(False, None, 0, None, "cancelled", "cancelled")
    assert fake.seen == []


def test_cancel_while_waiting_to_retry_returns_promptly(fake, make_fixed):
    fake.on_events = lambda seen: Reply(503, productiv_error(503, "busy"), {"Retry-After": "30"})
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert time.monotonic() - started < 2.0
    assert delivery.kind == "cancelled"
    assert delivery.attempts == 1
    assert delivery.status == 503
    assert "busy" in delivery.message
    assert len(fake.event_requests()) == 1


def test_cancel_during_a_request_keeps_its_success(fake, make_fixed):
    fake.events.append(Reply(delay=0.3))
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery.kind == "sent"  # the server stored the events: say so


# --- configuration, URLs, secrecy --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8000",
        "http://127.example.com",
        "ftp://127.0.0.1",
        "127.0.0.1:80",
        "",
        "https://",
        "https://host?x=1",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8000",
        "http://evil.com\\@127.0.0.1",
        "http://127.0.0.1:8000/\nHost: evil.com",
        "https://host/a path",
    ],
)
def test_unsafe_or_malformed_urls_are_refused(url):
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, base_url=url)
    if url:  # an empty token_url means the default one
        with pytest.raises(ConfigurationError):
            ProductivClient.from_client_credentials(CLIENT_ID, CLIENT_SECRET, token_url=url)


def test_plain_http_to_another_machine_says_why():
    with pytest.raises(ConfigurationError, match=r"clear text.*https://") as info:
        ProductivClient(ACCESS_TOKEN, base_url="http://api.example.com")
    assert MARK not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.1.2.3",
        "http://[::1]:8000",
        "http://localhost:1/",
        "http://LOCALHOST",
        "https://public-api.productiv.com",
        "https://gateway.example.com/productiv/",
    ],
)
def test_loopback_http_and_any_https_are_accepted(url, clients):
    client = ProductivClient(ACCESS_TOKEN, base_url=url)
    clients.append(client)
    assert client.base_url == url.rstrip("/")


def test_credentials_in_a_url_are_refused_without_repeating_them():
    with pytest.raises(ConfigurationError) as info:
        ProductivClient(ACCESS_TOKEN, base_url=f"https://user:{MARK}@api.example.com")
    assert MARK not in str(info.value)


def test_repr_and_str_hide_secrets(clients):
    fixed = ProductivClient(ACCESS_TOKEN, base_url="http://127.0.0.1:8000")
    oauth = ProductivClient.from_client_credentials(
        CLIENT_ID, CLIENT_SECRET, base_url="http://127.0.0.1:8000"
    )
    clients.extend([fixed, oauth])
    assert repr(fixed) == "ProductivClient(base_url='http://127.0.0.1:8000', auth='access_token')"
    assert repr(oauth) == "ProductivClient(base_url='http://127.0.0.1:8000', auth='client_credentials')"
    credentials = ClientCredentials(CLIENT_ID, CLIENT_SECRET)
    for thing in (fixed, oauth, credentials):
        assert MARK not in repr(thing)
        assert MARK not in str(thing)
        assert MARK not in repr(vars(thing))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": None},
        {"timeout": 0},
        {"timeout": (1.0,)},
        {"timeout": (1, -1)},
        {"pool_size": 0},
        {"retry": {"max_retries": 1}},
    ],
)
def test_bad_options_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, base_url="http://127.0.0.1:8000", **kwargs)


def test_exactly_one_way_to_authenticate():
    with pytest.raises(ConfigurationError, match="from_env"):
        ProductivClient(base_url="http://127.0.0.1:8000")
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, token_provider=lambda: "x")
    with pytest.raises(ConfigurationError, match="access_token"):
        ProductivClient("  ")
    with pytest.raises(ConfigurationError, match="client_secret") as info:
        ProductivClient.from_client_credentials(CLIENT_ID, "")
    with pytest.raises(ConfigurationError, match="client_id"):
        ProductivClient.from_client_credentials("", CLIENT_SECRET)
    assert MARK not in str(info.value)


def test_defaults_timeout_pool_and_no_urllib3_retries(clients):
    client = ProductivClient(ACCESS_TOKEN, pool_size=5)
    clients.append(client)
    assert client.base_url == "https://public-api.productiv.com"
    assert client.timeout == (5.0, 30.0)
    assert client.retry == RetryPolicy()
    session = client._transport._session
    adapter = session.get_adapter(client.base_url)
    assert adapter._pool_maxsize == 5
    assert adapter.max_retries.total == 0
    assert session.trust_env is False


def test_netrc_does_not_replace_the_bearer_token(fake, make_fixed, monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    make_fixed().post_events("app-1", PAYLOAD)
    assert fake.seen[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_payload_and_app_id_are_checked(make_fixed):
    client = make_fixed()
    with pytest.raises(TypeError, match="bytes"):
        client.post_events("app-1", {"events": []})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="app_id"):
        client.post_events(" ", PAYLOAD)


def test_close_and_context_manager(fake):
    with ProductivClient(ACCESS_TOKEN, base_url=fake.url) as client:
        assert client.post_events("app-1", PAYLOAD).kind == "sent"
    with pytest.raises(ProductivError, match="closed"):
        client.post_events("app-1", PAYLOAD)


# --- from_env ----------------------------------------------------------------------------


def test_from_env_with_an_access_token(fake, monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("PRODUCTIV_API_URL", fake.url)
    client = ProductivClient.from_env(retry=FAST)
    clients.append(client)
    assert repr(client) == f"ProductivClient(base_url='{fake.url}', auth='access_token')"
    assert client.retry == FAST
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert fake.seen[0].bearer == ACCESS_TOKEN


def test_from_env_with_client_credentials(fake, monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("PRODUCTIV_API_URL", fake.url)
    monkeypatch.setenv("PRODUCTIV_TOKEN_URL", fake.token_url)
    client = ProductivClient.from_env()
    clients.append(client)
    assert client.auth == "client_credentials"
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.path for s in fake.seen] == [TOKEN_PATH, EVENTS_PATH]


def test_from_env_defaults_and_keyword_arguments_win(monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", CLIENT_SECRET)
    default = ProductivClient.from_env()
    chosen = ProductivClient.from_env(base_url="http://127.0.0.1:9", token_url="http://127.0.0.1:9/t")
    clients.extend([default, chosen])
    assert default.base_url == "https://public-api.productiv.com"
    assert default._tokens.provider.token_url == "https://login.api.productiv.com/oauth2/token"
    assert chosen.base_url == "http://127.0.0.1:9"
    assert chosen._tokens.provider.token_url == "http://127.0.0.1:9/t"


def test_from_env_prefers_the_access_token(monkeypatch, clients):
    for name, value in [
        ("ACCESS_TOKEN", ACCESS_TOKEN),
        ("CLIENT_ID", CLIENT_ID),
        ("CLIENT_SECRET", CLIENT_SECRET),
    ]:
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    client = ProductivClient.from_env()
    clients.append(client)
    assert client.auth == "access_token"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "set PRODUCTIV_ACCESS_TOKEN, or both PRODUCTIV_CLIENT_ID and PRODUCTIV_CLIENT_SECRET;"),
        ({"PRODUCTIV_CLIENT_ID": CLIENT_ID}, "(PRODUCTIV_CLIENT_SECRET not set)"),
        ({"PRODUCTIV_CLIENT_SECRET": CLIENT_SECRET}, "(PRODUCTIV_CLIENT_ID not set)"),
        ({"PRODUCTIV_ACCESS_TOKEN": "  "}, "set PRODUCTIV_ACCESS_TOKEN"),
    ],
)
def test_from_env_without_credentials_says_what_to_set(monkeypatch, env, missing):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        ProductivClient.from_env()
    assert missing in str(info.value)
    assert MARK not in str(info.value)


def test_from_env_refuses_plain_http_api_url(monkeypatch):
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("PRODUCTIV_API_URL", "http://api.example.com")
    with pytest.raises(ConfigurationError, match="http://"):
        ProductivClient.from_env()


# --- the module graph --------------------------------------------------------------------


def test_the_client_imports_nothing_of_pandas():
    """The client (and the modules it imports) works where pandas cannot even be imported.

    The package's ``__init__`` registers the DataFrame accessor, so it is replaced by a bare
    package object here: what is checked is the client's own import graph.
    """
    package_dir = Path(productiv_pandas.__file__).parent
    code = textwrap.dedent(
        f"""
        import sys, types
        for name in ("pandas", "numpy", "pandera"):
            sys.modules[name] = None  # any import of them raises ImportError
        package = types.ModuleType("productiv_pandas")
        package.__path__ = [{str(package_dir)!r}]
        sys.modules["productiv_pandas"] = package
        import productiv_pandas.client._client as client
        with client.ProductivClient("t", base_url="http://127.0.0.1:9") as c:
            print(repr(c))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ProductivClient(base_url='http://127.0.0.1:9', auth='access_token')" in result.stdout


def test_docstring_examples_run():
    import doctest

    import productiv_pandas.client._auth
    import productiv_pandas.client._client

    for module in (productiv_pandas.client._client, productiv_pandas.client._auth):
        result = doctest.testmod(module)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
