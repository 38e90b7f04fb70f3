"""One pass over a stream of chunks, for :mod:`._pass`: each chunk prepared with one set of
options, the events an earlier chunk already had marked ``duplicate``, everything counted.

:class:`ChunkRun` is the pass itself, whatever the chunks come from; :class:`FileRun` reads
them from an events file (:mod:`._readers`), :class:`~._chunks.ChunksRun` from any iterable
of frames. The status index is the row's 0-based row number in the stream (for a file, what
``read_csv``'s RangeIndex gives), so ``duplicate of row N`` names a row across chunks as
within one.
"""

from __future__ import annotations

import abc
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigurationError, StatusFileError
from ..preparation._options import PrepareOptions, PrepareOptionsDict
from ..preparation._prepare import Prepared, prepare_events, select_columns
from ..preparation._terms import PYTHON, Terms
from ..report._collect import ReportCollector, ReportData, problem_rows
from ..status import STATUSES, WIRE_COLUMNS, new_status_frame, problem_number
from ._ahead import read_ahead
from ._formats import StatusWriter
from ._location import location, shown
from ._readers import EventReader, open_reader
from ._seen import KEY, FirstSeen, hash_keys
from ._tally import Tally

__all__ = [
    "ChunkRun",
    "FileReport",
    "FileRun",
    "RunReport",
    "empty_status",
    "lost_status_message",
    "status_writer",
]

_KEPT = ("valid", "skipped")  # skipped by prepare means stale under on_stale="skip": still an event
_DEDUPED = ("valid", "skipped", "duplicate")
_KEPT_CODES = [STATUSES.index(name) for name in _KEPT]
_DEDUPED_CODES = [STATUSES.index(name) for name in _DEDUPED]
_VALID_CODE, _DUPLICATE_CODE = STATUSES.index("valid"), STATUSES.index("duplicate")


@dataclass(frozen=True, eq=False)
class RunReport:
    """What became of a run's rows (a file's, a stream of chunks'): counts only; the per-row
    status went to ``status_out``.

    Attributes
    ----------
    path : Path, str or None
        The events file (a URL stays a string); None when the rows came from chunks.
    rows : int
        Rows read (every one has exactly one status).
    counts : Series
        Rows per status, in :data:`~productiv_pandas.STATUSES` order, zeros included.
    problems : DataFrame
        Rows per problem code (index; :data:`~productiv_pandas.PROBLEMS`) and status
        (``invalid``, ``rejected``, ``failed``), most frequent first; a row with several
        problems counts once under each.
    status_out : Path, str or None
        Where the per-row status was written (a URL stays a string).
    report_data : ReportData
        What :meth:`report` shows, collected chunk by chunk during the run (counts, 5
        examples a problem code, rows per hour): no second pass, no status file needed.
    source : str
        What the rows came from, as the repr and the HTML report name it: the file's path,
        or ``"chunks"``.
    requests : int
        HTTP requests the run made to the events endpoint, retries and the halves of split
        batches included (token requests are not); 0 for a validate.
    """

    path: Path | str | None
    rows: int
    counts: pd.Series = field(repr=False)
    problems: pd.DataFrame = field(repr=False)
    status_out: Path | str | None = None
    report_data: ReportData | None = field(default=None, repr=False)
    source: str = ""
    requests: int = 0

    @property
    def name(self) -> str:
        """:attr:`source`, or the path (its secrets masked) when no source was given."""
        return self.source or shown(self.path)

    def report(self, path: str | os.PathLike | None = None, *, redact_emails: bool = False):
        """The run's self-contained HTML data-quality report, as ``status.productiv.report``
        gives for a status frame: written to ``path`` (returns its Path), or an ``HtmlReport``
        shown inline in a notebook. ``redact_emails`` masks every email (``a***@acme.com``)."""
        from ..report import HtmlReport, write_report

        data = self.report_data or ReportCollector().data(self.name)
        if path is None:
            return HtmlReport(data, redact_emails)
        return write_report(data, path, redact_emails=redact_emails)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {count:,}" for name, count in self.counts.items() if count)
        out = f"; status in {shown(self.status_out)!r}" if self.status_out is not None else ""
        return f"<{type(self).__name__} {self.name!r}: {self.rows:,} rows: {counts or 'none'}{out}>"


#: The name the report had when only files were read; the same class.
FileReport = RunReport


def empty_status() -> pd.DataFrame:
    """A status frame without rows: what a file without rows gets in ``status_out``."""
    none = np.array([], dtype=object)
    return new_status_frame(
        pd.RangeIndex(0), pd.DataFrame({name: none for name in WIRE_COLUMNS}), none, none, none.astype(bool)
    )


class ChunkRun(abc.ABC):
    """One pass over a stream of chunks: each prepared with cross-chunk de-duplication, and a
    tally. Subclasses give the chunks (:meth:`frames`) and say what they come from."""

    #: What the rows come from, in messages: "publish of {label} interrupted".
    label = "the chunks"
    #: What to fix when a chunk cannot be read: "fix {what} and publish it again".
    what = "the source"

    def __init__(
        self, options: PrepareOptionsDict, path: Path | str | None = None, source: str = "chunks"
    ) -> None:
        self.options = PrepareOptions.from_kwargs(**options)  # once: every chunk judged at one `now`
        self.path = path
        self.source = source
        self.seen = FirstSeen()
        self.tally = Tally(self.options)
        #: The report's data, collected as each chunk's final status is written.
        self.collector = ReportCollector()
        #: Whether the rows are being sent (publish), for the messages.
        self.sending = False
        #: HTTP requests made to the events endpoint, summed over the chunks sent.
        self.requests = 0

    @abc.abstractmethod
    def frames(self) -> Iterator[pd.DataFrame]:
        """The chunks, each indexed by its rows' 0-based row numbers in the stream."""

    def row_count(self) -> int | None:
        """The stream's rows, when known without reading it; else None."""
        return None

    def estimate_rows(self) -> int | None:
        """:meth:`row_count` or a guess, for a progress bar's total only."""
        return self.row_count()

    def prepared(self) -> Iterator[Prepared]:
        """Each chunk prepared, its rows whose event an earlier chunk had marked ``duplicate``;
        a chunk is read only when the one before it is done."""
        for events in self.checked():
            yield self.deduplicated(events)

    def checked(self) -> Iterator[Prepared]:
        """Each chunk through ``prepare_events`` alone: what needs no other chunk."""
        for frame in self.frames():
            prepared = prepare_events(frame, self.options)
            del frame  # the chunk is done with: not held while the next one is read
            yield prepared

    def deduplicated(self, prepared: Prepared) -> Prepared:
        """A chunk's rows whose event an earlier chunk had, made ``duplicate``; counted."""
        self.tally.counted(prepared.counts)
        status = prepared.status
        codes = status["status"].cat.codes.to_numpy()
        deduped = np.flatnonzero(np.isin(codes, _DEDUPED_CODES))
        if len(deduped):
            # The whole chunk hashed, then the rows wanted: cheaper than taking them first.
            hashes = hash_keys(status[KEY])[deduped]
            # Each chunk's first sighting of an event is remembered: prepare already made the
            # chunk's later sightings duplicates of it.
            kept = np.isin(codes[deduped], _KEPT_CODES)
            first = self.seen.see(hashes, status.index.to_numpy()[deduped], kept)
            earlier = first >= 0
            if earlier.any():
                status = _duplicates(status, deduped[earlier], first[earlier])
                codes = status["status"].cat.codes.to_numpy()
        self.tally.prepared(status)
        return Prepared(status=status, to_send=np.flatnonzero(codes == _VALID_CODE))

    def write(self, status: pd.DataFrame, writer: StatusWriter | None) -> None:
        """Count a chunk's final status and append it to ``status_out``.

        When ``status_out`` cannot take it (a full disk), the chunk's status is written to a
        CSV in the temp folder instead (``.fallback`` of the StatusFileError raised, which also
        carries it as ``.status``); the message is :func:`lost_status_message`'s.
        """
        long = problem_rows(status)  # the tally's and the report's: built once
        self.tally.add(status, long)
        self.collector.add(status, long)
        if writer is None:
            return
        try:
            writer.write(status)
        except StatusFileError as exc:
            exc.fallback = _write_fallback(status, writer.path)
            exc.args = (lost_status_message(exc, writer.kind, self.sending, self.options.terms),)
            raise

    def finish(self, writer: StatusWriter | None) -> None:
        if writer is not None and writer.rows == 0:
            writer.write(empty_status())

    def report(self, status_out: str | os.PathLike | None) -> RunReport:
        return RunReport(
            path=self.path,
            rows=self.tally.rows,
            counts=self.tally.counts(),
            problems=self.tally.problems(),
            status_out=None if status_out is None else location(status_out),
            report_data=self.collector.data(self.source),
            source=self.source,
            requests=self.requests,
        )


class FileRun(ChunkRun):
    """One pass over one events file, its chunks from the file's reader."""

    what = "the file"

    def __init__(
        self, path: str | os.PathLike, chunksize: int, options: PrepareOptionsDict, *, ahead: bool = False
    ) -> None:
        super().__init__(options)
        #: Read and check the next chunk in a thread while this one is de-duplicated and counted
        #: (:mod:`._ahead`): a chunk more in memory, both cores at work.
        self.ahead = ahead
        self.reader: EventReader = open_reader(path, chunksize)
        self.path = self.reader.path
        self.source = shown(self.reader.path)  # a URL's secrets masked
        self.label = repr(self.source)
        sources = _sources(self.reader, self.options)
        self.usecols = list(dict.fromkeys(sources.values()))
        self.text = tuple(name for field, name in sources.items() if field != "timestamp")

    def frames(self) -> Iterator[pd.DataFrame]:
        return self.reader.numbered_chunks(self.usecols, self.text)

    def checked(self) -> Iterator[Prepared]:
        # With ``ahead``, the next chunk is read and put through prepare_events (which needs no
        # other chunk) in a thread while the caller de-duplicates and counts this one: pyarrow
        # and numpy release Python's lock for much of both. (Reading in a third thread was
        # measured too: no faster on two cores, and 8-20 MiB more at the 10M-row peak.)
        return read_ahead(super().checked(), name="productiv-check") if self.ahead else super().checked()

    def row_count(self) -> int | None:
        return self.reader.row_count()

    def estimate_rows(self) -> int | None:
        return self.reader.estimate_rows()


def _duplicates(status: pd.DataFrame, positions: np.ndarray, first: np.ndarray) -> pd.DataFrame:
    """``status`` with the rows at ``positions`` made duplicates of the file rows ``first``:
    what :func:`~productiv_pandas.status.with_status` gives, without turning the chunk's
    status and reason columns into Python objects (0.2 s a million rows)."""
    codes = status["status"].cat.codes.to_numpy(copy=True)
    codes[positions] = _DUPLICATE_CODE
    problems = status["problem"].cat.codes.to_numpy(copy=True)
    problems[positions] = problem_number("duplicate")
    mask = np.zeros(len(status), dtype=bool)
    mask[positions] = True
    reasons = pa.array(status["reason"].array)  # a ChunkedArray from pandas' Arrow-backed str
    if isinstance(reasons, pa.ChunkedArray):
        reasons = reasons.combine_chunks()
    said = pa.array([f"duplicate of row {row}" for row in first.tolist()], type=reasons.type)
    reason = pc.replace_with_mask(reasons, pa.array(mask), said)
    return status.assign(
        status=pd.Categorical.from_codes(codes, dtype=status["status"].dtype),
        reason=pd.array(reason, dtype=status["reason"].dtype),
        problem=pd.Categorical.from_codes(problems, dtype=status["problem"].dtype),
    )


def _same_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Do two paths name one file: the same real path, or, both existing, the same inode (a
    hard link, another mount of the same folder)?"""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):  # one does not exist (yet): then only the spelling can tell
        return False


def status_writer(
    status_out: str | os.PathLike | None, path: str | os.PathLike | None, journal: object = None
) -> StatusWriter | contextlib.nullcontext:
    """Checked before any work: a status file of an unknown kind, one that cannot be written,
    or two arguments naming one file (however spelled: relative, absolute, via a symlink)
    fail the call at once. ``path`` is the events file, None for chunks."""
    journal_path = getattr(journal, "path", journal)
    if path is None:
        return _status_writer(status_out, journal_path)
    # SQLite would open the events file as a database (and refuse it, or worse, if empty).
    if isinstance(journal_path, str | os.PathLike) and _same_file(journal_path, path):
        raise ConfigurationError(
            f"journal {str(journal_path)!r} is the events file {str(path)!r}: keep the journal elsewhere"
        )
    if status_out is not None and _same_file(status_out, os.path.realpath(path)):
        # Writing the status over the file being read would destroy it, and a CSV read and
        # appended at once never ends.
        raise ConfigurationError(
            f"the status file {str(status_out)!r} is the events file itself: write the status elsewhere"
        )
    return _status_writer(status_out, journal_path)


def _status_writer(
    status_out: str | os.PathLike | None, journal_path: object
) -> StatusWriter | contextlib.nullcontext:
    # The status written over a journal (or its WAL files) leaves neither readable.
    if (
        status_out is not None
        and isinstance(journal_path, str | os.PathLike)
        and any(_same_file(status_out, os.path.realpath(journal_path) + s) for s in ("", "-wal", "-shm"))
    ):
        raise ConfigurationError(
            f"the status file {str(status_out)!r} and the journal {str(journal_path)!r} are the "
            "same file: give each its own path"
        )
    if status_out is None:
        return contextlib.nullcontext()
    return StatusWriter(status_out)


def _write_fallback(status: pd.DataFrame, path: Path) -> Path | None:
    """The status of a chunk ``path`` could not take, in a CSV in the temp folder (likely on
    another disk than a full one), or None if that failed too."""
    first, last = int(status.index[0]), int(status.index[-1])
    # Not mkstemp: its 0600 would hide the user's own status from the group their umask shares
    # files with. O_EXCL with 0666 still never opens a file someone else put there first.
    for _ in range(100):
        name = os.path.join(
            tempfile.gettempdir(), f"{path.name}.rows-{first}-{last}.{secrets.token_hex(4)}.csv"
        )
        try:
            handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError:
            return None
    else:
        return None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as sink:
            status.to_csv(sink)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    return Path(name)


def lost_status_message(exc: StatusFileError, kind: str, sending: bool, terms: Terms = PYTHON) -> str:
    """Where each row's status is after ``exc``: only what is on disk is said to be there (and,
    to a Python user, where else: the exception's ``.status``)."""
    status = exc.status
    first, last = int(status.index[0]), int(status.index[-1])
    out = repr(str(exc.path))
    if exc.rows_in_file is None and kind == "csv":
        held = f"{out} holds the status of rows 0 to {first - 1:,} and may end with part of the next ones"
    elif exc.rows_in_file is None:
        held = f"{out} cannot be read (the status of rows 0 to {first - 1:,} is lost)"
    elif exc.rows_in_file == 0:
        held = f"{out} holds no row's status"
    else:
        held = f"{out} holds the status of rows 0 to {exc.rows_in_file - 1:,}"
    if first == 0 and exc.rows_in_file is None:
        held = f"{out} holds no complete row's status"
    sent = int((status["status"] == "sent").sum())
    chunk = f"rows {first:,} to {last:,}" + (f" ({sent:,} of them sent)" if sending else "")
    if exc.fallback is not None:
        where = f"the status of {chunk} was written to {str(exc.fallback)!r} instead"
    else:
        where = f"the status of {chunk} could not be written anywhere"
        if not terms.shell:
            where += " (in Python: this error's .status)"
    return f"{exc.args[0]}; {held}; {where}; the rows from row {last + 1:,} on were not read"


def _sources(reader: EventReader, options: PrepareOptions) -> dict[str, str]:
    """The file's column feeding each API field, checked before any chunk is read.

    Raises ConfigurationError naming the missing fields and the file's columns.
    """
    header = reader.columns()
    if not reader.complete_columns:
        # Only the first chunk's keys are known (JSON Lines); targetApp is optional and may start later.
        target = next((src for src, api in options.columns.items() if api == "targetApp"), "targetApp")
        if target not in header:
            header.append(target)
    picked = select_columns(pd.DataFrame(columns=header), dict(options.columns), options.terms)
    sources = {field: str(series.name) for field, series in picked.items()}
    if twice := [name for name in sources.values() if name in reader.repeated()]:
        # pandas reads the second one as 'name.1': name the way to pick either.
        field = next(field for field, name in sources.items() if name == twice[0])
        raise ConfigurationError(
            f"{str(reader.path)!r} has more than one column named {twice[0]!r}; rename one in its "
            f"header, or pick the second with {options.terms.columns([(twice[0] + '.1', field)])}"
        )
    return sources
