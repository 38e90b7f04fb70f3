"""The HTTP layer: the standard library's threading server speaking HTTP/1.1 with keep-alive.

It reads a request's body (Content-Length or chunked, bounded), hands it to
:class:`.api.Endpoints`, records the request, and writes the answer or drops the connection.
Bad input never kills it: malformed framing, oversized or truncated bodies and clients that
vanish mid-request get an error answer or a closed connection, and the next request is served.
Any other exception is logged, kept in the state's error list and answered with a 500.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .api import Endpoints, Response, error_response
from .state import RequestRecord, SandboxState

__all__ = ["MAX_BODY_BYTES", "SandboxHTTPServer"]

logger = logging.getLogger("productiv_pandas.sandbox")

# 1000 events are ~100 KB of JSON; 16 MiB leaves room for long strings and refuses abuse.
MAX_BODY_BYTES = 16 * 1024 * 1024


class _ConnectionBrokenError(Exception):
    """The connection broke while reading the request: there is nobody to answer."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its keep-alive connections on shutdown."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], endpoints: Endpoints, state: SandboxState) -> None:
        self.endpoints = endpoints
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall start().
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open keep-alive connection, so a stopped sandbox answers nothing more."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client or the handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            logger.debug("sandbox: client %s went away", client_address, exc_info=True)
            return
        error = traceback.format_exc()
        logger.error("sandbox: unhandled error serving %s\n%s", client_address, error)
        self.state.record_error(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients use pooled connections
    server_version = "ProductivSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = 30.0  # a client that stalls mid-request loses its connection, not a thread forever
    server: SandboxHTTPServer

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool = False) -> None:
        arrived = time.monotonic()
        try:
            body = self._read_body()
        except _ConnectionBrokenError as exc:
            logger.debug("sandbox: %s %s: connection broke while reading: %s", self.command, self.path, exc)
            self.close_connection = True
            return
        received = time.monotonic()
        try:
            response = body if isinstance(body, Response) else self._handle(body)
        except Exception:
            error = traceback.format_exc()
            logger.error("sandbox: error handling %s %s\n%s", self.command, self.path, error)
            self.server.state.record_error(error)
            last = error.rstrip().rsplit("\n", 1)[-1]
            response = error_response(500, f"sandbox internal error: {last}", close=True)
        status = 0 if response.drop else response.status
        handled = time.monotonic() - received
        # Recorded before answering, so whoever reads the answer also finds the record.
        self.server.state.record(
            RequestRecord(arrived, self.command, self.path, status, response.events, response.app_id, handled)
        )
        logger.info(
            "%s %s -> %s (%d events, %.1f ms)",
            self.command,
            self.path,
            status or "dropped",
            response.events,
            handled * 1000,
        )
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            return
        self._write(response, head)

    def _handle(self, body: bytes) -> Response:
        # HTTPMessage: a case-insensitive mapping of the headers, though typeshed does not call it a Mapping.
        return self.server.endpoints.handle(self.command, self.path, self.headers, body)  # type: ignore[arg-type]

    def _read_body(self) -> bytes | Response:
        """The request body, or the error Response that refuses it (and ends the connection)."""
        length = self.headers.get("Content-Length")
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if length is not None:
                return error_response(400, "Content-Length and Transfer-Encoding together", close=True)
            if encoding.strip().lower() != "chunked":
                return error_response(501, f"Transfer-Encoding {encoding!r} is not supported", close=True)
            return self._read_chunked()
        if length is None:
            return b""  # HTTP/1.1: no length and no transfer coding means no body
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            return error_response(400, f"invalid Content-Length {length!r}", close=True)
        if size > MAX_BODY_BYTES:
            return error_response(
                413, f"body of {size} bytes; at most {MAX_BODY_BYTES} are accepted", close=True
            )
        return self._read_exactly(size)

    def _read_exactly(self, size: int) -> bytes | Response:
        try:
            data = self.rfile.read(size)
        except OSError as exc:  # reset, timeout
            raise _ConnectionBrokenError(exc) from exc
        if len(data) < size:
            return error_response(400, f"body truncated: {len(data)} of {size} bytes arrived", close=True)
        return data

    def _read_chunked(self) -> bytes | Response:
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return error_response(400, f"bad chunk size line {line[:40]!r}", close=True)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    return error_response(413, f"body over {MAX_BODY_BYTES} bytes", close=True)
                chunk = self._read_exactly(size)
                if isinstance(chunk, Response):
                    return chunk
                chunks.append(chunk)
                self.rfile.readline(3)  # the CRLF after the chunk
        except OSError as exc:
            raise _ConnectionBrokenError(exc) from exc

    def _write(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if response.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed request lines and headers: answer with the documented JSON error body too.
        self.close_connection = True
        self._write(error_response(code, message or explain or "bad request", close=True))

    def log_message(self, format: str, *args) -> None:
        logger.debug("sandbox: %s " + format, self.address_string(), *args)
