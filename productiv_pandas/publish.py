"""Publish: prepare -> batches -> client, with a status for every row, whatever happens.

The error policy per answer (``Delivery.kind`` from the client, which already retried 429,
5xx and network errors with backoff and renewed the token once on 401):

- ``sent``: every row of the batch is ``sent``.
- ``invalid`` (400/422): the API refused something in the batch. Split it in halves and send
  each, recursively, so the refused rows are isolated and ``rejected`` with the server's
  message while the rest still land. Splitting is capped at ``max_split_requests`` extra
  requests per batch (default 64: one bad row in 1000 costs 20); rows still grouped when the
  cap is reached are ``rejected`` as a group, and their reason says so.
- ``forbidden``/``not_found`` (403/404) and ``auth`` (401 after a renewal): every other batch
  would fail the same way, so the run stops: that batch's rows are ``rejected`` (403/404) or
  ``failed`` (401), and rows not yet tried are ``failed`` with "not attempted: <cause>".
- ``retry_exhausted`` and anything else: the batch's rows are ``failed`` with the last error.

With a journal (:mod:`.resume`), rows it holds are ``skipped`` ("already sent") before any
batch is made, and each ``sent`` outcome is recorded, durably, as the main thread takes it; a
journal that cannot be written stops the run like a 403 does.

Ctrl-C sets a cancel event the workers and the client's waits watch, waits for requests in
flight (so acknowledged rows are recorded as ``sent``), marks the rest ``failed``
("interrupted") and raises :class:`PublishInterrupted` carrying the status frame.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import pandas as pd
from tqdm.auto import tqdm

from .batches import MAX_BATCH_SIZE, Batch, make_batches
from .errors import ConfigurationError, PublishInterrupted
from .journal import Journal
from .options import PrepareOptions
from .outcomes import Outcome, StatusArrays
from .prepare import Prepared, prepare_events
from .resume import Ledger, journal_for

__all__ = ["deliver_prepared", "publish"]

logger = logging.getLogger("productiv_pandas")

DEFAULT_MAX_SPLIT_REQUESTS = 64


class _Run:
    """State shared by the workers of one publish: why it stopped, and the cancel signal."""

    def __init__(self, client, app_id: str, max_retries: int | None, max_split_requests: int) -> None:
        self.client = client
        self.app_id = app_id
        self.max_retries = max_retries
        self.max_split_requests = max_split_requests
        self.cancel = threading.Event()
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
            return [Outcome(batch.positions, "failed", f"internal error: {exc!r}", batch.number, None, 0)]

    def _deliver(self, batch: Batch, budget: list[int], prior_attempts: int) -> list[Outcome]:
        def outcome(
            status: str, reason: str | None, http: int | None = None, attempts: int = 0
        ) -> list[Outcome]:
            return [Outcome(batch.positions, status, reason, batch.number, http, prior_attempts + attempts)]

        # Rows never put on the wire keep batch/attempts empty, unless an earlier request of
        # a split already carried them.
        untried = batch.number if prior_attempts else -1
        if self.cancel.is_set():
            return [Outcome(batch.positions, "failed", "interrupted", untried, None, prior_attempts)]
        if self.stop_cause is not None:
            reason = f"not attempted: {self.stop_cause}"
            return [Outcome(batch.positions, "failed", reason, untried, None, prior_attempts)]
        answer = self.client.post_events(
            self.app_id, batch.payload, cancel=self.cancel, max_retries=self.max_retries
        )
        said = answer.message or "no message"
        if answer.kind == "sent":
            return outcome("sent", None, answer.status, answer.attempts)
        if answer.kind == "invalid":
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
            return outcome("rejected", f"HTTP {answer.status}: {said}", answer.status, answer.attempts)
        if answer.kind in ("forbidden", "not_found"):
            self.stop(f"the API answered HTTP {answer.status} ({said}) to an earlier batch")
            return outcome("rejected", f"HTTP {answer.status}: {said}", answer.status, answer.attempts)
        if answer.kind == "auth":
            self.stop(f"the credentials were refused ({said})")
            return outcome("failed", f"credentials refused: {said}", answer.status, answer.attempts)
        if answer.kind == "cancelled":
            return outcome("failed", "interrupted", answer.status, answer.attempts)
        return outcome("failed", said, answer.status, answer.attempts)


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI"):
        return False
    in_notebook = "ipykernel" in sys.modules
    return in_notebook or bool(getattr(sys.stderr, "isatty", lambda: False)())


def _check_target(app_id: object, max_workers: object) -> None:
    if not isinstance(app_id, str) or not app_id.strip():
        raise ConfigurationError(f"app_id must be a non-empty string, got {app_id!r}")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ConfigurationError(f"max_workers must be a positive integer, got {max_workers!r}")


def publish(
    frame: pd.DataFrame,
    app_id: str,
    *,
    client=None,
    journal=None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    progress: bool | None = None,
    **options,
) -> pd.DataFrame:
    """Prepare the events of ``frame`` and send them to app ``app_id``; return the status frame.

    Parameters
    ----------
    frame : DataFrame
        The events; any index. Never modified.
    app_id : str
        The Productiv app the events belong to.
    client : ProductivClient, optional
        Defaults to ``ProductivClient.from_env()``.
    journal : str, PathLike or Journal, optional
        A file that remembers, durably after each batch the API accepts, which events were
        sent, so running the same publish again after a crash or Ctrl-C sends only the rest:
        rows the journal holds are ``skipped`` with reason "already sent". A path is created
        if missing, opened and closed by the call; an open :class:`Journal` is left open. One
        journal serves one app id; a foreign, corrupted or other app's file raises JournalError.
    batch_size : int
        Events per request, 1 to 1000 (the API's limit).
    max_workers : int
        Requests in flight at once.
    max_retries : int, optional
        Overrides the client's retry policy for 429, 5xx and network errors.
    max_split_requests : int
        Extra requests a batch may spend isolating rows the API refused (400/422).
    progress : bool, optional
        A tqdm bar over events; by default shown in a notebook or terminal, hidden in CI.
    **options
        The options of :func:`productiv_pandas.validate` (``columns``, ``unit``, ``tz``, ...).

    Returns
    -------
    DataFrame
        One row per input row, same index and order: ``sent``, ``invalid``, ``duplicate``,
        ``skipped``, ``rejected`` or ``failed``, with a reason for every row not sent.

    Raises
    ------
    PublishInterrupted
        On Ctrl-C; its ``.status`` holds the status frame so far (and the journal, if any,
        every batch acknowledged until then).
    JournalError
        The journal file cannot be used (a ValueError, raised before anything is sent).
    """
    _check_target(app_id, max_workers)  # before prepare, which may take a while
    prepared = prepare_events(frame, PrepareOptions.from_kwargs(**options))
    return deliver_prepared(
        prepared, app_id, client=client, journal=journal, batch_size=batch_size,
        max_workers=max_workers, max_retries=max_retries,
        max_split_requests=max_split_requests, progress=progress,
    )  # fmt: skip


def deliver_prepared(
    prepared: Prepared,
    app_id: str,
    *,
    client=None,
    journal=None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Send the rows ``prepared`` marked to send; return its status frame with every outcome.

    The sending half of :func:`publish`, for callers that prepare events themselves (a chunked
    file publisher, a Dask partition): same parameters as :func:`publish` minus the data-shaping
    options, same result, same :class:`PublishInterrupted` on Ctrl-C.
    """
    _check_target(app_id, max_workers)
    make_batches(prepared.status.iloc[:0], prepared.to_send[:0], batch_size)  # checks it before any I/O
    if client is None:
        from .client import ProductivClient

        client = ProductivClient.from_env()
    run = _Run(client, app_id, max_retries, max_split_requests)
    with journal_for(journal, app_id) as opened:
        return _deliver(run, prepared, opened, batch_size, max_workers, _show_progress(progress))


def _deliver(
    run: _Run, prepared: Prepared, journal: Journal | None, batch_size: int, max_workers: int, show_bar: bool
) -> pd.DataFrame:
    """deliver_prepared's work, once its arguments are checked and its journal is open."""
    arrays = StatusArrays(prepared.status)
    ledger = None if journal is None else Ledger(journal, prepared.status)
    if ledger is not None:
        prepared = ledger.skip_recorded(prepared, arrays)
    wire = prepared.wire()
    batches = make_batches(wire, prepared.to_send, batch_size)
    bar = tqdm(total=len(wire), unit="event", desc=f"publish {run.app_id}", disable=not show_bar)

    def take(outcome: Outcome) -> None:
        arrays.apply(outcome)
        bar.update(len(outcome.positions))
        # Durable before the next outcome is taken: a crash after this loses no acknowledged row.
        failure = ledger.record(outcome) if ledger is not None else None
        if failure is not None:
            run.stop(failure)

    try:
        _send_all(run, batches, max_workers, take)
    except KeyboardInterrupt:
        arrays.settle("failed", "interrupted")
        raise PublishInterrupted(arrays.frame(prepared.status)) from None
    finally:
        bar.close()
    # A guard: every row to send must leave with an outcome.
    arrays.settle("failed", "internal error: no outcome was recorded for this row")
    result = arrays.frame(prepared.status)
    counts = result["status"].value_counts()
    logger.info(
        "published to %s: %s",
        run.app_id,
        ", ".join(f"{count} {name}" for name, count in counts.items() if count),
    )
    return result


def _send_all(run: _Run, batches: Iterator[Batch], max_workers: int, take: Callable[[Outcome], None]) -> None:
    """Keep ``2 * max_workers`` batches queued (so memory stays bounded); ``take`` each outcome."""
    pending: set[Future] = set()
    executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="productiv-publish")
    try:
        while True:
            while len(pending) < 2 * max_workers:
                batch = next(batches, None)
                if batch is None:
                    break
                pending.add(executor.submit(run.deliver, batch))
            if not pending:
                return
            # A short timeout keeps the main thread responsive to Ctrl-C.
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                for outcome in future.result():
                    take(outcome)
                # Only now: a Ctrl-C halfway through leaves the future to be taken again below
                # (taking an outcome twice is harmless, losing one is not).
                pending.discard(future)
    except KeyboardInterrupt:
        run.cancel.set()
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True)  # requests in flight end promptly: their waits watch cancel
        for future in pending:
            if future.done() and not future.cancelled():
                for outcome in future.result():
                    take(outcome)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
