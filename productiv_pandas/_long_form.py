"""The long form of a status frame: one row per (input row, problem), like pandera's failure cases."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import pyarrow as pa

from .preparation._findings import ProblemDetail
from .preparation._prepare import DETAIL_KEY
from .problem_codes import FIELD_OF, PROBLEM_CODES
from .status import PROBLEM_DTYPE, PROBLEM_STATUSES, STATUSES

__all__ = ["count_problems", "most_frequent_first", "problems"]

_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
_FIELD_OF_NUMBER = np.array([FIELD_OF[code] for code in PROBLEM_CODES], dtype=object)
_COLUMNS = ("status", "column", "problem", "value", "reason")


def problems(status: pd.DataFrame) -> pd.DataFrame:
    """Every problem of every row of a status frame, one row per (input row, problem).

    Parameters
    ----------
    status : DataFrame
        A status frame (from ``validate``, ``publish``, ``validate_file(status_out=...)`` read
        back, ...), or any subset of its rows. A Dask status frame gives a Dask long form
        (lazily, one partition's at a time).

    Returns
    -------
    DataFrame
        Indexed by the input row's index label, repeated for a row with several problems (a
        bad email and an unknown event name: two entries), in the frame's row order; columns
        ``status``, ``column`` (the API field concerned: ``timestamp``, ``email``,
        ``eventName``, ``targetApp``, or missing for a problem of the row or its delivery),
        ``problem`` (the code, a Categorical over :data:`~productiv_pandas.PROBLEMS`),
        ``value`` (the offending value as text, or missing) and ``reason`` (the sentence of
        this one problem). ``valid`` and ``sent`` rows have no entry; every other row at least one.

    Notes
    -----
    Only ``invalid`` rows can have several problems; prepare keeps them in the frame's
    ``attrs`` (an immutable object that pandas copies for free). A row is matched to them by
    its whole ``reason`` (rendered from exactly those problems), so subsets, sorting,
    ``reset_index``, duplicated labels and ``concat`` of frames sharing that object all keep
    every problem of a row, and a row never gets another row's. Rows
    that cannot be matched (a frame read back from a file, ``attrs`` dropped by ``concat``,
    rows whose ``problem`` no longer agrees) get one entry from their ``problem`` and
    ``reason`` columns, the ``value`` from the frame's own column of that field when it holds
    one. The Dask status frame is concatenated from partitions, so it always takes this path.
    """
    if not isinstance(status, pd.DataFrame) and type(status).__module__.split(".")[0] == "dask":
        from ._dask.frames import problems as dask_problems  # a Dask status frame: lazily

        return dask_problems(status)
    if not isinstance(status, pd.DataFrame) or not {"status", "problem", "reason"} <= set(status.columns):
        raise TypeError("expected a status frame (with columns 'status', 'reason' and 'problem')")
    code = pd.Categorical(status["problem"], dtype=PROBLEM_DTYPE).codes.astype(np.int64)
    states = status["status"].to_numpy(dtype=object)
    has = code >= 0
    rows_detail, sentence, detail = _matched(status, code, states)
    has[rows_detail] = False
    fallback = np.flatnonzero(has)

    # Entries: (row position, entry code, value text, reason text), detail first, then sorted.
    row = np.concatenate([rows_detail, fallback])
    if detail is not None and len(rows_detail):
        codes_detail = detail.code[sentence]
        value_detail = detail.value.take(pa.array(sentence))
        text_detail = detail.text.take(pa.array(sentence))
    else:
        codes_detail = np.array([], dtype=np.int64)
        value_detail = text_detail = pa.array([], type=pa.large_string())
    entry_code = np.concatenate([codes_detail, code[fallback]]).astype(np.int64)
    value = pa.concat_arrays([value_detail, _own_values(status, fallback, code[fallback])])
    reason = pa.concat_arrays([text_detail, _large_text(status["reason"].iloc[fallback])])
    order = np.argsort(row, kind="stable")
    row, entry_code = row[order], entry_code[order]
    take = pa.array(order)
    frame = pd.DataFrame(
        {
            "status": status["status"].array.take(row),
            "column": pd.array(_FIELD_OF_NUMBER[entry_code], dtype=_TEXT),
            "problem": pd.Categorical.from_codes(entry_code, dtype=PROBLEM_DTYPE),
            "value": pd.array(value.take(take), dtype=_TEXT),
            "reason": pd.array(reason.take(take), dtype=_TEXT),
        },
        copy=False,
    )
    frame.index = status.index.take(row)
    return frame


def _matched(
    status: pd.DataFrame, code: np.ndarray, states: np.ndarray
) -> tuple[np.ndarray, np.ndarray, ProblemDetail | None]:
    """The rows whose problems the frame's detail holds: ``(row of each entry, its sentence)``.

    A row is matched by its ``reason``, looked up whole (an equality join, nothing is read out
    of the sentence) among the reasons the detail rendered: a reason is made from exactly its
    row's entries, so equal reasons have equal entries, and the match holds whatever became
    of the index (a subset, ``reset_index``, duplicated labels, ``concat`` of the same frame).
    Only ``invalid`` rows whose ``problem`` is still the detail's first are matched.
    """
    empty = np.array([], dtype=np.int64)
    detail = status.attrs.get(DETAIL_KEY)
    if not isinstance(detail, ProblemDetail) or not len(detail.positions) or not hasattr(detail, "reasons"):
        return empty, empty, None  # (no ``reasons``: unpickled from an older version)
    candidates = np.flatnonzero((states == "invalid") & (code >= 0))
    if not len(candidates):
        return empty, empty, None
    starts = np.flatnonzero(np.r_[True, detail.positions[1:] != detail.positions[:-1]])
    sizes = np.diff(np.r_[starts, len(detail.positions)])
    reasons = detail.reasons
    if pa.types.is_dictionary(reasons.type):  # indices into prepare's sentences: decoded here
        reasons = reasons.dictionary.take(reasons.indices)
    known = pd.Series(pd.array(reasons, dtype=_TEXT)).drop_duplicates()
    found = pd.Index(known.array).get_indexer(status["reason"].iloc[candidates].astype(_TEXT).array)
    hit = found >= 0
    which = np.full(len(candidates), -1, dtype=np.int64)
    which[hit] = known.index.to_numpy()[found[hit]]  # the detail's row of that reason
    first = detail.code[detail.sentence[starts[np.maximum(which, 0)]]]
    usable = hit & (first == code[candidates])
    rows, which = candidates[usable], which[usable]
    counts = sizes[which]
    entries = np.repeat(starts[which], counts) + (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    return np.repeat(rows, counts), detail.sentence[entries], detail


def _large_text(values: pd.Series) -> pa.Array:
    """A text column's values as an Arrow large_string array (missing -> null)."""
    return pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.large_string())


def _own_values(status: pd.DataFrame, rows: np.ndarray, codes: np.ndarray) -> pa.Array:
    """For rows without detail: the frame's own value of the field each code concerns."""
    out = np.full(len(rows), None, dtype=object)
    fields = _FIELD_OF_NUMBER[codes]
    for field in ("timestamp", "email", "eventName", "targetApp"):
        pick = np.flatnonzero(fields == field)
        if len(pick) and field in status.columns:
            chosen = status[field].iloc[rows[pick]]
            text = chosen.astype(_TEXT).to_numpy(dtype=object, na_value=None)
            out[pick] = text
    return pa.array(out, type=pa.large_string())


def count_problems(status: pd.DataFrame, statuses: Collection[str] = PROBLEM_STATUSES) -> pd.DataFrame:
    """Rows per problem code (index) and status (columns, ``statuses``), most frequent first.

    Counted from :func:`problems`, so a row with several problems counts once under each; the
    charts, the file report and the command line's summary all count here. Codes without rows
    are left out; ties are broken by the code, alphabetically.
    """
    wanted = list(statuses)
    if not set(wanted) <= set(STATUSES):
        raise ValueError(f"statuses must be among {list(STATUSES)}, got {wanted}")
    long = problems(status)
    long = long[long["status"].isin(wanted).to_numpy(dtype=bool)]
    table = pd.crosstab(
        pd.Categorical(long["problem"].astype(object), categories=PROBLEM_CODES),
        pd.Categorical(long["status"].astype(object), categories=wanted),
        rownames=["problem"],
        colnames=["status"],
        dropna=False,
    )
    table = table.reindex(index=PROBLEM_CODES, columns=wanted, fill_value=0).astype("int64")
    table.index = pd.Index(list(table.index), name="problem", dtype=object)
    table.columns = pd.Index(wanted, name="status", dtype=object)
    return most_frequent_first(table[table.sum(axis=1) > 0])


def most_frequent_first(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a code-by-status count table, most rows first (ties: by code, alphabetically)."""
    order = table.sum(axis=1).sort_index().sort_values(ascending=False, kind="stable").index
    return table.loc[order]
