"""StatusArrays: the status frame publish returns, from outcomes, against the object arrays it
was built from before (``Reference`` below): the same frame, column for column, dtype for dtype.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sending._outcomes import Outcome, StatusArrays
from productiv_pandas.status import PROBLEM_DTYPE, problem_number

NOW = pd.Timestamp("2025-06-10T15:00:00Z")


class Reference:
    """StatusArrays as it was: an object per row for status and reason."""

    def __init__(self, status: pd.DataFrame) -> None:
        self.status = status["status"].astype(object).to_numpy(copy=True)
        self.reason = status["reason"].astype(object).to_numpy(copy=True)
        self.problem = status["problem"].cat.codes.to_numpy(copy=True)
        self.batch = np.full(len(status), -1, dtype=np.int64)
        self.http_status = np.zeros(len(status), dtype=np.int64)
        self.attempts = np.zeros(len(status), dtype=np.int64)

    def mark(self, where, status, reason, problem) -> None:
        self.status[where] = status
        self.reason[where] = reason
        self.problem[where] = problem_number(problem)

    def apply(self, outcome: Outcome) -> None:
        where = outcome.positions
        self.mark(where, outcome.status, outcome.reason, outcome.problem)
        self.batch[where] = outcome.batch
        self.http_status[where] = outcome.http_status or 0
        self.attempts[where] = outcome.attempts

    def settle(self, status: str, reason: str, problem: str) -> None:
        self.mark(np.flatnonzero(self.status == "valid"), status, reason, problem)

    def frame(self, template: pd.DataFrame) -> pd.DataFrame:
        result = template.copy(deep=False)
        result["status"] = pd.Categorical(self.status, dtype=template["status"].dtype)
        result["reason"] = pd.array(self.reason, dtype=template["reason"].dtype)
        result["problem"] = pd.Categorical.from_codes(self.problem, dtype=PROBLEM_DTYPE)
        tried = self.batch >= 0
        result["batch"] = pd.arrays.IntegerArray(np.where(tried, self.batch, 0), ~tried)
        result["http_status"] = pd.arrays.IntegerArray(self.http_status.copy(), self.http_status == 0)
        result["attempts"] = pd.arrays.IntegerArray(self.attempts.copy(), ~tried)
        return result


def text_buffer(column: pd.Series) -> list[int]:
    """Where a str column's Arrow data lives: the same addresses, the same (uncopied) text."""
    return [chunk.buffers()[2].address for chunk in column.array.__arrow_array__().chunks]


def prepared_frame(n: int = 60):
    """Valid rows, with an invalid, a duplicate and a stale (skipped) row among them."""
    stamps = NOW - pd.to_timedelta(np.arange(n) + 1, unit="min")
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "email": [f"u{i}@example.com" for i in range(n)],
            "eventName": "opened_file",
        },
        index=pd.Index([f"r{i}" for i in range(n)]),
    )
    frame.loc["r3", "email"] = "not an address"
    frame.loc["r5"] = frame.loc["r4"]
    frame.loc["r7", "timestamp"] = NOW - pd.Timedelta(hours=13)
    return prepare_events(frame, PrepareOptions.from_kwargs(now=NOW, on_stale="skip"))


def outcomes(to_send: np.ndarray, rng: np.random.Generator) -> list[Outcome]:
    """Batches of 7 rows, each sent, rejected, failed or interrupted at random."""
    found = []
    for number, start in enumerate(range(0, len(to_send), 7)):
        rows = to_send[start : start + 7]
        kind = rng.integers(4)
        if kind == 0:
            found.append(Outcome(rows, "sent", None, number, 200, 1))
        elif kind == 1:
            found.append(Outcome(rows, "rejected", "HTTP 400: bad", number, 400, 2, "http.400"))
        elif kind == 2:
            found.append(Outcome(rows, "failed", "HTTP 503: busy", number, 503, 4, "http.503"))
        # kind 3: no outcome; settle gives these rows theirs
    return found


@pytest.mark.parametrize("seed", range(8))
def test_the_status_frame_is_the_one_object_arrays_gave(seed):
    prepared = prepared_frame()
    assert set(prepared.status["status"]) == {"valid", "invalid", "duplicate", "skipped"}
    rng = np.random.default_rng(seed)
    new, old = StatusArrays(prepared.status), Reference(prepared.status)
    for arrays in (new, old):
        arrays.mark(prepared.to_send[:2], "skipped", "already sent", "already_sent")  # a journal's
    for outcome in outcomes(prepared.to_send[2:], rng):
        new.apply(outcome)
        old.apply(outcome)
    new.settle("failed", "interrupted", "interrupted")
    old.settle("failed", "interrupted", "interrupted")
    pd.testing.assert_frame_equal(new.frame(prepared.status), old.frame(prepared.status))


def test_every_row_sent_keeps_the_prepared_reason_column_itself():
    prepared = prepared_frame()
    arrays = StatusArrays(prepared.status)
    arrays.apply(Outcome(prepared.to_send, "sent", None, 0, 200, 1))
    arrays.settle("failed", "internal error: no outcome was recorded for this row", "internal_error")
    result = arrays.frame(prepared.status)
    reference = Reference(prepared.status)
    reference.apply(Outcome(prepared.to_send, "sent", None, 0, 200, 1))
    pd.testing.assert_frame_equal(result, reference.frame(prepared.status))
    # Not rebuilt: the rows sent had no reason and have none, the others keep theirs.
    assert text_buffer(result["reason"]) == text_buffer(prepared.status["reason"])
    assert result["reason"].notna().tolist() == (prepared.status["status"] != "valid").tolist()
    assert prepared.status["status"].value_counts()["valid"] == len(prepared.to_send)  # untouched
