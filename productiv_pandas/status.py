"""The status frame: one row per input row, same index and order, with what happened to it."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STATUSES", "STATUS_COLUMNS", "WIRE_COLUMNS", "new_status_frame"]

#: The status vocabulary, in the order charts and summaries show it.
STATUSES = ("valid", "sent", "invalid", "duplicate", "skipped", "rejected", "failed")
STATUS_COLUMNS = (
    "timestamp", "email", "eventName", "targetApp",
    "status", "reason", "stale", "batch", "http_status", "attempts",
)  # fmt: skip
WIRE_COLUMNS = ("timestamp", "email", "eventName", "targetApp")

STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def new_status_frame(
    index: pd.Index,
    wire: pd.DataFrame,
    status: np.ndarray,
    reason: np.ndarray,
    stale: np.ndarray,
) -> pd.DataFrame:
    """Assemble a status frame from by-position arrays; ``batch``, ``http_status`` and
    ``attempts`` start empty and are filled by publish for rows it sent or tried."""
    n = len(index)
    empty = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
    empty[:] = pd.NA
    frame = pd.DataFrame(
        {
            "timestamp": pd.array(wire["timestamp"], dtype="Int64"),
            "email": wire["email"].astype(_TEXT).to_numpy(),
            "eventName": wire["eventName"].astype(_TEXT).to_numpy(),
            "targetApp": wire["targetApp"].astype(_TEXT).to_numpy(),
            "status": pd.Categorical(status, dtype=STATUS_DTYPE),
            "reason": pd.array(reason, dtype=_TEXT),
            "stale": np.asarray(stale, dtype=bool),
            "batch": empty,
            "http_status": empty.copy(),
            "attempts": empty.copy(),
        },
    )
    for name in ("email", "eventName", "targetApp"):
        frame[name] = frame[name].astype(_TEXT)
    frame.index = index
    return frame
