"""Which events a file has already shown, in 12 bytes an event: de-duplication across chunks.

A file read in chunks cannot keep its rows to compare later ones with. It keeps, for every
event kept so far, a 64-bit hash of its (timestamp, email, eventName) triple and the file row
it was first seen at (32 bits, 64 past 4,294,967,295 rows): 120 MB for ten million distinct
events (and an 8 MiB filter), where a Python set of the triples would take several GB.

The hashes are kept sorted, so a chunk's lookups are binary searches, in two parts: the table
proper, 16 sorted arrays bucketed by the hash's top 4 bits, and the latest chunks' hashes, in
a few sorted runs (eight chunks' runs are merged into one, eight such into one, and so on),
merged into the table together once they hold :data:`_MERGE_AT` events or a quarter of the
table.

Inserting each chunk into the table at once (np.insert) copied the whole table a chunk: at 10
million rows, 100 chunks each moving up to 160 MB, a cost growing with the square of the
file. Merged in runs, the table is copied a few times in all; bucket by bucket, a merge holds
a sixteenth of the table twice at most, besides the runs. Sorted runs are merged by a stable
sort of them end to end (timsort finds the runs and merges them: a third faster than placing
the new hashes by binary search, which the table's buckets still use: it needs less memory),
and a chunk's hashes are sorted by ``np.sort``, its SIMD
sort, with each hash's position in its low bits (a third of ``argsort``'s time). At 10
million events the whole de-duplication took 3.2 s of CPU, against 4.1 s before these two.

Most lookups miss (most events are new), so once :data:`_FILTER_AT` events are held, a bit
array of 2**26 bits (8 MiB, whatever the file's size) marks the hashes held by their top 26
bits: a hash whose bit is clear was never seen and skips the binary searches, which then see
the hits and the false positives only (3% of the misses at 2 million events, 14% at 10
million). The searches were a third of the cross-chunk de-duplication's cost on 2 million
rows; the filter takes most of that away.

Collisions: two distinct triples with the same 64-bit hash would make the later one a false
``duplicate`` of the earlier. With ``n`` distinct events the chance that any pair collides is
about ``n**2 / 2**65``: 3e-10 for 100,000 events, 3e-6 for ten million. The row is not lost
even then: its status says ``duplicate of row N`` and row N can be checked. Within a chunk,
prepare compares the triples themselves, so only events in different chunks rely on hashes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ._digest import event_digests

__all__ = ["KEY", "FirstSeen", "hash_keys"]

#: The event's identity, the key of de-duplication.
KEY = ["timestamp", "email", "eventName"]

_BUCKETS = 16
_BUCKET_SHIFT = np.uint64(60)  # the top 4 bits pick one of 16 buckets
#: Events held in runs before they are merged into the table (or a quarter of the table, if
#: more): each merge copies the table once.
_MERGE_AT = 1_000_000
#: Runs of like sizes merged into one.
_TIER = 8
#: Events held before the filter is made: a file of one chunk or two does not need it.
_FILTER_AT = 100_000
#: The filter's bits: a hash's top 26 bits pick one.
_FILTER_SHIFT = np.uint64(64 - 26)


def hash_keys(status: pd.DataFrame) -> np.ndarray:
    """64-bit hashes (uint64) of the normalized triples of status-frame rows, in row order
    (:func:`._digest.event_digests`: equal triples in different chunks hash alike)."""
    stamps = status["timestamp"].to_numpy(dtype=np.int64, na_value=0)
    return event_digests(stamps, pa.array(status["email"]), pa.array(status["eventName"]))


def _merged(
    table: np.ndarray, rows: np.ndarray, hashes: np.ndarray, new_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A sorted table with sorted ``hashes`` (none of them in it) merged in, rows alongside:
    each new hash's place found by binary search, the table's own hashes copied once around
    them. Slower than :func:`_union` (timsort), but a merge holds 13 bytes an entry more than
    the table, where that holds 32: at 10 million rows, 14 MiB less at validate_file's peak."""
    if not len(hashes):
        return table, rows
    at = np.searchsorted(table, hashes) + np.arange(len(hashes))
    size = len(table) + len(hashes)
    old = np.ones(size, dtype=bool)
    old[at] = False
    merged_hashes, merged_rows = np.empty(size, dtype=np.uint64), np.empty(size, dtype=rows.dtype)
    merged_hashes[at], merged_rows[at] = hashes, new_rows
    merged_hashes[old], merged_rows[old] = table, rows
    return merged_hashes, merged_rows


def _sorted(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, hashes[order])``, the hashes ascending: by ``np.sort`` of each hash with its
    position in its low bits (SIMD, 3 times faster than ``argsort``), the low bits' own order
    settled by ``argsort`` in the rare case two hashes share all the others."""
    spare = max(int(len(hashes) - 1).bit_length(), 1)
    if spare > 32:
        order = np.argsort(hashes)
        return order, hashes[order]
    low = np.uint64((1 << spare) - 1)
    keyed = np.sort((hashes & ~low) | np.arange(len(hashes), dtype=np.uint64))
    order = (keyed & low).astype(np.intp)
    ordered = hashes[order]
    if len(ordered) > 1 and not (ordered[1:] >= ordered[:-1]).all():
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
    return order, ordered


class FirstSeen:
    """The hashes of the events kept so far, each with the file row it was first seen at."""

    def __init__(self) -> None:
        self._hashes = [np.empty(0, dtype=np.uint64) for _ in range(_BUCKETS)]
        #: uint32 while every row number fits (12 bytes an event), int64 from the first one that
        #: does not (a file of more than 4,294,967,295 rows).
        self._rows = [np.empty(0, dtype=np.uint32) for _ in range(_BUCKETS)]
        #: The latest chunks' (sorted hashes, rows), not merged into the table yet.
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        #: The hashes held, a bit each by their top bits; None until :data:`_FILTER_AT` are held.
        self._filter: np.ndarray | None = None

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._hashes) + sum(len(h) for h, _ in self._runs)

    @property
    def nbytes(self) -> int:
        """Memory held by the table (its filter included)."""
        table = sum(h.nbytes + r.nbytes for h, r in zip(self._hashes, self._rows, strict=True))
        runs = sum(h.nbytes + r.nbytes for h, r in self._runs)
        return table + runs + (0 if self._filter is None else self._filter.nbytes)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The file row first seen with each hash, or -1 for a hash not seen yet."""
        order, ordered = _sorted(np.asarray(hashes, dtype=np.uint64))
        first = np.empty(len(ordered), dtype=np.int64)
        first[order] = self._find_ordered(ordered)
        return first

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Remember events first seen at file rows ``rows`` (hashes not seen before)."""
        order, ordered = _sorted(np.asarray(hashes, dtype=np.uint64))
        self._add_ordered(ordered, np.asarray(rows, dtype=np.int64)[order])

    def see(self, hashes: np.ndarray, rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """:meth:`find` of ``hashes``, then :meth:`add` of those not found where ``keep``:
        one sort of a chunk's hashes for both (a sort was a third of their cost)."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        order, ordered = _sorted(hashes)
        found = self._find_ordered(ordered)
        new = (found < 0) & np.asarray(keep, dtype=bool)[order]
        self._add_ordered(ordered[new], np.asarray(rows, dtype=np.int64)[order[new]])
        first = np.empty(len(hashes), dtype=np.int64)
        first[order] = found
        return first

    def _find_ordered(self, ordered: np.ndarray) -> np.ndarray:
        if self._filter is None or not len(ordered):
            return self._search_ordered(ordered)
        top = (ordered >> _FILTER_SHIFT).astype(np.intp)
        maybe = np.flatnonzero((self._filter[top >> 3] >> (top & 7).astype(np.uint8)) & 1)
        first = np.full(len(ordered), -1, dtype=np.int64)
        first[maybe] = self._search_ordered(ordered[maybe])
        return first

    def _search_ordered(self, ordered: np.ndarray) -> np.ndarray:
        first = np.full(len(ordered), -1, dtype=np.int64)
        if not len(ordered):
            return first
        buckets = (ordered >> _BUCKET_SHIFT).astype(np.intp)
        bounds = np.searchsorted(buckets, np.arange(_BUCKETS + 1))
        parts = [(self._hashes[b], self._rows[b], bounds[b], bounds[b + 1]) for b in range(_BUCKETS)]
        for table, rows in self._runs:
            parts.append((table, rows, 0, len(ordered)))
        for table, rows, start, stop in parts:
            if not len(table) or start == stop:
                continue
            part = ordered[start:stop]
            at = np.minimum(np.searchsorted(table, part), len(table) - 1)
            hit = np.flatnonzero(table[at] == part)
            first[start + hit] = rows[at[hit]]
        return first

    def _add_ordered(self, ordered: np.ndarray, rows: np.ndarray) -> None:
        if not len(ordered):
            return
        if self._rows[0].dtype == np.uint32 and rows.max() > np.iinfo(np.uint32).max:
            self._rows = [bucket.astype(np.int64) for bucket in self._rows]
            self._runs = [(run, run_rows.astype(np.int64)) for run, run_rows in self._runs]
        self._runs.append((ordered, rows.astype(self._rows[0].dtype)))
        if self._filter is not None:
            _mark(self._filter, ordered)
        elif len(self) >= _FILTER_AT:
            self._filter = np.zeros(1 << 23, dtype=np.uint8)  # 2**26 bits
            for table in [*self._hashes, *(run for run, _ in self._runs)]:
                _mark(self._filter, table)
        # _TIER runs of like sizes merged into one (8 chunks, then 8 runs of 8...): a lookup
        # searches a few runs only, and an event is copied once per eight-fold, not per
        # doubling (merging runs two by two was a third of the de-duplication's cost).
        while len(self._runs) >= _TIER and len(self._runs[-_TIER][0]) <= 2 * len(self._runs[-1][0]):
            self._runs[-_TIER:] = [_union(self._runs[-_TIER:])]
        held = sum(len(run) for run, _ in self._runs)
        if held >= max(_MERGE_AT, sum(len(bucket) for bucket in self._hashes) // 4):
            self._merge_runs()

    def _merge_runs(self) -> None:
        """Merge the runs into the table, a bucket at a time."""
        runs, self._runs = self._runs, []
        edges = np.arange(_BUCKETS + 1, dtype=np.uint64)
        cuts = []
        for table, _ in runs:
            buckets = table >> _BUCKET_SHIFT
            cuts.append([*np.searchsorted(buckets, edges[:-1]).tolist(), len(table)])
        for b in range(_BUCKETS):
            parts = [
                (table[cut[b] : cut[b + 1]], row[cut[b] : cut[b + 1]])
                for (table, row), cut in zip(runs, cuts, strict=True)
            ]
            hashes, rows = _union(parts) if len(parts) > 1 else parts[0]
            self._hashes[b], self._rows[b] = _merged(self._hashes[b], self._rows[b], hashes, rows)


def _union(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted runs as one (hashes, rows): a stable sort of the runs end to end, which finds
    them sorted already and merges them (timsort), rows alongside."""
    hashes = np.concatenate([run for run, _ in runs])
    rows = np.concatenate([run_rows for _, run_rows in runs])
    order = np.argsort(hashes, kind="stable")
    return hashes[order], rows[order]


def _mark(filter_: np.ndarray, hashes: np.ndarray) -> None:
    """Set the filter's bits of sorted ``hashes``. Sorted, the bytes they land in come in
    order: each byte's bits are or-ed together (``reduceat``) and set once (``ufunc.at``, as a
    fancy ``|=`` would keep only one of the bits landing in the same byte, was 8 times slower)."""
    if not len(hashes):
        return
    top = hashes >> _FILTER_SHIFT
    where = (top >> np.uint64(3)).astype(np.intp)
    bits = np.left_shift(np.uint8(1), (top & np.uint64(7)).astype(np.uint8))
    starts = np.flatnonzero(np.concatenate(([True], where[1:] != where[:-1])))
    filter_[where[starts]] |= np.bitwise_or.reduceat(bits, starts)
