"""What publish learned about each batch, and the status arrays those outcomes fill.

Kept apart from :mod:`.publish` so the orchestration reads on one screen: an :class:`Outcome`
is a plain value a worker returns, :class:`StatusArrays` the by-position columns the main
thread writes them into before building the status frame once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Outcome", "StatusArrays"]


@dataclass(frozen=True)
class Outcome:
    """What happened to some rows of a batch (``positions`` are status-frame positions)."""

    positions: np.ndarray
    status: str
    reason: str | None
    batch: int
    http_status: int | None
    attempts: int


class StatusArrays:
    """The publish columns of the status frame, by position, filled as outcomes arrive."""

    def __init__(self, status: pd.DataFrame) -> None:
        self.status = status["status"].astype(object).to_numpy(copy=True)
        self.reason = status["reason"].astype(object).to_numpy(copy=True)
        self.batch = np.full(len(status), -1, dtype=np.int64)
        self.http_status = np.zeros(len(status), dtype=np.int64)
        self.attempts = np.zeros(len(status), dtype=np.int64)

    def apply(self, outcome: Outcome) -> None:
        where = outcome.positions
        self.status[where] = outcome.status
        self.reason[where] = outcome.reason
        self.batch[where] = outcome.batch
        self.http_status[where] = outcome.http_status or 0
        self.attempts[where] = outcome.attempts

    def settle(self, status: str, reason: str) -> None:
        """Give every row still ``valid`` (to send, but without an outcome) a final status."""
        left = np.flatnonzero(self.status == "valid")
        self.status[left] = status
        self.reason[left] = reason

    def frame(self, template: pd.DataFrame) -> pd.DataFrame:
        result = template.copy()
        result["status"] = pd.Categorical(self.status, dtype=template["status"].dtype)
        result["reason"] = pd.array(self.reason, dtype=template["reason"].dtype)
        tried = self.batch >= 0
        result["batch"] = pd.array(np.where(tried, self.batch, 0), dtype="Int64")
        result.loc[~tried, "batch"] = pd.NA
        result["http_status"] = pd.array(self.http_status, dtype="Int64")
        result.loc[self.http_status == 0, "http_status"] = pd.NA
        result["attempts"] = pd.array(self.attempts, dtype="Int64")
        result.loc[~tried, "attempts"] = pd.NA
        return result
