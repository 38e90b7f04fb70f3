"""Problems as data: what each check found, as arrays, and the reasons rendered from them.

A :class:`Finding` is one kind of problem on some rows, as a structure of arrays: the rows'
positions, the values the problem is about, and how a distinct value becomes a problem code
and a sentence. :func:`settle` turns a stage's findings into the status frame's ``reason`` and
``problem`` columns and the long form's detail (:class:`ProblemDetail`), rendering one
sentence per distinct (finding, value) and mapping it onto the rows with array operations.

A row's sentences come in a fixed order (timestamp, email, eventName, targetApp, then the
app's rules: :data:`ORDER`), then in the order the findings were made; its ``problem`` is the
code of the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..problem_codes import FIELD_OF, PROBLEM_CODES

__all__ = [
    "CODE_NUMBER",
    "ORDER",
    "Finding",
    "ProblemDetail",
    "Settled",
    "coded",
    "render_each",
    "settle",
    "value_text",
]

#: Where each field's sentences go in a row's reason.
ORDER = {"timestamp": 0, "email": 10, "eventName": 20, "targetApp": 30, None: 40}
#: A problem code's number: its position in PROBLEM_CODES.
CODE_NUMBER = {code: number for number, code in enumerate(PROBLEM_CODES)}
_CODE_NUMBER = CODE_NUMBER
_TEXT = pa.large_string()


def value_text(value: object) -> str | None:
    """A value as the long form's ``value`` shows it: the text itself, a number as written,
    None for a missing value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and value != value:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if value is pd.NA or value is pd.NaT:
            return None
    except TypeError:  # pragma: no cover - comparisons of exotic objects
        pass
    return str(value)


@dataclass(frozen=True)
class Finding:
    """One kind of problem on some rows.

    ``explain(value) -> (code, sentence)`` is called once per distinct value of ``values``
    (one per row, same length as ``positions``); ``shown(value)`` gives the long form's text of
    it (default :func:`value_text`). ``order`` places the sentence in a row's reason
    (``ORDER[field]`` by default: the field the code concerns).
    """

    positions: np.ndarray
    values: Sequence | np.ndarray
    # Any: each finding's values have one type of their own (texts, epoch numbers, ...).
    explain: Callable[[Any], tuple[str, str]]
    field: str | None
    shown: Callable[[Any], str | None] = value_text
    #: Already rendered, one a row: ``(code numbers, sentences, value texts)`` (``values``
    #: unused), for problems whose every row is distinct (a bad clock's times), rendered in
    #: bulk as Arrow arrays (large_string).
    rendered: tuple[np.ndarray, pa.Array, pa.Array] | None = None

    @classmethod
    def fixed(cls, positions, code: str, sentence: str) -> Finding:
        """The same code and sentence for every row (no value)."""
        positions = np.asarray(positions, dtype=np.int64)
        return cls(
            positions, np.zeros(len(positions), dtype=np.int8), lambda _: (code, sentence), FIELD_OF[code],
            shown=lambda _: None,
        )  # fmt: skip


def _factorize(values) -> tuple[np.ndarray, list]:
    """(codes, uniques): strings and numbers are factorized, other objects each stand alone
    (an object column may hold unhashable lists, and ``True == 1`` would merge their words)."""
    if isinstance(values, pa.Array):
        if (
            pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        ) and not values.null_count:  # distinct texts, in order of appearance, as pd.factorize
            encoded = pc.dictionary_encode(values)
            return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_pylist()
        values = values.to_numpy(zero_copy_only=False)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        codes, uniques = pd.factorize(values)
        return codes, uniques.tolist()
    array = np.empty(len(values), dtype=object)
    array[:] = list(values) if not isinstance(values, np.ndarray) else values
    if pd.api.types.infer_dtype(array, skipna=False) == "string":
        codes, uniques = pd.factorize(array)
        return codes, list(uniques)
    return np.arange(len(array)), list(array)


def coded(code: str, explain: Callable[[object], str], value: object) -> tuple[str, str]:
    """``(code, explain(value))``: a finding's ``explain`` from a sentence-only one
    (``functools.partial(coded, code, explain)``)."""
    return code, explain(value)


def _listed(values) -> list:
    return values.to_pylist() if isinstance(values, pa.Array) else list(values)


def render_each(findings: list[Finding]) -> list[tuple[int, str]]:
    """``(position, sentence)`` of every finding's rows, in the order found: a debugging view."""
    out: list[tuple[int, str]] = []
    for finding in findings:
        positions = finding.positions.tolist()
        if finding.rendered is not None:
            out.extend(zip(positions, finding.rendered[1].to_pylist(), strict=True))
        else:
            out.extend(
                (position, finding.explain(value)[1])
                for position, value in zip(positions, _listed(finding.values), strict=True)
            )
    return out


class ProblemDetail(str):
    """Every problem of every row that has one, for :func:`productiv_pandas.problems`.

    Kept in the status frame's ``attrs``. Immutable and shared: ``copy``/``deepcopy`` give the
    object itself, so pandas copying ``attrs`` on every operation costs nothing; it equals only
    itself, so ``pd.concat`` of frames with different details keeps none. A ``str`` (a short
    note) so that ``to_parquet``, which writes ``attrs`` as JSON, writes the note and reads
    back a plain string (the long form then uses the ``problem`` and ``reason`` columns).

    ``index`` is the index of the status frame it was built for; ``positions`` (ascending) are
    rows of that frame, and each entry's problem is the ``sentence``-th of the small
    per-sentence arrays: ``code`` (number in PROBLEM_CODES), ``value`` (text or null) and
    ``text`` (the sentence). ``reasons`` holds each row's whole reason (one per distinct
    position, in order): the long form finds a row's entries by its reason, which is rendered
    from exactly those entries, so a row is never given another row's problems, whatever
    became of the index (``reset_index``, a subset, duplicated labels, ``concat``).
    """

    index: pd.Index
    positions: np.ndarray
    sentence: np.ndarray
    code: np.ndarray
    value: pa.Array
    text: pa.Array
    reasons: pa.Array

    @classmethod
    def build(cls, index, positions, sentence, code, value, text, reasons) -> ProblemDetail:
        rows = int(np.count_nonzero(np.diff(positions))) + 1 if len(positions) else 0
        detail = cls(f"{len(positions)} problem(s) of {rows} row(s): see productiv_pandas.problems(status)")
        for name, item in zip(
            ("index", "positions", "sentence", "code", "value", "text", "reasons"),
            (index, positions, sentence, code, value, text, reasons),
            strict=True,
        ):
            if isinstance(item, np.ndarray):
                item.flags.writeable = False
            object.__setattr__(detail, name, item)
        return detail

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a ProblemDetail cannot be changed")

    def __deepcopy__(self, memo) -> ProblemDetail:
        return self

    def __copy__(self) -> ProblemDetail:
        return self

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"ProblemDetail({str.__str__(self)!r})"


@dataclass(frozen=True)
class Settled:
    """The rows with a problem (ascending positions) and each one's first code; and the reason
    of every row that has one (those, and the ``extra`` rows given to :func:`settle`): row
    ``reason_positions[i]``'s reason is ``reason_texts[reason_of[i]]`` (an index, so that the
    reason column is built by one take)."""

    rows: np.ndarray
    first_code: np.ndarray  # per row: number in PROBLEM_CODES
    reason_positions: np.ndarray
    reason_texts: pa.Array
    reason_of: np.ndarray
    detail: ProblemDetail | None = field(default=None)


def _explained(finding: Finding) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """``(sentence of each row, code number, text, value text of each sentence)`` of a finding:
    one sentence per distinct value (or the rendered ones, one a row)."""
    if finding.rendered is not None:
        row_codes, row_texts, row_values = finding.rendered
        return (
            np.arange(len(row_texts), dtype=np.int64),
            np.asarray(row_codes, np.int16),
            row_texts,
            row_values,
        )
    which, uniques = _factorize(finding.values)
    codes: list[int] = []
    texts: list[str] = []
    values: list[str | None] = []
    for value in uniques:
        name, text = finding.explain(value)
        if name not in _CODE_NUMBER:  # a code outside the vocabulary is a bug here
            raise ValueError(f"unknown problem code {name!r}; PROBLEMS lists the codes")
        codes.append(_CODE_NUMBER[name])
        texts.append(text)
        values.append(finding.shown(value))
    return (
        np.asarray(which, dtype=np.int64), np.array(codes, dtype=np.int16), pa.array(texts, type=_TEXT),
        pa.array(values, type=_TEXT),
    )  # fmt: skip


def _take_chunked(chunks: list[pa.Array], ids: np.ndarray) -> pa.Array:
    """``concat(chunks).take(ids)`` without concatenating the chunks (for few ``ids``)."""
    starts = np.cumsum([0, *(len(chunk) for chunk in chunks)])
    chunk = np.searchsorted(starts, ids, side="right") - 1
    order = np.argsort(chunk, kind="stable")
    pieces = [
        chunks[k].take(pa.array(ids[order][chunk[order] == k] - starts[k], type=pa.int64()))
        for k in np.unique(chunk).tolist()
    ]
    if not pieces:
        return pa.array([], type=_TEXT)
    back = np.empty(len(ids), dtype=np.int64)
    back[order] = np.arange(len(ids))
    return pa.concat_arrays(pieces).take(pa.array(back))


def problem_rows(findings: list[Finding]) -> np.ndarray:
    """The rows (ascending positions) with at least one problem: :func:`settle`'s ``rows``."""
    found = [np.asarray(finding.positions, dtype=np.int64) for finding in findings if len(finding.positions)]
    return np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)


def settle(
    findings: list[Finding], index: pd.Index, extra: tuple[np.ndarray, pa.Array] | None = None
) -> Settled:
    """Render the findings: one sentence per distinct (finding, value), mapped onto rows.

    Sentences stay in Arrow arrays throughout, copied once: the detail keeps one per distinct
    (finding, value); a row's reason is its sentence, or for the few rows with several, their
    join. ``extra`` is ``(positions, texts)``: reasons of other rows (no problem of theirs),
    carried in the same array so that the reason column is one take."""
    positions: list[np.ndarray] = []
    orders: list[np.ndarray] = []
    sentence_of: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    texts: list[pa.Array] = []
    values: list[pa.Array] = []
    base = 0
    for number, finding in enumerate(findings):
        if not len(finding.positions):
            continue
        which, code_numbers, text_of, value_of = _explained(finding)
        codes.append(code_numbers)
        texts.append(text_of)
        values.append(value_of)
        positions.append(np.asarray(finding.positions, dtype=np.int64))
        # Order key: field first, then the order the findings were made in.
        orders.append(np.full(len(finding.positions), ORDER[finding.field] * 1_000 + number, dtype=np.int64))
        sentence_of.append(base + which)
        base += len(text_of)
    extra_positions, extra_texts = extra or (np.array([], dtype=np.int64), pa.array([], type=_TEXT))
    extra_positions = np.asarray(extra_positions, dtype=np.int64)
    empty = np.array([], dtype=np.int64)
    if not positions:
        no_text = pa.array([], type=_TEXT)
        detail = ProblemDetail.build(index, empty, empty, empty, no_text, no_text, no_text)
        extra_of = np.arange(len(extra_positions), dtype=np.int64)
        return Settled(empty, empty, extra_positions, extra_texts, extra_of, detail)
    position = np.concatenate(positions)
    del positions
    sentence = np.concatenate(sentence_of)
    del sentence_of
    if len(orders) > 1:
        sort = np.lexsort((np.concatenate(orders), position))
        position, sentence = position[sort], sentence[sort]
        del sort
    del orders
    # The same sentence twice on a row counts once (the first kept); only rows with several
    # entries can have a repeat, usually few.
    repeated = position[1:] == position[:-1]
    several = np.flatnonzero(np.r_[repeated, False] | np.r_[False, repeated])
    if len(several):
        same_text, _ = pd.factorize(_take_chunked(texts, sentence[several]).to_numpy(zero_copy_only=False))
        key = position[several] * (int(same_text.max()) + 1) + same_text
        _, first = np.unique(key, return_index=True)
        if len(first) < len(key):
            keep = np.ones(len(position), dtype=bool)
            keep[several] = False
            keep[several[first]] = True
            position, sentence = position[keep], sentence[keep]
    starts = np.flatnonzero(np.r_[True, position[1:] != position[:-1]])
    rows = position[starts]
    code = np.concatenate(codes)
    # A row's reason: its sentence, or for the (few) rows with several, their join.
    reason_of = sentence[starts]
    count = np.diff(np.r_[starts, len(position)])
    multi = np.flatnonzero(count > 1)
    pieces = [*texts]
    if len(multi):
        sizes = count[multi]
        entries = np.repeat(starts[multi], sizes) + (
            np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        )
        offsets = pa.array(np.r_[0, np.cumsum(sizes)].astype(np.int64))
        pieces.append(
            pc.binary_join(
                pa.LargeListArray.from_arrays(offsets, _take_chunked(texts, sentence[entries])),
                pa.scalar("; ", _TEXT),
            )
        )
        reason_of[multi] = base + np.arange(len(multi))
    del texts
    reason_of = np.r_[reason_of, base + (len(multi) + np.arange(len(extra_positions)))]
    pieces.append(extra_texts)
    reason_texts = pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)
    del pieces
    value = values[0] if len(values) == 1 else pa.concat_arrays(values)
    # Each detailed row's whole reason, for the long form's matching: a dictionary over the
    # sentences just built (indices only, no copy of the text).
    row_reasons = pa.DictionaryArray.from_arrays(pa.array(reason_of[: len(rows)]), reason_texts)
    detail = ProblemDetail.build(
        index, position, sentence, code, value, reason_texts.slice(0, base), row_reasons
    )
    return Settled(
        rows, code[sentence[starts]], np.r_[rows, extra_positions], reason_texts, reason_of, detail
    )


def field_of(code_numbers: np.ndarray) -> np.ndarray:
    """The field (or None) of each code number, as an object array."""
    fields = np.array([FIELD_OF[code] for code in PROBLEM_CODES], dtype=object)
    return fields[code_numbers]
