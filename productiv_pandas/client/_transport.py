"""The wire: one pooled ``requests`` session, and the one place its exceptions become ours.

Knows nothing of the API's rules (what to retry, what a 404 means): it sends, and either hands
back the HTTP answer (an :class:`.answer.Answer`, its body read up to a cap) or raises
:class:`TransportError` with a message free of secrets.

Every request has a total deadline, ``connect + read`` timeout (twice the timeout when it is a
single number): connecting, sending, the headers and the body together. The socket timeouts
alone bound each read, so a server trickling a byte at a time would hold a request for ever.
See :mod:`.inflight` for how the deadline (and ``abandon``) closes the connection under a
blocked read.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import numbers
import threading
from collections.abc import Callable, Iterator
from typing import Any

import requests
import urllib3.exceptions
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from ..errors import ConfigurationError, ProductivError
from ._answer import Answer, read_body
from ._inflight import InFlight, watched
from ._wire import LeanAdapter, Templates, headers_of, timeout_of

__all__ = ["Abandoned", "Timeout", "Transport", "TransportError", "deadline_of"]

#: Seconds for the whole exchange, or (connect, read).
Timeout = float | tuple[float, float]


class TransportError(ProductivError):
    """No HTTP answer: a timeout, a refused or dropped connection, a TLS failure.

    ``retryable`` is False where trying again cannot help (TLS errors, malformed requests).
    ``unanswered`` is True when the server closed or reset the connection before any byte of
    an answer: mostly a pooled keep-alive connection that the server had just closed, which a
    fresh connection sends over at once (the pool already discarded the dead one).
    ``timed_out`` is True when the answer did not come in time (a socket timeout, or the
    request's deadline), False when the connection failed (refused, reset, DNS, TLS).
    """

    def __init__(
        self, message: str, retryable: bool, unanswered: bool = False, *, timed_out: bool = False
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unanswered = unanswered
        self.timed_out = timed_out


class Abandoned(TransportError):
    """The caller's ``abandon`` event was set: the request's connection was closed under it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class Transport:
    """A pooled session, safe to share between threads, that never retries on its own.

    Parameters
    ----------
    pool_size : int
        Connections kept open per host: at least the number of threads sending at once.
    timeout : float or (float, float)
        Always set, so that a silent server cannot hang a run; also gives each request's total
        deadline (:func:`deadline_of`).
    redact : callable
        Applied to every message this module writes, to take secrets out.
    """

    timeout: Timeout
    deadline: float
    _redact: Callable[[str], str]
    _session: requests.Session
    _adapter: LeanAdapter
    _templates: Templates
    _timeout: urllib3.util.Timeout

    def __init__(self, pool_size: int, timeout: Timeout, redact: Callable[[str], str]) -> None:
        if isinstance(pool_size, bool) or not isinstance(pool_size, numbers.Integral) or pool_size < 1:
            raise ConfigurationError(f"pool_size must be a positive integer, got {pool_size!r}")
        pool_size = int(pool_size)  # numpy's integers too (a Dask partition passes max_workers)
        self.timeout = check_timeout(timeout)
        self.deadline = deadline_of(self.timeout)
        self._redact = redact
        session = requests.Session()
        # Read no environment (proxies, .netrc, CA bundle variables): configuration comes from
        # ProductivClient.from_env() alone, and a .netrc entry would replace our Authorization.
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # No urllib3 retries: the client retries itself, with backoff, Retry-After and cancel.
        adapter = LeanAdapter(
            pool_connections=2, pool_maxsize=pool_size, max_retries=Retry(total=0, read=False)
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = f"productiv-pandas {requests.utils.default_user_agent()}"
        session.headers["Accept"] = "application/json"
        # Only what read_body can inflate with a limit (requests would add br, zstd when installed).
        session.headers["Accept-Encoding"] = "gzip, deflate"
        self._session = session
        self._adapter = adapter
        self._templates = Templates(session)  # what the session adds, prepared once per URL
        self._timeout = timeout_of(self.timeout)

    def send(self, method: str, url: str, *, abandon: threading.Event | None = None, **kwargs: Any) -> Answer:
        """Send one request, follow no redirect, read its answer up to the cap.

        Raises TransportError when no full answer came within the deadline, and
        :class:`Abandoned` when ``abandon`` was set meanwhile (the connection is then closed).
        """
        with watched(self.deadline, abandon) as inflight:
            inflight.check_abandon()
            try:
                if inflight.stopped is None:
                    return self._exchange(method, url, inflight, kwargs)
            except TransportError:
                if inflight.stopped is None:
                    raise
            # Stopped: whatever the shutdown caused (a reset, an early end), say why it came.
            raise self._stopped(inflight, method, url)

    def _exchange(self, method: str, url: str, inflight: InFlight, kwargs: dict[str, Any]) -> Answer:
        try:
            raw = self._adapter.open(self._templates.prepare(method, url, **kwargs), self._timeout)
        except requests.RequestException as exc:
            raise self._translate(exc, method, url) from None
        complete = False
        try:
            headers = headers_of(raw)
            encoding = headers.get("Content-Encoding", "")
            body, truncated, note = read_body(raw, encoding)
            complete = not truncated and note is None
        except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
            timed_out = any(isinstance(cause, ReadTimeoutError | TimeoutError) for cause in _causes(exc))
            message = (
                f"timed out waiting for the answer (timeout={self.timeout} s)"
                if timed_out
                else f"connection failed while reading the answer: {_root_cause(exc)}"
            )
            raise TransportError(
                self._redact(f"{message} ({method} {url})"), True, timed_out=timed_out
            ) from None
        finally:
            if not complete or inflight.stopped is not None:
                raw.close()  # unread data or a shut-down socket: not for the pool
            raw.release_conn()
        if inflight.stopped is not None:  # the shutdown may look like a normal end of the body
            raise self._stopped(inflight, method, url)
        # requests' CaseInsensitiveDict: "retry-after" and "Retry-After" are the same header.
        return Answer(raw.status, raw.reason or "", headers, body, truncated, note)

    def _stopped(self, inflight: InFlight, method: str, url: str) -> TransportError:
        if inflight.stopped == "abandoned":
            return Abandoned(self._redact(f"interrupted: the request was abandoned ({method} {url})"))
        return TransportError(
            self._redact(
                f"timed out: no complete answer within {inflight.seconds:g} s, the deadline of a "
                f"request (connect + read timeout, timeout={self.timeout} s) ({method} {url})"
            ),
            True,
            timed_out=True,
        )

    def _translate(self, exc: requests.RequestException, method: str, url: str) -> TransportError:
        timed_out = False
        if isinstance(exc, requests.Timeout):
            timed_out = True
            what = "connecting" if isinstance(exc, requests.ConnectTimeout) else "waiting for the answer"
            message, retryable = f"timed out {what} (timeout={self.timeout} s)", True
        elif isinstance(exc, requests.exceptions.SSLError):
            message, retryable = f"TLS error: {_root_cause(exc)}", False
        elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            if any(isinstance(cause, ReadTimeoutError) for cause in _causes(exc)):
                # requests reports a read timeout in the body as a ConnectionError.
                timed_out = True
                message = f"timed out waiting for the answer (timeout={self.timeout} s)"
            else:
                message = f"connection failed: {_root_cause(exc)}"
            unanswered = not isinstance(exc, requests.exceptions.ChunkedEncodingError) and any(
                isinstance(cause, _UNANSWERED) for cause in _causes(exc)
            )
            return TransportError(
                self._redact(f"{message} ({method} {url})"), True, unanswered, timed_out=timed_out
            )
        else:
            message, retryable = f"request failed: {_root_cause(exc)}", False
        # The exception of requests is not chained: it holds the request, headers included.
        return TransportError(self._redact(f"{message} ({method} {url})"), retryable, timed_out=timed_out)

    def close(self) -> None:
        self._session.close()


def deadline_of(timeout: Timeout) -> float:
    """Seconds a whole request may take: connect + read timeout (a single number counts twice).

    >>> deadline_of((1, 2)), deadline_of(5.0)
    (3, 10.0)
    """
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return connect + read


def check_timeout(timeout: object) -> Timeout:
    values = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) != (2 if isinstance(timeout, tuple) else 1) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ConfigurationError(
            f"timeout must be seconds > 0, or a (connect, read) pair of them; got {timeout!r} "
            "(a timeout is always set, so that a silent server cannot hang a run)"
        )
    return timeout  # type: ignore[return-value]


#: The server hung up before answering (as a stale keep-alive connection does), not a refusal.
_UNANSWERED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, through ``__context__`` and exceptions held in its ``args``."""
    todo, seen = [exc], set()
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo.extend(arg for arg in exc.args if isinstance(arg, BaseException))
        todo.extend(
            e for e in (exc.__context__, getattr(exc, "reason", None)) if isinstance(e, BaseException)
        )


def _root_cause(exc: BaseException) -> str:
    """The innermost reason (e.g. "Connection refused"), without urllib3's pool wrapping."""
    seen = {id(exc)}
    while exc.__context__ is not None and id(exc.__context__) not in seen:
        exc = exc.__context__
        seen.add(id(exc))
    while exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    reason = getattr(exc, "reason", None)
    text = str(reason if isinstance(reason, BaseException) else exc) or type(exc).__name__
    return " ".join(text.split())[:200]
