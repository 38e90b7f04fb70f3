"""Charts of the status frame: rows per status, rows over time, and why rows were not sent.

Each chart reads a status frame from validate() or publish() and recomputes nothing of the
validation; a status has the same colour (:data:`STATUS_COLORS`) in every chart. ``plot_status``,
``plot_timeline`` and ``plot_reasons`` draw on ``ax=`` (a new figure by default) and return it;
``plot_dashboard`` returns a Figure; :func:`plot` picks one by ``kind``. New figures come from
pyplot, so they show in notebooks (end the line with ``;`` to avoid a second copy) and with
``plt.show()``; close them with ``plt.close(fig)``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._compat import fixed_interval
from ._long_form import count_problems
from .preparation._options import STALE_AFTER
from .preparation._schema import MIN_TIMESTAMP_MS
from .status import PROBLEM_STATUSES, STATUS_DTYPE, STATUSES

__all__ = [
    "PROBLEM_STATUSES",
    "STATUS_COLORS",
    "count_problems",
    "plot",
    "plot_dashboard",
    "plot_reasons",
    "plot_status",
    "plot_timeline",
]

#: One colour per status, the same in every chart: Okabe & Ito's colour-blind-safe palette (blue
#: and green for good outcomes, grey and orange for deliberate ones, red, purple, black for problems).
STATUS_COLORS = MappingProxyType(
    {
        "valid": "#56B4E9",
        "sent": "#009E73",
        "invalid": "#D55E00",
        "duplicate": "#999999",
        "skipped": "#E69F00",
        "rejected": "#CC79A7",
        "failed": "#000000",
    }
)
#: The timeline leaves out rows later than ``now`` plus this (a unit mistake puts them centuries away).
FUTURE_SHOWN = pd.Timedelta(days=1)


def _status_codes(status: pd.DataFrame, needed: tuple[str, ...]) -> pd.Series:
    """The ``status`` column as the categorical of STATUSES, after checking the frame's shape
    (a status frame read back from CSV has plain text there)."""
    if not isinstance(status, pd.DataFrame):
        raise TypeError(f"expected a status frame (a DataFrame), got {type(status).__name__}")
    missing = [name for name in ("status", *needed) if name not in status.columns]
    if missing:
        raise ValueError(f"expected a status frame from validate() or publish(); no column(s) {missing}")
    unknown = status["status"][~status["status"].isin(STATUSES) & status["status"].notna()].unique()
    if len(unknown):
        raise ValueError(f"unknown status value(s) {list(unknown)[:5]}; expected one of {list(STATUSES)}")
    return status["status"].astype(STATUS_DTYPE)


def _new_axes(size: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt  # here, so that importing this module picks no backend

    return plt.subplots(figsize=size, layout="constrained")[1]


def _say(ax: Axes, text: str) -> None:
    """Write ``text`` in the middle of an axes that has nothing to draw."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.35")
    ax.set_xticks([])
    ax.set_yticks([])


def _stacked(ax: Axes, at: np.ndarray, table: pd.DataFrame, *, horizontal=False, **style) -> np.ndarray:
    """Bars at ``at``, one container per column of ``table`` (a status) stacked in column order,
    in the status's colour and labelled with it; returns the totals."""
    base = np.zeros(len(table), dtype=np.int64)
    draw = ax.barh if horizontal else ax.bar
    for name in table.columns:
        size = table[name].to_numpy(dtype=np.int64)
        where: dict[str, Any] = {"left" if horizontal else "bottom": base.copy()}
        draw(at, size, **where, color=STATUS_COLORS[name], label=name, **style)
        base += size
    return base


def plot_status(status: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Rows per status, one bar per status present (in STATUSES order), stale rows hatched.

    Each bar stacks the rows that are not stale and, hatched on top, the stale ones (older than
    12 hours); the label above gives the total and the stale count. Statuses without rows get
    no bar, so a validate() chart is not padded with publish's statuses.
    """
    codes = _status_codes(status, ("stale",))
    stale = status["stale"].fillna(False).astype(bool).to_numpy()
    counts = codes.value_counts(sort=False).reindex(STATUSES, fill_value=0)
    shown = [name for name in STATUSES if counts[name]]
    stale_counts = codes[stale].value_counts(sort=False).reindex(shown, fill_value=0).to_numpy()
    ax = _new_axes((7, 4.5)) if ax is None else ax
    ax.set(title=f"Rows per status ({len(status):,} rows)", xlabel="status", ylabel="rows")
    if not shown:
        _say(ax, "no rows")
        return ax
    x, colors = np.arange(len(shown)), [STATUS_COLORS[name] for name in shown]
    fresh = counts[shown].to_numpy() - stale_counts
    ax.bar(x, fresh, color=colors, label="not stale")
    # White hatching reads on every colour of the palette, black included.
    top = ax.bar(x, stale_counts, bottom=fresh, color=colors, edgecolor="white", linewidth=0,
                 hatch="///", label="stale")  # fmt: skip
    # Two-line labels of five or more bars overlap their neighbours at the default size.
    ax.bar_label(top, padding=2, fontsize="small" if len(shown) > 4 else None, labels=[
        f"{total:,}" + (f"\n({late:,} stale)" if late else "")
        for total, late in zip(counts[shown], stale_counts, strict=True)
    ])  # fmt: skip
    ax.set_xticks(x, shown, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, counts.max() * 1.25)  # room for the labels: zero-height bars pin the autoscale
    if stale_counts.any():
        patch = Patch(facecolor="0.45", edgecolor="white", linewidth=0, hatch="///")
        ax.legend(handles=[patch], labels=["stale (older than 12 h)"], loc="upper right")
    return ax


def _utc(now: object) -> pd.Timestamp:
    """``now`` as a UTC Timestamp; naive values are read as UTC, None is the current time."""
    stamp = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if pd.isna(stamp):
        raise ValueError(f"now must be a point in time, got {now!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def plot_timeline(
    status: pd.DataFrame, *, ax: Axes | None = None, now: object = None, freq: str = "h"
) -> Axes:
    """Rows per hour (or per ``freq``) of event time, stacked by status, with ``now`` and the
    staleness limit (``now`` - 12 h) drawn as vertical lines (x values are matplotlib dates).

    ``now`` defaults to the current time (naive values are UTC): pass validate()'s ``now`` to
    see the limit it applied. Rows without a readable timestamp, before 2000-01-01 or more than
    a day after ``now`` are left out and counted under the x axis.
    """
    codes = _status_codes(status, ("timestamp",))
    when = _utc(now)
    try:
        step = fixed_interval(freq)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq must be a fixed interval such as 'h', '15min' or 'D', got {freq!r}") from exc
    ms = status["timestamp"].astype("Int64")
    readable = ms.notna().to_numpy()
    latest = (when + FUTURE_SHOWN).value // 1_000_000
    inside = readable & ms.between(MIN_TIMESTAMP_MS, latest).fillna(False).to_numpy(dtype=bool)
    bins = pd.to_datetime(ms[inside].astype("int64").to_numpy(), unit="ms").floor(step)
    table = pd.crosstab(bins, codes[inside].to_numpy()) if inside.any() else pd.DataFrame()
    table = table.reindex(columns=[name for name in STATUSES if name in table.columns])
    unit = {pd.Timedelta(hours=1): "hour", pd.Timedelta(days=1): "day"}.get(step, f"{freq} interval")
    left_out = [(int((~readable).sum()), "without a readable timestamp"),
                (int((readable & ~inside).sum()), "before 2000 or over a day after now")]  # fmt: skip
    note = ", ".join(f"{count:,} {why}" for count, why in left_out if count)
    ax = _new_axes((10, 4.5)) if ax is None else ax
    ax.set(title=f"Rows per {unit} by status", ylabel=f"rows per {unit}",
           xlabel="event time (UTC)" + (f"; not shown: {note}" if note else ""))  # fmt: skip
    at = mdates.date2num(table.index.to_numpy()) if len(table) else np.array([])
    _stacked(ax, at, table, width=step / pd.Timedelta(days=1), align="edge")
    now_x, limit_x = mdates.date2num([when.tz_localize(None), (when - STALE_AFTER).tz_localize(None)])
    if table.empty:  # the hours around now, rather than matplotlib's default span of years
        _say(ax, "no rows with a timestamp to place")
        ax.set_xlim(limit_x - 0.25, now_x + 0.25)
    ax.axvline(limit_x, color="0.2", linestyle="--", linewidth=1.2, label="staleness limit (now - 12 h)")
    ax.axvline(now_x, color="0.2", linestyle=":", label="now")
    ax.annotate("stale ←", (limit_x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -3),
                textcoords="offset points", ha="right", va="top", color="0.2")  # fmt: skip
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return ax


def plot_reasons(status: pd.DataFrame, *, ax: Axes | None = None, top: int = 10,
                 statuses: Collection[str] = PROBLEM_STATUSES) -> Axes:  # fmt: skip
    """The ``top`` most frequent problems (codes, :data:`~productiv_pandas.PROBLEMS`) of
    invalid, rejected and failed rows (or ``statuses``), as horizontal bars stacked by status;
    see :func:`count_problems` (the status frame's ``problem`` column and its long form,
    :func:`productiv_pandas.problems`: no reason is read)."""
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive whole number, got {top!r}")
    _status_codes(status, ("problem", "reason"))
    table = count_problems(status, statuses)
    shown = table.head(top)
    ax = _new_axes((8, 0.45 * len(shown) + 2)) if ax is None else ax
    which = ", ".join(table.columns)
    more = f", top {top} of {len(table)} problems" if len(table) > top else ""
    ax.set(title=f"Most frequent problems ({which} rows{more})", ylabel="problem",
           xlabel="rows (a row with several problems counts once for each)")  # fmt: skip
    if shown.empty:
        _say(ax, f"no {' or '.join(table.columns)} rows: nothing to explain")
        return ax
    totals = _stacked(ax, np.arange(len(shown)), shown.loc[:, shown.sum() > 0], horizontal=True)
    # Axes.containers is typed list[Container]; _stacked's last container is a BarContainer.
    ax.bar_label(ax.containers[-1], labels=[f"{total:,}" for total in totals], padding=3)  # type: ignore[arg-type]
    ax.set_yticks(np.arange(len(shown)), shown.index)
    ax.set_xlim(0, totals.max() * 1.12)  # room for the labels: zero-width bars pin the autoscale
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    return ax


def plot_dashboard(status: pd.DataFrame, *, now: object = None, freq: str = "h", top: int = 10) -> Figure:
    """One figure: rows per status and the most frequent problems on top, the timeline below."""
    import matplotlib.pyplot as plt

    codes = _status_codes(status, ())
    counts = codes.value_counts(sort=False)
    summary = ", ".join(f"{counts[name]:,} {name}" for name in STATUSES if counts[name])
    fig = plt.figure(figsize=(14, 9), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(2, 3))
    plot_status(status, ax=fig.add_subplot(grid[0, 0]))
    plot_reasons(status, ax=fig.add_subplot(grid[0, 1]), top=top)
    plot_timeline(status, ax=fig.add_subplot(grid[1, :]), now=now, freq=freq)
    fig.suptitle(f"Status of {len(status):,} rows" + (f": {summary}" if summary else ""), fontsize="x-large")
    return fig


_CHARTS: Mapping[str, Callable[..., Figure | Axes]] = MappingProxyType(
    {"dashboard": plot_dashboard, "status": plot_status, "timeline": plot_timeline, "reasons": plot_reasons}
)


def plot(status: pd.DataFrame, kind: str = "dashboard", **kwargs) -> Figure | Axes:
    """Draw one chart of a status frame.

    Parameters
    ----------
    status : DataFrame
        A status frame from validate() or publish() (or one read back from CSV/Parquet).
    kind : {"dashboard", "status", "timeline", "reasons"}
        "dashboard" (:func:`plot_dashboard`) returns a Figure; "status" (:func:`plot_status`),
        "timeline" (:func:`plot_timeline`) and "reasons" (:func:`plot_reasons`) an Axes.
    **kwargs
        Passed to that function: ``ax``, ``now``, ``freq``, ``top``, ``statuses``.

    Examples
    --------
    >>> import pandas as pd, productiv_pandas as pp
    >>> now = pd.Timestamp("2024-05-01 12:00", tz="UTC")
    >>> events = pd.DataFrame({"timestamp": [now - pd.Timedelta("1h")] * 2,
    ...                        "email": ["a@x.com", "bob@"], "eventName": ["open"] * 2})
    >>> ax = plot(pp.validate(events, now=now), kind="reasons")
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['email.no_domain']
    """
    if kind not in _CHARTS:
        close = difflib.get_close_matches(str(kind), _CHARTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"kind must be one of {list(_CHARTS)}, got {kind!r}{hint}")
    return _CHARTS[kind](status, **kwargs)
