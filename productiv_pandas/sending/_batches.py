"""Cutting the rows to send into batches of at most 1000 events, each serialized once.

A batch knows the status-frame positions of its rows, so every answer from the API maps back
to exactly those rows, and it can split itself in halves when the API refuses something in it.
Its rows are Arrow slices of the wire columns, and its body is built from them (``_body.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ._body import Columns, body
from ._settings import MAX_BATCH_SIZE, check_batch_size

__all__ = ["MAX_BATCH_SIZE", "Batch", "make_batches"]


@dataclass(frozen=True)
class Batch:
    """Rows sent in one request.

    ``number`` is the index of the top-level batch (halves keep their parent's number);
    ``positions`` are positions in the status frame; ``columns`` the wire fields, same order
    (Arrow slices of the whole wire frame's columns: a batch holds no object per row).
    """

    number: int
    positions: np.ndarray
    columns: Columns

    def __len__(self) -> int:
        return len(self.positions)

    @cached_property
    def payload(self) -> bytes:
        """The JSON body, serialized once however often the request is retried."""
        return body(self.columns)

    def halves(self) -> tuple[Batch, Batch]:
        """Two batches of (nearly) half the rows each: the API refused something in this one."""
        middle = len(self) // 2
        return (
            Batch(self.number, self.positions[:middle], self.columns.slice(0, middle)),
            Batch(self.number, self.positions[middle:], self.columns.slice(middle, len(self))),
        )


def make_batches(
    wire: pd.DataFrame, positions: np.ndarray, batch_size: int = MAX_BATCH_SIZE
) -> Iterator[Batch]:
    """Batches of ``batch_size`` rows of ``wire`` (whose rows sit at ``positions``), made lazily.

    Raises ConfigurationError (a ValueError) at once when ``batch_size`` is not from 1 to 1000.
    """
    return _generate(wire, np.asarray(positions), check_batch_size(batch_size))


def _generate(wire: pd.DataFrame, positions: np.ndarray, batch_size: int) -> Iterator[Batch]:
    columns = Columns.of(wire)
    for number, start in enumerate(range(0, len(wire), batch_size)):
        stop = start + batch_size
        yield Batch(number, positions[start:stop], columns.slice(start, min(stop, len(wire))))
