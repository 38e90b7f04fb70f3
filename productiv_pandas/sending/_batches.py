"""Cutting the rows to send into batches of at most 1000 events, each serialized once.

A batch knows the status-frame positions of its rows, so every answer from the API maps back
to exactly those rows, and it can split itself in halves when the API refuses something in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ._settings import MAX_BATCH_SIZE, check_batch_size

__all__ = ["MAX_BATCH_SIZE", "Batch", "make_batches"]


@dataclass(frozen=True)
class Batch:
    """Rows sent in one request.

    ``number`` is the index of the top-level batch (halves keep their parent's number);
    ``positions`` are positions in the status frame; ``events`` the wire dicts, same order.
    """

    number: int
    positions: np.ndarray
    events: list[dict[str, object]]

    def __len__(self) -> int:
        return len(self.events)

    @cached_property
    def payload(self) -> bytes:
        """The JSON body, serialized once however often the request is retried."""
        return json.dumps({"events": self.events}, separators=(",", ":"), ensure_ascii=False).encode()

    def halves(self) -> tuple[Batch, Batch]:
        """Two batches of (nearly) half the rows each: the API refused something in this one."""
        middle = len(self.events) // 2
        return (
            Batch(self.number, self.positions[:middle], self.events[:middle]),
            Batch(self.number, self.positions[middle:], self.events[middle:]),
        )


def _events(wire: pd.DataFrame) -> list[dict[str, object]]:
    """Wire dicts; ``targetApp`` only where present (the API wants it absent otherwise)."""
    rows = zip(
        wire["timestamp"].astype(np.int64).tolist(),
        wire["email"].tolist(),
        wire["eventName"].tolist(),
        strict=True,
    )
    present = wire["targetApp"].notna()
    # Most batches hold no Login event: skipping targetApp there halves the time this takes,
    # which is about a tenth of publish's CPU (benchmarks/bench_publish.py).
    if not present.any():
        return [{"timestamp": t, "email": e, "eventName": n} for t, e, n in rows]
    targets = wire["targetApp"].astype(object).where(present, None).tolist()
    return [
        {"timestamp": t, "email": e, "eventName": n}
        if a is None
        else {"timestamp": t, "email": e, "eventName": n, "targetApp": a}
        for (t, e, n), a in zip(rows, targets, strict=True)
    ]


def make_batches(
    wire: pd.DataFrame, positions: np.ndarray, batch_size: int = MAX_BATCH_SIZE
) -> Iterator[Batch]:
    """Batches of ``batch_size`` rows of ``wire`` (whose rows sit at ``positions``), made lazily.

    Raises ConfigurationError (a ValueError) at once when ``batch_size`` is not from 1 to 1000.
    """
    return _generate(wire, np.asarray(positions), check_batch_size(batch_size))


def _generate(wire: pd.DataFrame, positions: np.ndarray, batch_size: int) -> Iterator[Batch]:
    for number, start in enumerate(range(0, len(wire), batch_size)):
        chunk = wire.iloc[start : start + batch_size]
        yield Batch(number, positions[start : start + batch_size], _events(chunk))
