"""A batch's JSON body, built from its columns in Arrow: no dict, no Python object per row.

A dict per row and ``json.dumps`` cost 1.8 s of CPU per million rows, the largest part of
publish's own work. Here each column is escaped once over the whole batch with Arrow's string
kernels, every row's text is joined element-wise, and the body is the joined rows' data buffer
between ``{"events":[`` and ``]}``: no Python object is made per row, and the bytes are the ones
``json.dumps(..., ensure_ascii=False)`` writes, in 0.22 s per million rows, 8x less
(benchmarks/bench_serialize.py, both in the same run). orjson was measured and not chosen: it
serializes rows, so it still needs a dict per row, and dicts plus orjson.dumps took 0.61 s per
million rows (0.52 s of it building the dicts) against 0.17 s here on the same frame; and it
would be a new dependency.

The same bytes as ``json.dumps(ensure_ascii=False)``: that escapes only ``"``, ``\\`` and the
characters below U+0020, and leaves everything else (non-ASCII, U+2028, emoji) as UTF-8. prepare
refuses control characters, so the kernels only double backslashes and escape quotes (and a
batch's column without either is used as it is); a column that still holds a character below
U+0020 is escaped value by value with ``json.dumps`` instead, so the escaping never depends on
what prepare let in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Columns", "body"]


@dataclass(frozen=True)
class Columns:
    """The wire fields of some rows, as Arrow arrays of the same length (slices share memory).

    ``targetApp`` is null where the row has none: the field is then absent from its event.
    """

    timestamp: pa.Array  # int64, Unix milliseconds
    email: pa.Array  # strings
    eventName: pa.Array  # the wire's own names
    targetApp: pa.Array

    @classmethod
    def of(cls, wire: pd.DataFrame) -> Columns:
        """The columns of a wire frame (``Prepared.wire()``), converted once for all its batches.

        The timestamps stay numbers until their batch is serialized: casting them all here
        saved 10 ms per million rows, but held their text (21 MB a million) for the whole send.
        """
        return cls(
            pa.array(wire["timestamp"].to_numpy(dtype=np.int64)),
            _strings(wire["email"]),
            _strings(wire["eventName"]),
            _strings(wire["targetApp"]),
        )

    def __len__(self) -> int:
        return len(self.timestamp)

    def slice(self, start: int, stop: int) -> Columns:
        """Rows ``start`` to ``stop``, without copying."""
        n = max(0, stop - start)
        return Columns(
            *(a.slice(start, n) for a in (self.timestamp, self.email, self.eventName, self.targetApp))
        )


def _strings(values: pd.Series) -> pa.Array:
    """One contiguous Arrow string array (nulls where missing), zero-copy when already Arrow."""
    arrow = pa.array(values.array, from_pandas=True) if len(values) else pa.array([], pa.large_string())
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if not pa.types.is_large_string(arrow.type):
        arrow = arrow.cast(pa.large_string())
    return arrow


def body(columns: Columns) -> bytes:
    """``{"events":[...]}`` for these rows, in order, compact, as ``json.dumps`` would write it.

    Raises ValueError if an ``email`` or ``eventName`` is missing: prepare never lets one
    through, and an event without one must not be sent.
    """
    if not len(columns):
        return b'{"events":[]}'
    if columns.email.null_count or columns.eventName.null_count:
        raise ValueError("a row to send has no email or no eventName")
    # The quotes around each value sit in the separators: one join builds every row.
    stamps = pc.cast(columns.timestamp, pa.large_string())
    parts = [_OPEN, stamps, _EMAIL, _escaped(columns.email), _EVENT_NAME, _escaped(columns.eventName)]
    target = columns.targetApp
    if target.null_count < len(target):  # most batches hold no Login event
        parts.append(pc.fill_null(_join(_TARGET_APP, _escaped(target)), _NOTHING))
    parts.append(_CLOSE)
    return b"".join((b'{"events":[', _data(_join(*parts))[:-1], b"]}"))


def _escaped(values: pa.Array) -> pa.Array:
    """Each value as the inside of its JSON string literal; nulls stay null.

    Looks at the UTF-8 bytes first: only ASCII bytes are below 0x80 there, so a batch with no
    byte below 0x20, no ``"`` and no ``\\`` needs no escaping at all (the common case).
    """
    raw = np.frombuffer(_data(values), dtype=np.uint8)
    if not ((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any():
        return values
    if (raw < 0x20).any():  # prepare refuses these: json.dumps, value by value
        texts = [None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in values.to_pylist()]
        return pa.array(texts, pa.large_string())
    return pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


# The separators, made once (a scalar costs a few µs, five a batch).
_OPEN, _EMAIL, _EVENT_NAME = _text('{"timestamp":'), _text(',"email":"'), _text('","eventName":"')
_TARGET_APP, _CLOSE, _NOTHING = _text('","targetApp":"'), _text('"},'), _text("")


def _join(*parts: pa.Array | pa.Scalar) -> pa.Array:
    """Element-wise concatenation; null where any part is null."""
    return pc.binary_join_element_wise(*parts, _NOTHING)


def _data(values: pa.Array) -> memoryview:
    """The concatenated text of a large_string array (nulls add nothing): its data buffer
    between its first and last offsets, not copied."""
    buffers = values.buffers()
    if buffers[1] is None or buffers[2] is None:  # no text at all (nulls only)
        return memoryview(b"")
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    return memoryview(buffers[2])[offsets[0] : offsets[-1]]
