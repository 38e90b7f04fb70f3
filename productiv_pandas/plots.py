"""Charts of the status frame: rows per status, rows over time, and why rows were not sent.

Each chart reads a status frame from validate() or publish() and recomputes nothing of the
validation; a status has the same colour (:data:`STATUS_COLORS`) in every chart. ``plot_status``,
``plot_timeline`` and ``plot_reasons`` draw on ``ax=`` (a new figure by default) and return it;
``plot_dashboard`` returns a Figure; :func:`plot` picks one by ``kind``. New figures come from
pyplot, so they show in notebooks (end the line with ``;`` to avoid a second copy) and with
``plt.show()``; close them with ``plt.close(fig)``. Long texts are wrapped, never cut, and no
two texts overlap (tests/test_plots.py draws every chart for many mixes of statuses and checks).
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
from matplotlib.ticker import MaxNLocator

from ._chart_layout import (
    STATUS_COLORS,
    axes_width_in,
    join_names,
    label_column,
    log_count_axis,
    not_shown_text,
    rows_text,
    span_text,
    status_label,
    when_text,
    wrap_code,
    wrap_text,
)
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

#: The timeline leaves out rows later than ``now`` plus this (a unit mistake puts them centuries away).
FUTURE_SHOWN = pd.Timedelta(days=1)
#: The timeline shows this much time before ``now`` in detail (the staleness limit's span).
WINDOW = STALE_AFTER
# White hatching reads on every colour of the palette, black included.
_HATCH: dict[str, Any] = {"edgecolor": "white", "linewidth": 0, "hatch": "///"}


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


def _say(ax: Axes, text: str, *, ticks: bool = False) -> None:
    """Write ``text`` in the middle of an axes that has nothing (or nothing more) to draw."""
    ax.text(0.5, 0.5, wrap_text(text, axes_width_in(ax, 0.95)), transform=ax.transAxes,
            ha="center", va="center", color="0.35")  # fmt: skip
    if not ticks:
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
    """Rows per status: one horizontal bar per status present (in STATUSES order, top down) on a
    log axis, so that a status of a few rows stays visible beside a million sent ones.

    The stale rows of a status (older than 12 hours) are a hatched inner bar; the label beside
    each bar gives the rows, their share and the stale ones (``462 (1.6%), 92 stale``).
    Statuses without rows get no bar, so a validate() chart is not padded with publish's.
    """
    codes = _status_codes(status, ("stale",))
    stale = status["stale"].fillna(False).astype(bool).to_numpy()
    counts = codes.value_counts(sort=False).reindex(STATUSES, fill_value=0)
    shown = [name for name in STATUSES if counts[name]]
    stale_counts = codes[stale].value_counts(sort=False).reindex(shown, fill_value=0).to_numpy()
    ax = _new_axes((7, 1.8 + 0.45 * max(len(shown), 2))) if ax is None else ax
    ax.set(title=f"Rows per status ({rows_text(len(status))})")
    if not shown:
        _say(ax, "no rows")
        return ax
    y, totals = np.arange(len(shown)), counts[shown].to_numpy()
    colors = [STATUS_COLORS[name] for name in shown]
    ax.barh(y, totals, height=0.8, color=colors, label="rows")
    ax.barh(y, stale_counts, height=0.36, color=colors, label="stale", **_HATCH)
    log_count_axis(ax, int(totals.max()))
    ax.set_yticks(y, shown)
    pairs = zip(totals, stale_counts, strict=True)
    label_column(ax, y.tolist(), [status_label(int(total), int(late), len(status)) for total, late in pairs])
    # An empty row at the bottom for the legend, so that it covers no bar.
    # At least four rows high, so that one status is not one slab.
    ax.set_ylim(max(len(shown) + (1 if stale_counts.any() else 0), 4) - 0.5, -0.6)
    if stale_counts.any():
        patch = Patch(facecolor="0.45", **_HATCH)
        ax.legend(handles=[patch], labels=["stale (older than 12 h)"], loc="lower right", fontsize="small")
    return ax


def _utc(now: object) -> pd.Timestamp:
    """``now`` as a UTC Timestamp; naive values are read as UTC, None is the current time."""
    stamp = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if pd.isna(stamp):
        raise ValueError(f"now must be a point in time, got {now!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _ms(stamp: pd.Timestamp) -> int:
    return stamp.value // 1_000_000


def _window(now_ms: int, step_ms: int) -> tuple[int, int]:
    """The bins shown, ``(first bin's start, last bin's end)`` in ms: the bins of the 12 h before
    ``now``, up to the one holding ``now`` (13 hourly bins), or 12 bins for a longer ``freq``."""
    end = now_ms - now_ms % step_ms + step_ms
    span = _ms(pd.Timestamp(0) + WINDOW)
    if step_ms > span:
        return end - 12 * step_ms, end
    start = now_ms - span
    return start - start % step_ms, end


def plot_timeline(
    status: pd.DataFrame, *, ax: Axes | None = None, now: object = None, freq: str = "h"
) -> Axes:
    """Rows per hour (or per ``freq``) of event time in the 12 hours before ``now``, stacked by
    status, with ``now`` and the staleness limit (``now`` - 12 h) drawn as vertical lines (x
    values are matplotlib dates).

    The last bin, up to ``now``, is hatched: it is still filling. ``now`` defaults to the
    current time (naive values are UTC): pass validate()'s ``now`` to see the limit it applied.
    Rows outside the window are counted under the x axis (earlier ones with the oldest time;
    rows without a readable timestamp, before 2000 or more than a day after ``now``). When every
    row is older than the window, the chart shows the 12 hours before the newest row and says so.
    """
    codes = _status_codes(status, ("timestamp",))
    when = _utc(now)
    try:
        step = fixed_interval(freq)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq must be a fixed interval such as 'h', '15min' or 'D', got {freq!r}") from exc
    step_ms = _ms(pd.Timestamp(0) + step)
    ms_column = status["timestamp"].astype("Int64")
    readable = ms_column.notna().to_numpy()
    ms = ms_column.fillna(0).to_numpy(dtype=np.int64)
    placed = readable & (ms >= MIN_TIMESTAMP_MS) & (ms <= _ms(when + FUTURE_SHOWN))
    start, end = _window(_ms(when), step_ms)
    end_now = end
    recent = not (placed & (ms >= start)).any() and placed.any()
    if recent:  # every row is older than the window: the 12 h before the newest one instead
        newest = int(ms[placed].max())
        end = newest - newest % step_ms + step_ms
        start = end - (end_now - start)
    number = codes.cat.codes.to_numpy().astype(np.int64)  # -1: a row without a status, not drawn
    inside = placed & (ms >= start) & (ms < end) & (number >= 0)
    bins = (end - start) // step_ms
    cell = (ms[inside] - start) // step_ms * len(STATUSES) + number[inside]
    table = np.bincount(cell, minlength=bins * len(STATUSES)).reshape(bins, len(STATUSES))
    frame = pd.DataFrame(table, columns=list(STATUSES)).loc[:, table.sum(axis=0) > 0]

    unit = {pd.Timedelta(hours=1): "hour", pd.Timedelta(days=1): "day"}.get(step, f"{freq} interval")
    note = not_shown_text(ms[placed & (ms < start)], ms[placed & (ms >= end)],
                          int((readable & ~placed).sum()), int((~readable).sum()))  # fmt: skip
    ax = _new_axes((10, 4.5)) if ax is None else ax
    width = axes_width_in(ax, 0.85)
    title = f"Rows per {unit} by status"
    if recent:
        title += "\nevery row is older than the 12 h before now: "
        title += f"the 12 h up to the newest row ({when_text(newest)})"
    ax.set_title(wrap_text(title, width, "large"))
    ax.set_ylabel(f"rows per {unit}")
    # The span in words, rather than matplotlib's date offset, which the x label would cover.
    label = f"event time (UTC), {span_text(start, end)}" + (f"; not shown: {note}" if note else "")
    ax.set_xlabel(wrap_text(label, width))
    at = mdates.date2num(pd.to_datetime(np.arange(start, end, step_ms), unit="ms").to_numpy())
    totals = _stacked(ax, at, frame, width=step_ms / 86_400_000, align="edge")
    handles: list[Any] = list(ax.containers)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # rows: whole numbers
    partial = not recent and totals[-1] > 0
    if partial:  # the bin of now is still filling: hatched, so it does not read as a drop
        for container in ax.containers:
            container[-1].set(**_HATCH)
        handles.append(Patch(facecolor="0.45", label=f"partial {unit} (up to now)", **_HATCH))
    pad = (end - start) // 50
    ax.set_xlim(*mdates.date2num(pd.to_datetime([start - pad, end + pad], unit="ms").to_numpy()))
    if not placed.any():
        _say(ax, "no rows with a timestamp to place", ticks=True)
    elif not inside.any():
        _say(ax, "no rows in the 12 h before now", ticks=True)
    if not recent:
        now_x, limit_x = mdates.date2num([when.tz_localize(None), (when - STALE_AFTER).tz_localize(None)])
        handles.append(ax.axvline(limit_x, color="0.2", linestyle="--", linewidth=1.2,
                                  label="staleness limit (now - 12 h)"))  # fmt: skip
        handles.append(ax.axvline(now_x, color="0.2", linestyle=":", label="now"))
        ax.annotate("← stale", (limit_x, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", ha="left", va="top", color="0.2", size="small")  # fmt: skip
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return ax


def plot_reasons(status: pd.DataFrame, *, ax: Axes | None = None, top: int = 10,
                 statuses: Collection[str] = PROBLEM_STATUSES) -> Axes:  # fmt: skip
    """The ``top`` most frequent problems (codes, :data:`~productiv_pandas.PROBLEMS`) of
    invalid, rejected and failed rows (or ``statuses``), as horizontal bars stacked by status;
    see :func:`count_problems` (the status frame's ``problem`` column and its long form,
    :func:`productiv_pandas.problems`: no reason is read). The title names the statuses drawn;
    long codes are wrapped."""
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive whole number, got {top!r}")
    _status_codes(status, ("problem", "reason"))
    table = count_problems(status, statuses)
    shown = table.head(top)
    shown = shown.loc[:, shown.sum() > 0]
    ax = _new_axes((8, 0.4 * len(shown) + 2)) if ax is None else ax
    title = "Most frequent problems" + (f" ({join_names(list(shown.columns))} rows)" if len(shown) else "")
    if len(table) > top:
        title += f"\ntop {top} of {len(table)} problems"
    width = axes_width_in(ax, 0.9)
    ax.set_title(wrap_text(title, width, "large"))
    ax.set_ylabel("problem")
    ax.set_xlabel(wrap_text("rows (a row with several problems counts once for each)", width))
    if shown.empty:
        _say(ax, f"no {join_names(list(table.columns), 'or')} rows: nothing to explain")
        return ax
    totals = _stacked(ax, np.arange(len(shown)), shown, horizontal=True)
    # Axes.containers is typed list[Container]; _stacked's last container is a BarContainer.
    ax.bar_label(ax.containers[-1], labels=[f"{total:,}" for total in totals], padding=3)  # type: ignore[arg-type]
    labels = [wrap_code(code, axes_width_in(ax, 0.5)) for code in shown.index]
    ax.set_yticks(np.arange(len(shown)), labels, fontsize="small" if any("\n" in s for s in labels) else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, totals.max() * 1.15)  # room for the labels: zero-width bars pin the autoscale
    ax.set_ylim(max(len(shown), 5) - 0.5, -0.5)  # most frequent at the top; one bar is not a slab
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return ax


def plot_dashboard(status: pd.DataFrame, *, now: object = None, freq: str = "h", top: int = 10) -> Figure:
    """One figure: rows per status and the most frequent problems on top, the timeline below."""
    import matplotlib.pyplot as plt

    codes = _status_codes(status, ())
    counts = codes.value_counts(sort=False)
    summary = ", ".join(f"{counts[name]:,} {name}" for name in STATUSES if counts[name])
    fig = plt.figure(figsize=(14, 9.5), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(2, 3), height_ratios=(4, 3))
    plot_status(status, ax=fig.add_subplot(grid[0, 0]))
    plot_reasons(status, ax=fig.add_subplot(grid[0, 1]), top=top)
    plot_timeline(status, ax=fig.add_subplot(grid[1, :]), now=now, freq=freq)
    title = f"Status of {rows_text(len(status))}" + (f": {summary}" if summary else "")
    fig.suptitle(wrap_text(title, 13, "x-large"), fontsize="x-large")
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
