"""publish and the client against servers that misbehave the way real servers and proxies do.

Each server here writes raw bytes on a socket on 127.0.0.1, so it can do what an
``http.server`` handler cannot: close a keep-alive connection silently after answering, reset
it, stall in the middle of a body, answer chunked or gzip-encoded, redirect elsewhere.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import warnings

import pandas as pd
import pytest

import productiv_pandas as pp
from tests.helpers.raw_server import OK, Handler, RawServer, answer, events, outcomes

FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=2)
TOKEN = "fixed-token-s3cr3t-value"


def publish(server: RawServer, n: int = 3, *, timeout=(5.0, 30.0), **options) -> pd.DataFrame:
    client = pp.ProductivClient(TOKEN, base_url=server.url, retry=FAST, timeout=timeout)
    with client, warnings.catch_warnings():
        warnings.simplefilter("error")
        status = pp.publish(events(n), "app-1", client=client, progress=False, **options)
    assert "s3cr3t" not in status.to_string()
    return status


def fixed(data: bytes) -> Handler:
    return lambda conn, *_: conn.sendall(data)


# --- connections ---------------------------------------------------------------------------


def test_a_server_closing_keep_alive_connections_silently_costs_no_failure(serve):
    # No "Connection: close": the client pools the connection and may reuse it just as the
    # server hangs up. That request goes out again at once, even with no retries allowed.
    def close_after_answering(conn, *_):
        conn.sendall(OK)
        return "close"

    server = serve(close_after_answering)
    status = publish(server, 20, batch_size=1, max_workers=2, max_retries=0)
    assert (status["status"] == "sent").all()
    assert status["attempts"].isin([1, 2]).all()


def test_a_connection_reset_before_the_answer_is_sent_again(serve):
    def reset_first(conn, line, headers, number):
        if number == 1:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "close"
        conn.sendall(OK)

    status = publish(serve(reset_first), max_retries=0)
    assert outcomes(status) == [("sent", None, 200, 2)]


def test_a_connection_reset_in_the_middle_of_the_answer_is_retried(serve):
    def reset_mid_body(conn, line, headers, number):
        if number == 1:
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{"succ')
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "close"
        conn.sendall(OK)

    status = publish(serve(reset_mid_body))
    assert outcomes(status) == [("sent", None, 200, 2)]


def test_a_body_that_stalls_is_a_timeout_retried_then_failed(serve):
    stalled = threading.Event()

    def stall(conn, *_):
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{"succ')
        stalled.wait(5)

    server = serve(stall)
    try:
        status = publish(server, timeout=(1.0, 0.2), max_retries=1)
    finally:
        stalled.set()
    [(state, reason, http, attempts)] = outcomes(status)
    assert (state, http, attempts) == ("failed", None, 2)
    assert reason.startswith("timed out waiting for the answer (timeout=(1.0, 0.2) s) (POST http://")


@pytest.mark.parametrize(
    "data",
    [
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"suc\r\nc\r\ncess": true}\r\n0\r\n\r\n',
        answer("200 OK", gzip.compress(b'{"success": true}'), "Content-Encoding: gzip"),
    ],
    ids=["chunked", "gzip"],
)
def test_chunked_and_gzip_answers_are_read(serve, data):
    assert outcomes(publish(serve(fixed(data)))) == [("sent", None, 200, 1)]


# --- answers that are not the API's --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            answer("200 OK", b"<html><body>Behind a proxy</body></html>", "Content-Type: text/html"),
            'HTTP 200 without {"success": true} in the answer: <html><body>Behind a proxy</body></html>',
        ),
        (
            answer("200 OK", b'{"success": false}'),
            'HTTP 200 without {"success": true} in the answer: {"success": false}',
        ),
        (answer("202 Accepted"), 'HTTP 202 without {"success": true} in the answer: an empty body'),
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            'HTTP 204 without {"success": true} in the answer: an empty body',
        ),
    ],
    ids=["html", "success-false", "202-empty", "204"],
)
def test_a_2xx_without_success_true_fails_once_and_says_what_came(serve, data, reason):
    server = serve(fixed(data))
    status = publish(server)
    http = int(reason.split()[1])
    assert outcomes(status) == [("failed", reason, http, 1)]
    assert len(server.requests) == 1


def test_a_proxy_502_page_is_retried_then_failed_with_its_text(serve):
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server = serve(fixed(answer("502 Bad Gateway", page, "Content-Type: text/html")))
    status = publish(server)
    assert outcomes(status) == [("failed", f"Bad Gateway: {page.decode()}", 502, 3)]
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            answer("422 Unprocessable Entity", b'{"code": 422, "message": "eventName unknown"}'),
            "eventName unknown",
        ),
        (answer("400 Bad Request", b"events malformed"), "Bad Request: events malformed"),
    ],
)
def test_a_400_or_422_in_any_shape_rejects_each_row(serve, data, reason):
    server = serve(fixed(data))
    status = publish(server, 2)
    code = int(data.split()[1])
    # Split once: each of the two rows is refused on its own.
    assert outcomes(status) == [("rejected", f"HTTP {code}: {reason}", code, 2)]
    assert len(server.requests) == 3


def test_a_403_without_a_message_stops_the_run(serve):
    server = serve(fixed(answer("403 Forbidden", b'{"success": false}')))
    status = publish(server, 3, batch_size=1, max_workers=1)
    assert outcomes(status) == [
        ("rejected", 'HTTP 403: Forbidden: {"success": false}', 403, 1),
        (
            "failed",
            'not attempted: the API answered HTTP 403 (Forbidden: {"success": false}) to an earlier batch',
            None,
            None,
        ),
    ]
    assert len(server.requests) == 1


# --- Retry-After and redirects -------------------------------------------------------------


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-5", "nan"])
def test_retry_after_in_the_past_or_unreadable_is_retried_without_waiting(serve, value):
    def throttle_once(conn, line, headers, number):
        conn.sendall(answer("429 Too Many Requests", b"", f"Retry-After: {value}") if number == 1 else OK)

    assert outcomes(publish(serve(throttle_once))) == [("sent", None, 200, 2)]


@pytest.mark.parametrize("status_line", ["429 Too Many Requests", "503 Service Unavailable"])
def test_a_retry_after_beyond_max_retry_after_stops_the_run_without_stalling_it(serve, status_line):
    # The server asks for a day: nothing is waited for, and no other batch is sent to hear it again.
    body = b'{"code": "429", "message": "daily quota exceeded", "success": false}'
    server = serve(fixed(answer(status_line, body, "Retry-After: 86400")))
    status = publish(server, 3, batch_size=1, max_workers=1)
    said = (
        "daily quota exceeded (the server asked to wait 86400 s, more than RetryPolicy.max_retry_after=300 s)"
    )
    code = int(status_line.split()[0])
    assert outcomes(status) == [
        ("failed", f"HTTP {code}: {said}", code, 1),
        ("failed", f"not attempted: the API answered HTTP {code} ({said}) to an earlier batch", None, None),
    ]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "status_line", ["301 Moved Permanently", "307 Temporary Redirect", "308 Permanent Redirect"]
)
def test_a_redirect_is_not_followed_and_stops_the_run(serve, status_line):
    elsewhere = serve(fixed(OK))
    target = f"{elsewhere.url}/services/push/v2/events"
    server = serve(fixed(answer(status_line, b"<html>moved</html>", f"Location: {target}")))
    status = publish(server, 3, batch_size=1, max_workers=1)
    code = int(status_line.split()[0])
    said = (
        f"redirected to {target}, not followed so that no credentials go to another address; "
        "set base_url (or token_url) to the address that answers"
    )
    assert outcomes(status) == [
        ("failed", f"HTTP {code}: {said}", code, 1),
        ("failed", f"not attempted: the API answered HTTP {code} ({said}) to an earlier batch", None, None),
    ]
    assert elsewhere.requests == []  # the token never went there
    assert len(server.requests) == 1


def test_a_redirect_with_an_endless_body_is_read_up_to_the_cap_not_to_the_deadline(serve):
    """The body of a 3xx is read as any other, at most BODY_CAP bytes, then the connection is
    closed: a server streaming one without end cannot hold the run until the deadline (through
    ``Session.request``, requests read a redirect's whole body even when not following it)."""
    target = "https://elsewhere.example/services/push/v1/events"

    def endless(conn, *_):
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: "
            + target.encode()
            + b"\r\nContent-Length: 100000000000\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            while True:
                conn.sendall(b"x" * 65536)

    server = serve(endless)
    status = publish(server, 1, batch_size=1, max_workers=1, timeout=(5.0, 60.0))
    said = (
        f"redirected to {target}, not followed so that no credentials go to another address; "
        "set base_url (or token_url) to the address that answers"
    )
    assert outcomes(status) == [("failed", f"HTTP 302: {said}", 302, 1)]
    assert len(server.requests) == 1


# --- the token endpoint --------------------------------------------------------------------


def token_server(serve, token_answer: bytes) -> RawServer:
    def handler(conn, line, headers, number):
        conn.sendall(token_answer if "/oauth2/token" in line else OK)

    return serve(handler)


@pytest.mark.parametrize(
    "body",
    [
        b'{"access_token": "issued-token-s3cr3t", "token_type": "bearer"}',
        b'{"access_token": "issued-token-s3cr3t", "token_type": "Bearer", "expires_in": "3600"}',
    ],
    ids=["lowercase-bearer-no-expiry", "expires-in-as-text"],
)
def test_token_answers_real_servers_give_are_accepted(serve, body):
    server = token_server(serve, answer("200 OK", body))
    with pp.ProductivClient.from_client_credentials(
        "client-id", "client-secret-s3cr3t", token_url=f"{server.url}/oauth2/token", base_url=server.url
    ) as client:
        status = pp.publish(events(2), "app-1", client=client, progress=False)
    assert outcomes(status) == [("sent", None, 200, 1)]
    assert server.requests[1][1]["authorization"] == "Bearer issued-token-s3cr3t"


def test_a_token_endpoint_answering_a_login_page_says_so_and_stops(serve):
    page = b"<html><title>Sign in</title></html>"
    server = token_server(serve, answer("200 OK", page, "Content-Type: text/html"))
    token_url = f"{server.url}/oauth2/token"
    with pp.ProductivClient.from_client_credentials(
        "client-id", "client-secret-s3cr3t", token_url=token_url, base_url=server.url, retry=FAST
    ) as client:
        status = pp.publish(events(2), "app-1", client=client, progress=False, batch_size=1, max_workers=1)
    said = (
        f"the token endpoint answered HTTP 200 without an access_token: {page.decode()} "
        f"(is token_url {token_url!r} the OAuth2 token endpoint?)"
    )
    assert outcomes(status) == [
        ("failed", f"credentials refused: {said}", 200, 0),
        ("failed", f"not attempted: the credentials were refused ({said})", None, None),
    ]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Fri, 31 Dec 9999 23:59:59 GMT", "2.5"),  # a date in year 9999: about 2.5e+11 s
        ("1" + "0" * 308, "1e+308"),  # digits only, as RFC 9110 writes delay-seconds
        ("99999999999999999999999", "1e+23"),
    ],
)
def test_a_huge_retry_after_stops_the_run_in_a_short_message(serve, value, shown):
    server = serve(fixed(answer("429 Too Many Requests", b"", f"Retry-After: {value}")))
    status = publish(server, 2, batch_size=1, max_workers=1)
    reason = status["reason"].iloc[0]
    assert reason.startswith(f"HTTP 429: Too Many Requests (the server asked to wait {shown}")
    assert reason.endswith(" s, more than RetryPolicy.max_retry_after=300 s)")
    assert len(reason) < 120
    assert len(server.requests) == 1
