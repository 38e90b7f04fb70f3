"""The threads that send one publish's batches, and how they stop on Ctrl-C whatever the server does.

A Ctrl-C (or any exception in the main thread) stops the run in three steps, each bounded:

1. ``run.cancel`` is set: no worker takes another batch, no request starts (not even the next
   half of a split batch), and the client's waits (backoff, ``Retry-After``) end at once.
2. Up to :data:`GRACE_SECONDS`, requests in flight may come back, so the rows a server
   acknowledged are ``sent`` (and journaled) rather than re-sent by the next run.
3. ``run.abandon`` is set: the client closes the connections of the requests still in flight
   (a server that never answers, or trickles its answer), whose rows become ``failed``
   "interrupted" (re-publishing them is harmless: the API de-duplicates). The workers then get
   up to :data:`ABANDON_WAIT_SECONDS` to return.

A second Ctrl-C during step 2 abandons at once (step 3) instead of raising, so it can never
leave a worker unjoined that goes on sending behind the status frame's and the journal's back.
Nor can it cut short what follows the first one (settling every row's status, writing the
status file, closing the journal): publish and publish_file run under :func:`one_interrupt`,
whose handler raises KeyboardInterrupt for the first Ctrl-C only, and turns the next ones (for
:data:`REARM_SECONDS`) into setting ``run.abandon``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

from ._batches import Batch
from ._delivery import Run
from ._outcomes import Outcome

__all__ = [
    "ABANDON_WAIT_SECONDS", "GRACE_SECONDS", "REARM_SECONDS", "further_interrupts_abandon", "one_interrupt",
    "send_all", "stop_workers",
]  # fmt: skip

logger = logging.getLogger("productiv_pandas")

#: After Ctrl-C, how long requests in flight may take to come back before they are abandoned.
GRACE_SECONDS = 1.5
#: After abandoning them (their connections closed), how long the workers get to return.
ABANDON_WAIT_SECONDS = 2.0
#: After a Ctrl-C, how long further ones abandon requests rather than raise: time enough to stop
#: (the grace and the wait above) and settle; a Ctrl-C after that raises again, so that no code
#: that swallowed the first KeyboardInterrupt could make Ctrl-C useless.
REARM_SECONDS = GRACE_SECONDS + ABANDON_WAIT_SECONDS + 3.0


def send_all(run: Run, batches: Iterator[Batch], max_workers: int, take: Callable[[Outcome], None]) -> None:
    """Send ``batches`` from ``max_workers`` threads; ``take`` every outcome in this thread.

    Hand-written rather than a ThreadPoolExecutor because a Ctrl-C may land anywhere in this
    thread, and the executor loses track of a worker whose ``Thread.start()`` was interrupted
    (so it outlives the call, and its batch's outcome is lost). Here every thread is known
    before it starts, workers append outcomes to a list this thread only reads (never pops),
    and at most ``2 * max_workers`` batches are in memory at once (a bounded queue).
    """
    pending: queue.Queue[Batch | None] = queue.Queue(maxsize=max_workers)
    results: list[list[Outcome] | None] = []
    arrived = threading.Event()
    taken = 0

    def work() -> None:
        while not run.cancel.is_set() and (batch := pending.get()) is not None:
            results.append(run.deliver(batch))  # deliver never raises; list.append is atomic
            arrived.set()

    def take_arrived() -> None:
        nonlocal taken
        while taken < len(results):
            for outcome in results[taken] or ():
                take(outcome)  # interrupted halfway, it is taken again: harmless
            results[taken] = None
            taken += 1

    workers: list[threading.Thread] = []
    try:
        for number in range(max_workers):
            workers.append(threading.Thread(target=work, name=f"productiv-publish-{number}", daemon=True))
            workers[-1].start()
        for batch in itertools.chain(batches, [None] * max_workers):  # a None stops a worker
            while True:
                try:
                    pending.put(batch, timeout=0.2)  # the timeout keeps Ctrl-C prompt
                    break
                except queue.Full:
                    take_arrived()
            take_arrived()
        while any(worker.is_alive() for worker in workers):
            arrived.wait(timeout=0.2)
            arrived.clear()
            take_arrived()
        take_arrived()
    except BaseException:
        run.cancel.set()  # nothing new starts; the client's waits end at once
        with further_interrupts_abandon(run):
            _drop_pending(pending, len(workers))
            stop_workers(run, workers, take_arrived)
        raise


def _drop_pending(pending: queue.Queue, workers: int) -> None:
    """Drop the batches no worker took (their rows are settled "interrupted"); wake idle workers."""
    while True:
        try:
            pending.get_nowait()
        except queue.Empty:
            break
    for _ in range(workers):
        pending.put_nowait(None)  # room for each: only this thread puts, and it just emptied it


def stop_workers(run: Run, workers: list[threading.Thread], take_arrived: Callable[[], None]) -> None:
    """Steps 2 and 3 of the module's notes: a grace for requests in flight, then abandon them."""
    started = [worker for worker in workers if worker.ident is not None]  # even if start() was interrupted
    _wait(started, GRACE_SECONDS, take_arrived, until=run.abandon)
    run.abandon.set()
    _wait(started, ABANDON_WAIT_SECONDS, take_arrived, until=None)
    alive = [worker.name for worker in started if worker.is_alive()]
    if alive:
        # Only a client that ignores ``abandon`` (not ProductivClient) gets here; cancel is set,
        # so these threads start nothing more, and their rows stay "interrupted".
        logger.warning(
            "%d publish thread(s) still waiting for an answer %.1f s after it was abandoned: %s",
            len(alive), ABANDON_WAIT_SECONDS, ", ".join(alive),
        )  # fmt: skip


def _wait(
    workers: list[threading.Thread],
    seconds: float,
    take_arrived: Callable[[], None],
    until: threading.Event | None,
) -> None:
    """Join ``workers`` for up to ``seconds`` (less once ``until`` is set), taking outcomes as
    they come. A KeyboardInterrupt that still lands here (a handler of the caller's own was
    installed for SIGINT) abandons at once too."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            take_arrived()
            alive = [worker for worker in workers if worker.is_alive()]
            if not alive or time.monotonic() >= deadline or (until is not None and until.is_set()):
                return
            alive[0].join(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
        except KeyboardInterrupt:
            if until is not None:
                until.set()


@contextlib.contextmanager
def further_interrupts_abandon(run: Run) -> Iterator[None]:
    """While the run stops, Ctrl-C sets ``run.abandon`` instead of raising KeyboardInterrupt.

    Only in the main thread (the only one Python delivers signals to) and only over Python's
    own handler: a handler the caller installed is left alone (:func:`_wait` copes).
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, TypeError):
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                previous = signal.signal(signal.SIGINT, lambda signum, frame: run.abandon.set())
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class _OneInterrupt:
    """The SIGINT handler of :func:`one_interrupt`: the first Ctrl-C raises, the next ones abandon."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.abandon: list[threading.Event] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.first is None or now - self.first > REARM_SECONDS:
            self.first = now
            raise KeyboardInterrupt
        for event in list(self.abandon):
            event.set()


_installed: _OneInterrupt | None = None  # only touched by the main thread


@contextlib.contextmanager
def one_interrupt(abandon: threading.Event | None = None) -> Iterator[None]:
    """Within it, only the first Ctrl-C raises KeyboardInterrupt; further ones set ``abandon``.

    So the handling of the first (settling every row's status, writing the status file, closing
    the journal) is never cut short by a second, which closes the connections of the requests
    still in flight instead. Nested uses share the outermost handler, each adding its
    ``abandon`` event while it runs. Only in the main thread and only over Python's own
    handler: a handler the caller installed is left alone.
    """
    global _installed
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = _installed
    # object: compared with getsignal's declared type (callable, int or None), mypy narrows outer to None.
    current: object = signal.getsignal(signal.SIGINT) if outer is not None else None
    if outer is not None and current is outer:
        if abandon is not None:
            outer.abandon.append(abandon)
        try:
            yield
        finally:
            if abandon is not None:
                with contextlib.suppress(ValueError):
                    outer.abandon.remove(abandon)
        return
    try:
        own = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    except (ValueError, TypeError):
        own = False
    if not own:
        yield
        return
    handler = _OneInterrupt()
    if abandon is not None:
        handler.abandon.append(abandon)
    previous = signal.signal(signal.SIGINT, handler)
    _installed = handler
    try:
        yield
    finally:
        _installed = outer
        signal.signal(signal.SIGINT, previous)
