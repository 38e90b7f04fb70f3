"""A raw-socket HTTP server on 127.0.0.1 and the small frames the client tests send through it.

Shared by tests/client/test_real_servers.py, tests/client/test_hostile_servers.py and
tests/sending/test_interrupts.py: the server writes whatever bytes a handler gives it, so a test
can do what an ``http.server`` handler cannot (hang up silently, reset, stall, trickle).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import pandas as pd

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"success": true}'

#: handler(connection, request line, headers, request number) -> "close" to hang up after it.
Handler = Callable[[socket.socket, str, dict[str, str], int], object]


def answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawServer:
    """Reads HTTP/1.1 requests off each connection and lets ``handler`` write the answer bytes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            try:
                while line := reader.readline():
                    headers = {}
                    while (header := reader.readline()) not in (b"\r\n", b""):
                        name, value = header.decode().split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                    reader.read(int(headers.get("content-length", 0)))
                    with self._lock:
                        self.requests.append((line.decode().strip(), headers))
                        number = len(self.requests)
                    if self.handler(conn, line.decode(), headers, number) == "close":
                        return
            except OSError:
                pass

    def close(self) -> None:
        self._sock.close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def events(n: int) -> pd.DataFrame:
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)
    return pd.DataFrame(
        {
            "timestamp": [start + pd.Timedelta(milliseconds=i) for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        }
    )


def outcomes(status: pd.DataFrame) -> list[tuple[str, str | None, int | None, int | None]]:
    """The distinct (status, reason, http_status, attempts) of a status frame, in row order."""
    rows = status[["status", "reason", "http_status", "attempts"]].astype(object)
    rows = rows.where(rows.notna(), None)
    return list(dict.fromkeys(map(tuple, rows.itertuples(index=False))))
