"""A scripted Productiv on 127.0.0.1 for the client's tests, and the secrets they must never show.

Deliberately tiny (the sandbox is tested in tests/sandbox/): each test scripts the answers, the
server records every request with its arrival time. The fixtures over it (``fake``,
``make``, ``make_fixed``, ``clients``, ``no_secret_in_logs``) are in tests/client/conftest.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from productiv_pandas.client._client import DELIVERY_KINDS, Delivery
from productiv_pandas.client._retry import RetryPolicy

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
