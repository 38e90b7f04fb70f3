"""Publish: prepare -> batches -> client, with a status for every row, whatever happens.

publish's keyword arguments become one :class:`~._settings.SendSettings`, checked once, which
travels instead of them. Each batch goes to a worker thread (:class:`._delivery.Run`, which
applies the error policy of :mod:`._policy` to each answer of the API: splitting on
400/413/422, stopping on 401/403/404); the main thread keeps ``2 * max_workers``
batches queued and writes each outcome into the status arrays.

With a journal (:mod:`.resume`), rows it holds are ``skipped`` ("already sent") before any
batch is made, and each request the API accepts is recorded, durably, by the worker that sent
it before it sends another; a journal that cannot be written stops the run like a 403 does.

Ctrl-C ends the run within a few seconds whatever the server does (:mod:`.workers`): nothing
new starts, requests in flight get a short grace to come back (so acknowledged rows are
``sent`` and journaled), then their connections are closed; every row not acknowledged is
``failed`` ("interrupted") and :class:`PublishInterrupted` carries the status frame. A second
Ctrl-C skips the grace. No worker thread outlives the call.
"""

from __future__ import annotations

import logging
from typing import Unpack

import pandas as pd

from ..errors import PublishInterrupted
from ..journal._ledger import Ledger, journal_for
from ..preparation._frames import ArrowFrame, as_pandas
from ..preparation._options import PrepareOptions, PrepareOptionsDict
from ..preparation._prepare import Prepared, prepare_events, warn_counts
from ..status import uniform_status_frame
from ._batches import make_batches
from ._delivery import Run
from ._outcomes import REQUESTS_KEY, Outcome, StatusArrays
from ._progress import progress_bar, show_progress
from ._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, SendSettings
from ._workers import one_interrupt, send_all

__all__ = ["REQUESTS_KEY", "deliver_prepared", "deliver_until_stopped", "publish"]

logger = logging.getLogger("productiv_pandas")


def publish(
    frame: pd.DataFrame | ArrowFrame,
    app_id: str,
    *,
    client=None,
    journal=None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    progress: bool | None = None,
    **options: Unpack[PrepareOptionsDict],
) -> pd.DataFrame:
    """Prepare the events of ``frame`` and send them to app ``app_id``; return the status frame.

    Parameters
    ----------
    frame : DataFrame, or any frame exporting Arrow
        The events; any index. Never modified. A pyarrow Table or RecordBatch, a polars
        DataFrame, a DuckDB relation is read as :func:`~productiv_pandas.validate` reads it
        (the status indexed by row number).
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
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    DataFrame
        One row per input row, same index and order: ``sent``, ``invalid``, ``duplicate``,
        ``skipped``, ``rejected`` or ``failed``, with a reason for every row not sent.

    Raises
    ------
    PublishInterrupted
        On Ctrl-C, within a few seconds whatever the server does: requests in flight get
        :data:`~productiv_pandas.workers.GRACE_SECONDS` to come back, then their connections are
        closed (a second Ctrl-C closes them at once). Its ``.status`` holds the status frame:
        rows acknowledged are ``sent`` (and in the journal, if any), every other row to send is
        ``failed`` "interrupted" (publishing those again is harmless). No thread outlives the call.
    ConfigurationError
        Before anything is sent: a bad ``app_id``, ``client`` (a string, a number, an object
        without ``post_events``, a closed client), ``batch_size``, ``max_workers``,
        ``max_retries`` or ``max_split_requests``; the message names the argument.
    JournalError
        The journal file cannot be used (a ValueError, raised before anything is sent).
    """
    # Before prepare, which may take a while, and before anything is sent.
    settings = SendSettings(
        app_id, client=client, journal=journal, batch_size=batch_size, max_workers=max_workers,
        max_retries=max_retries, max_split_requests=max_split_requests, progress=progress,
    )  # fmt: skip
    # publish's own names too, so a typo in one of them ("batch_sise") gets a suggestion.
    own = ("client", "journal", "batch_size", "max_workers", "max_retries", "max_split_requests", "progress")
    shaping = PrepareOptions.from_kwargs(own, **options)
    frame = as_pandas(frame)
    with one_interrupt():  # a second Ctrl-C cannot cut short the handling of the first
        try:
            prepared = prepare_events(frame, shaping)
        except KeyboardInterrupt:
            # Nothing was sent yet; every row gets its status all the same, as the contract says.
            raise PublishInterrupted(
                uniform_status_frame(frame.index, "failed", "interrupted", "interrupted")
            ) from None
        warn_counts(prepared.counts, shaping)
        return deliver_prepared(prepared, settings)


def deliver_prepared(prepared: Prepared, settings: SendSettings) -> pd.DataFrame:
    """Send the rows ``prepared`` marked to send; return its status frame with every outcome.

    The sending half of :func:`publish`, for callers that prepare events themselves (a chunked
    file publisher, a Dask partition): the same settings as :func:`publish`'s keyword
    arguments (checked when ``settings`` was built), same result, same
    :class:`PublishInterrupted` on Ctrl-C.
    """
    status, _ = deliver_until_stopped(prepared, settings)
    return status


def deliver_until_stopped(prepared: Prepared, settings: SendSettings) -> tuple[pd.DataFrame, str | None]:
    """:func:`deliver_prepared`, plus why the run stopped (403/404, refused credentials, a
    redirect, an unwritable journal...) or None: a caller sending chunk after chunk as one run
    (publish_file) stops there too, instead of asking again."""
    if settings.client is None:
        from ..client._client import ProductivClient

        with ProductivClient.from_env() as client:  # made here, so closed here, whatever happens
            return deliver_until_stopped(prepared, settings.replace(client=client))
    with journal_for(settings.journal, settings.app_id) as opened:
        ledger = None if opened is None else Ledger(opened, prepared.status)
        run = Run(settings, ledger)
        status = _deliver(run, prepared)
        return status, run.stop_cause


def _deliver(run: Run, prepared: Prepared) -> pd.DataFrame:
    """deliver_prepared's work, once its journal is open."""
    with one_interrupt(run.abandon):  # a second Ctrl-C abandons, never cuts the settling short
        return _deliver_all(run, prepared)


def _deliver_all(run: Run, prepared: Prepared) -> pd.DataFrame:
    settings = run.settings
    arrays = StatusArrays(prepared.status)
    bar = None
    try:  # from here on a Ctrl-C settles every row still to send, even before the first request
        # Rows prepare (or the journal, below) settled: counted as the bar starts.
        decided = prepared.status["status"].value_counts(sort=False)
        to_send = len(prepared.to_send)
        if run.ledger is not None:
            prepared = run.ledger.skip_recorded(prepared, arrays)
        wire = prepared.wire()
        batches = make_batches(wire, prepared.to_send, settings.batch_size)
        bar = progress_bar(len(wire), unit="event", desc=f"publish {run.app_id}",
                           show=show_progress(settings.progress))  # fmt: skip
        bar.add(decided.to_dict() | {"skipped": int(decided.get("skipped", 0)) + to_send - len(wire)})

        def take(outcome: Outcome) -> None:
            arrays.apply(outcome)
            bar.add({outcome.status: len(outcome.positions)}, len(outcome.positions))

        send_all(run, batches, settings.max_workers, take)
    except KeyboardInterrupt:
        status = arrays.interrupted(prepared.status, run.requests)
        if bar is not None:
            bar.finish(status["status"].value_counts())
        raise PublishInterrupted(status) from None
    else:
        result = arrays.final(prepared.status, run.app_id, run.requests)
        counts = result["status"].value_counts()
        bar.finish(counts)  # the status frame's own counts, whatever was fed as it went
    finally:
        if bar is not None:
            bar.close()  # after an error; a finished bar stays as it is
    logger.info(
        "published to %s: %s",
        run.app_id,
        ", ".join(f"{count} {name}" for name, count in counts.items() if count),
    )
    return result
