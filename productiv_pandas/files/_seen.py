"""Which events a file has already shown, in 16 bytes an event: de-duplication across chunks.

A file read in chunks cannot keep its rows to compare later ones with. It keeps, for every
event kept so far, a 64-bit hash of its (timestamp, email, eventName) triple and the file row
it was first seen at: 160 MB for ten million distinct events, where a Python set of the
triples would take several GB. The hashes sit in 256 sorted numpy arrays, bucketed by their
top byte, so a chunk's lookups are binary searches and adding a chunk copies 1/256 of the
table at a time rather than all of it at once (the peak stays at the table's own size).

Collisions: two distinct triples with the same 64-bit hash would make the later one a false
``duplicate`` of the earlier. With ``n`` distinct events the chance that any pair collides is
about ``n**2 / 2**65``: 3e-10 for 100,000 events, 3e-6 for ten million. The row is not lost
even then: its status says ``duplicate of row N`` and row N can be checked. Within a chunk,
prepare compares the triples themselves, so only events in different chunks rely on hashes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["KEY", "FirstSeen", "hash_keys"]

#: The event's identity, the key of de-duplication.
KEY = ["timestamp", "email", "eventName"]

_BUCKET_SHIFT = np.uint64(56)  # the top byte picks one of 256 buckets


def hash_keys(status: pd.DataFrame) -> np.ndarray:
    """64-bit hashes (uint64) of the normalized triples of status-frame rows, in row order.

    ``pd.util.hash_pandas_object`` is deterministic (fixed hash key), so equal triples in
    different chunks hash alike.
    """
    return pd.util.hash_pandas_object(status[KEY], index=False).to_numpy(dtype=np.uint64)


class FirstSeen:
    """The hashes of the events kept so far, each with the file row it was first seen at."""

    def __init__(self) -> None:
        self._hashes = [np.empty(0, dtype=np.uint64) for _ in range(256)]
        self._rows = [np.empty(0, dtype=np.int64) for _ in range(256)]

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._hashes)

    @property
    def nbytes(self) -> int:
        """Memory held by the table."""
        return sum(h.nbytes + r.nbytes for h, r in zip(self._hashes, self._rows, strict=True))

    @staticmethod
    def _by_bucket(hashes: np.ndarray):
        """Yield ``(bucket, where, sorted hashes)`` for each bucket ``hashes`` fall into."""
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        buckets = (ordered >> _BUCKET_SHIFT).astype(np.intp)
        bounds = np.searchsorted(buckets, np.arange(257))
        for bucket in np.flatnonzero(np.diff(bounds)):
            start, stop = bounds[bucket], bounds[bucket + 1]
            yield int(bucket), order[start:stop], ordered[start:stop]

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The file row first seen with each hash, or -1 for a hash not seen yet."""
        first = np.full(len(hashes), -1, dtype=np.int64)
        for bucket, where, part in self._by_bucket(np.asarray(hashes, dtype=np.uint64)):
            table = self._hashes[bucket]
            if not len(table):
                continue
            at = np.minimum(np.searchsorted(table, part), len(table) - 1)
            hit = table[at] == part
            first[where[hit]] = self._rows[bucket][at[hit]]
        return first

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Remember events first seen at file rows ``rows`` (hashes not seen before)."""
        rows = np.asarray(rows, dtype=np.int64)
        for bucket, where, part in self._by_bucket(np.asarray(hashes, dtype=np.uint64)):
            at = np.searchsorted(self._hashes[bucket], part)
            self._hashes[bucket] = np.insert(self._hashes[bucket], at, part)
            self._rows[bucket] = np.insert(self._rows[bucket], at, rows[where])
