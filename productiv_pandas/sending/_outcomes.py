"""What publish learned about each batch, and the status arrays those outcomes fill.

Kept apart from :mod:`.publish` so the orchestration reads on one screen: an :class:`Outcome`
is a plain value a worker returns, :class:`StatusArrays` the by-position columns the main
thread writes them into before building the status frame once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..preparation._run_info import with_app_id
from ..status import PROBLEM_DTYPE, problem_number

__all__ = ["REQUESTS_KEY", "Outcome", "StatusArrays"]

#: The key of the status frame's ``attrs`` holding the number of HTTP requests the publish made
#: to the events endpoint (retries and split halves included; token requests not counted).
REQUESTS_KEY = "requests"


@dataclass(frozen=True)
class Outcome:
    """What happened to some rows of a batch (``positions`` are status-frame positions)."""

    positions: np.ndarray
    status: str
    reason: str | None
    batch: int
    http_status: int | None
    attempts: int
    problem: str | None = None  # the problem code (see productiv_pandas.problem_codes); None when sent


class StatusArrays:
    """The publish columns of the status frame, by position, filled as outcomes arrive."""

    def __init__(self, status: pd.DataFrame) -> None:
        self.status = status["status"].astype(object).to_numpy(copy=True)
        self.reason = status["reason"].astype(object).to_numpy(copy=True)
        # Problem codes as category numbers, not a million code strings (see ``frame``).
        self.problem = status["problem"].cat.codes.to_numpy(copy=True)
        self.batch = np.full(len(status), -1, dtype=np.int64)
        self.http_status = np.zeros(len(status), dtype=np.int64)
        self.attempts = np.zeros(len(status), dtype=np.int64)

    def apply(self, outcome: Outcome) -> None:
        where = outcome.positions
        self.status[where] = outcome.status
        self.reason[where] = outcome.reason
        self.problem[where] = problem_number(outcome.problem)
        self.batch[where] = outcome.batch
        self.http_status[where] = outcome.http_status or 0
        self.attempts[where] = outcome.attempts

    def settle(self, status: str, reason: str, problem: str) -> None:
        """Give every row still ``valid`` (to send, but without an outcome) a final status."""
        left = np.flatnonzero(self.status == "valid")
        self.status[left] = status
        self.reason[left] = reason
        self.problem[left] = problem_number(problem)

    def frame(self, template: pd.DataFrame) -> pd.DataFrame:
        # A shallow copy: copy-on-write keeps ``template`` intact, and its unchanged columns
        # (the text above all) are not duplicated; a deep copy cost ~0.6x the input's memory.
        result = template.copy(deep=False)
        # Codes by comparison rather than pd.Categorical(objects): that hashes every row's
        # string and briefly needed ~2x the input's memory for 1M rows; this is also faster.
        dtype = template["status"].dtype
        codes = np.full(len(self.status), -1, dtype=np.int8)
        for code, name in enumerate(dtype.categories):
            codes[self.status == name] = code
        result["status"] = pd.Categorical.from_codes(codes, dtype=dtype)
        result["reason"] = pd.array(self.reason, dtype=template["reason"].dtype)
        result["problem"] = pd.Categorical.from_codes(self.problem, dtype=PROBLEM_DTYPE)
        tried = self.batch >= 0
        result["batch"] = pd.arrays.IntegerArray(np.where(tried, self.batch, 0), ~tried)
        result["http_status"] = pd.arrays.IntegerArray(self.http_status.copy(), self.http_status == 0)
        result["attempts"] = pd.arrays.IntegerArray(self.attempts.copy(), ~tried)
        return result

    def final(self, template: pd.DataFrame, app_id: str, requests: int) -> pd.DataFrame:
        """The status frame once every batch came back: a row still without an outcome (a bug)
        is ``failed`` "internal error" rather than left ``valid``; the app id and the number of
        requests ride along in ``attrs`` for the report's and the run's summary."""
        self.settle("failed", "internal error: no outcome was recorded for this row", "internal_error")
        result = self.frame(template)
        with_app_id(result, app_id)
        result.attrs[REQUESTS_KEY] = requests
        return result

    def interrupted(self, template: pd.DataFrame, requests: int) -> pd.DataFrame:
        """The status frame after Ctrl-C: every row without an outcome ``failed`` "interrupted"."""
        self.settle("failed", "interrupted", "interrupted")
        result = self.frame(template)
        result.attrs[REQUESTS_KEY] = requests
        return result
