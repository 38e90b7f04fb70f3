"""The status frame: one row per input row, same index and order, with what happened to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .problem_codes import PROBLEM_CODES

__all__ = [
    "PROBLEM_DTYPE",
    "PROBLEM_STATUSES",
    "STATUSES",
    "STATUS_COLUMNS",
    "WIRE_COLUMNS",
    "new_status_frame",
    "problem_column",
    "problem_number",
    "sparse_text",
    "uniform_status_frame",
    "with_status",
]

#: The status vocabulary, in the order charts and summaries show it.
STATUSES = ("valid", "sent", "invalid", "duplicate", "skipped", "rejected", "failed")
#: The statuses whose problems are to fix (duplicate and skipped are choices): what charts count.
PROBLEM_STATUSES = ("invalid", "rejected", "failed")
STATUS_COLUMNS = (
    "timestamp", "email", "eventName", "targetApp",
    "status", "reason", "problem", "stale", "batch", "http_status", "attempts",
)  # fmt: skip
WIRE_COLUMNS = ("timestamp", "email", "eventName", "targetApp")

STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
#: The ``problem`` column: a Categorical over every code of :data:`~productiv_pandas.PROBLEMS`.
PROBLEM_DTYPE = pd.CategoricalDtype(list(PROBLEM_CODES))
_PROBLEM_NUMBERS = {code: number for number, code in enumerate(PROBLEM_CODES)}
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def sparse_text(n: int, positions: np.ndarray, texts: list[str]) -> pd.api.extensions.ExtensionArray:
    """A ``str`` array of length ``n``: ``texts[i]`` at ``positions[i]``, missing elsewhere.

    Built in Arrow from the few rows that have a text (a reason, usually), never through an
    object array of a million ``None``: that costs a Python object per row, time and memory.
    """
    if not len(positions):
        return pd.array(pa.nulls(n, pa.large_string()), dtype=_TEXT)
    take = np.zeros(n, dtype=np.int32)
    take[positions] = np.arange(len(positions), dtype=np.int32)
    missing = np.ones(n, dtype=bool)
    missing[positions] = False
    values = pa.array(texts, type=pa.large_string()).take(pa.array(take, mask=missing))
    return pd.array(values, dtype=_TEXT)


def _text(values: pd.Series) -> pd.api.extensions.ExtensionArray:
    # Already pandas' str: its Arrow array is immutable, so it is shared rather than copied.
    return values.array if values.dtype == _TEXT else values.astype(_TEXT).array


def problem_number(problem: str | None) -> int:
    """A code's number in :data:`PROBLEM_DTYPE` (its Categorical code); -1 for no problem."""
    if problem is None:
        return -1
    if problem not in _PROBLEM_NUMBERS:  # a code outside the vocabulary is a bug here
        raise ValueError(f"unknown problem code {problem!r}; PROBLEMS lists the codes")
    return _PROBLEM_NUMBERS[problem]


def problem_column(problem: np.ndarray | pd.Categorical | None, n: int) -> pd.Categorical:
    """The ``problem`` column from codes (names, None for no problem) or a ready Categorical."""
    if problem is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), dtype=PROBLEM_DTYPE)
    if isinstance(problem, pd.Categorical) and problem.dtype == PROBLEM_DTYPE:
        return problem
    names = np.asarray(problem, dtype=object)
    unknown = set(pd.unique(names[pd.notna(names)])) - set(PROBLEM_CODES)
    if unknown:  # a code outside the vocabulary is a bug here, never a row's silent NaN
        raise ValueError(f"unknown problem code(s) {sorted(unknown)}; PROBLEMS lists the codes")
    return pd.Categorical(names, dtype=PROBLEM_DTYPE)


def new_status_frame(
    index: pd.Index,
    wire: pd.DataFrame,
    status: np.ndarray | pd.Categorical,
    reason: np.ndarray | pd.api.extensions.ExtensionArray,
    stale: np.ndarray,
    problem: np.ndarray | pd.Categorical | None = None,
) -> pd.DataFrame:
    """Assemble a status frame from by-position arrays; ``batch``, ``http_status`` and
    ``attempts`` start empty and are filled by publish for rows it sent or tried.

    The frame takes over the arrays it is given (no copy): pass ones nothing else will modify.
    ``status`` may be status names or a Categorical of ``STATUS_DTYPE``; ``reason`` an object
    array (None for no reason) or a ``str`` array such as :func:`sparse_text` builds;
    ``problem`` the rows' first problem codes (see :func:`problem_column`), None for none.
    """
    n = len(index)

    def empty() -> pd.api.extensions.ExtensionArray:
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))

    timestamp = wire["timestamp"]
    if isinstance(status, pd.Categorical) and status.dtype == STATUS_DTYPE:
        categories = status
    else:
        categories = pd.Categorical(status, dtype=STATUS_DTYPE)
    reasons = reason if getattr(reason, "dtype", None) == _TEXT else pd.array(reason, dtype=_TEXT)
    frame = pd.DataFrame(
        {
            "timestamp": timestamp.array
            if timestamp.dtype == "Int64"
            else pd.array(timestamp, dtype="Int64"),
            "email": _text(wire["email"]),
            "eventName": _text(wire["eventName"]),
            "targetApp": _text(wire["targetApp"]),
            "status": categories,
            "reason": reasons,
            "problem": problem_column(problem, n),
            "stale": np.asarray(stale, dtype=bool),
            "batch": empty(),
            "http_status": empty(),
            "attempts": empty(),
        },
        copy=False,
    )
    frame.index = index
    return frame


def uniform_status_frame(index: pd.Index, status: str, reason: str, problem: str) -> pd.DataFrame:
    """Every row with one ``status``, ``reason`` and ``problem`` and no values read: what a publish that was
    stopped before prepare finished can say about its rows (nothing was sent)."""
    n = len(index)
    missing_text = pd.Series(sparse_text(n, np.array([], dtype=np.int64), []))
    wire = pd.DataFrame(
        {
            "timestamp": pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)),
            "email": missing_text,
            "eventName": missing_text,
            "targetApp": missing_text,
        }
    )
    reasons = sparse_text(n, np.arange(n), [reason] * n)
    return new_status_frame(
        index,
        wire,
        np.full(n, status, dtype=object),
        reasons,
        np.zeros(n, dtype=bool),
        np.full(n, problem, dtype=object),
    )


def with_status(
    frame: pd.DataFrame, positions: np.ndarray, status: str, reason: str | list[str], problem: str
) -> pd.DataFrame:
    """A copy of a status frame whose rows at ``positions`` have ``status``, ``reason`` (one
    text for them all, or one a row) and ``problem``; the other rows and columns are left as
    they are."""
    states = frame["status"].to_numpy(dtype=object, copy=True)
    reasons = frame["reason"].to_numpy(dtype=object, na_value=None, copy=True)
    codes = frame["problem"].cat.codes.to_numpy(copy=True)
    states[positions] = status
    reasons[positions] = reason
    codes[positions] = problem_number(problem)
    return frame.assign(
        status=pd.Categorical(states, dtype=frame["status"].dtype),
        reason=pd.array(reasons, dtype=frame["reason"].dtype),
        problem=pd.Categorical.from_codes(codes, dtype=PROBLEM_DTYPE),
    )
