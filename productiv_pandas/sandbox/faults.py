"""Scripted faults for the events endpoint: failures, dropped connections and delays.

Faults queue up in the order they are scripted and each one is spent by the next events POST,
so ``sb.fail_next(2, 503); sb.drop_next(1)`` answers 503, 503, then drops the third request.

Between them they produce every answer the error policy of sending has a row for
(:data:`productiv_pandas.sending._policy.POLICY`): any error status (``fail``, a 3xx with a
``Location``), any status with any body (``answer``: a 2xx without ``{"success": true}``, a
proxy's HTML page), no answer (``drop``), a late one (``delay``: a timeout for a client
with a shorter timeout).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

__all__ = ["DEFAULT_429_RETRY_AFTER", "Fault", "FaultPlan"]

#: Seconds in the ``Retry-After`` of a scripted 429 that names none: a real rate limiter (and
#: the sandbox's own, which sends at least 1) always says when to come back, and a client
#: should be tested against that, not against a 429 no real API sends.
DEFAULT_429_RETRY_AFTER = 1.0


@dataclass(frozen=True)
class Fault:
    """One scripted fault: ``kind`` is "fail" (answer ``status`` with the documented error
    body), "answer" (answer ``status`` with ``body`` as it is), "drop" (close, no answer) or
    "delay" (handle the request as usual after ``seconds``)."""

    kind: str
    status: int = 0
    retry_after: float | None = None
    message: str | None = None
    after_store: bool = False
    body: bytes = b""
    seconds: float = 0.0

    def describe(self) -> str:
        if self.message is not None:
            return self.message
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return f"{phrase} (fault injected by the sandbox)"


def format_retry_after(seconds: float) -> str:
    """Whole seconds as the standard says; fractions are kept so that tests need not sleep 1 s."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


class FaultPlan:
    """The queue of scripted faults and the response delay; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._delay = 0.0

    def fail_next(self, n: int, status: int, retry_after: float | None, message: str | None) -> None:
        if not 300 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (300-599), got {status!r}")
        if retry_after is not None and not retry_after >= 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        if retry_after is None and status == 429:
            retry_after = DEFAULT_429_RETRY_AFTER
        self._push(n, Fault("fail", status, retry_after, message))

    def answer_next(self, n: int, status: int, body: bytes) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise ValueError(f"status must be an HTTP status (100-999), got {status!r}")
        if not isinstance(body, bytes):
            raise ValueError(f"body must be bytes, got {type(body).__name__}")
        self._push(n, Fault("answer", status, body=body))

    def drop_next(self, n: int, after_store: bool) -> None:
        self._push(n, Fault("drop", after_store=after_store))

    def delay_next(self, n: int, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._push(n, Fault("delay", seconds=float(seconds)))

    def _push(self, n: int, fault: Fault) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        with self._lock:
            self._queue.extend([fault] * n)

    def take(self) -> Fault | None:
        """The fault for the current request, if one is scripted."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def delay(self) -> float:
        return self._delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"delay must be >= 0 seconds, got {seconds!r}")
        self._delay = float(seconds)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._delay = 0.0
