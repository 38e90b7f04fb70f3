"""client/_wire: requests prepared from a template per URL and sent by LeanAdapter.open.

What the transport relies on: a prepared request is exactly what ``Session.request`` would have
sent (headers, their order, body), the adapter's ``open`` raises what ``HTTPAdapter.send``
raises for the same failure, and what the session skipped (environment, cookies) could not
have changed anything.
"""

from __future__ import annotations

import socket
import threading

import pytest
import requests

import productiv_pandas as pp
from productiv_pandas.client._transport import Transport, TransportError
from productiv_pandas.client._wire import MAX_TEMPLATES, Templates, timeout_of
from tests.helpers.raw_server import OK, answer

TOKEN = "fixed-token-s3cr3t-value"
EVENTS = "/services/push/v1/customer/apps/app-1/events"


def session_of(transport: Transport) -> requests.Session:
    return transport._session


@pytest.fixture
def transport():
    made = Transport(4, (2.0, 2.0), str)
    yield made
    made.close()


def wire_form(prepared: requests.PreparedRequest) -> tuple:
    return prepared.method, prepared.url, list(prepared.headers.items()), prepared.body


@pytest.mark.parametrize(
    ("url", "data", "headers"),
    [
        (
            "http://127.0.0.1:8000" + EVENTS,
            b'{"events": []}',
            {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        ),
        (
            "https://login.example.com/oauth2/token",
            {"grant_type": "client_credentials", "client_id": "id", "client_secret": "a b+c&d=é"},
            None,
        ),
        ("https://Public-API.example.com:443/a%20b/ü", b"", {"accept": "text/plain"}),
        # None drops a header, the session's own too, as Session.request merges them
        ("http://127.0.0.1:8000" + EVENTS, b"{}", {"Accept": None, "X-Gone": None}),
    ],
)
def test_a_prepared_request_is_what_the_session_would_send(transport, url, data, headers):
    session = session_of(transport)
    expected = wire_form(session.prepare_request(requests.Request("POST", url, data=data, headers=headers)))
    templates = Templates(session)
    first = templates.prepare("POST", url, data=data, headers=headers)
    again = templates.prepare("POST", url, data=data, headers=headers)  # from the template kept
    assert wire_form(first) == wire_form(again) == expected
    assert first is not again
    assert first.headers is not again.headers


def test_the_session_headers_are_sent_once_and_a_request_header_of_another_case_replaces_one(transport):
    prepared = Templates(session_of(transport)).prepare(
        "POST", "http://127.0.0.1:1/x", b"{}", {"accept": "a/b"}
    )
    assert list(prepared.headers.items()) == [
        ("User-Agent", f"productiv-pandas {requests.utils.default_user_agent()}"),
        ("Accept-Encoding", "gzip, deflate"),
        ("accept", "a/b"),
        ("Connection", "keep-alive"),
        ("Content-Length", "2"),
    ]


def test_a_header_value_with_a_line_break_is_refused_as_the_session_refuses_it(transport):
    headers = {"Authorization": "Bearer a\r\nX-Injected: 1"}
    url = "http://127.0.0.1:1/x"
    with pytest.raises(requests.exceptions.InvalidHeader) as by_session:
        session_of(transport).prepare_request(requests.Request("POST", url, data=b"", headers=headers))
    with pytest.raises(requests.exceptions.InvalidHeader) as ours:
        Templates(session_of(transport)).prepare("POST", url, b"", headers)
    assert str(ours.value) == str(by_session.value)


def test_templates_are_kept_for_a_bounded_number_of_urls(transport):
    templates = Templates(session_of(transport))
    for number in range(MAX_TEMPLATES + 5):
        prepared = templates.prepare("POST", f"http://127.0.0.1:1/apps/{number}/events", b"{}")
        assert prepared.url == f"http://127.0.0.1:1/apps/{number}/events"
    assert len(templates._templates) == 5


# --- what the adapter's open raises, against what HTTPAdapter.send raises -------------------


def listening_socket(on_connect) -> tuple[socket.socket, str]:
    server = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            on_connect(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/x"


def hang_up(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.close()


def stay_silent(conn: socket.socket) -> None:
    threading.Thread(
        target=lambda: (conn.recv(65536), threading.Event().wait(5), conn.close()), daemon=True
    ).start()


def refused_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/x"  # closed: connecting is refused


def raised_by_send_and_open(
    transport: Transport, url: str, timeout: tuple[float, float]
) -> tuple[BaseException, BaseException]:
    """What the adapter's ``send`` and its ``open`` raise for the same POST to ``url``."""
    prepared = Templates(session_of(transport)).prepare("POST", url, b"{}")
    with pytest.raises(requests.RequestException) as by_send:
        transport._adapter.send(prepared, stream=True, timeout=timeout, verify=True, proxies={})
    with pytest.raises(requests.RequestException) as by_open:
        transport._adapter.open(prepared, timeout_of(timeout))
    return by_send.value, by_open.value


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("refused", requests.exceptions.ConnectionError),
        ("hang_up", requests.exceptions.ConnectionError),
        ("silent", requests.exceptions.ReadTimeout),
    ],
)
def test_open_raises_what_the_adapters_send_raises(case, expected):
    server = None
    if case == "refused":
        url = refused_url()
    else:
        server, url = listening_socket(hang_up if case == "hang_up" else stay_silent)
    transport = Transport(2, (1.0, 0.3), str)
    try:
        by_send, by_open = raised_by_send_and_open(transport, url, (1.0, 0.3))
        assert type(by_open) is type(by_send) is expected
        assert type(by_open.args[0]) is type(by_send.args[0])
        with pytest.raises(TransportError) as translated:
            transport.send("POST", url, data=b"{}")
        timed_out = case == "silent"
        assert (translated.value.retryable, translated.value.timed_out) == (True, timed_out)
        assert translated.value.unanswered is (case == "hang_up")
    finally:
        transport.close()
        if server is not None:
            server.close()


def test_a_bad_url_is_invalid_url_as_with_send(transport):
    prepared = requests.PreparedRequest()
    prepared.prepare(method="POST", url="http://127.0.0.1:1/x", data=b"")
    prepared.url = "http://:80/x"  # no host: refused by urllib3, past requests' own checks
    with pytest.raises(requests.exceptions.InvalidURL):
        transport._adapter.send(prepared, stream=True, timeout=1.0, verify=True, proxies={})
    with pytest.raises(requests.exceptions.InvalidURL):
        transport._adapter.open(prepared, timeout_of(1.0))


# --- what the session skipped changes nothing -----------------------------------------------


def test_cookies_a_server_sets_are_never_sent_back(serve):
    server = serve(
        lambda conn, line, headers, number: conn.sendall(
            answer(
                "200 OK",
                b'{"success": true}',
                "Content-Type: application/json",
                "Set-Cookie: session=abc; Path=/",
                "Set-Cookie: other=def; Domain=127.0.0.1; Path=/",
            )
        )
    )
    with pp.ProductivClient(TOKEN, base_url=server.url) as client:
        for _ in range(3):
            assert client.post_events("app-1", b'{"events": []}').kind == "sent"
    assert len(server.requests) == 3
    assert all("cookie" not in {name.lower() for name in headers} for _, headers in server.requests)


def test_proxy_variables_are_not_read(serve, monkeypatch):
    dead = refused_url().rsplit("/", 1)[0]  # a proxy there would refuse every connection
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server = serve(lambda conn, *_: conn.sendall(OK))
    with pp.ProductivClient(TOKEN, base_url=server.url) as client:
        assert client.post_events("app-1", b'{"events": []}').kind == "sent"
    line, headers = server.requests[0]
    assert line.startswith("POST " + EVENTS + " HTTP/1.1")  # the origin form: not sent to a proxy
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_the_wire_request_carries_the_headers_and_body_it_always_did(serve):
    server = serve(lambda conn, *_: conn.sendall(OK))
    with pp.ProductivClient(TOKEN, base_url=server.url) as client:
        assert client.post_events("app-1", b'{"events": [1]}').kind == "sent"
    _, headers = server.requests[0]
    assert list(headers.items()) == list(
        {
            "host": server.url.removeprefix("http://"),
            "user-agent": f"productiv-pandas {requests.utils.default_user_agent()}",
            "accept-encoding": "gzip, deflate",
            "accept": "application/json",
            "connection": "keep-alive",
            "content-type": "application/json",
            "authorization": f"Bearer {TOKEN}",
            "content-length": "15",
        }.items()
    )


def test_repeated_answer_headers_are_joined_and_read_whatever_their_case(serve, transport):
    server = serve(
        lambda conn, *_: conn.sendall(answer("200 OK", b"{}", "X-Thing: 1", "x-thing: 2", "Retry-After: 3"))
    )
    got = transport.send("POST", server.url + EVENTS, data=b"{}")
    assert (got.status_code, got.reason, got.body) == (200, "OK", b"{}")
    assert got.headers["X-THING"] == "1, 2"
    assert got.headers.get("retry-after") == "3"


def test_a_tls_failure_is_raised_as_by_send_and_never_retried():
    def plain_http(conn: socket.socket) -> None:  # answers a TLS handshake in plain HTTP
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    server, url = listening_socket(plain_http)
    base_url = url.replace("http://", "https://").removesuffix("/x")
    url = base_url + EVENTS
    transport = Transport(2, (1.0, 1.0), str)
    try:
        by_send, by_open = raised_by_send_and_open(transport, url, (1.0, 1.0))
        assert type(by_open) is type(by_send) is requests.exceptions.SSLError
    finally:
        transport.close()
    retry = pp.RetryPolicy(backoff_base=0.001, backoff_max=0.001, max_retries=3)
    try:
        with pp.ProductivClient(TOKEN, base_url=base_url, retry=retry) as client:
            delivery = client.post_events("app-1", b'{"events": []}')
    finally:
        server.close()
    assert (delivery.ok, delivery.kind, delivery.attempts, delivery.status) == (False, "other", 1, None)
    assert delivery.message.startswith("TLS error: ")
    assert TOKEN not in delivery.message
