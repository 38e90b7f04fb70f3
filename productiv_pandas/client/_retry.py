"""When to try a request again, and how long to wait first: an immutable policy, no side effects.

The client owns the sleeping, the clock and the random source; this module only computes. As in
urllib3's ``Retry`` and tenacity's ``nap``, that keeps the schedule testable without waiting.
"""

from __future__ import annotations

import math
import operator
import random as _random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..errors import ConfigurationError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "StatusSet", "parse_retry_after"]


class StatusSet(frozenset):
    """A frozenset of HTTP statuses whose repr writes runs as ranges, so every 5xx fits on a line.

    >>> StatusSet({429, *range(500, 600)})
    StatusSet({429, *range(500, 600)})
    """

    __slots__ = ()

    def __repr__(self) -> str:
        parts: list[str] = []
        run: list[int] = []
        for status in [*sorted(self), None]:
            if run and status is not None and status == run[-1] + 1:
                run.append(status)
                continue
            if len(run) > 2:
                parts.append(f"*range({run[0]}, {run[-1] + 1})")
            else:
                parts.extend(map(str, run))
            run = [] if status is None else [status]
        return f"{type(self).__name__}({{{', '.join(parts)}}})" if parts else f"{type(self).__name__}()"


#: 429 and every 5xx. A 5xx says the server failed, not the request (RFC 9110, 15.6), and a
#: 507 or a proxy's 520-524 is as likely to pass on a second try as a 503: a fixed list of the
#: common ones would fail batches that a retry would have delivered. The error policy of
#: sending (``sending/_policy.py``, which this pandas-free layer does not import) marks exactly
#: these statuses ``retried``; tests/sending/test_policy.py checks that the two agree.
DEFAULT_RETRY_STATUSES = StatusSet({429, *range(500, 600)})


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a request that failed for a transient reason is tried again.

    Transient: an HTTP status in ``retry_statuses`` (429 and every 5xx, 500-599, by default), a
    timeout or a connection error. Any other answer is final and never retried.

    Parameters
    ----------
    max_retries : int
        Retries after the first try, so at most ``max_retries + 1`` requests.
    backoff_base : float
        Seconds; the cap on the wait before retry ``n`` (counted from 0) is
        ``min(backoff_max, backoff_base * 2 ** n)``.
    backoff_max : float
        Seconds; the largest cap the exponential growth may reach.
    retry_statuses : iterable of int
        HTTP statuses (100-599) worth another try; kept as a :class:`StatusSet` (a frozenset).
        The default, :data:`DEFAULT_RETRY_STATUSES`, is 429 and 500-599: a status in 5xx says
        the server failed, not the request, and proxies add their own (520-524) to the standard
        ones. Pass e.g. ``{429, 503}`` to retry fewer, or ``range(500, 600)`` for 5xx alone.
    max_retry_after : float
        Seconds; a server asking to wait longer than this (``Retry-After``) is not waited for:
        the request gives up at once instead of stalling the run.

    Examples
    --------
    >>> policy = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    >>> policy.delay(3, None, random=lambda: 0.5)   # half of min(10, 1 * 2**3)
    4.0
    >>> policy.delay(0, 2.5, random=lambda: 0.5)    # never sooner than Retry-After
    2.5
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_statuses: frozenset[int] = field(default=DEFAULT_RETRY_STATUSES)
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigurationError(f"max_retries must be an integer >= 0, got {self.max_retries!r}")
        for name in ("backoff_base", "backoff_max", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ConfigurationError(f"{name} must be a number of seconds >= 0, got {value!r}")
        # Accept any iterable of statuses (a set, a range) but keep the frozen, hashable form.
        statuses = self.retry_statuses
        if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
            raise ConfigurationError(
                f"retry_statuses must be an iterable of HTTP statuses such as {{429, 503}}, got {statuses!r}"
            )
        numbers = []
        for status in statuses:
            try:  # ints of any kind (numpy's too), but not "503" or 503.0 or True
                number = operator.index(status) if not isinstance(status, bool) else -1
            except TypeError:
                number = -1
            if not 100 <= number <= 599:
                raise ConfigurationError(
                    f"retry_statuses must hold HTTP statuses (integers 100-599), got {status!r}"
                )
            numbers.append(number)
        object.__setattr__(self, "retry_statuses", StatusSet(numbers))

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        random: Callable[[], float] = _random.random,
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry).

        Exponential backoff with full jitter: uniform in ``[0, min(backoff_max,
        backoff_base * 2 ** attempt))``, so clients that failed together do not retry together.
        When the server sent ``Retry-After``, never less than that.

        Parameters
        ----------
        attempt : int
            How many retries came before this one.
        retry_after : float, optional
            Seconds the server asked to wait (see :func:`parse_retry_after`).
        random : callable
            Returns a float in ``[0, 1)``; injected so that tests are deterministic.
        """
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        # 2 ** attempt overflows a float near attempt 1024; the cap is reached long before.
        cap = self.backoff_max if attempt >= 64 else min(self.backoff_max, self.backoff_base * 2**attempt)
        wait = random() * cap
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date.

    Parameters
    ----------
    value : str or None
        The header's value, as received.
    now : datetime, optional
        Reference time for an HTTP date; the current time by default.

    Returns
    -------
    float or None
        Seconds, never negative (a date in the past means "now": 0); None when the header is
        absent or cannot be read.

    Examples
    --------
    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=datetime(2015, 10, 21, 7, 27, tzinfo=UTC))
    60.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())
