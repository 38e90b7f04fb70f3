"""What publish learned about each batch, and the status arrays those outcomes fill.

Kept apart from :mod:`.publish` so the orchestration reads on one screen: an :class:`Outcome`
is a plain value a worker returns, :class:`StatusArrays` the by-position columns the main
thread writes them into before building the status frame once at the end.

Every column is held as numbers (status and problem as category codes, reasons as an index
into the few distinct texts outcomes carry), never as an object per row: a million rows sent
then cost no Python object at all, and the status frame's ``reason`` column, unchanged for
rows sent (they have none, as before), is the prepared frame's own Arrow array, not a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..preparation._run_info import with_app_id
from ..status import PROBLEM_DTYPE, STATUS_DTYPE, STATUSES, problem_number

__all__ = ["REQUESTS_KEY", "Outcome", "StatusArrays"]

#: The key of the status frame's ``attrs`` holding the number of HTTP requests the publish made
#: to the events endpoint (retries and split halves included; token requests not counted).
REQUESTS_KEY = "requests"

_STATUS_CODE = {name: code for code, name in enumerate(STATUSES)}
#: In ``StatusArrays.reason_id``: the row keeps the prepared frame's reason / has none.
_KEPT, _NONE = -1, -2


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
    """The publish columns of the status frame, by position, filled as outcomes arrive.

    ``status`` and ``problem`` are category codes (of ``STATUS_DTYPE``, ``PROBLEM_DTYPE``);
    ``reason_id`` is, per row, the index of its reason in ``texts``, or ``_KEPT`` (the prepared
    frame's reason stays) or ``_NONE`` (no reason). Write them with :meth:`mark`.
    """

    def __init__(self, status: pd.DataFrame) -> None:
        n = len(status)
        # Codes of STATUS_DTYPE: STATUSES' positions (prepare's frames have that dtype already).
        states = status["status"].astype(STATUS_DTYPE)
        self.status = states.cat.codes.to_numpy(dtype=np.int8, copy=True)
        # Problem codes as category numbers, not a million code strings (see ``frame``).
        self.problem = status["problem"].cat.codes.to_numpy(copy=True)
        self.reason_id = np.full(n, _KEPT, dtype=np.int32)
        self.texts: list[str] = []
        self._text_id: dict[str, int] = {}
        self.batch = np.full(n, -1, dtype=np.int64)
        self.http_status = np.zeros(n, dtype=np.int64)
        self.attempts = np.zeros(n, dtype=np.int64)

    def _reason(self, reason: str | None) -> int:
        if reason is None:
            return _NONE
        number = self._text_id.get(reason)
        if number is None:
            number = self._text_id[reason] = len(self.texts)
            self.texts.append(reason)
        return number

    def mark(self, positions: np.ndarray, status: str, reason: str | None, problem: str | None) -> None:
        """Give the rows at ``positions`` a ``status``, ``reason`` (None: none) and ``problem``."""
        self.status[positions] = _STATUS_CODE[status]
        self.reason_id[positions] = self._reason(reason)
        self.problem[positions] = problem_number(problem)

    def apply(self, outcome: Outcome) -> None:
        where = outcome.positions
        self.mark(where, outcome.status, outcome.reason, outcome.problem)
        self.batch[where] = outcome.batch
        self.http_status[where] = outcome.http_status or 0
        self.attempts[where] = outcome.attempts

    def settle(self, status: str, reason: str, problem: str) -> None:
        """Give every row still ``valid`` (to send, but without an outcome) a final status."""
        self.mark(np.flatnonzero(self.status == _STATUS_CODE["valid"]), status, reason, problem)

    def frame(self, template: pd.DataFrame) -> pd.DataFrame:
        # A shallow copy: copy-on-write keeps ``template`` intact, and its unchanged columns
        # (the text above all) are not duplicated; a deep copy cost ~0.6x the input's memory.
        result = template.copy(deep=False)
        states = pd.Categorical.from_codes(self.status.copy(), dtype=STATUS_DTYPE)
        dtype = template["status"].dtype
        result["status"] = states if dtype == STATUS_DTYPE else states.astype(dtype)
        reason = self._reasons(template["reason"])
        if reason is not None:
            result["reason"] = reason
        result["problem"] = pd.Categorical.from_codes(self.problem.copy(), dtype=PROBLEM_DTYPE)
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

    def _reasons(self, prepared: pd.Series) -> pd.api.extensions.ExtensionArray | None:
        """The reason column, or None when it is the prepared one unchanged (rows sent had no
        reason and still have none: the usual case, at no cost)."""
        given = np.flatnonzero(self.reason_id >= 0)
        cleared = np.flatnonzero(self.reason_id == _NONE)
        if not len(given) and not prepared.notna().to_numpy()[cleared].any():
            return None
        reasons = prepared.to_numpy(dtype=object, na_value=None, copy=True)
        reasons[cleared] = None
        reasons[given] = np.asarray(self.texts, dtype=object)[self.reason_id[given]]
        return pd.array(reasons, dtype=prepared.dtype)
