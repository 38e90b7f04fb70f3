"""A deadline for a whole request, and a way to abandon it, by closing its connection from outside.

A socket timeout bounds each read, not the request: a server that trickles one byte every half
second (of its headers or of its body) never trips it. Nor can another thread interrupt a read
blocked in ``recv``, except by shutting the socket down under it, which wakes the read at once
(with an end of file or an error). So each request gets an :class:`InFlight` handle:

- the connection classes of the pool (:class:`WatchedAdapter`) attach to the sending thread's
  current handle every socket they connect or send on (a pooled connection being reused too);
- one watchdog thread, shared by every request in flight, wakes at the earliest deadline (or
  every :data:`ABANDON_POLL` while a request has an ``abandon`` event) and shuts down every
  socket attached to a request whose deadline passed or whose ``abandon`` is set.

The sending thread then sees the handle's ``stopped`` reason and reports a timeout or an
abandoned request, whatever exception (or premature end of body) the shutdown caused.

Why one thread for all the requests in flight, started by the first and joined by the last to
end: no thread of ours outlives a call (publish promises that, also with a client it was
given), as with a thread per request, which this replaces; but a thread started and joined for
every request cost 0.4 ms of CPU and more of wall time per request, a third of the client's
own work per batch at no added latency. While requests overlap (publish's workers), the thread
stays, and a request costs two short locked updates of a set.
"""

from __future__ import annotations

import contextlib
import os
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

    def next_check(self, now: float) -> float:
        """When the watchdog must look at this request again: its deadline, or sooner to see
        its ``abandon`` event."""
        return self.deadline if self.abandon is None else min(self.deadline, now + ABANDON_POLL)

    def look(self, now: float) -> None:
        """Stop the request if its deadline passed or its ``abandon`` event is set."""
        self.check_abandon()
        if self.stopped is None and now >= self.deadline:
            self.stop("deadline")


class _Watchdog:
    """The one thread that watches every request in flight, alive while there is one."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._requests: set[InFlight] = set()
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the thread will look again, on its own

    def add(self, inflight: InFlight) -> None:
        with self._changed:
            self._requests.add(inflight)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)
                self._thread.start()  # it waits for the lock, then sees this request
            elif inflight.next_check(time.monotonic()) < self._wake_at:
                self._changed.notify()

    def remove(self, inflight: InFlight) -> None:
        """Forget a request that ended; the last to end stops the thread and joins it."""
        ending = None
        with self._changed:
            self._requests.discard(inflight)
            if not self._requests and self._thread is not None:
                ending, self._thread = self._thread, None
                self._changed.notify()
        if ending is not None:
            ending.join()

    def _run(self) -> None:
        me = threading.current_thread()
        with self._changed:
            while self._thread is me:
                now = time.monotonic()
                wake = float("inf")
                for inflight in self._requests:
                    if inflight.stopped is None:
                        inflight.look(now)
                    if inflight.stopped is None:
                        wake = min(wake, inflight.next_check(now))
                self._wake_at = wake
                self._changed.wait(None if wake == float("inf") else max(0.0, wake - now))
            self._wake_at = float("inf")


_THREAD_NAME = "productiv-request-deadline"
_WATCHDOG = _Watchdog()


def _forget_in_child() -> None:
    """A forked child has none of its parent's threads: start afresh there, or the parent's
    requests, still listed and never ended in the child, would keep its watchdog from starting."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_in_child)


@contextlib.contextmanager
def watched(seconds: float, abandon: threading.Event | None) -> Iterator[InFlight]:
    """Run a request under a deadline of ``seconds`` (and ``abandon``), in this thread."""
    inflight = InFlight(seconds, abandon)
    previous = getattr(_local, "inflight", None)
    _local.inflight = inflight
    try:
        _WATCHDOG.add(inflight)  # in the try: a Ctrl-C landing in it still removes the request
        yield inflight
    finally:
        _local.inflight = previous
        _WATCHDOG.remove(inflight)


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
