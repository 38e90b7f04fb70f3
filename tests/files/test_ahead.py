"""files/_ahead.py: the next chunk read in a thread, one ahead, errors where they happened."""

from __future__ import annotations

import threading

import pytest

from productiv_pandas.files._ahead import read_ahead


def counted(n: int, fail_at: int | None = None):
    pulled = []

    def items():
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"cannot read item {i}")
            pulled.append(i)
            yield i

    return items(), pulled


def test_every_item_in_order_and_never_more_than_one_ahead():
    items, pulled = counted(6)
    seen = []
    for item in read_ahead(items):
        seen.append(item)
        # the one being worked on and at most the next one were read
        assert len(pulled) <= len(seen) + 1
    assert seen == list(range(6))


def test_an_error_reaches_the_caller_after_the_items_before_it():
    items, _ = counted(6, fail_at=3)
    ahead = read_ahead(items)
    assert [next(ahead), next(ahead), next(ahead)] == [0, 1, 2]
    with pytest.raises(ValueError, match="cannot read item 3"):
        next(ahead)


def test_stopping_early_ends_the_thread_and_closes_the_source():
    closed = threading.Event()

    def items():
        try:
            yield from range(100)
        finally:
            closed.set()

    before = threading.active_count()
    ahead = read_ahead(items())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()
    assert threading.active_count() == before
