"""The status frame: one row per input row, same index and order, with what happened to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "STATUSES",
    "STATUS_COLUMNS",
    "WIRE_COLUMNS",
    "new_status_frame",
    "sparse_text",
    "uniform_status_frame",
    "with_status",
]

#: The status vocabulary, in the order charts and summaries show it.
STATUSES = ("valid", "sent", "invalid", "duplicate", "skipped", "rejected", "failed")
STATUS_COLUMNS = (
    "timestamp", "email", "eventName", "targetApp",
    "status", "reason", "stale", "batch", "http_status", "attempts",
)  # fmt: skip
WIRE_COLUMNS = ("timestamp", "email", "eventName", "targetApp")

STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
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


def new_status_frame(
    index: pd.Index,
    wire: pd.DataFrame,
    status: np.ndarray | pd.Categorical,
    reason: np.ndarray | pd.api.extensions.ExtensionArray,
    stale: np.ndarray,
) -> pd.DataFrame:
    """Assemble a status frame from by-position arrays; ``batch``, ``http_status`` and
    ``attempts`` start empty and are filled by publish for rows it sent or tried.

    The frame takes over the arrays it is given (no copy): pass ones nothing else will modify.
    ``status`` may be status names or a Categorical of ``STATUS_DTYPE``; ``reason`` an object
    array (None for no reason) or a ``str`` array such as :func:`sparse_text` builds.
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
            "stale": np.asarray(stale, dtype=bool),
            "batch": empty(),
            "http_status": empty(),
            "attempts": empty(),
        },
        copy=False,
    )
    frame.index = index
    return frame


def uniform_status_frame(index: pd.Index, status: str, reason: str) -> pd.DataFrame:
    """Every row with one ``status`` and ``reason`` and no values read: what a publish that was
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
    return new_status_frame(index, wire, np.full(n, status, dtype=object), reasons, np.zeros(n, dtype=bool))


def with_status(
    frame: pd.DataFrame, positions: np.ndarray, status: str, reason: str | list[str]
) -> pd.DataFrame:
    """A copy of a status frame whose rows at ``positions`` have ``status`` and ``reason`` (one
    text for them all, or one a row); the other rows and columns are left as they are."""
    states = frame["status"].to_numpy(dtype=object, copy=True)
    reasons = frame["reason"].to_numpy(dtype=object, na_value=None, copy=True)
    states[positions] = status
    reasons[positions] = reason
    return frame.assign(
        status=pd.Categorical(states, dtype=frame["status"].dtype),
        reason=pd.array(reasons, dtype=frame["reason"].dtype),
    )
