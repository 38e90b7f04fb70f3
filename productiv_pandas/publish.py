"""Publish: prepare -> batches -> client, with a status for every row, whatever happens.

Each batch goes to a worker thread (:class:`.delivery.Run`: the error policy per answer of the
API, splitting on 400/422, stopping on 401/403/404); the main thread keeps ``2 * max_workers``
batches queued and writes each outcome into the status arrays.

With a journal (:mod:`.resume`), rows it holds are ``skipped`` ("already sent") before any
batch is made, and each request the API accepts is recorded, durably, by the worker that sent
it before it sends another; a journal that cannot be written stops the run like a 403 does.

Ctrl-C sets a cancel event the workers and the client's waits watch, waits for requests in
flight (so acknowledged rows are recorded as ``sent``), marks the rest ``failed``
("interrupted") and raises :class:`PublishInterrupted` carrying the status frame.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator

import pandas as pd

from .batches import MAX_BATCH_SIZE, Batch, make_batches
from .delivery import DEFAULT_MAX_SPLIT_REQUESTS, Run
from .errors import ConfigurationError, PublishInterrupted
from .options import PrepareOptions
from .outcomes import Outcome, StatusArrays
from .prepare import Prepared, prepare_events
from .progress import progress_bar, show_progress
from .resume import Ledger, journal_for
from .status import uniform_status_frame

__all__ = ["deliver_prepared", "deliver_until_stopped", "publish"]

logger = logging.getLogger("productiv_pandas")


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
    # publish's own names too, so a typo in one of them ("batch_sise") gets a suggestion.
    own = ("client", "journal", "batch_size", "max_workers", "max_retries", "max_split_requests", "progress")
    shaping = PrepareOptions.from_kwargs(own, **options)
    try:
        prepared = prepare_events(frame, shaping)
    except KeyboardInterrupt:
        # Nothing was sent yet; every row gets its status all the same, as the contract says.
        raise PublishInterrupted(uniform_status_frame(frame.index, "failed", "interrupted")) from None
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
    status, _ = deliver_until_stopped(
        prepared, app_id, client=client, journal=journal, batch_size=batch_size,
        max_workers=max_workers, max_retries=max_retries,
        max_split_requests=max_split_requests, progress=progress,
    )  # fmt: skip
    return status


def deliver_until_stopped(
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
) -> tuple[pd.DataFrame, str | None]:
    """:func:`deliver_prepared`, plus why the run stopped (403/404, refused credentials, a
    redirect, an unwritable journal...) or None: a caller sending chunk after chunk as one run
    (publish_file) stops there too, instead of asking again."""
    _check_target(app_id, max_workers)
    make_batches(prepared.status.iloc[:0], prepared.to_send[:0], batch_size)  # checks it before any I/O
    if client is None:
        from .client import ProductivClient

        client = ProductivClient.from_env()
    with journal_for(journal, app_id) as opened:
        ledger = None if opened is None else Ledger(opened, prepared.status)
        run = Run(client, app_id, max_retries, max_split_requests, ledger)
        status = _deliver(run, prepared, batch_size, max_workers, show_progress(progress))
        return status, run.stop_cause


def _deliver(run: Run, prepared: Prepared, batch_size: int, max_workers: int, show_bar: bool) -> pd.DataFrame:
    """deliver_prepared's work, once its arguments are checked and its journal is open."""
    arrays = StatusArrays(prepared.status)
    bar = None
    try:  # from here on a Ctrl-C settles every row still to send, even before the first request
        if run.ledger is not None:
            prepared = run.ledger.skip_recorded(prepared, arrays)
        wire = prepared.wire()
        batches = make_batches(wire, prepared.to_send, batch_size)
        bar = progress_bar(len(wire), unit="event", desc=f"publish {run.app_id}", show=show_bar)

        def take(outcome: Outcome) -> None:
            arrays.apply(outcome)
            bar.update(len(outcome.positions))

        _send_all(run, batches, max_workers, take)
    except KeyboardInterrupt:
        arrays.settle("failed", "interrupted")
        raise PublishInterrupted(arrays.frame(prepared.status)) from None
    finally:
        if bar is not None:
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


def _send_all(run: Run, batches: Iterator[Batch], max_workers: int, take: Callable[[Outcome], None]) -> None:
    """Send ``batches`` from ``max_workers`` threads; ``take`` every outcome in this thread.

    Hand-written rather than a ThreadPoolExecutor because a Ctrl-C may land anywhere in this
    thread, and the executor loses track of a worker whose ``Thread.start()`` was interrupted
    (so it outlives the call, and its batch's outcome is lost). Here every thread is known
    before it starts, workers append outcomes to a list this thread only reads (never pops),
    and at most ``2 * max_workers`` batches are in memory at once (a bounded queue).
    """
    pending: queue.Queue[Batch | None] = queue.Queue(maxsize=max_workers)
    results: list[list[Outcome] | None] = []
    arrived = threading.Event()

    def work() -> None:
        while (batch := pending.get()) is not None:
            results.append(run.deliver(batch))  # deliver never raises; list.append is atomic
            arrived.set()

    def take_arrived(taken: int) -> int:
        while taken < len(results):
            for outcome in results[taken] or ():
                take(outcome)  # interrupted halfway, it is taken again: harmless
            results[taken] = None
            taken += 1
        return taken

    workers: list[threading.Thread] = []
    taken = 0
    try:
        for number in range(max_workers):
            workers.append(threading.Thread(target=work, name=f"productiv-publish-{number}", daemon=True))
            workers[-1].start()
        for batch in itertools.chain(batches, [None] * max_workers):  # a None stops a worker
            while True:
                try:
                    pending.put(batch, timeout=0.2)  # the timeout keeps Ctrl-C prompt
                    break
                except queue.Full:
                    taken = take_arrived(taken)
            taken = take_arrived(taken)
        while any(worker.is_alive() for worker in workers):
            arrived.wait(timeout=0.2)
            arrived.clear()
            taken = take_arrived(taken)
        take_arrived(taken)
    except BaseException:
        run.cancel.set()  # requests in flight end promptly: the client's waits watch it
        _stop(workers, pending)
        take_arrived(taken)
        raise


def _stop(workers: list[threading.Thread], pending: queue.Queue) -> None:
    """Drop the batches no worker took (their rows are settled "interrupted") and join all."""
    while True:
        try:
            pending.get_nowait()
        except queue.Empty:
            break
    for _ in workers:
        pending.put_nowait(None)  # room for each: only this thread puts, and it just emptied it
    for worker in workers:
        if worker.ident is not None:  # started, even if start() itself was interrupted
            worker.join()
