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

from typing import Any, Protocol, runtime_checkable

import pandas as pd

__all__ = ["ArrowFrame", "as_pandas", "exports_arrow", "from_arrow"]


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

    table = obj if isinstance(obj, pa.Table) else pa.table(obj)
    return table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)


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
