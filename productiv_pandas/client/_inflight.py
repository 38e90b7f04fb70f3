"""A deadline for a whole request, and a way to abandon it, by closing its connection from outside.

A socket timeout bounds each read, not the request: a server that trickles one byte every half
second (of its headers or of its body) never trips it. Nor can another thread interrupt a read
blocked in ``recv``, except by shutting the socket down under it, which wakes the read at once
(with an end of file or an error). So each request gets an :class:`InFlight` handle:

- the connection classes of the pool (:class:`WatchedAdapter`) attach to the sending thread's
  current handle every socket they connect or send on (a pooled connection being reused too);
- a watchdog thread per request waits until the deadline passes (or the request ends) and, when
  it passes, or when the caller's ``abandon`` event is set, shuts every attached socket down.

The sending thread then sees the handle's ``stopped`` reason and reports a timeout or an
abandoned request, whatever exception (or premature end of body) the shutdown caused.

Why a thread per request rather than one per client: it is joined before the request returns,
so no thread of ours outlives a call (publish promises that, also with a client it was given),
and a request costs one thread start, small next to a round trip. It sleeps until the deadline
when there is no ``abandon`` event; with one, it looks at it every 50 ms (an Event cannot be
waited on together with another).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["InFlight", "WatchedAdapter", "watched"]

#: How often the watchdog looks at an ``abandon`` event.
ABANDON_POLL = 0.05

_local = threading.local()


class InFlight:
    """One request: its deadline, its sockets, and why it was stopped (None while it runs)."""

    def __init__(self, seconds: float, abandon: threading.Event | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.abandon = abandon
        self.stopped: str | None = None  # "deadline" or "abandoned"
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def attach(self, sock: socket.socket | None) -> None:
        """Watch ``sock`` from now on; shut it down at once if the request is already stopped."""
        if sock is None:
            return
        with self._lock:
            if not any(s is sock for s in self._sockets):
                self._sockets.append(sock)
            stopped = self.stopped is not None
        if stopped:
            _shut(sock)

    def stop(self, why: str) -> None:
        with self._lock:
            if self.stopped is None:
                self.stopped = why
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def check_abandon(self) -> None:
        """Stop now if the caller's ``abandon`` event is set (the sending thread calls this too)."""
        if self.abandon is not None and self.abandon.is_set():
            self.stop("abandoned")

    def watch(self) -> None:
        """The watchdog: until the request ends, stop it when the deadline passes or on ``abandon``."""
        while True:
            self.check_abandon()
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.stop("deadline")
            if self.stopped is not None:
                return
            wait = remaining if self.abandon is None else min(remaining, ABANDON_POLL)
            if self.done.wait(wait):
                return


@contextlib.contextmanager
def watched(seconds: float, abandon: threading.Event | None) -> Iterator[InFlight]:
    """Run a request under a deadline of ``seconds`` (and ``abandon``), in this thread."""
    inflight = InFlight(seconds, abandon)
    previous = getattr(_local, "inflight", None)
    _local.inflight = inflight
    watchdog = threading.Thread(target=inflight.watch, name="productiv-request-deadline", daemon=True)
    watchdog.start()
    try:
        yield inflight
    finally:
        inflight.done.set()
        _local.inflight = previous
        watchdog.join()


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for a TLS socket: SSLSocket.shutdown would first drop
    # its TLS state under the thread reading it. A socket detached by the TLS wrapping is
    # already closed (EBADF): nothing to do.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(sock: socket.socket | None) -> None:
    inflight = getattr(_local, "inflight", None)
    if inflight is not None:
        inflight.attach(sock)


class _Watched:
    """Attaches each socket of the connection to the request that uses it (see the module doc)."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _attach(sock)  # before a TLS handshake, which a silent server could stall too
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self.sock)

    def send(self, data: Any) -> None:
        _attach(self.sock)  # a pooled connection, connected by an earlier request
        super().send(data)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose pooled connections attach their sockets to the request in flight."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
