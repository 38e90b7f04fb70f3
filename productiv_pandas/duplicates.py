"""Finding repeated events: rows whose (timestamp, email, eventName) triple an earlier row has.

The triple is the event's identity (the API de-duplicates on it too). Each key column is
factorized on its own (pyarrow's dictionary encoding for text, a hash table for integers)
and the codes are combined into one integer per row: exact, unlike a hash of the values,
and without a groupby over three columns or a copy of the text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["find_duplicates"]

_INT64_LIMIT = 2**63


def _codes(values: np.ndarray | pd.api.extensions.ExtensionArray, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of ``values`` at ``rows`` (equal values, equal codes) and how many there can be."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        picked = values[rows]
        low, high = int(picked.min()), int(picked.max())
        # Integers in a small range are their own codes (an event's milliseconds span a few
        # days at most); otherwise factorize.
        if high - low < len(picked) * 64:
            return picked - low, high - low + 1
        codes, uniques = pd.factorize(picked)
        return codes, len(uniques)
    codes, uniques = pd.factorize(values)  # the whole column: taking rows first would copy the text
    return codes[rows], len(uniques)


def find_duplicates(keys: list, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``rows`` repeat the key of an earlier one of ``rows``, and that earlier row.

    Parameters
    ----------
    keys : list of arrays
        The key columns, full length, without missing values at ``rows``.
    rows : ndarray of int
        The positions to compare, ascending (the valid rows: invalid ones never shadow them).

    Returns
    -------
    duplicate, kept : ndarray of int
        The positions of the later rows of each key, and for each one the position of the first
        row with that key.
    """
    if not len(rows):
        return rows[:0], rows[:0]
    combined, size = None, 1
    for values in keys:
        codes, count = _codes(values, rows)
        if combined is None:
            combined, size = codes.astype(np.int64, copy=False), count
            continue
        if size * count >= _INT64_LIMIT:  # renumber densely before the product overflows
            combined, uniques = pd.factorize(combined)
            size = len(uniques)
        combined = combined * count + codes
        size *= count
    # factorize numbers keys by first appearance, so a row starts a key exactly when its code
    # exceeds every code before it.
    codes, _ = pd.factorize(combined)
    seen_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    first = codes > seen_max
    if first.all():
        return rows[:0], rows[:0]
    first_row = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first_row[codes[first]] = rows[first]
    later = ~first
    return rows[later], first_row[codes[later]]
