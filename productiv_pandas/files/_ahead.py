"""The next item made in a thread while the caller works on the current one: one ahead.

validate_file gives it the chunks read and put through ``prepare_events`` (which needs no other
chunk), and de-duplicates and counts each one in the calling thread meanwhile: pyarrow parses
CSV and numpy and pyarrow do much of prepare's work without Python's lock, so the two run on
two cores (on a 2,000,000-row CSV the thread's share was about 2 s of CPU, the caller's 1.5 s).
The thread makes an item only when asked, and is asked when the caller takes the one before:
memory holds the item being worked on and the one being made, never more. An error reaches the
caller at the item it stopped, as it would unthreaded (the same exception, the items before it
already given).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_END = object()
#: Seconds an early stop waits for the read under way (a local file's chunk: well under one).
_EARLY_STOP_GRACE = 1.0


def read_ahead(items: Iterator[T], name: str = "productiv-read-ahead") -> Iterator[T]:
    """``items``, each next one read in a thread while the caller works on the current one."""
    asks: queue.SimpleQueue[bool] = queue.SimpleQueue()
    answers: queue.SimpleQueue[tuple[Any, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        try:
            while asks.get():
                try:
                    item = next(items, _END)
                except BaseException as exc:  # the caller's to raise, as if unthreaded
                    answers.put((None, exc))
                    return
                answers.put((item, None))
                if item is _END:
                    return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    asks.put(True)
    ended = False
    try:
        while True:
            item, error = answers.get()
            if error is not None:
                ended = True  # the thread has returned
                raise error
            if item is _END:
                ended = True
                return
            asks.put(True)  # the next one is read while this one is worked on
            yield item
    finally:
        asks.put(False)
        # Stopped early (Ctrl-C, an error, the caller done): the read under way may hang (a
        # server gone quiet, a pipe), and Ctrl-C must not wait for it; the thread closes the
        # source itself once that read returns.
        thread.join(None if ended else _EARLY_STOP_GRACE)
