"""Sending one batch under publish's error policy, and what it leaves as outcomes.

The policy is a table, :data:`._policy.POLICY`: for each answer of the API (a
:class:`~productiv_pandas.client.Delivery` from the client, which already retried 429, 5xx,
timeouts and network errors with backoff and renewed the token once on 401), the rows'
status, problem code and reason, whether the batch is split and whether the run stops.
:meth:`Run.deliver` applies it:

- a row that splits (400, 413, 422): the batch is sent again in halves, recursively, so the
  refused rows are isolated and ``rejected`` with the server's message while the rest still
  land. Splitting is capped at ``max_split_requests`` extra requests per batch (default 64:
  one bad row in 1000 costs 20); rows still grouped when the cap is reached are ``rejected``
  as a group, and their reason says so.
- a row that stops (401, 403, 404, 3xx, a Retry-After too long): every other batch would fail
  the same way, so rows not yet tried are ``failed``, "not attempted: <cause>".
- ``interrupted`` (Ctrl-C: ``cancel`` set, or ``abandon`` set and the request in flight
  closed): once ``cancel`` is set no request starts, not even the next half of a split batch.

A request the API accepts is recorded in the journal (when there is one) by the worker that
got the answer, before it sends anything else, so a crash can only cost the requests in flight.
"""

from __future__ import annotations

import inspect
import logging
import threading

from ..journal._ledger import Ledger
from ._batches import Batch
from ._outcomes import Outcome
from ._policy import rule_for
from ._settings import DEFAULT_MAX_SPLIT_REQUESTS, SendSettings

__all__ = ["DEFAULT_MAX_SPLIT_REQUESTS", "Run"]

logger = logging.getLogger("productiv_pandas")


def _takes_abandon(post_events) -> bool:
    """Whether a client's post_events takes ``abandon`` (ProductivClient's does; a test double or
    a wrapper of another make may not, and is then only cancelled)."""
    try:
        parameters = inspect.signature(post_events).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "abandon" or p.kind is p.VAR_KEYWORD for p in parameters)


class Run:
    """State shared by the workers of one publish: why it stopped, the journal, and two signals:
    ``cancel`` (start nothing more; waits end at once) and ``abandon`` (the client closes the
    connections of requests in flight, so their workers return at once)."""

    def __init__(
        self,
        settings: SendSettings,
        ledger: Ledger | None,
        signals: tuple[threading.Event, threading.Event] | None = None,
    ) -> None:
        """``signals``: the ``cancel`` and ``abandon`` of a run this one is part of (one chunk of
        a publish_file, whose workers serve every chunk), so one Ctrl-C reaches every chunk."""
        if settings.client is None:
            raise ValueError("Run needs settings with a client")
        self.settings = settings
        self.client = client = settings.client
        self.ledger = ledger
        self.app_id = settings.app_id
        self.max_retries = settings.max_retries
        self.max_split_requests = settings.max_split_requests
        self.cancel, self.abandon = signals or (threading.Event(), threading.Event())
        self._signals = {"cancel": self.cancel}
        if _takes_abandon(client.post_events):
            self._signals["abandon"] = self.abandon
        self._lock = threading.Lock()
        self.stop_cause: str | None = None
        #: HTTP requests made to the events endpoint so far, retries and split halves included
        #: (each answer's ``attempts``): the ``requests`` of the run's summary.
        self.requests = 0

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
        with self._lock:
            self.requests += answer.attempts
        said = answer.message or "no message"
        rule = rule_for(answer)
        if rule.status == "sent":
            sent = outcome("sent", None, answer.status, answer.attempts, None)
            # Recorded here, by the worker that got the answer and before it sends anything
            # else: a crash can then only cost the requests in flight, never an acknowledged one.
            failure = self.ledger.record(sent[0]) if self.ledger is not None else None
            if failure is not None:
                self.stop(failure)
            return sent
        if rule.split:
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
        if rule.stops is not None:
            self.stop(rule.stops.format(status=answer.status, message=said))
        said_why = None if rule.reason is None else rule.reason.format(status=answer.status, message=said)
        return outcome(rule.status, said_why, answer.status, answer.attempts, rule.code(answer.status))
