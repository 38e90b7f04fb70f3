"""validate and prepare for Dask DataFrames: prepare each partition, then de-duplicate across them.

    partitions -> prepare_events each (options fixed once, on the client)
               -> the keys seen in more than one partition (a Dask groupby)
               -> each partition marks its later copies ``duplicate`` (of the first row overall)
               -> (:func:`prepare` only) each partition keeps its ``valid`` rows, wire-ready

:mod:`.dask_publish` sends the result.

Choices, and why:

- **Order.** "First" means first in the frame's order: partition number, then row. Each row
  carries ``partition << 40 | position``, so one ``min`` per key finds it; the row's reason
  names that row's index label, exactly as :func:`productiv_pandas.validate` does.
- **Warnings.** A warning raised in a worker is lost on a cluster and would repeat once per
  partition, so partitions never warn (they run with ``on_stale="ignore"`` or ``"skip"``, and
  with ``tz="UTC"`` where ``tz`` was left out, which reads naive times exactly as the default
  does). :func:`.dask_publish.publish`, which computes, warns once on the client before
  sending, as the pandas publish does: one :class:`StaleEventWarning`, one
  :class:`NaiveTimestampWarning` (partitions count the naive times for it). :func:`validate`
  and :func:`prepare` stay lazy and warn about nothing: the ``stale`` column shows stale rows.
  ``on_stale="skip"`` works in both.
- **Memory.** The duplicate table needs every partition's keys, so a compute holds every
  prepared partition (in memory locally, spread over the workers of a cluster) until it is
  built; the table itself holds only the keys seen in more than one partition.
"""

from __future__ import annotations

import dataclasses
import decimal
from typing import Unpack

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from ..errors import ConfigurationError
from ..preparation._options import PrepareOptions, PrepareOptionsDict
from ..preparation._prepare import Prepared, prepare_events
from ..preparation._reasons import format_label
from ..status import with_status

__all__ = ["check_frame", "lazy_status", "prepare", "problems", "validate"]

KEY = ["timestamp", "email", "eventName"]
_ORDER = "_order"  # partition << _SHIFT | position: the row's place in the whole frame
_SHIFT = 40  # room for 10**12 rows a partition and 8 million partitions in an int64


def _partition_options(options: PrepareOptions) -> PrepareOptions:
    """What partitions run with: the same checks (prepare counts what to warn about and never
    warns itself; the warnings are made once, from the partitions' counts)."""
    return dataclasses.replace(options, on_stale="skip" if options.on_stale == "skip" else "ignore")


def _prepare_partition(
    part: pd.DataFrame, options: PrepareOptions, number: int, count_naive: bool
) -> tuple[pd.DataFrame, pd.Series]:
    """The partition's status frame with each row's ``_order``, and how many times were naive."""
    prepared = prepare_events(part, options)
    status = prepared.status
    status = status.assign(**{_ORDER: (number << _SHIFT) + np.arange(len(status), dtype=np.int64)})
    naive = prepared.counts.naive if count_naive else 0
    return status, pd.Series([naive], dtype=np.int64)


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
    kept = ["duplicate of row " + label for label in found["kept"].to_numpy()[later]]
    return with_status(status, np.flatnonzero(checked)[later], "duplicate", kept, "duplicate")


def check_frame(frame: object) -> dd.DataFrame:
    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"expected a Dask DataFrame, got {type(frame).__name__}")
    if frame.npartitions >= 2 ** (63 - _SHIFT):
        raise ConfigurationError(f"{frame.npartitions} partitions are too many; repartition to fewer")
    return frame


def lazy_status(
    frame: dd.DataFrame, options: PrepareOptions, *, count_naive: bool = False
) -> tuple[dd.DataFrame, dd.Series]:
    """The lazy status frame of ``frame``, de-duplicated across partitions, and the number of
    naive times read as UTC (counted only when asked, else 0)."""
    inner = _partition_options(options)
    # Run on the empty meta: gives the exact dtypes and raises now for a missing column.
    meta = prepare_events(frame._meta, inner).status
    with_order = meta.assign(**{_ORDER: np.int64(0)})
    # Three steps read each prepared partition: as named delayed results (not one expression,
    # which Dask would fuse into each reader) each partition is prepared once a compute.
    count_naive = count_naive and options.tz is None
    try:
        parts = frame.to_delayed()
    except UnicodeEncodeError as exc:
        # Dask's own string conversion of object columns (dataframe.convert-string), run on
        # from_pandas data as the graph is built; pandas' validate explains such a value per row.
        raise ConfigurationError(
            "Dask could not convert a text column to pyarrow strings: a value holds a character "
            f"that cannot be encoded ({exc.reason}, e.g. a lone surrogate from a broken export); "
            "clean it, or build the frame with dask.config.set({'dataframe.convert-string': False})"
        ) from exc
    except decimal.InvalidOperation as exc:
        # The same conversion meets a Decimal("sNaN"), on which pandas' isna raises.
        raise ConfigurationError(
            "Dask could not convert a column to pyarrow strings: it holds a signaling NaN "
            "Decimal('sNaN'); replace it with None, or build the frame with "
            "dask.config.set({'dataframe.convert-string': False})"
        ) from exc
    results = [
        dask.delayed(_prepare_partition, nout=2)(part, inner, number, count_naive)
        for number, part in enumerate(parts)
    ]
    prepared = dd.from_delayed(
        [status for status, _ in results], meta=with_order, divisions=frame.divisions, verify_meta=False
    )
    repeated = _repeated_keys(prepared)
    repeated_parts = repeated.to_delayed()
    repeated_all = dask.delayed(pd.concat)(repeated_parts, ignore_index=True)
    kept = prepared.map_partitions(
        _kept_labels, repeated_all, meta=pd.DataFrame({"first": np.int64(0), "kept": object()}, index=[])
    )
    table = dask.delayed(_duplicate_table)(repeated_parts, kept.to_delayed())
    counts = [count for _, count in results]
    naive = dd.from_delayed(counts, meta=pd.Series(dtype=np.int64), verify_meta=False)
    return prepared.map_partitions(_finish_partition, table, meta=meta), naive


def validate(frame: dd.DataFrame, **options: Unpack[PrepareOptionsDict]) -> dd.DataFrame:
    """Check every row of a Dask DataFrame without sending anything; lazily.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The events; any index. Never modified.
    **options : Unpack[PrepareOptionsDict]
        As for :func:`productiv_pandas.validate` (each documented in
        :class:`~productiv_pandas.PrepareOptionsDict`); ``now`` is fixed once, here, for every
        partition.

    Returns
    -------
    dask.dataframe.DataFrame
        The status frame, partitioned like ``frame``: computed, it equals what
        :func:`productiv_pandas.validate` gives for the whole frame at once (duplicates across
        partitions included), except that no warning is raised (see the module docstring).
    """
    return lazy_status(check_frame(frame), PrepareOptions.from_kwargs(**options))[0]


def _wire(status: pd.DataFrame) -> pd.DataFrame:
    """A partition's rows that would be sent, as pandas' ``prepare`` gives them (same code)."""
    return Prepared(status, np.flatnonzero((status["status"] == "valid").to_numpy())).wire()


def prepare(frame: dd.DataFrame, **options: Unpack[PrepareOptionsDict]) -> dd.DataFrame:
    """The rows of a Dask DataFrame that would be sent, wire-ready; lazily.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The events; any index. Never modified.
    **options : Unpack[PrepareOptionsDict]
        As for :func:`productiv_pandas.prepare` (each documented in
        :class:`~productiv_pandas.PrepareOptionsDict`); ``now`` is fixed once, here.

    Returns
    -------
    dask.dataframe.DataFrame
        ``timestamp`` (int64 ms), ``email``, ``eventName``, ``targetApp``, with the input's
        index labels, partitioned like ``frame`` (partitions may shrink or be empty): computed,
        it equals :func:`productiv_pandas.prepare` of the whole frame at once, duplicates
        across partitions removed (the first row in partition-then-row order kept), except
        that no warning is raised (``on_stale="skip"`` still leaves stale rows out).
    """
    status = lazy_status(check_frame(frame), PrepareOptions.from_kwargs(**options))[0]
    return status.map_partitions(_wire, meta=_wire(status._meta))


def problems(status: dd.DataFrame) -> dd.DataFrame:
    """The long form of a Dask status frame, lazily: :func:`productiv_pandas.problems` of each
    partition. Each partition's status frame still holds its rows' problems (``attrs``), so a
    row with several problems has an entry for each, as in pandas; computed, it equals
    ``pp.problems`` of the whole status frame computed at once with its ``attrs``."""
    from .._long_form import problems as long_form

    return status.map_partitions(long_form, meta=long_form(status._meta))
