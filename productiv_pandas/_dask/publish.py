"""publish for Dask DataFrames: validate across partitions, warn once, then each partition sends.

Choices, and why:

- **Sending once.** :func:`publish` is eager: it sends when called and returns the statuses
  persisted (in memory locally, on the workers of a cluster), so computing the result again,
  or twice, never sends again. A lazy publish would send on every ``.compute()``.
- **Clients.** Each partition builds its own client, where it runs, from a zero-argument
  factory: a :class:`~productiv_pandas.client_factory.ClientFactory` made from the ``client``
  given (picklable; its repr shows no secret), or ``client_factory``, by default
  ``ProductivClient.from_env`` (the worker's own environment). It is closed when done.
- **Warnings** are raised here, on the client, once (see :mod:`.dask_frames`).
- **No journal.** ``journal=`` is refused (a ConfigurationError, before any work). A journal
  is a SQLite file on one machine's disk, written after each acknowledged batch; partitions
  run on workers that do not share that disk (a path would name a different file on each, or
  one file on a network share, where SQLite's locking is not to be trusted). It is refused on
  local schedulers too, so a script tried on a laptop does not lose its journal, silently,
  once pointed at a cluster. To resume a backfill, write the frame to files
  (``ddf.to_parquet(...)``) and publish them with :func:`productiv_pandas.publish_file` and
  one journal, on one machine. Publishing again without a journal is harmless (the API
  de-duplicates by triple) but spends rate limit.
- **Ctrl-C** stops the computation with a ``KeyboardInterrupt``; partitions already sending
  finish in the background and their statuses are lost. Sending again is harmless (the API
  de-duplicates by triple) but costs rate limit.
"""

from __future__ import annotations

import logging
from typing import Unpack

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from ..client._client import ProductivClient
from ..client._factory import ClientFactory
from ..errors import (
    ConfigurationError,
    ProductivError,
)
from ..preparation._options import PrepareOptions, PrepareOptionsDict
from ..preparation._prepare import PrepareCounts, Prepared, warn_counts
from ..sending._publish import deliver_prepared
from ..sending._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, SendSettings
from ..status import with_status
from .frames import check_frame, lazy_status

__all__ = ["publish"]

logger = logging.getLogger("productiv_pandas")


def _warn_once(status: dd.DataFrame, naive: dd.Series, options: PrepareOptions) -> None:
    """The warnings of the pandas publish, once for the whole frame, raised on the client."""
    sendable = status[(status["status"] == "valid") & status["stale"]]["timestamp"]
    stale, oldest, naive = dask.compute(sendable.count(), sendable.min(), naive.sum())
    oldest_ms = int(oldest) if stale else None
    warn_counts(PrepareCounts(naive=int(naive), stale=int(stale), oldest_stale_ms=oldest_ms), options)


def _publish_partition(part: pd.DataFrame, factory, settings: SendSettings) -> pd.DataFrame:
    """Send one partition's valid rows with a client of its own; every row leaves with a status."""
    to_send = np.flatnonzero((part["status"] == "valid").to_numpy())
    if not len(to_send):
        return part  # nothing to send: no client, no token request
    try:
        client = factory()
    except Exception as exc:  # every row must leave with a status, even when no client can be built
        # Our own errors never quote a secret; another factory's might, so only its type is shown.
        said = f"{type(exc).__name__}: {exc}" if isinstance(exc, ProductivError) else type(exc).__name__
        return with_status(
            part,
            to_send,
            "failed",
            f"not attempted: the worker could not build a client ({said})",
            "not_attempted",
        )
    with client:
        return deliver_prepared(Prepared(part, to_send), settings.replace(client=client))


#: publish's own keyword arguments, named in the message about an unknown option.
_OWN = ("client", "client_factory", "batch_size", "max_workers", "max_retries", "max_split_requests")


def _refuse_journal(journal) -> None:
    if journal is not None:
        raise ConfigurationError(
            f"journal={journal!r} is not supported for Dask DataFrames: a journal is a SQLite file on "
            "one machine, and partitions run on workers that do not share it. To resume a backfill, "
            "write the frame to files (ddf.to_parquet(...)) and publish each with "
            "pp.publish_file(path, app_id, journal=...), or pp.publish(ddf.compute(), app_id, "
            "journal=...) if it fits in memory. Publishing again without a journal resends rows the "
            "API already has: harmless (it de-duplicates them) but it spends rate limit."
        )


def _factory_of(client, client_factory, max_workers: int):
    if client is not None and client_factory is not None:
        raise ConfigurationError("give client or client_factory, not both")
    if client_factory is not None:
        if not callable(client_factory):
            raise ConfigurationError(
                f"client_factory must be a zero-argument callable, got {client_factory!r}"
            )
        return client_factory
    if client is not None:
        if not isinstance(client, ProductivClient):  # the workers build theirs from its settings
            raise ConfigurationError(
                f"client must be a ProductivClient for a Dask DataFrame (got a {type(client).__name__}); "
                "for another kind of client pass a zero-argument client_factory"
            )
        return ClientFactory.of(client, pool_size=max_workers)
    return ProductivClient.from_env  # read where the partition runs: the worker's environment


def publish(
    frame: dd.DataFrame,
    app_id: str,
    *,
    client: ProductivClient | None = None,
    client_factory=None,
    batch_size: int = MAX_BATCH_SIZE,
    max_workers: int = 4,
    max_retries: int | None = None,
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
    journal=None,
    **options: Unpack[PrepareOptionsDict],
) -> dd.DataFrame:
    """Validate a Dask DataFrame, de-duplicate it across partitions and send it; eagerly.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The events; any index. Never modified.
    app_id : str
        The Productiv app the events belong to.
    client : ProductivClient, optional
        Its settings and credentials, not the client itself, go to the partitions: each
        builds a client like it (:class:`~productiv_pandas.client_factory.ClientFactory`).
    client_factory : callable, optional
        Instead of ``client``: called with no argument where each partition runs, returns a
        new client. ``ProductivClient.from_env`` (the default when neither is given) reads the
        worker's own ``PRODUCTIV_*`` variables, so no secret travels with the tasks.
    batch_size, max_workers, max_retries, max_split_requests
        As for :func:`productiv_pandas.publish`, per partition: a cluster running ``k``
        partitions at once has up to ``k * max_workers`` requests in flight.
    journal : None
        Not supported: anything but None raises ConfigurationError (see the module docstring
        for why, and for how to resume a backfill with :func:`productiv_pandas.publish_file`).
    **options : Unpack[PrepareOptionsDict]
        ``columns``, ``unit``, ``tz``, ``login_events``, ``allowed_events``, ``on_stale``,
        ``now``, ``future_tolerance``: each documented in :class:`~productiv_pandas.PrepareOptionsDict`.

    Returns
    -------
    dask.dataframe.DataFrame
        The status frame, partitioned like ``frame`` and already computed (persisted):
        computing it again sends nothing.

    Raises
    ------
    ConfigurationError
        A bad option, a missing column, both ``client`` and ``client_factory``, or a
        ``journal`` (before anything is computed or sent).
    """
    _refuse_journal(journal)
    settings = SendSettings(
        app_id,
        client=client,
        batch_size=batch_size,
        max_workers=max_workers,
        max_retries=max_retries,
        max_split_requests=max_split_requests,
        progress=False,
    )  # fmt: skip  (on the client, before anything is computed)
    frame = check_frame(frame)
    factory = _factory_of(settings.client, client_factory, settings.max_workers)
    prepare_options = PrepareOptions.from_kwargs((*_OWN, "journal"), **options)
    status, naive = lazy_status(frame, prepare_options, count_naive=True)
    status, naive = dask.persist(status, naive)  # together, so partitions are prepared once
    _warn_once(status, naive, prepare_options)
    # The settings travel to the partitions without the client: each builds its own there.
    shipped = settings.replace(client=None)
    result = status.map_partitions(_publish_partition, factory, shipped, meta=status._meta).persist()
    # Waits for every partition (persist returns at once on a distributed cluster).
    counts = result["status"].value_counts().compute()
    logger.info(
        "published to %s: %s",
        app_id,
        ", ".join(f"{count} {name}" for name, count in counts.items() if count),
    )
    return result
