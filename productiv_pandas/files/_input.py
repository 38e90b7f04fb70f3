"""An events file's bytes as input: compression read from the file's first bytes, and JSON
Lines read in chunks of lines.

A file's name can lie: a ``.csv`` that is really gzip used to be taken for latin-1 text. The
first bytes decide (gzip, bzip2, xz, zip; zstd when its package is installed). JSON Lines are
read a chunk of lines at a time, by pyarrow where it reads the chunk as pandas would
(:mod:`._arrow_json`), else with pandas' reader, and line by line with Python's ``json`` only
for a chunk pandas cannot read, so one number beyond uint64 is one row's problem.
"""

from __future__ import annotations

import bz2
import contextlib
import decimal
import gzip
import importlib.util
import io
import itertools
import json
import lzma
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from ..errors import ConfigurationError
from ._arrow_json import ArrowJson, arrow_columns
from ._location import Location, is_url, location, name_of, open_binary, shown

__all__ = [
    "READ_ERRORS",
    "BadLine",
    "compression_of",
    "json_chunks",
    "json_columns",
    "open_text",
    "sniff_compression",
    "what_is_inside",
]

#: How a compressed file starts, whatever its name says: a ``.csv`` that is really gzip is
#: read as gzip instead of being taken for latin-1 text. Names are pandas' ``compression=``.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def sniff_compression(path: Location | os.PathLike[str]) -> str | None:
    """The compression a file's first bytes show (``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"``,
    ``"zstd"``), or None; a missing file is None too (its reader says so)."""
    try:
        with open_binary(location(path)) as handle:
            head = handle.read(6)
    except OSError:
        return None
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def what_is_inside(path: Location | os.PathLike[str]) -> str | None:
    """What a file's (decompressed) content starts with when it is not text: ``"gzip"``...
    (compressed twice), ``"parquet"``; None when it looks like text or cannot be read. For the
    message of a file that is not UTF-8, so a Parquet or doubly compressed file named ``.csv``
    is not sent to ``iconv``."""
    try:
        compression = sniff_compression(path)
        if compression == "zstd":
            return None
        with open_text(location(path), compression) as handle:
            head = handle.buffer.read(6) if hasattr(handle, "buffer") else b""
    except Exception:  # only for a message: the caller's error stands
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def compression_of(path: Location) -> str | None:
    """The compression to read ``path`` with, from its bytes; a ConfigurationError naming it
    when it cannot be read (zstd without its package). A format that cannot be compressed
    (Parquet) refuses any: see :meth:`.EventReader.compression_of`."""
    found = sniff_compression(path)
    if found == "zstd" and importlib.util.find_spec("zstandard") is None:
        raise ConfigurationError(
            f"cannot read {shown(path)!r}: the file is zstd-compressed and reading zstd needs the "
            f"zstandard package (pip install zstandard); or decompress it first: unzstd {name_of(path)}"
        )
    return found


@contextlib.contextmanager
def open_text(path: Location, compression: str | None) -> Iterator[io.TextIOBase]:
    """``path`` opened as UTF-8 text, decompressed as its bytes say (a URL: its fsspec file)."""
    with contextlib.ExitStack() as stack:
        source: Path | IO[bytes] = Path(path)
        if isinstance(path, str) and is_url(path):
            source = stack.enter_context(open_binary(path))
            if compression is None:  # text straight from the object's bytes
                yield stack.enter_context(io.TextIOWrapper(source, encoding="utf-8"))
                return
        if compression == "zip":
            archive = stack.enter_context(zipfile.ZipFile(source))
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
            if len(names) != 1:
                raise ConfigurationError(
                    f"cannot read {shown(path)!r}: the zip archive holds {len(names)} files, not one; "
                    "unzip it and name the file to read"
                )
            raw = stack.enter_context(archive.open(names[0]))
            yield stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8"))
        elif compression == "zstd":
            import zstandard

            yield stack.enter_context(zstandard.open(source, "rt", encoding="utf-8"))
        else:
            openers: dict[str, Callable[..., IO[str]]] = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
            opener = openers.get(compression or "", open)
            yield stack.enter_context(opener(source, "rt", encoding="utf-8"))


#: What reading a file can raise besides OSError/ValueError: a compressed stream cut short
#: (EOFError), a corrupt one (zlib.error, lzma.LZMAError, zipfile.BadZipFile).
READ_ERRORS = (
    OSError,
    ValueError,
    UnicodeDecodeError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
)


class BadLine(ValueError):
    """A line of a JSON Lines file that is not a JSON object (the message names its number)."""


def _json_number(text: str) -> float | decimal.Decimal:
    """A JSON float, or a Decimal where a float would be inf (1e400): its reason names it."""
    number = float(text)
    return number if math.isfinite(number) else decimal.Decimal(text)


def _json_frame(lines: list[str], first_line: int) -> pd.DataFrame:
    """Lines of a JSON Lines file as a frame, ``first_line`` being the number of ``lines[0]``.

    pandas' reader is fast, but one number beyond uint64 fails its whole read ("Value is too
    big!") and a line that is not an object is named by a position in its buffer. Then the
    lines are read one by one with Python's json, which keeps any integer as it is: the row
    gets a reason naming the value, as in memory, and a broken line is named by its number.
    """
    try:
        return pd.read_json(io.StringIO("".join(lines)), lines=True, dtype=False)
    except (
        ValueError,
        TypeError,
        AttributeError,
    ):  # a line not an object: TypeError (AttributeError in pandas 3.0)
        pass
    records = []
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_float=_json_number)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            shown = line.strip()
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise BadLine(f"line {number:,} is not a JSON object: {shown!r}; fix or remove that line")
        records.append(record)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def json_chunks(
    path: Location,
    chunksize: int,
    compression: str | None,
    usecols: list[str] | None = None,
    text: tuple[str, ...] = (),
) -> Generator[pd.DataFrame]:
    """A JSON Lines file, ``chunksize`` lines at a time (blank lines are skipped); with
    ``usecols``, only those columns (a chunk lacking one has it, empty), read by pyarrow
    (:mod:`._arrow_json`) wherever it reads the chunk as pandas would, else as before."""
    fast = ArrowJson(usecols, text) if usecols is not None else None
    with open_text(path, compression) as handle:
        read = 0
        while lines := list(itertools.islice(handle, chunksize)):
            frame = None if fast is None else fast.frame(lines)
            if frame is None:
                frame = _json_frame(lines, read + 1)
                if not len(frame):  # blank lines only; lines of {} are rows, judged as such
                    frame = None
                elif usecols is not None:  # a chunk lacking a key gets it, empty
                    frame = frame.reindex(columns=usecols)
            read += len(lines)
            if frame is not None:
                yield frame


def json_columns(path: Location, chunksize: int, compression: str | None) -> list[str]:
    """The keys of a JSON Lines file's first chunk holding any, as pandas names its columns:
    by pyarrow where it reads that chunk alike (:func:`._arrow_json.arrow_columns`), else from
    the first chunk :func:`json_chunks` gives (its errors are the file's)."""
    with open_text(path, compression) as handle:
        lines = list(itertools.islice(handle, chunksize))
    names = arrow_columns(lines) if lines else None
    if names is not None:
        return names
    with contextlib.closing(json_chunks(path, chunksize, compression)) as chunks:
        # A chunk of {} lines is rows without keys: the keys are the first chunk holding any.
        first = next((frame for frame in chunks if len(frame.columns)), None)
    return [] if first is None else [str(name) for name in first.columns]
