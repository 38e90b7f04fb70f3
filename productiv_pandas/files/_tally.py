"""What a file's chunks came to: rows per status, per kind of problem, and the warnings.

A file read in chunks is one call for the analyst: prepare's :class:`StaleEventWarning` and
:class:`NaiveTimestampWarning` are caught chunk by chunk and issued once at the end, counting
the whole file, in prepare's own words.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from .._reason_kinds import REASON_STATUSES, count_kinds, most_frequent_first
from ..errors import NaiveTimestampWarning, StaleEventWarning
from ..preparation._options import PrepareOptions
from ..preparation._prepare import warn_naive, warn_stale
from ..status import STATUSES

__all__ = ["PROBLEM_STATUSES", "Tally"]

#: The statuses whose reasons are problems to fix (duplicate and skipped are choices).
PROBLEM_STATUSES = REASON_STATUSES
_NAIVE = re.compile(r"(\d+) timestamp\(s\) had no timezone")


class Tally:
    """Counts over the chunks of one file."""

    def __init__(self, options: PrepareOptions) -> None:
        self.options = options
        self.rows = 0
        self._counts = np.zeros(len(STATUSES), dtype=np.int64)
        self._problems: pd.DataFrame | None = None
        self.stale = 0
        self.oldest_stale_ms: int | None = None
        self.naive = 0

    @contextmanager
    def collecting_warnings(self) -> Iterator[None]:
        """Hold back prepare's per-chunk warnings (counted for :meth:`warn`); let others through."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for warning in caught:
            if issubclass(warning.category, StaleEventWarning):
                continue  # counted from the status frame in `prepared`, after cross-chunk de-duplication
            found = _NAIVE.match(str(warning.message))
            if issubclass(warning.category, NaiveTimestampWarning) and found:
                self.naive += int(found.group(1))
                continue
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    def prepared(self, status: pd.DataFrame) -> None:
        """Note a prepared chunk's stale rows that are to be sent (what prepare warns about)."""
        if self.options.on_stale != "warn":
            return
        sendable = ((status["status"] == "valid") & status["stale"]).to_numpy()
        if sendable.any():
            self.stale += int(sendable.sum())
            oldest = int(status["timestamp"].to_numpy(dtype=np.int64, na_value=0)[sendable].min())
            self.oldest_stale_ms = (
                oldest if self.oldest_stale_ms is None else min(oldest, self.oldest_stale_ms)
            )

    def add(self, status: pd.DataFrame) -> None:
        """Count a chunk's final statuses and the kinds of its problems."""
        codes = status["status"]
        self.rows += len(status)
        self._counts += codes.value_counts(sort=False).reindex(list(STATUSES), fill_value=0).to_numpy()
        chunk = count_kinds(codes, status["reason"], PROBLEM_STATUSES)
        self._problems = chunk if self._problems is None else self._problems.add(chunk, fill_value=0)

    def counts(self) -> pd.Series:
        return pd.Series(self._counts, index=pd.Index(STATUSES, name="status"), name="rows")

    def problems(self) -> pd.DataFrame:
        """Rows per kind (index) and problem status (columns), most frequent kind first."""
        if self._problems is None:
            return count_kinds(pd.Series([], dtype=object), pd.Series([], dtype=object), PROBLEM_STATUSES)
        return most_frequent_first(self._problems.astype("int64"))

    def warn(self) -> None:
        """Issue the file's StaleEventWarning and NaiveTimestampWarning, once each."""
        if self.stale and self.oldest_stale_ms is not None:
            warn_stale(self.stale, self.oldest_stale_ms, self.options.now_ms)
        if self.naive and self.options.tz is None:
            warn_naive(self.naive)
