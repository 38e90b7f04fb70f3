"""TEMPORARY (helper B, issue 13): a stand-in for helper A's chunk functions so the SQL source
can be tested end to end before A's work lands; replaced wholesale by A's module on merge."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..preparation._options import PrepareOptions
from ..report._collect import ReportCollector
from ..sending._settings import SendSettings
from ._readers import EventReader
from ._run import FileReport as RunReport
from ._run import FileRun, status_writer
from ._seen import FirstSeen
from ._tally import Tally

__all__ = ["RunReport", "send_chunks", "validate_chunks"]


def _frame(chunk) -> pd.DataFrame:
    if isinstance(chunk, pd.DataFrame):
        return chunk
    return pa.table(chunk).to_pandas(types_mapper=pd.ArrowDtype)


class _ChunksReader(EventReader):
    name = "chunks"

    def __init__(self, chunks: Iterable) -> None:
        super().__init__(Path("<chunks>"), 0, None)
        frames = (_frame(chunk) for chunk in chunks)
        first = next(frames, None)
        self._columns = [] if first is None else [str(c) for c in first.columns]
        self._frames: Iterator[pd.DataFrame] = iter(()) if first is None else itertools.chain([first], frames)

    def columns(self) -> list[str]:
        return list(self._columns)

    def chunks(self, usecols=None, text=()):
        for frame in self._frames:
            yield frame[usecols] if usecols is not None else frame


class _ChunkRun(FileRun):
    def __init__(self, chunks: Iterable, options) -> None:
        from ._run import _sources  # type: ignore[attr-defined]  # temporary

        self.options = PrepareOptions.from_kwargs(**options)
        self.reader = _ChunksReader(chunks)
        sources = _sources(self.reader, self.options)
        self.usecols = list(dict.fromkeys(sources.values()))
        self.text = ()
        self.seen = FirstSeen()
        self.tally = Tally(self.options)
        self.collector = ReportCollector()
        self.sending = False


def validate_chunks(chunks: Iterable, *, status_out=None, progress=None, **options) -> RunReport:
    with status_writer(status_out, "/nonexistent/<chunks>") as writer:
        run = _ChunkRun(chunks, options)
        for prepared in run.prepared():
            run.write(prepared.status, writer)
        run.finish(writer)
    run.tally.warn()
    return run.report(status_out)


def send_chunks(chunks: Iterable, settings: SendSettings, *, status_out=None, **options) -> RunReport:
    from . import _stream

    run = _ChunkRun(chunks, options)
    original = _stream.FileRun
    _stream.FileRun = lambda path, chunksize, opts: run  # type: ignore[assignment,misc]
    try:
        return _stream.send_file("/nonexistent/<chunks>", settings, status_out=status_out)
    finally:
        _stream.FileRun = original  # type: ignore[misc]
