"""What a file's chunks came to: rows per status, per problem code, and the warnings.

A file read in chunks is one call for the analyst: the counts behind prepare's
:class:`StaleEventWarning` and :class:`NaiveTimestampWarning` are added up chunk by chunk and
the warnings made once at the end, for the whole file, by prepare's own :func:`warn_counts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._long_form import count_problems, most_frequent_first
from ..preparation._options import PrepareOptions
from ..preparation._prepare import PrepareCounts, warn_counts
from ..status import PROBLEM_STATUSES, STATUSES

__all__ = ["Tally"]

_PROBLEM_CODES = [STATUSES.index(name) for name in PROBLEM_STATUSES]


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

    def counted(self, counts: PrepareCounts) -> None:
        """Add a chunk's count of naive timestamps (its stale rows are counted in :meth:`prepared`,
        after the cross-chunk de-duplication)."""
        self.naive += counts.naive

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
        # Only the rows with a problem: the long form of a chunk's valid rows is empty anyway,
        # and building it cost a quarter of a second a million rows.
        counted = np.isin(codes.cat.codes.to_numpy(), _PROBLEM_CODES)
        chunk = count_problems(status.iloc[np.flatnonzero(counted)], PROBLEM_STATUSES)
        self._problems = chunk if self._problems is None else self._problems.add(chunk, fill_value=0)

    def counts(self) -> pd.Series:
        return pd.Series(self._counts, index=pd.Index(STATUSES, name="status"), name="rows")

    def problems(self) -> pd.DataFrame:
        """Rows per problem code (index) and problem status (columns), most frequent first."""
        if self._problems is None:
            index = pd.Index([], name="problem", dtype=object)
            return pd.DataFrame(0, index=index, columns=pd.Index(PROBLEM_STATUSES, name="status"))
        return most_frequent_first(self._problems.astype("int64"))

    def warn(self) -> None:
        """Issue the file's StaleEventWarning and NaiveTimestampWarning, once each."""
        warn_counts(PrepareCounts(self.naive, self.stale, self.oldest_stale_ms), self.options)
