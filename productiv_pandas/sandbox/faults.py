"""Scripted faults for the events endpoint: failures, dropped connections and delays.

Faults queue up in the order they are scripted and each one is spent by the next events POST,
so ``sb.fail_next(2, 503); sb.drop_next(1)`` answers 503, 503, then drops the third request.
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
    """One scripted fault: ``kind`` is "fail" (answer ``status``) or "drop" (close, no answer)."""

    kind: str
    status: int = 0
    retry_after: float | None = None
    message: str | None = None
    after_store: bool = False

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
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status!r}")
        if retry_after is not None and not retry_after >= 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        if retry_after is None and status == 429:
            retry_after = DEFAULT_429_RETRY_AFTER
        self._push(n, Fault("fail", status, retry_after, message))

    def drop_next(self, n: int, after_store: bool) -> None:
        self._push(n, Fault("drop", after_store=after_store))

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
