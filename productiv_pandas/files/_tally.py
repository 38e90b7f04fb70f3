"""What a file's chunks came to: rows per status, per problem code, and the warnings.

A file read in chunks is one call for the analyst: the counts behind prepare's
:class:`StaleEventWarning` and :class:`NaiveTimestampWarning` are added up chunk by chunk and
the warnings made once at the end, for the whole file, by prepare's own :func:`warn_counts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._long_form import most_frequent_first
from ..preparation._options import PrepareOptions
from ..preparation._prepare import PrepareCounts, warn_counts
from ..problem_codes import PROBLEM_CODES
from ..status import PROBLEM_STATUSES, STATUS_DTYPE, STATUSES

__all__ = ["Tally"]

_PROBLEM_STATES = [STATUSES.index(name) for name in PROBLEM_STATUSES]
#: A status's column in the problem table, by its code (-1: not a problem status).
_COLUMN_OF = np.array([PROBLEM_STATUSES.index(n) if n in PROBLEM_STATUSES else -1 for n in STATUSES])


class Tally:
    """Counts over the chunks of one file."""

    def __init__(self, options: PrepareOptions) -> None:
        self.options = options
        self.rows = 0
        self._counts = np.zeros(len(STATUSES), dtype=np.int64)
        self._problems = np.zeros((len(PROBLEM_CODES), len(PROBLEM_STATUSES)), dtype=np.int64)
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

    def add(self, status: pd.DataFrame, long: pd.DataFrame) -> None:
        """Count a chunk's final statuses and the kinds of its problems; ``long`` is the chunk's
        :func:`~productiv_pandas.report._collect.problem_rows` (the report collector's too:
        built once a chunk)."""
        codes = pd.Categorical(status["status"], dtype=STATUS_DTYPE).codes
        self.rows += len(status)
        self._counts += np.bincount(codes[codes >= 0], minlength=len(STATUSES))
        # The long form counted into a code-by-status array: count_problems' crosstab a chunk
        # cost a quarter of a second a million rows.
        if len(long):
            state = pd.Categorical(long["status"], dtype=STATUS_DTYPE).codes.astype(np.int64)
            code = long["problem"].cat.codes.to_numpy().astype(np.int64)
            keep = np.isin(state, _PROBLEM_STATES) & (code >= 0)
            np.add.at(self._problems, (code[keep], _COLUMN_OF[state[keep]]), 1)

    def counts(self) -> pd.Series:
        return pd.Series(self._counts, index=pd.Index(STATUSES, name="status"), name="rows")

    def problems(self) -> pd.DataFrame:
        """Rows per problem code (index) and problem status (columns), most frequent first:
        what :func:`~productiv_pandas._long_form.count_problems` gives for the whole run."""
        table = pd.DataFrame(
            self._problems,
            index=pd.Index(list(PROBLEM_CODES), name="problem", dtype=object),
            columns=pd.Index(list(PROBLEM_STATUSES), name="status", dtype=object),
        )
        return most_frequent_first(table[table.sum(axis=1) > 0])

    def warn(self) -> None:
        """Issue the file's StaleEventWarning and NaiveTimestampWarning, once each."""
        warn_counts(PrepareCounts(self.naive, self.stale, self.oldest_stale_ms), self.options)
