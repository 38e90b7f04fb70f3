"""Frames that are not pandas: anything exporting an Arrow stream, read as a pandas frame.

pyarrow tables, batches and readers, polars DataFrames and DuckDB relations all export
``__arrow_c_stream__`` (the Arrow PyCapsule interface), so one conversion serves them all
without importing any of them: ``pa.table(obj)`` takes the stream (zero-copy for the buffers
the exporter already holds as Arrow), and ``to_pandas(types_mapper=pd.ArrowDtype)`` wraps its
columns without converting them to numpy or Python objects. prepare reads ``ArrowDtype``
columns natively (strings and string views, timestamps with or without a zone, integers,
dictionaries), so what a polars pipeline produced is checked as it is.

The result is indexed by row number (a RangeIndex): an Arrow table has no index, and a pandas
index stored in its metadata (``Table.from_pandas``) is ignored, so ``duplicate of row N``
always names a row of what was passed.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol, runtime_checkable

import pandas as pd

__all__ = ["ArrowFrame", "as_pandas", "exports_arrow", "from_arrow", "readable_stream"]


@runtime_checkable
class ArrowFrame(Protocol):
    """Anything exporting an Arrow stream: pyarrow Table/RecordBatch/RecordBatchReader, a polars
    DataFrame, a DuckDB relation."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> object: ...


def exports_arrow(obj: object) -> bool:
    """Whether ``obj`` exports an Arrow stream (pyarrow, polars, DuckDB, nanoarrow...)."""
    return hasattr(type(obj), "__arrow_c_stream__")


def from_arrow(obj: Any) -> pd.DataFrame:
    """An Arrow stream's rows as a pandas frame of ``ArrowDtype`` columns, indexed 0, 1, ..."""
    import pyarrow as pa

    obj = readable_stream(obj)
    table = obj if isinstance(obj, pa.Table) else pa.table(obj)
    return _signed_dictionaries(table).to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)


def _signed_dictionaries(table: Any) -> Any:
    """Dictionary columns with unsigned indices (polars' categoricals) given signed ones: older
    pyarrow cannot convert unsigned indices to pandas; the cast copies only the indices."""
    import pyarrow as pa

    for i, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_dictionary(kind) and pa.types.is_unsigned_integer(kind.index_type):
            signed = pa.dictionary(pa.int64(), kind.value_type, kind.ordered)
            table = table.set_column(i, column.name, table.column(i).cast(signed))
    return table


@functools.cache
def _reads_string_views() -> bool:
    """Whether this pyarrow can convert Arrow's ``string_view`` (pyarrow 15 cannot, at all)."""
    import pyarrow as pa

    try:
        pa.array(["x"], pa.string_view()).cast(pa.large_string())
    except (pa.ArrowNotImplementedError, AttributeError):
        return False
    return True


def readable_stream(obj: Any) -> Any:
    """``obj``, or, for a polars frame when pyarrow cannot read ``string_view`` (polars' string
    layout), the frame exported in polars' oldest layout (``large_string``), which it can."""
    if not _reads_string_views() and type(obj).__module__.split(".")[0] == "polars":
        import polars as pl

        return obj.to_arrow(compat_level=pl.CompatLevel.oldest())
    return obj


def as_pandas(frame: Any) -> pd.DataFrame:
    """``frame`` itself when it is a pandas DataFrame, else its Arrow stream read as one; a
    TypeError for anything else (before any work, naming what was passed)."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if exports_arrow(frame) and not isinstance(frame, pd.Series | pd.Index):  # a column, not a frame
        return from_arrow(frame)
    raise TypeError(
        f"expected a pandas DataFrame, got {type(frame).__name__} (a pyarrow, polars or DuckDB "
        "frame, anything exporting Arrow, works too)"
    )
