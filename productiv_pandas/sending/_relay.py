"""Sending chunk after chunk from worker threads, while the calling thread reads the next chunk.

publish_file, publish_chunks and publish_sql read and prepare their chunks in the calling
thread, and must: a generator, a sqlite3 cursor or a SQLAlchemy session refuse (or misbehave
in) another thread. Only the sending moves out. A :class:`Relay` keeps ``max_workers`` threads
for the whole run; :meth:`Relay.submit` hands them a chunk's batches and returns at once, so the
caller reads and prepares the next chunk while this one is on the wire (and makes it
:meth:`Relay.ready`: batches cut, journal consulted), and
:meth:`Relay.finish` waits for the chunk's last answer and gives its status frame.

How far ahead the caller goes is its choice (:mod:`..files._pass` keeps one chunk prepared
ahead, not submitted before the one in flight has its status written). The relay only
guarantees order: batches go out chunk by chunk, in submission order, and each chunk's
outcomes land in its own status arrays, taken in the calling thread as today's
:func:`._workers.send_all` takes them.

Ctrl-C (or any exception in the calling thread): :meth:`Relay.stop` stops every chunk
submitted with the three bounded steps of :mod:`._workers` (cancel, grace, abandon) and
settles their rows ``failed`` "interrupted". No worker outlives :meth:`Relay.close`.
"""

from __future__ import annotations

import collections
import logging
import threading

import pandas as pd

from ..journal._ledger import Ledger
from ..journal._store import Journal
from ..preparation._prepare import Prepared
from ._batches import Batch, make_batches
from ._delivery import Run
from ._outcomes import Outcome, StatusArrays
from ._settings import SendSettings
from ._workers import further_interrupts_abandon, stop_workers

__all__ = ["Chunk", "Relay"]

logger = logging.getLogger("productiv_pandas")

#: How often the calling thread looks up from waiting on a chunk (a Ctrl-C that
#: ``_thread.interrupt_main`` or a signal handler of the caller's own raised is seen this soon).
_POLL_SECONDS = 0.05


class Chunk:
    """One chunk submitted to a :class:`Relay`: its status arrays, its batches, their outcomes.

    Workers append to ``results`` and bump ``handed`` (under the relay's lock); only the calling
    thread reads ``results`` and writes the arrays, as in :func:`._workers.send_all`.
    """

    def __init__(self, prepared: Prepared, run: Run, batch_size: int) -> None:
        self.run = run
        self.template = prepared.status
        self.arrays = StatusArrays(prepared.status)
        if run.ledger is not None:  # rows the journal holds: skipped, never batched
            prepared = run.ledger.skip_recorded(prepared, self.arrays)
        # Cut here, in the calling thread (Arrow slices: no copy), so a worker only pops.
        self.batches = collections.deque(make_batches(prepared.wire(), prepared.to_send, batch_size))
        self.total = len(self.batches)
        self.handed = 0  # batches a worker took
        self.results: list[list[Outcome] | None] = []
        self.taken = 0  # results applied to the arrays

    @property
    def done(self) -> bool:
        return self.taken == self.total

    def take_arrived(self) -> None:
        while self.taken < len(self.results):
            for outcome in self.results[self.taken] or ():
                self.arrays.apply(outcome)  # interrupted halfway, it is applied again: harmless
            self.results[self.taken] = None
            self.taken += 1


class Relay:
    """``max_workers`` threads sending the batches of every chunk submitted, in order."""

    def __init__(self, settings: SendSettings, journal: Journal | None) -> None:
        self.settings = settings
        self.journal = journal
        #: The run's signals, shared by every chunk's Run: one Ctrl-C stops them all.
        self.run = Run(settings, None)
        self._ready = threading.Condition()
        self._queue: collections.deque[Chunk] = collections.deque()  # batches not all handed out
        self._open: list[Chunk] = []  # submitted, not finished: their outcomes are taken
        self._closed = False
        self._arrived = threading.Event()
        self._workers: list[threading.Thread] = []

    @property
    def abandon(self) -> threading.Event:
        return self.run.abandon

    @property
    def busy(self) -> bool:
        """Whether a chunk was submitted and not finished (a Ctrl-C must settle it)."""
        return bool(self._open)

    def ready(self, prepared: Prepared) -> Chunk:
        """``prepared`` made ready to send (rows the journal holds skipped, batches cut), not
        sent yet: done while the chunk before is on the wire, so :meth:`submit` is instant."""
        ledger = None if self.journal is None else Ledger(self.journal, prepared.status)
        signals = (self.run.cancel, self.run.abandon)
        return Chunk(prepared, Run(self.settings, ledger, signals), self.settings.batch_size)

    def submit(self, chunk: Chunk) -> Chunk:
        """Start sending ``chunk`` (after the batches of the chunks submitted before it)."""
        self._open.append(chunk)
        if chunk.total:
            with self._ready:
                self._queue.append(chunk)
                self._ready.notify_all()
            self._start()
        return chunk

    def finish(self, chunk: Chunk) -> pd.DataFrame:
        """Wait for every batch of ``chunk`` to come back; its status frame, as publish's."""
        while True:
            self._arrived.clear()
            chunk.take_arrived()
            if chunk.done or not any(worker.is_alive() for worker in self._workers):
                break  # (no worker left: a bug; the rows without an outcome say "internal error")
            self._arrived.wait(_POLL_SECONDS)
        self._open.remove(chunk)
        result = chunk.arrays.final(chunk.template, self.run.app_id, chunk.run.requests)
        logger.info(
            "published to %s: %s",
            self.run.app_id,
            ", ".join(f"{n} {name}" for name, n in result["status"].value_counts().items() if n),
        )
        return result

    def stop(self) -> pd.DataFrame | None:
        """After Ctrl-C: stop sending (cancel, grace, abandon: :mod:`._workers`); the status of
        the chunks submitted and not finished, in order (None if there were none), their rows
        without an answer ``failed`` "interrupted"."""
        self.run.cancel.set()
        self._close_queue()
        with further_interrupts_abandon(self.run):
            stop_workers(self.run, self._workers, self._take_arrived)
        frames = []
        for chunk in self._open:
            chunk.take_arrived()
            frames.append(chunk.arrays.interrupted(chunk.template, chunk.run.requests))
        self._open.clear()
        return pd.concat(frames) if frames else None

    def close(self) -> None:
        """Let the workers go (stopping them first if a chunk is still being sent)."""
        if self._open:
            self.stop()
            return
        self._close_queue()
        if self.run.cancel.is_set():
            return  # stopped: stop_workers already waited for them, as long as it should
        for worker in self._workers:
            if worker.ident is not None:
                worker.join()  # idle: nothing left to send, they return at once

    # -- the workers' side ------------------------------------------------------------------

    def _start(self) -> None:
        # Appended before started: a Ctrl-C inside start() still leaves the thread known.
        while len(self._workers) < self.settings.max_workers:
            number = len(self._workers)
            self._workers.append(
                threading.Thread(target=self._work, name=f"productiv-publish-{number}", daemon=True)
            )
            self._workers[-1].start()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            chunk, batch = job
            outcomes = None
            try:
                outcomes = chunk.run.deliver(batch)  # raises only what is not an Exception (a bug)
            finally:
                # Even then the batch counts as back (its rows "internal error"), so finish()
                # never waits for it while the other workers idle.
                chunk.results.append(outcomes)
                self._arrived.set()

    def _next(self) -> tuple[Chunk, Batch] | None:
        """The next batch to send, in submission order; None once the relay is closed."""
        with self._ready:
            while not self.run.cancel.is_set():
                if self._queue:
                    chunk = self._queue[0]
                    batch = chunk.batches.popleft()
                    chunk.handed += 1
                    if not chunk.batches:
                        self._queue.popleft()
                    return chunk, batch
                if self._closed:
                    return None
                self._ready.wait()
            return None

    def _close_queue(self) -> None:
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._ready.notify_all()

    def _take_arrived(self) -> None:
        for chunk in self._open:
            chunk.take_arrived()
