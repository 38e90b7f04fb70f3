"""Finding repeated events: rows whose (timestamp, email, eventName) triple an earlier row has.

The triple is the event's identity (the API de-duplicates on it too). Two rows can only share
it if they share the timestamp, and in a real export most timestamps (in milliseconds) are
unique: so the rows are first narrowed to those whose timestamp repeats, a cheap integer
search, and only those few rows' triples are compared exactly, text included. Nothing is
hashed into a 64-bit digest, so two different events never collide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["find_duplicates"]

_INT64_LIMIT = 2**63


def _key_codes(keys: list, rows: np.ndarray) -> np.ndarray:
    """One integer per row of ``rows``, equal exactly when all the keys are equal."""
    combined, size = np.zeros(len(rows), dtype=np.int64), 1
    for values in keys:
        codes, uniques = pd.factorize(values[rows])
        if size * len(uniques) >= _INT64_LIMIT:  # renumber densely before the product overflows
            combined, seen = pd.factorize(combined)
            size = len(seen)
        combined = combined * len(uniques) + codes
        size *= len(uniques)
    return combined


def find_duplicates(keys: list, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``rows`` repeat the key of an earlier one of ``rows``, and that earlier row.

    Parameters
    ----------
    keys : list of arrays
        The key columns, full length, without missing values at ``rows``. The first is an
        int64 array (the timestamps) and narrows the search.
    rows : ndarray of int
        The positions to compare, ascending (the valid rows: invalid ones never shadow them).

    Returns
    -------
    duplicate, kept : ndarray of int
        The positions of the later rows of each key, and for each one the position of the first
        row with that key.
    """
    # Sorted, repeats are neighbours: a sorted copy and a look-up in the (few) repeated values
    # need a fraction of the memory of a hash table over every row, and are faster.
    ordered = keys[0][rows]
    ordered.sort()
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    rows = rows[pd.Series(keys[0]).isin(repeated).to_numpy()[rows]]
    if not len(rows):
        return rows, rows
    # factorize numbers keys by first appearance, so a row starts a key exactly when its code
    # exceeds every code before it.
    codes, _ = pd.factorize(_key_codes(keys, rows))
    seen_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    first = codes > seen_max
    first_row = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first_row[codes[first]] = rows[first]
    later = ~first
    return rows[later], first_row[codes[later]]
