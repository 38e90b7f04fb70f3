"""``find_duplicates``: the later rows of each (timestamp, email, eventName) triple, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from productiv_pandas.preparation._duplicates import find_duplicates


def keys(ms: list[int], email: list[str], event: list[str]) -> list:
    return [np.array(ms, dtype=np.int64), pd.array(email, dtype="str"), pd.array(event, dtype="str")]


def test_later_rows_of_a_triple_point_at_the_first() -> None:
    columns = keys(
        [5, 5, 5, 7, 5, 5, 7],
        ["a@x.io", "b@x.io", "a@x.io", "a@x.io", "a@x.io", "a@x.io", "a@x.io"],
        ["open", "open", "open", "open", "edit", "open", "open"],
    )

    duplicate, kept = find_duplicates(columns, np.arange(7))

    assert duplicate.tolist() == [2, 5, 6]
    assert kept.tolist() == [0, 0, 3]


def test_only_the_given_rows_are_compared() -> None:
    # Row 0 is not among the rows (an invalid row): it never shadows row 2.
    columns = keys([5, 6, 5, 5], ["a@x.io"] * 4, ["open"] * 4)

    duplicate, kept = find_duplicates(columns, np.array([1, 2, 3]))

    assert duplicate.tolist() == [3]
    assert kept.tolist() == [2]


def test_timestamps_far_apart_and_nothing_repeated() -> None:
    ms = [-(2**62), 2**62, 0, 1_795_694_400_000]
    assert [a.tolist() for a in find_duplicates(keys(ms, ["a@x.io"] * 4, ["e"] * 4), np.arange(4))] == [
        [],
        [],
    ]
    assert [a.tolist() for a in find_duplicates(keys([], [], []), np.arange(0))] == [[], []]


def test_agrees_with_pandas_duplicated_on_random_triples() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    frame = pd.DataFrame(
        {
            "timestamp": rng.integers(0, 300, n) * 1000,
            "email": pd.array(rng.choice(["a@x.io", "b@x.io", "c@y.org", "é@x.io"], n), dtype="str"),
            "eventName": pd.array(rng.choice(["open", "edit", "Open"], n), dtype="str"),
        }
    )
    rows = np.flatnonzero(rng.random(n) < 0.9)

    duplicate, kept = find_duplicates(
        [frame[c].to_numpy() if c == "timestamp" else frame[c].array for c in frame.columns], rows
    )

    subset = frame.iloc[rows]
    assert duplicate.tolist() == rows[subset.duplicated().to_numpy()].tolist()
    first = subset.reset_index().groupby(list(frame.columns), sort=False)["index"].transform("first")
    assert kept.tolist() == first.to_numpy()[subset.duplicated().to_numpy()].tolist()
