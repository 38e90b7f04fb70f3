"""The client against hostile servers: deadlines, abandoning a request, secrets.

Raw-socket servers (tests/helpers/raw_server.py's RawServer) trickle answers a byte
at a time or stall; each test asserts what the client answers and that it ends in a bounded time.
Bounded answers (decompression bombs) are in test_answer.py.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import productiv_pandas as pp
from productiv_pandas.client._client import Delivery, ProductivClient
from productiv_pandas.client._redaction import Redactor
from tests.helpers.raw_server import OK, answer, events, outcomes

TOKEN = "fixed-token-s3cr3t-value"
PAYLOAD = b'{"events":[{"timestamp":1566340678676,"email":"a@b.com","eventName":"opened_file"}]}'
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=0)


def trickle(head: bytes, byte: bytes = b" ", every: float = 0.5, seconds: float = 60):
    """A handler that sends ``head``, then ``byte`` every ``every`` seconds, until closed."""

    def handler(conn, *_):
        try:
            conn.sendall(head)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(every)
                conn.sendall(byte)
        except OSError:
            return "close"
        return "close"

    return handler


TRICKLES = {
    "chunked-body": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\n \r\n"),
    "short-of-content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b" "),
    "headers": (b"HTTP/1.1 200 OK\r\n", b"X: y\r\n"),
    "status-line": (b"HTTP/1.1 2", b"0"),
}


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", TRICKLES, ids=list(TRICKLES))
def test_a_trickling_answer_ends_at_the_deadline_as_a_timeout(serve, shape):
    server = serve(trickle(*TRICKLES[shape]))
    with ProductivClient(TOKEN, base_url=server.url, timeout=(1, 2), retry=FAST) as client:
        started = time.monotonic()
        delivery = client.post_events("app-1", PAYLOAD)
        took = time.monotonic() - started
    assert took < 10
    assert (delivery.ok, delivery.status, delivery.attempts, delivery.kind) == (
        False,
        None,
        1,
        "retry_exhausted",
    )
    assert delivery.message.startswith(
        "timed out: no complete answer within 3 s, the deadline of a request "
        "(connect + read timeout, timeout=(1, 2) s) (POST http://127.0.0.1:"
    )
    assert len(server.requests) == 1


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_deadline_is_retried_by_the_policy(serve):
    def trickle_first(conn, line, headers, number):
        if number == 1:
            return trickle(*TRICKLES["chunked-body"])(conn)
        conn.sendall(OK)

    server = serve(trickle_first)
    retry = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=1)
    with ProductivClient(TOKEN, base_url=server.url, timeout=(1, 1), retry=retry) as client:
        delivery = client.post_events("app-1", PAYLOAD)
    assert delivery == Delivery(True, 200, 2, None, None, "sent")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_trickling_token_endpoint_ends_at_the_deadline(serve):
    server = serve(trickle(*TRICKLES["short-of-content-length"]))
    client = ProductivClient.from_client_credentials(
        "client-id",
        "client-secret-s3cr3t",
        token_url=f"{server.url}/oauth2/token",
        base_url=server.url,
        timeout=(1, 1),
        retry=FAST,
    )
    with client:
        started = time.monotonic()
        delivery = client.post_events("app-1", PAYLOAD)
        assert time.monotonic() - started < 10
    assert (delivery.kind, delivery.status, delivery.attempts) == ("retry_exhausted", None, 0)
    assert delivery.message.startswith("token request: timed out: no complete answer within 2 s")
    assert [line.split()[1] for line, _ in server.requests] == ["/oauth2/token"]


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_publish_rows_of_a_trickling_answer_fail_with_a_timeout(serve):
    server = serve(trickle(*TRICKLES["chunked-body"]))
    with ProductivClient(TOKEN, base_url=server.url, timeout=(1, 2), retry=FAST) as client:
        started = time.monotonic()
        status = pp.publish(events(3), "app-1", client=client, progress=False)
        assert time.monotonic() - started < 10
    [(state, reason, http, attempts)] = outcomes(status)
    assert (state, http, attempts) == ("failed", None, 1)
    assert reason.startswith("timed out: no complete answer within 3 s")


# --- abandon -------------------------------------------------------------------------------


def stall(release: threading.Event):
    def handler(conn, *_):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{")
        release.wait(30)
        return "close"

    return handler


@pytest.mark.timeout(60)
@pytest.mark.parametrize("with_cancel", [False, True])
def test_abandon_aborts_the_request_in_flight_at_once(serve, with_cancel):
    release = threading.Event()
    server = serve(stall(release))
    abandon = threading.Event()
    cancel = threading.Event() if with_cancel else None
    try:
        with ProductivClient(TOKEN, base_url=server.url, timeout=(5, 30), retry=FAST) as client:
            threading.Timer(0.3, abandon.set).start()
            started = time.monotonic()
            delivery = client.post_events("app-1", PAYLOAD, cancel=cancel, abandon=abandon)
            assert time.monotonic() - started < 5
    finally:
        release.set()
    assert (delivery.ok, delivery.status, delivery.attempts, delivery.kind) == (False, None, 1, "cancelled")
    assert delivery.message.startswith("interrupted")
    assert len(server.requests) == 1


@pytest.mark.timeout(60)
def test_abandon_aborts_a_token_request_in_flight(serve):
    release = threading.Event()
    server = serve(stall(release))
    abandon = threading.Event()
    client = ProductivClient.from_client_credentials(
        "client-id",
        "client-secret-s3cr3t",
        token_url=f"{server.url}/oauth2/token",
        base_url=server.url,
        timeout=(5, 30),
        retry=FAST,
    )
    try:
        with client:
            threading.Timer(0.3, abandon.set).start()
            started = time.monotonic()
            delivery = client.post_events("app-1", PAYLOAD, abandon=abandon)
            assert time.monotonic() - started < 5
    finally:
        release.set()
    assert (delivery.status, delivery.attempts, delivery.kind) == (None, 0, "cancelled")
    assert delivery.message.startswith("interrupted while getting an access token")
    assert len(server.requests) == 1


@pytest.mark.timeout(60)
def test_abandon_ends_a_wait_to_retry_and_sends_nothing_more(serve):
    server = serve(lambda conn, *_: conn.sendall(answer("503 Busy", b"", "Retry-After: 30")))
    abandon = threading.Event()
    retry = pp.RetryPolicy(max_retries=3)
    with ProductivClient(TOKEN, base_url=server.url, retry=retry) as client:
        threading.Timer(0.3, abandon.set).start()
        started = time.monotonic()
        delivery = client.post_events("app-1", PAYLOAD, abandon=abandon)
        assert time.monotonic() - started < 5
    assert (delivery.status, delivery.attempts, delivery.kind) == (None, 1, "cancelled")
    assert delivery.message.startswith("interrupted")
    assert len(server.requests) == 1


def test_abandon_set_before_sends_nothing(serve):
    server = serve(lambda conn, *_: conn.sendall(OK))
    abandon = threading.Event()
    abandon.set()
    with ProductivClient(TOKEN, base_url=server.url) as client:
        delivery = client.post_events("app-1", PAYLOAD, abandon=abandon)
    assert delivery == Delivery(False, None, 0, None, "interrupted before sending: abandoned", "cancelled")
    assert server.requests == []


def test_an_abandon_event_left_unset_changes_nothing_and_no_thread_is_left(serve):
    server = serve(lambda conn, *_: conn.sendall(OK))
    before = set(threading.enumerate())
    with ProductivClient(TOKEN, base_url=server.url) as client:
        for _ in range(3):
            delivery = client.post_events("app-1", PAYLOAD, abandon=threading.Event())
            assert delivery == Delivery(True, 200, 1, None, None, "sent")
        assert [t.name for t in set(threading.enumerate()) - before if "request" in t.name] == []
    assert len(server.requests) == 3


def test_closed_says_whether_the_client_was_closed():
    client = ProductivClient(TOKEN, base_url="http://127.0.0.1:9")
    assert client.closed is False
    client.close()
    assert client.closed is True
    with pytest.raises(AttributeError):
        client.closed = False  # type: ignore[misc]


# --- tokens that cannot go into a header -----------------------------------------------------

MARK = "s3cr3t"
BAD_TOKENS = {
    "LF": f"tok-{MARK}\nsecond-line",
    "CR": f"tok-{MARK}\rX",
    "CRLF-header": f"tok-{MARK}\r\nX-Evil: 1",
    "NUL": f"tok-{MARK}\0",
    "ESC": f"tok-{MARK}\x1b[2J",
    "DEL": f"tok-{MARK}\x7f",
    "zero-width-space": f"tok\u200b-{MARK}",
    "euro": f"tok-{MARK}-€",
}


def assert_unseen(*texts: str) -> None:
    for text in texts:
        assert MARK not in text, text


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=list(BAD_TOKENS))
def test_a_token_that_cannot_be_a_header_is_refused_by_the_constructor(token):
    with pytest.raises(pp.ConfigurationError, match="access_token cannot be sent in an HTTP header") as info:
        ProductivClient(token, base_url="http://127.0.0.1:9")
    assert_unseen(str(info.value), repr(info.value))


@pytest.mark.parametrize("name", ["ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET"])
def test_from_env_names_the_variable_and_never_its_value(monkeypatch, name):
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", "client-id")
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", "client-secret")
    monkeypatch.delenv("PRODUCTIV_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv(f"PRODUCTIV_{name}", f"first-{MARK}\nsecond-{MARK}\n")
    with pytest.raises(pp.ConfigurationError) as info:
        ProductivClient.from_env(base_url="http://127.0.0.1:9")
    assert str(info.value) == (
        f"PRODUCTIV_{name} cannot be used: it contains a "
        + (
            "line break (CR or LF) at position 13"
            if name == "ACCESS_TOKEN"
            else "control or invisible character at position 13"
        )
    )


def test_surrounding_whitespace_of_a_token_is_stripped(serve, monkeypatch):
    server = serve(lambda conn, *_: conn.sendall(OK))
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", f"  {TOKEN}\n")
    with ProductivClient.from_env(base_url=server.url) as client:
        assert client.post_events("app-1", PAYLOAD).kind == "sent"
    assert server.requests[0][1]["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=list(BAD_TOKENS))
def test_a_token_provider_returning_such_a_token_is_auth_and_never_quoted(serve, caplog, token):
    server = serve(lambda conn, *_: conn.sendall(OK))
    caplog.set_level(logging.DEBUG)
    with ProductivClient(token_provider=lambda: token, base_url=server.url) as client:
        status = pp.publish(events(3), "app-1", client=client, progress=False)
        with pytest.raises(pp.AuthenticationError) as info:
            client.authenticate()
    reason = status["reason"].iloc[0]
    said = "token_provider returned a token that cannot be sent in an HTTP header: it contains"
    assert reason.startswith(f"credentials refused: {said}")
    assert (status["status"] == "failed").all()
    assert info.value.retryable is False
    assert server.requests == []
    assert_unseen(status.to_csv(), caplog.text, str(info.value), repr(info.value))


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=list(BAD_TOKENS))
def test_a_token_endpoint_returning_such_a_token_is_auth_not_retried_never_quoted(serve, caplog, token):
    body = json.dumps({"access_token": token, "token_type": "Bearer"}).encode()
    server = serve(lambda conn, *_: conn.sendall(answer("200 OK", body)))
    caplog.set_level(logging.DEBUG)
    retry = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=3)
    client = ProductivClient.from_client_credentials(
        "client-id", "client-secret", token_url=f"{server.url}/oauth2/token", base_url=server.url, retry=retry
    )
    with client:
        delivery = client.post_events("app-1", PAYLOAD)
        status = pp.publish(events(3), "app-1", client=client, progress=False, max_workers=1)
    assert (delivery.kind, delivery.status, delivery.attempts) == ("auth", 200, 0)
    assert delivery.message.startswith(
        "the token endpoint returned a token that cannot be sent in an HTTP header: it contains"
    )
    assert (status["status"] == "failed").all()
    assert [line.split()[1] for line, _ in server.requests] == ["/oauth2/token"] * 2
    assert_unseen(repr(delivery), status.to_csv(), caplog.text)


def test_a_client_secret_with_a_line_break_is_refused_without_quoting_it():
    with pytest.raises(pp.ConfigurationError) as info:
        ProductivClient.from_client_credentials("client-id", f"{MARK}\nsecond line")
    assert str(info.value) == (
        "client_secret cannot be used: it contains a control or invisible character at position 7"
    )


# --- redaction: every form a secret comes back in --------------------------------------------


def every_char_escaped(secret: str, upper: bool) -> str:
    """JSON with every character as a \\uXXXX escape (surrogate pairs beyond the BMP)."""
    data = secret.encode("utf-16-be")
    units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return "".join(f"\\u{unit:04X}" if upper else f"\\u{unit:04x}" for unit in units)


FORMS = {
    "raw": lambda s: s,
    "quote_plus": quote_plus,
    "quote": lambda s: quote(s, safe=""),
    "quote-lower": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    "repr": lambda s: repr(s)[1:-1],
    "repr-with-both-quotes": lambda s: repr(s + "'\"")[1:-4],
    "ascii": lambda s: ascii(s)[1:-1],
    "bytes-repr": lambda s: repr(s.encode())[2:-1],
    "json": lambda s: json.dumps(s)[1:-1],
    "json-unicode": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-escaped-slashes": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json-every-char-lower": lambda s: every_char_escaped(s, False),
    "json-every-char-upper": lambda s: every_char_escaped(s, True),
    "html": html.escape,
    "html-decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "html-hex-upper": lambda s: "".join(f"&#X{ord(c):04X};" for c in s),
}

SECRETS = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip() and s not in "said: |"
) | st.sampled_from(["t", "ab", "p@ss+w/rd=x", "q\"u\\o'te", "naïve-€-😀", "a b\n\tc", "&<>;#%"])


@settings(max_examples=300, deadline=None)
@given(secret=SECRETS, form=st.sampled_from(sorted(FORMS)))
def test_every_form_of_any_secret_is_redacted(secret, form):
    redact = Redactor()
    redact.add(secret)
    shown = FORMS[form](secret)
    # A secret found in the frame itself ("|", "said") would rightly be redacted there too.
    assert redact(f"said: {shown} |") == "said: *** |"


@settings(max_examples=100, deadline=None)
@given(secret=SECRETS)
def test_basic_credentials_of_any_secret_are_redacted(secret):
    redact = Redactor()
    redact.add_basic("client-id", secret)
    encoded = base64.b64encode(f"client-id:{secret}".encode()).decode()
    slashed = encoded.replace("/", "\\/")
    assert redact(f"Basic {encoded}, Basic {slashed}") == "Basic ***, Basic ***"


def test_a_short_secret_is_redacted_where_it_stands_alone_only():
    redact = Redactor()
    redact.add("t")
    redact.add("ab1")
    assert redact("Bearer t; token expired; at t=5") == "Bearer ***; token expired; at ***=5"
    assert redact("ab1 cab1 ab12 (ab1) %61%62%31") == "*** cab1 ab12 (***) ***"


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("variable", ["PRODUCTIV_ACCESS_TOKEN", "PRODUCTIV_CLIENT_SECRET"])
def test_the_cli_refuses_a_multi_line_secret_in_one_line_without_quoting_it(tmp_path, variable):
    path = tmp_path / "export.csv"
    events(2).to_csv(path, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    env.update({"PRODUCTIV_CLIENT_ID": "client-id", variable: f"first-{MARK}\nsecond-{MARK}"})
    result = subprocess.run(
        [sys.executable, "-m", "productiv_pandas", "publish", str(path), "--app-id", "acme"],
        capture_output=True,
        text=True,
        env=env,
        timeout=100,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"productiv-pandas: error: {variable} cannot be used: it contains a ")
    assert result.stderr.count("\n") == 1
    assert_unseen(result.stdout, result.stderr)


def test_headers_are_read_whatever_their_case(serve):
    def throttle_once(conn, line, headers, number):
        conn.sendall(answer("429 Slow down", b"", "retry-after: 0.2") if number == 1 else OK)

    server = serve(throttle_once)
    retry = pp.RetryPolicy(backoff_base=0.001, backoff_max=0.001, max_retries=1)
    with ProductivClient(TOKEN, base_url=server.url, retry=retry) as client:
        started = time.monotonic()
        assert client.post_events("app-1", PAYLOAD) == Delivery(True, 200, 2, None, None, "sent")
        assert time.monotonic() - started >= 0.2  # the lower-case Retry-After was honoured


@pytest.mark.parametrize(
    ("char", "what"), [("€", "a character outside Latin-1"), ("\x07", "a control character")]
)
def test_the_refusal_of_a_token_never_names_its_character(char, what):
    with pytest.raises(pp.ConfigurationError) as info:
        ProductivClient(f"abc{char}defghij", base_url="http://127.0.0.1:9")
    assert str(info.value).endswith(f"it contains {what} at position 4")
    assert "U+" not in str(info.value)
    assert char not in str(info.value)


def test_a_blank_secret_redacts_nothing():
    redact = Redactor()
    redact.add(" \t ")
    assert redact("said:   | ok") == "said:   | ok"


@pytest.mark.parametrize("token_type", ["{token}", "MAC {token}", "{escaped}"])
def test_a_token_type_echoing_the_issued_token_never_quotes_it(serve, caplog, token_type):
    # The token is a secret as soon as it is read off the answer, before the answer is checked.
    issued = "issued/token+s3cr3t-0123456789"
    shown = token_type.format(token=issued, escaped=issued.replace("/", "\\/"))
    body = json.dumps({"access_token": issued, "token_type": shown}).encode()
    server = serve(lambda conn, *_: conn.sendall(answer("200 OK", body)))
    caplog.set_level(logging.DEBUG)
    client = ProductivClient.from_client_credentials(
        "client-id", "client-secret", token_url=f"{server.url}/oauth2/token", base_url=server.url, retry=FAST
    )
    with client:
        delivery = client.post_events("app-1", PAYLOAD)
        status = pp.publish(events(3), "app-1", client=client, progress=False, max_workers=1)
    assert (delivery.kind, delivery.status, delivery.attempts) == ("auth", 200, 0)
    assert delivery.message.startswith("the token endpoint issued a '")
    assert delivery.message.endswith(" token; expected a Bearer token")
    assert (status["status"] == "failed").all()
    for text in (repr(delivery), status.to_csv(), caplog.text):
        assert "s3cr3t" not in text


@pytest.mark.timeout(60)
def test_requests_in_flight_together_share_one_watchdog_and_each_keeps_its_deadline(serve):
    # One request trickles (its deadline must still end it), the others are answered at once
    # while it hangs; one watchdog thread serves them all and none is left afterwards.
    def first_trickles(conn, line, headers, number):
        if number == 1:
            return trickle(*TRICKLES["chunked-body"])(conn)
        conn.sendall(OK)

    server = serve(first_trickles)
    before = set(threading.enumerate())
    watchdogs: set[int] = set()
    results: dict[int, Delivery] = {}
    with ProductivClient(TOKEN, base_url=server.url, timeout=(1, 1), retry=FAST) as client:

        def send(number: int) -> None:
            results[number] = client.post_events("app-1", PAYLOAD)

        slow = threading.Thread(target=send, args=(0,))
        slow.start()
        while not server.requests:  # the trickling request is in flight
            time.sleep(0.01)
        for number in range(1, 6):
            send(number)
            watchdogs |= {t.ident for t in threading.enumerate() if t.name == "productiv-request-deadline"}
        slow.join(10)
    assert not slow.is_alive()
    assert results[0].kind == "retry_exhausted"
    assert results[0].message.startswith("timed out: no complete answer within 2 s")
    assert [results[n].kind for n in range(1, 6)] == ["sent"] * 5
    assert len(watchdogs) == 1  # the same thread all along, not one a request
    assert [t.name for t in set(threading.enumerate()) - before if "request" in t.name] == []
