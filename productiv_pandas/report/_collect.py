"""What a report needs from a status frame, collected whole or chunk by chunk.

A report shows counts, a few examples and a timeline, never every row: so the file functions
feed each chunk's status to a :class:`ReportCollector` as they go, and a report of a file of
any size needs neither its status file nor a second pass. Memory stays flat: counts per status
and per problem code, at most :data:`EXAMPLES` examples a code, and one count per hour and
status for the timeline (hours between 2000 and a day after the run's ``now``: bounded
whatever the number of rows). A whole status frame is one chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._long_form import problems
from ..preparation._run_info import RUN_KEY
from ..preparation._schema import MIN_TIMESTAMP_MS
from ..preparation._terms import format_label
from ..status import PROBLEM_DTYPE, STATUS_DTYPE, STATUSES

__all__ = [
    "EXAMPLES",
    "HOUR_MS",
    "REASON_CHARS",
    "VALUE_CHARS",
    "Example",
    "ProblemRows",
    "ReportCollector",
    "ReportData",
    "collect",
    "now_ms",
    "problem_rows",
]

#: Example rows kept per problem code: enough for the export's owner to find the pattern.
EXAMPLES = 5
#: Longest value and reason an example keeps, in characters (a value can be megabytes); the
#: cut is said ("… (N more characters)") so nobody takes it for the whole value.
VALUE_CHARS = 200
REASON_CHARS = 400
HOUR_MS = 3_600_000
#: How far after the run's ``now`` the timeline still counts rows (later ones are a unit mistake).
_LATER_SHOWN_MS = 24 * HOUR_MS
_FUTURE = "timestamp.future"
_NEEDED = ("timestamp", "status", "reason", "problem", "stale")


@dataclass(frozen=True)
class Example:
    """One example row of a problem: its index label (as typed), the offending value, the reason."""

    label: str
    value: str | None
    reason: str | None


@dataclass(frozen=True)
class ProblemRows:
    """A problem code, the rows that have it, and the first :data:`EXAMPLES` of them."""

    code: str
    rows: int
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, in plain values: equal for a file run and its whole frame.

    ``counts`` is rows per status (every status, in :data:`STATUSES` order); ``problems`` is
    most frequent first (ties by code); ``hours`` holds ``(hour, counts per status)`` for each
    hour with rows, ``hour`` in hours since the epoch; ``untimed`` counts the rows left out of
    the timeline (no readable timestamp, or outside 2000 .. a day after ``now``); ``run`` is
    what prepare noted of the options (see :mod:`productiv_pandas.preparation._run_info`).
    """

    rows: int
    counts: dict[str, int]
    problems: tuple[ProblemRows, ...]
    stale: int
    future: int
    hours: tuple[tuple[int, tuple[int, ...]], ...]
    untimed: int
    run: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


class ReportCollector:
    """Add status frames (chunks of one run, in order); :meth:`data` gives the report's data."""

    def __init__(self) -> None:
        self.rows = 0
        self._counts = np.zeros(len(STATUSES), dtype=np.int64)
        self._codes: dict[str, int] = {}
        self._examples: dict[str, list[Example]] = {}
        self._hours: dict[int, np.ndarray] = {}
        self.stale = 0
        self.future = 0
        self.untimed = 0
        self.run: dict[str, Any] = {}

    def add(self, status: pd.DataFrame, long: pd.DataFrame | None = None) -> None:
        """Count one chunk's rows; keep examples while a code has fewer than :data:`EXAMPLES`.

        ``long`` is the chunk's :func:`problem_rows`, when the caller has it already (a file
        run's tally needs it too: built once a chunk, not twice)."""
        missing = [name for name in _NEEDED if name not in getattr(status, "columns", ())]
        if not isinstance(status, pd.DataFrame) or missing:
            raise TypeError(
                f"a report reads a status frame (from validate or publish); this one has no column(s) "
                f"{missing or list(_NEEDED)}"
            )
        if not self.run and isinstance(status.attrs.get(RUN_KEY), dict):
            self.run = dict(status.attrs[RUN_KEY])
        elif isinstance(status.attrs.get(RUN_KEY), dict) and "app_id" in status.attrs[RUN_KEY]:
            self.run.setdefault("app_id", status.attrs[RUN_KEY]["app_id"])
        states = pd.Categorical(status["status"], dtype=STATUS_DTYPE)
        codes = np.asarray(states.codes, dtype=np.int64)
        self.rows += len(status)
        self._counts += np.bincount(codes[codes >= 0], minlength=len(STATUSES))
        self.stale += int(status["stale"].fillna(False).astype(bool).sum())
        self._problems(problem_rows(status) if long is None else long)
        self._timeline(status["timestamp"], codes)

    def _problems(self, long: pd.DataFrame) -> None:
        if not len(long):
            return
        per_code = long["problem"].value_counts(sort=False)
        for code, count in per_code[per_code > 0].items():
            self._codes[str(code)] = self._codes.get(str(code), 0) + int(count)
        self.future += int(per_code.get(_FUTURE, 0))
        wanted = [
            code for code in per_code[per_code > 0].index if len(self._examples.get(code, ())) < EXAMPLES
        ]
        if not wanted:
            return
        # The first entries of each code still short of examples: a head per group, not a loop over rows.
        first = long[long["problem"].isin(wanted).to_numpy()]
        first = first.groupby("problem", observed=True, sort=False).head(EXAMPLES)
        values = first["value"].to_numpy(dtype=object, na_value=None)
        reasons = first["reason"].to_numpy(dtype=object, na_value=None)
        for label, code, value, reason in zip(first.index, first["problem"], values, reasons, strict=True):
            kept = self._examples.setdefault(str(code), [])
            if len(kept) < EXAMPLES:
                kept.append(
                    Example(
                        _kept(format_label(label), VALUE_CHARS) or "",
                        _kept(value, VALUE_CHARS),
                        _kept(reason, REASON_CHARS),
                    )
                )

    def _timeline(self, timestamp: pd.Series, codes: np.ndarray) -> None:
        ms = pd.array(timestamp, dtype="Int64")
        known = ~np.asarray(ms.isna())
        values = ms.to_numpy(dtype=np.int64, na_value=0)
        latest = now_ms(self.run) + _LATER_SHOWN_MS
        shown = known & (values >= MIN_TIMESTAMP_MS) & (values <= latest) & (codes >= 0)
        self.untimed += int(len(values) - shown.sum())
        if not shown.any():
            return
        key = (values[shown] // HOUR_MS) * len(STATUSES) + codes[shown]
        keys, counts = np.unique(key, return_counts=True)
        for one, count in zip(keys.tolist(), counts.tolist(), strict=True):
            hour, state = divmod(one, len(STATUSES))
            row = self._hours.get(hour)
            if row is None:
                row = self._hours[hour] = np.zeros(len(STATUSES), dtype=np.int64)
            row[state] += count

    def data(self, source: str | None = None) -> ReportData:
        order = sorted(self._codes, key=lambda code: (-self._codes[code], code))
        return ReportData(
            rows=self.rows,
            counts={name: int(count) for name, count in zip(STATUSES, self._counts, strict=True)},
            problems=tuple(
                ProblemRows(code, self._codes[code], tuple(self._examples.get(code, ()))) for code in order
            ),
            stale=self.stale,
            future=self.future,
            hours=tuple((hour, tuple(int(c) for c in self._hours[hour])) for hour in sorted(self._hours)),
            untimed=self.untimed,
            run=dict(self.run),
            source=source if source is not None else self.run.get("source"),
        )


def collect(status: pd.DataFrame, source: str | None = None) -> ReportData:
    """The report's data of a whole status frame (one chunk)."""
    collector = ReportCollector()
    collector.add(status)
    return collector.data(source)


#: The columns :func:`~productiv_pandas._long_form.problems` reads.
_LONG_FORM_READS = frozenset({"status", "problem", "reason", "timestamp", "email", "eventName", "targetApp"})


def problem_rows(status: pd.DataFrame) -> pd.DataFrame:
    """:func:`~productiv_pandas._long_form.problems` of a status frame, built from its rows
    with a problem code only: the same entries (a row without one has none), without taking
    every valid row through it (half its cost on a chunk of mostly valid rows)."""
    code = pd.Categorical(status["problem"], dtype=PROBLEM_DTYPE).codes
    has = np.flatnonzero(code >= 0)
    if len(has) == len(status):
        return problems(status)
    # Only the columns problems() reads are taken (a status frame has a dozen).
    read = [name for name in status.columns if name in _LONG_FORM_READS]
    return problems(status[read].iloc[has])


def now_ms(run: dict[str, Any]) -> int:
    """The run's reference time (prepare's ``now``), or the current time for a frame without it."""
    try:
        stamp = pd.Timestamp(run["ran_at"])
    except (KeyError, ValueError, TypeError):
        stamp = pd.Timestamp.now(tz="UTC")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)


def _kept(text: object, limit: int) -> str | None:
    """A label, value or reason cut to ``limit`` characters, the cut said."""
    if text is None:
        return None
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit:,} more characters)"
