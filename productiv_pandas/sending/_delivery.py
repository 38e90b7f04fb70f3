"""Sending one batch under publish's error policy, and what it leaves as outcomes.

The error policy per answer (``Delivery.kind`` from the client, which already retried 429,
5xx and network errors with backoff and renewed the token once on 401):

- ``sent``: every row of the batch is ``sent``.
- ``invalid`` (400/422) and ``too_large`` (413: the body was more than the server takes): the
  API refused something in the batch. Split it in halves and send each, recursively, so the
  refused rows are isolated and ``rejected`` with the server's message (a single row still too
  large: "HTTP 413: ...") while the rest still land. Splitting is capped at ``max_split_requests`` extra
  requests per batch (default 64: one bad row in 1000 costs 20); rows still grouped when the
  cap is reached are ``rejected`` as a group, and their reason says so.
- ``forbidden``/``not_found`` (403/404) and ``auth`` (401 after a renewal): every other batch
  would fail the same way, so the run stops: that batch's rows are ``rejected`` (403/404) or
  ``failed`` (401), and rows not yet tried are ``failed`` with "not attempted: <cause>".
- ``redirected`` (3xx: the base URL is wrong) and ``retry_later`` (429/5xx asking to wait longer
  than the retry policy's ``max_retry_after``): also the same for every batch, so the run stops
  the same way; that batch's rows are ``failed`` (the API never refused them).
- ``retry_exhausted`` and anything else: the batch's rows are ``failed`` with the last error.
- ``cancelled`` (Ctrl-C: ``cancel`` set, or ``abandon`` set and the request in flight closed):
  the batch's rows are ``failed`` "interrupted". Once ``cancel`` is set no request starts,
  not even the next half of a split batch.

A request the API accepts is recorded in the journal (when there is one) by the worker that
got the answer, before it sends anything else, so a crash can only cost the requests in flight.
"""

from __future__ import annotations

import inspect
import logging
import threading

from ..journal._ledger import Ledger
from ..problems import http_problem
from ._batches import Batch
from ._outcomes import Outcome

__all__ = ["DEFAULT_MAX_SPLIT_REQUESTS", "Run"]

logger = logging.getLogger("productiv_pandas")

#: Kinds of answers that refuse something in the batch, not the batch as such: split it.
_REFUSED_IN_PART = ("invalid", "too_large")

#: Extra requests a batch may spend isolating rows the API refused (one bad row in 1000 costs 20).
DEFAULT_MAX_SPLIT_REQUESTS = 64


def _takes_abandon(post_events) -> bool:
    """Whether a client's post_events takes ``abandon`` (ProductivClient's does; a test double or
    a wrapper of another make may not, and is then only cancelled)."""
    try:
        parameters = inspect.signature(post_events).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "abandon" or p.kind is p.VAR_KEYWORD for p in parameters)


def _problem_of(answer) -> str:
    """The problem code of an answer that was not a success (refined by the error-policy table)."""
    if answer.status is not None:
        return http_problem(answer.status) if not 200 <= answer.status < 300 else "http.unexpected_answer"
    said = (answer.message or "").lower()
    return "timeout" if "timed out" in said or "timeout" in said else "network"


class Run:
    """State shared by the workers of one publish: why it stopped, the journal, and two signals:
    ``cancel`` (start nothing more; waits end at once) and ``abandon`` (the client closes the
    connections of requests in flight, so their workers return at once)."""

    def __init__(
        self, client, app_id: str, max_retries: int | None, max_split_requests: int, ledger: Ledger | None
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.app_id = app_id
        self.max_retries = max_retries
        self.max_split_requests = max_split_requests
        self.cancel = threading.Event()
        self.abandon = threading.Event()
        self._signals = {"cancel": self.cancel}
        if _takes_abandon(client.post_events):
            self._signals["abandon"] = self.abandon
        self._lock = threading.Lock()
        self.stop_cause: str | None = None

    def stop(self, cause: str) -> None:
        with self._lock:
            if self.stop_cause is None:
                self.stop_cause = cause

    def deliver(self, batch: Batch) -> list[Outcome]:
        """Send one top-level batch (splitting it on 400/422); never raises."""
        try:
            return self._deliver(batch, budget=[self.max_split_requests], prior_attempts=0)
        except Exception as exc:  # a bug must cost rows a reason, never the rows themselves
            logger.exception("unexpected error while sending batch %d", batch.number)
            return [
                Outcome(
                    batch.positions,
                    "failed",
                    f"internal error: {exc!r}",
                    batch.number,
                    None,
                    0,
                    "internal_error",
                )
            ]

    def _deliver(self, batch: Batch, budget: list[int], prior_attempts: int) -> list[Outcome]:
        def outcome(
            status: str,
            reason: str | None,
            http: int | None = None,
            attempts: int = 0,
            problem: str | None = None,
        ) -> list[Outcome]:
            return [
                Outcome(
                    batch.positions, status, reason, batch.number, http, prior_attempts + attempts, problem
                )
            ]

        # Rows never put on the wire keep batch/attempts empty, unless an earlier request of
        # a split already carried them.
        untried = batch.number if prior_attempts else -1
        if self.cancel.is_set():
            return [
                Outcome(
                    batch.positions, "failed", "interrupted", untried, None, prior_attempts, "interrupted"
                )
            ]
        if self.stop_cause is not None:
            reason = f"not attempted: {self.stop_cause}"
            return [
                Outcome(batch.positions, "failed", reason, untried, None, prior_attempts, "not_attempted")
            ]
        answer = self.client.post_events(
            self.app_id, batch.payload, max_retries=self.max_retries, **self._signals
        )
        said = answer.message or "no message"
        code = _problem_of(answer)
        if answer.kind == "sent":
            sent = outcome("sent", None, answer.status, answer.attempts, None)
            # Recorded here, by the worker that got the answer and before it sends anything
            # else: a crash can then only cost the requests in flight, never an acknowledged one.
            failure = self.ledger.record(sent[0]) if self.ledger is not None else None
            if failure is not None:
                self.stop(failure)
            return sent
        if answer.kind in _REFUSED_IN_PART:
            if len(batch) > 1 and budget[0] >= 2:
                budget[0] -= 2
                attempts = prior_attempts + answer.attempts
                first, second = batch.halves()
                return self._deliver(first, budget, attempts) + self._deliver(second, budget, attempts)
            if len(batch) > 1:
                said += (
                    f" (refused as a group of {len(batch)} rows: splitting stopped after "
                    f"{self.max_split_requests} extra requests for this batch)"
                )
            return outcome("rejected", f"HTTP {answer.status}: {said}", answer.status, answer.attempts, code)
        if answer.kind in ("forbidden", "not_found"):
            self.stop(f"the API answered HTTP {answer.status} ({said}) to an earlier batch")
            return outcome("rejected", f"HTTP {answer.status}: {said}", answer.status, answer.attempts, code)
        if answer.kind in ("redirected", "retry_later"):
            self.stop(f"the API answered HTTP {answer.status} ({said}) to an earlier batch")
            return outcome("failed", f"HTTP {answer.status}: {said}", answer.status, answer.attempts, code)
        if answer.kind == "auth":
            self.stop(f"the credentials were refused ({said})")
            return outcome("failed", f"credentials refused: {said}", answer.status, answer.attempts,
                           "credentials_refused")  # fmt: skip
        if answer.kind == "cancelled":
            return outcome("failed", "interrupted", answer.status, answer.attempts, "interrupted")
        return outcome("failed", said, answer.status, answer.attempts, code)
