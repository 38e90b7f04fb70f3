"""The pass over a run's chunks, for files and chunks alike: validate, or prepare and send.

    for each chunk: prepare (one set of options, one ``now``) -> mark events an earlier chunk
    already had ``duplicate`` -> [send] -> append its status to ``status_out``

Validating, a chunk is read only once the one before it has its status written. Publishing,
the next chunk is read and prepared in this thread while the current one is sent by worker
threads (:mod:`..sending._relay`), one chunk ahead at most: memory holds two chunks plus the
de-duplication key set, whatever the stream's length. :mod:`._stream` (files)
and :mod:`._chunks` (any iterable of frames) build the run and call :func:`validate_run` or
:func:`send_run`; what they say when something stops a run is here, said once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pandas as pd

from ..errors import ConfigurationError, PublishInterrupted, StatusFileError
from ..journal._ledger import journal_for
from ..preparation._prepare import Prepared
from ..preparation._terms import Terms
from ..sending._outcomes import REQUESTS_KEY
from ..sending._progress import progress_bar, show_progress
from ..sending._relay import Chunk, Relay
from ..sending._settings import SendSettings
from ..sending._workers import one_interrupt
from ..status import with_status
from ._formats import StatusWriter
from ._location import shown
from ._run import ChunkRun, RunReport, empty_status

__all__ = ["send_run", "validate_run"]

Writer = StatusWriter | contextlib.nullcontext


def validate_run(
    run: ChunkRun, writer: Writer, status_out: str | os.PathLike | None, *, progress: bool | None = False
) -> RunReport:
    """Check every chunk of ``run``, writing each one's status through ``writer`` (not entered yet)."""
    show = show_progress(progress)
    with writer as opened, progress_bar(None, unit="row", desc="validate", show=show) as bar:
        try:
            for prepared in run.prepared():
                run.write(prepared.status, opened)
                bar.add(prepared.status["status"].value_counts(sort=False), len(prepared.status))
        finally:
            bar.finish(run.tally.counts())
        run.finish(opened)
    run.tally.warn()
    return run.report(status_out)


def send_run(
    run: ChunkRun, settings: SendSettings, writer: Writer, status_out: str | os.PathLike | None
) -> RunReport:
    """Prepare and send every chunk of ``run`` with ``settings`` (already checked), writing each
    one's status through ``writer`` (not entered yet); the next chunk is read and prepared, in
    this thread, while this one is sent."""
    journal = settings.journal
    run.sending = True
    # one_interrupt: a second Ctrl-C abandons requests in flight, and never cuts short the
    # writing of the status file or the closing of the journal that follow the first.
    with one_interrupt(), contextlib.ExitStack() as stack:
        opened_writer = stack.enter_context(writer)
        opened = stack.enter_context(journal_for(journal, settings.app_id))
        client = settings.client
        if client is None:
            from ..client._client import ProductivClient

            client = stack.enter_context(ProductivClient.from_env())
        show = show_progress(settings.progress)
        total = run.estimate_rows() if show else None
        bar = stack.enter_context(
            progress_bar(total, unit="row", desc=f"publish {settings.app_id}", show=show)
        )
        # Each chunk is sent with the run's client and its open journal, without a bar of its own,
        # by worker threads that serve every chunk (closed, whatever happens, before the journal).
        relay = Relay(settings.replace(client=client, journal=opened, progress=False), opened)
        stack.callback(relay.close)
        stack.enter_context(one_interrupt(relay.abandon))  # a second Ctrl-C abandons its requests
        sender = _Sender(relay)

        def write(status: pd.DataFrame, then: Callable[[], None] | None = None) -> None:
            """A chunk's status counted and written (:meth:`ChunkRun.write`, which a subclass
            may extend: sync's puts failed rows in its outbox), then ``then``: the next chunk
            goes on the wire only once this one's status is on disk."""
            run.write(status, opened_writer)
            sender.unwritten = None
            run.requests += status.attrs.get(REQUESTS_KEY, 0)
            bar.add(status["status"].value_counts(sort=False), len(status))
            if then is not None:
                then()

        try:
            _send_chunks(run, sender, write)
        except KeyboardInterrupt:
            statuses = sender.interrupted()
            if not statuses:  # nothing on the wire: the rows read so far all have a status
                raise _interrupted(run, empty_status(), status_out, opened) from None
            for status in statuses:
                run.write(status, opened_writer)
                run.requests += status.attrs.get(REQUESTS_KEY, 0)
            status = statuses[0] if len(statuses) == 1 else pd.concat(statuses)
            raise _interrupted(run, status, status_out, opened) from None
        except StatusFileError as exc:
            exc.args = (f"{exc}. {_again_after_full_disk(opened, run.options.terms)}",)
            raise
        except ConfigurationError as exc:
            if run.tally.rows:  # a bad line mid-file: say what the rows before it became
                exc.args = (_stopped_midway(exc, run, status_out, opened),)
            raise
        except Exception as exc:
            # Raised by the chunks' own iterable (a generator, a database cursor): its type is
            # the caller's to catch, so it is kept; a note says what the rows before it became.
            if run.tally.rows:
                exc.add_note(_stopped_midway(exc, run, status_out, opened))
            raise
        finally:
            bar.finish(run.tally.counts())  # every row with a status, as the report counts them
        run.finish(opened_writer)
    run.tally.warn()
    return run.report(status_out)


def _send_chunks(
    run: ChunkRun, sender: _Sender, write: Callable[[pd.DataFrame, Callable[[], None] | None], None]
) -> None:
    """Chunk N+1 is read and prepared here while chunk N is sent by the relay's workers.

    N+1 is sent once N's status is written: what the status file and the journal hold when
    something stops the run (a full disk, Ctrl-C, a 403) is then what it was when chunks were
    read one at a time, and the overlap hides the reading and preparing of every chunk but the
    first. The price is a short pause at each chunk boundary (N's last answers, its status
    built and written: benchmarks/bench_publish_file.py measures it).

    At most one chunk is ahead: the chunks' iterable is asked for N+2 only once N's status is
    written. When reading N+1 fails (a bad line, the caller's generator raising), N is still
    sent and written before the error goes on; a Ctrl-C stops N where it is (``sender.interrupted``).
    """
    chunks = run.prepared()
    sending: Chunk | None = None
    while True:
        try:
            prepared = next(chunks, None)
            ahead = None if prepared is None else sender.ready(prepared)
        except KeyboardInterrupt:
            raise
        except BaseException:
            if sending is not None:
                write(sender.finish(sending), None)
            raise
        status = None if sending is None else sender.finish(sending)
        sending = None
        skipped = None  # the run stopped: N+1 is not attempted, as when chunks went one by one
        if prepared is not None and sender.stop_cause is not None:
            skipped, ahead = _not_attempted(prepared, sender.stop_cause), None

        def start(chunk: Chunk | None = ahead) -> None:
            nonlocal sending
            if chunk is not None:
                sending = sender.submit(chunk)

        if status is not None:
            write(status, start)
        else:
            start()
        if skipped is not None:
            write(skipped, None)
        if prepared is None:
            return


class _Sender:
    """Sends chunk after chunk through one relay, as one run: batch numbers go on across
    chunks, and a chunk that stopped the run (403/404, credentials refused...) stops the rest."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.next_batch = 0
        self.stop_cause: str | None = None
        #: The status of the chunk finished and not yet written: a Ctrl-C before it is on disk
        #: must still write it (its rows were sent).
        self.unwritten: pd.DataFrame | None = None

    def ready(self, prepared: Prepared) -> Chunk:
        return self.relay.ready(prepared)

    def submit(self, chunk: Chunk) -> Chunk:
        return self.relay.submit(chunk)

    def finish(self, chunk: Chunk) -> pd.DataFrame:
        status = self.relay.finish(chunk)
        self.stop_cause = chunk.run.stop_cause
        self.unwritten = self.renumber(status)
        return self.unwritten

    def interrupted(self) -> list[pd.DataFrame]:
        """After Ctrl-C: the status of the chunk finished and not yet written, then of the
        chunk being sent, renumbered; each written on its own (each keeps its attrs)."""
        pending = self.relay.stop()
        frames = [self.unwritten, None if pending is None else self.renumber(pending)]
        self.unwritten = None
        return [frame for frame in frames if frame is not None]

    def renumber(self, status: pd.DataFrame) -> pd.DataFrame:
        """Batch numbers of the run, not of the chunk: each chunk's start after the last one's."""
        batch = status["batch"]
        if batch.notna().any():
            status = status.assign(batch=batch + self.next_batch)
            self.next_batch = int(status["batch"].max()) + 1
        return status


def _again_after_full_disk(journal, terms: Terms) -> str:
    if journal is not None:
        return (
            "The journal holds every row sent: make room and publish again with the same journal "
            "to send only the rest"
        )
    return (
        "Make room and publish again: rows already sent are sent again (the API keeps one of each); "
        f"{terms.blank('journal')} would skip them"
    )


def _not_attempted(prepared: Prepared, cause: str) -> pd.DataFrame:
    return with_status(
        prepared.status, prepared.to_send, "failed", f"not attempted: {cause}", "not_attempted"
    )


def _stopped_midway(exc: Exception, run: ChunkRun, status_out, journal) -> str:
    """The message of an error that stopped a publish after some rows were sent."""
    report = run.report(status_out)
    where = f", written to {shown(status_out)!r}" if status_out is not None else ""
    again = (
        f"fix {run.what} and publish it again with the same journal to send only the rest"
        if journal is not None
        else f"fix {run.what} and publish it again (with {run.options.terms.blank('journal')} to skip "
        "the rows already sent)"
    )
    said = f"{exc}; the" if isinstance(exc, ConfigurationError) else "The"  # else: a note of its own
    sent = report.counts["sent"]
    return f"{said} {report.rows:,} rows before it have a status{where} ({sent:,} sent): {again}"


def _interrupted(run: ChunkRun, status: pd.DataFrame, status_out, journal) -> PublishInterrupted:
    """The run's PublishInterrupted: which rows have a status, which were never read."""
    report = run.report(status_out)
    done, total = report.rows, run.row_count()
    left = f" ({total - done:,} rows)" if total is not None else ""
    where = f", written to {shown(status_out)!r}" if status_out is not None else ""
    again = (
        "Publish again with the same journal to send only what is missing."
        if journal is not None
        else f"{run.options.terms.verb.title()} {run.options.terms.blank('journal')} to be able to resume "
        "without sending rows twice."
    )
    error = PublishInterrupted(status)
    error.args = (
        f"publish of {run.label} interrupted: {done:,} rows have a status{where} "
        f"({report.counts['sent']:,} sent); the rows from row {done:,} on{left} were not read, so "
        f"not sent. {again}",
    )
    error.report = report
    return error
