"""validate and publish for Dask DataFrames: prepare each partition, de-duplicate across them, send.

    partitions -> prepare_events each (options fixed once, on the client)
               -> the keys seen in more than one partition (a Dask groupby)
               -> each partition marks its later copies ``duplicate`` (of the first row overall)
               -> publish: each partition sends its ``valid`` rows with a client of its own

Choices, and why:

- **Order.** "First" means first in the frame's order: partition number, then row. Each row
  carries ``partition << 40 | position``, so one ``min`` per key finds it; the row's reason
  names that row's index label, exactly as :func:`productiv_pandas.validate` does.
- **Warnings.** A warning raised in a worker is lost on a cluster and would repeat once per
  partition, so partitions never warn (they run with ``on_stale="ignore"`` or ``"skip"``, and
  with ``tz="UTC"`` where ``tz`` was left out, which reads naive times exactly as the default
  does). :func:`publish`, which computes, warns once on the client before sending, as the
  pandas publish does: one :class:`StaleEventWarning`, one :class:`NaiveTimestampWarning`.
  :func:`validate` stays lazy and warns about nothing: the ``stale`` column shows stale rows.
  ``on_stale="skip"`` works in both.
- **Sending once.** :func:`publish` is eager: it sends when called and returns the statuses
  persisted (in memory locally, on the workers of a cluster), so computing the result again,
  or twice, never sends again. A lazy publish would send on every ``.compute()``.
- **Clients.** Each partition builds its own client from a picklable recipe
  (:class:`~productiv_pandas.client_factory.ClientFactory`) and closes it when done.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .client import ProductivClient
from .client_factory import ClientFactory
from .errors import (
    ConfigurationError,
    NaiveTimestampWarning,
    ProductivError,
    StaleEventWarning,
    user_stacklevel,
)
from .options import PrepareOptions
from .prepare import Prepared, prepare_events, select_columns
from .publish import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE, _check_target, deliver_prepared
from .reasons import format_label
from .timestamps import parse_timestamps

__all__ = ["publish", "validate"]

logger = logging.getLogger("productiv_pandas")

KEY = ["timestamp", "email", "eventName"]
_ORDER = "_order"  # partition << _SHIFT | position: the row's place in the whole frame
_SHIFT = 40  # room for 10**12 rows a partition and 8 million partitions in an int64


def _partition_options(options: PrepareOptions) -> PrepareOptions:
    """What partitions run with: the same checks, without anything that warns (see above)."""
    return dataclasses.replace(
        options,
        tz="UTC" if options.tz is None else options.tz,
        on_stale="skip" if options.on_stale == "skip" else "ignore",
    )


def _prepare_partition(part: pd.DataFrame, options: PrepareOptions, partition_info=None) -> pd.DataFrame:
    status = prepare_events(part, options).status
    number = 0 if partition_info is None else partition_info["number"]
    return status.assign(**{_ORDER: (number << _SHIFT) + np.arange(len(status), dtype=np.int64)})


def _checked(frame: pd.DataFrame) -> pd.Series:
    """Rows that passed every check: those a later partition's copy may duplicate."""
    return frame["status"].isin(["valid", "skipped", "duplicate"])


def _repeated_keys(prepared: dd.DataFrame) -> dd.DataFrame:
    """The keys kept in more than one partition, each with the ``_order`` of its first row."""
    # Within a partition prepare_events kept one row a key ("skipped" ones are stale rows, kept
    # like valid ones: de-duplication comes before on_stale, as in pandas).
    kept = prepared[prepared["status"].isin(["valid", "skipped"])]
    counts = kept.groupby(KEY)[_ORDER].agg(["min", "count"], split_out=True)
    repeated = counts[counts["count"] > 1].reset_index()
    return repeated.rename(columns={"min": "first"}).drop(columns="count")


def _kept_labels(part: pd.DataFrame, repeated: pd.DataFrame) -> pd.DataFrame:
    """This partition's rows that are the first of a repeated key, with their labels as shown."""
    hit = part[_ORDER].isin(repeated["first"]).to_numpy()
    labels = [format_label(label) for label in part.index[hit]]
    return pd.DataFrame({"first": part[_ORDER].to_numpy()[hit], "kept": pd.Series(labels, dtype=object)})


def _duplicate_table(repeated: list[pd.DataFrame], kept: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(repeated, ignore_index=True)
    labels = pd.concat(kept, ignore_index=True)
    return table.merge(labels, on="first", how="left", validate="one_to_one")


def _finish_partition(part: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Mark this partition's later copies of a repeated key as duplicates of the first row."""
    status = part.drop(columns=_ORDER)
    checked = _checked(part).to_numpy()
    if not len(table) or not checked.any():
        return status
    rows = part.loc[checked, [*KEY, _ORDER]].reset_index(drop=True)
    found = rows.merge(table, on=KEY, how="left", validate="many_to_one")  # keeps the left order
    later = (found["first"].notna() & (found[_ORDER] != found["first"])).to_numpy()
    if not later.any():
        return status
    positions = np.flatnonzero(checked)[later]
    states = status["status"].to_numpy(copy=True)
    reasons = status["reason"].astype(object).to_numpy(copy=True)
    states[positions] = "duplicate"
    reasons[positions] = ["duplicate of row " + label for label in found["kept"].to_numpy()[later]]
    status["status"] = pd.Categorical(states, dtype=status["status"].dtype)
    status["reason"] = pd.array(reasons, dtype=status["reason"].dtype)
    return status


def _check_frame(frame: object) -> dd.DataFrame:
    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"expected a Dask DataFrame, got {type(frame).__name__}")
    if frame.npartitions >= 2 ** (63 - _SHIFT):
        raise ConfigurationError(f"{frame.npartitions} partitions are too many; repartition to fewer")
    return frame


def _validated(frame: dd.DataFrame, options: PrepareOptions) -> dd.DataFrame:
    """The lazy status frame of ``frame``, de-duplicated across partitions."""
    inner = _partition_options(options)
    # Run on the empty meta: gives the exact dtypes and raises now for a missing column.
    meta = prepare_events(frame._meta, inner).status
    with_order = meta.assign(**{_ORDER: np.int64(0)})
    # Three steps read each prepared partition. As one expression, Dask would fuse the prepare
    # step into each of them and run it three times; as named delayed results it runs once.
    parts = frame.map_partitions(_prepare_partition, inner, meta=with_order).to_delayed()
    prepared = dd.from_delayed(parts, meta=with_order, divisions=frame.divisions, verify_meta=False)
    repeated = _repeated_keys(prepared)
    repeated_parts = repeated.to_delayed()
    repeated_all = dask.delayed(pd.concat)(repeated_parts, ignore_index=True)
    kept = prepared.map_partitions(
        _kept_labels, repeated_all, meta=pd.DataFrame({"first": np.int64(0), "kept": object()}, index=[])
    )
    table = dask.delayed(_duplicate_table)(repeated_parts, kept.to_delayed())
    return prepared.map_partitions(_finish_partition, table, meta=meta)


def validate(frame: dd.DataFrame, **options) -> dd.DataFrame:
    """Check every row of a Dask DataFrame without sending anything; lazily.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The events; any index. Never modified.
    **options
        As for :func:`productiv_pandas.validate`; ``now`` is fixed once, here, for every
        partition.

    Returns
    -------
    dask.dataframe.DataFrame
        The status frame, partitioned like ``frame``: computed, it equals what
        :func:`productiv_pandas.validate` gives for the whole frame at once (duplicates across
        partitions included), except that no warning is raised (see the module docstring).
    """
    return _validated(_check_frame(frame), PrepareOptions.from_kwargs(**options))


def _naive_count(part: pd.DataFrame, options: PrepareOptions) -> pd.Series:
    column = select_columns(part, dict(options.columns))["timestamp"]
    return pd.Series([parse_timestamps(column, unit=options.unit, tz=None).naive_read_as_utc])


def _warn_once(frame: dd.DataFrame, status: dd.DataFrame, options: PrepareOptions) -> None:
    """The warnings of the pandas publish, once for the whole frame, raised on the client."""
    sendable = status[(status["status"] == "valid") & status["stale"]]["timestamp"]
    naive = 0
    if options.tz is None:
        # A second read of the timestamp column: its count is all this needs, and partitions
        # cannot hand a warning back. Passing tz= skips it.
        naive = frame.map_partitions(_naive_count, options, meta=pd.Series(dtype=np.int64)).sum()
    stale, oldest, naive = dask.compute(sendable.count(), sendable.min(), naive)
    if stale and options.on_stale == "warn":
        hours = (options.now_ms - int(oldest)) / 3_600_000
        warnings.warn(
            f"{int(stale)} event(s) are older than 12 hours (the oldest by {hours:.1f} hours); "
            "Productiv only guarantees to aggregate events pushed within 12 hours. Pass "
            "on_stale='skip' to leave them out or on_stale='ignore' to send them quietly.",
            StaleEventWarning,
            stacklevel=user_stacklevel(),
        )
    if naive:
        warnings.warn(
            f"{int(naive)} timestamp(s) had no timezone and were read as UTC; pass tz='Area/City' "
            "(the zone they were recorded in), or tz='UTC' if they are UTC.",
            NaiveTimestampWarning,
            stacklevel=user_stacklevel(),
        )


def _publish_partition(part: pd.DataFrame, app_id: str, factory, send: dict) -> pd.DataFrame:
    """Send one partition's valid rows with a client of its own; every row leaves with a status."""
    to_send = np.flatnonzero((part["status"] == "valid").to_numpy())
    if not len(to_send):
        return part  # nothing to send: no client, no token request
    try:
        client = factory()
    except Exception as exc:  # every row must leave with a status, even when no client can be built
        # Our own errors never quote a secret; another factory's might, so only its type is shown.
        said = f"{type(exc).__name__}: {exc}" if isinstance(exc, ProductivError) else type(exc).__name__
        status = part.copy()
        states = status["status"].to_numpy(copy=True)
        reasons = status["reason"].astype(object).to_numpy(copy=True)
        states[to_send] = "failed"
        reasons[to_send] = f"not attempted: the worker could not build a client ({said})"
        status["status"] = pd.Categorical(states, dtype=status["status"].dtype)
        status["reason"] = pd.array(reasons, dtype=status["reason"].dtype)
        return status
    with client:
        return deliver_prepared(Prepared(part, to_send), app_id, client=client, progress=False, **send)


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
    **options,
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
    **options
        As for :func:`productiv_pandas.validate`.

    Returns
    -------
    dask.dataframe.DataFrame
        The status frame, partitioned like ``frame`` and already computed (persisted):
        computing it again sends nothing.
    """
    _check_target(app_id, max_workers)
    frame = _check_frame(frame)
    factory = _factory_of(client, client_factory, max_workers)
    prepare_options = PrepareOptions.from_kwargs(**options)
    status = _validated(frame, prepare_options).persist()
    _warn_once(frame, status, prepare_options)
    send = {
        "batch_size": batch_size,
        "max_workers": max_workers,
        "max_retries": max_retries,
        "max_split_requests": max_split_requests,
    }
    result = status.map_partitions(_publish_partition, app_id, factory, send, meta=status._meta).persist()
    # Waits for every partition (persist returns at once on a distributed cluster).
    counts = result["status"].value_counts().compute()
    logger.info(
        "published to %s: %s",
        app_id,
        ", ".join(f"{count} {name}" for name, count in counts.items() if count),
    )
    return result
