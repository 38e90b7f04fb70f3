"""files/_digest.py: the 64-bit digests cross-chunk de-duplication keys on, read from Arrow's buffers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productiv_pandas.files._digest import _LONG, _few_text_digests, event_digests, text_digests

# Texts around every edge the word-by-word reading has: 8-byte words, the long-value cut-off,
# multi-byte characters, NUL and control characters, the empty text.
EDGES = [
    "",
    "a",
    "abcdefg",
    "abcdefgh",
    "abcdefghi",
    "abcdefgh\x00",
    "abcdefgh\x00\x00",
    "\x00",
    "\x00\x00",
    "é" * 4,
    "é" * 5,
    "ü@例え.jp",
    "x" * (_LONG - 1),
    "x" * _LONG,
    "x" * (_LONG + 1),
    "x" * (_LONG + 1) + "y",
    "y" + "x" * (_LONG + 1),
    "a" * 64,
    "a" * 65,
]


def test_distinct_texts_get_distinct_digests_and_equal_ones_equal():
    values = pa.array(EDGES + EDGES[::-1], type=pa.large_string())
    digests = text_digests(values)
    n = len(EDGES)
    assert len(set(digests[:n].tolist())) == n
    assert digests[:n].tolist() == digests[n:][::-1].tolist()


def test_a_digest_depends_on_the_value_only_not_where_it_sits():
    """A chunk's slice, another chunk, string or large_string, chunked or not: same digests."""
    values = pa.array(["zz", *EDGES, None, "tail"], type=pa.string())
    whole = text_digests(values)
    assert text_digests(values.slice(3, 7)).tolist() == whole[3:10].tolist()
    assert text_digests(values.cast(pa.large_string())).tolist() == whole.tolist()
    chunked = pa.chunked_array([values.slice(0, 5), values.slice(5)])
    assert text_digests(chunked).tolist() == whole.tolist()
    alone = [text_digests(pa.array([value], type=pa.string()))[0] for value in values.to_pylist()]
    assert alone == whole.tolist()


def test_missing_values_are_alike_and_not_the_empty_text():
    digests = text_digests(pa.array([None, "", None, "a"], type=pa.large_string()))
    assert digests[0] == digests[2]
    assert len({digests[0], digests[1], digests[3]}) == 3
    assert text_digests(pa.array([], type=pa.large_string())).tolist() == []
    assert text_digests(pa.array([None, None], type=pa.string())).tolist() == [digests[0]] * 2


def test_few_distinct_values_digest_as_every_value_does():
    values = pa.chunked_array([pa.array(["open", None, "edit"]), pa.array(["", "open", "edit", None])])
    assert _few_text_digests(values).tolist() == text_digests(values).tolist()
    assert _few_text_digests(pa.array([], type=pa.string())).tolist() == []


def test_event_digest_tells_each_part_apart():
    """The same texts in the other field, or another time, are another event."""
    digests = event_digests(
        np.array([1, 1, 2, 1], dtype=np.int64),
        pa.array(["a@x.io", "open", "a@x.io", "a@x.io"]),
        pa.array(["open", "a@x.io", "open", "open"]),
    )
    assert len(set(digests[:3].tolist())) == 3
    assert digests[3] == digests[0]


def _first_seen(values: list) -> list[int]:
    """Each value's group, numbered by first appearance, by Python's own equality (pandas 3.0's
    factorize of objects cuts a text at its first NUL)."""
    groups: dict = {}
    return [groups.setdefault(value, len(groups)) for value in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=60), st.integers(0, 5))
def test_digests_partition_texts_as_equality_does(texts, cut):
    """Rows share a digest exactly when they share a text (as pandas' own hash says too)."""
    values = pa.array(texts, type=pa.large_string())
    digests = (
        text_digests(values.slice(0))
        if cut == 0
        else text_digests(pa.chunked_array([values.slice(0, cut), values.slice(cut)]))
    )
    assert pd.factorize(digests)[0].tolist() == _first_seen(texts)


@pytest.mark.parametrize("size", [1_000, 100_000])
def test_digests_of_many_emails_collide_nowhere(size):
    rng = np.random.default_rng(7)
    emails = pd.Series([f"user{n}@example{n % 97}.com" for n in rng.permutation(size)], dtype="str")
    digests = text_digests(pa.array(emails))
    assert len(np.unique(digests)) == size


def test_a_long_column_digests_as_its_pieces_do():
    """A column longer than a block is hashed a block at a time: the same digests."""
    values = pa.array([f"user{n % 997}@example.com" * (1 + n % 3) for n in range(40_000)])
    pieces = np.concatenate([text_digests(values.slice(start, 999)) for start in range(0, 40_000, 999)])
    assert text_digests(values).tolist() == pieces.tolist()
