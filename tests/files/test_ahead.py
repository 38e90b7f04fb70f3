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


def test_stopping_early_does_not_wait_for_a_read_that_hangs():
    # A server gone quiet, a pipe: Ctrl-C (or any early stop) must not wait for the read under
    # way; the thread closes the source itself once that read returns.
    release, closed = threading.Event(), threading.Event()

    def items():
        try:
            yield 0
            release.wait()  # the read of item 1 hangs until the test lets it go
            yield 1
        finally:
            closed.set()

    ahead = read_ahead(items())
    assert next(ahead) == 0  # item 1 is now being read, and hangs
    ahead.close()  # returns although the read has not: without the grace this call never returns
    assert not release.is_set()
    assert not closed.is_set()
    release.set()
    assert closed.wait(5)
