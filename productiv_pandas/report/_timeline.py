"""The report's timeline: rows per hour (or coarser) and status, as inline SVG.

Drawn from the collected counts, not from the rows (a file run has no status frame), in the
charts' colours (:data:`~productiv_pandas.plots.STATUS_COLORS`). Inline SVG rather than a PNG:
a few kilobytes whatever the rows, sharp when printed, and its text readable by a screen reader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._chart_layout import STATUS_COLORS
from ..preparation._options import STALE_AFTER
from ..status import STATUSES
from ._collect import HOUR_MS, ReportData
from ._text import page_text

__all__ = ["timeline_svg"]

#: Hours a bar may cover, the finest that keeps the chart under :data:`_MAX_BARS` bars.
_STEPS = (1, 2, 3, 6, 12, 24, 48, 168, 336, 720, 2160, 8760, 87600)
_MAX_BARS = 120
_WIDTH, _HEIGHT = 760, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 40


def _step_text(hours: int) -> str:
    names = {1: "hour", 24: "day", 168: "week", 8760: "year"}
    if hours in names:
        return names[hours]
    if hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} hours"


def _when(hour: int) -> str:
    return pd.Timestamp(hour * HOUR_MS, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def timeline_svg(data: ReportData, now_ms: int | None) -> str:
    """The chart, or an empty string when no row has a time to show."""
    if not data.hours:
        return ""
    hours = np.array([hour for hour, _ in data.hours], dtype=np.int64)
    counts = np.array([row for _, row in data.hours], dtype=np.int64)
    first, last = int(hours.min()), int(hours.max())
    step = next((s for s in _STEPS if (last - first) // s + 1 <= _MAX_BARS), _STEPS[-1])
    start = first - first % step
    slot = (hours - start) // step
    bars = np.zeros((int(slot.max()) + 1, len(STATUSES)), dtype=np.int64)
    np.add.at(bars, slot, counts)
    totals = bars.sum(axis=1)
    top = int(totals.max())
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    width = plot_w / len(bars)
    parts = [
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-labelledby="pp-timeline-title" class="pp-timeline">',
        f'<title id="pp-timeline-title">Rows per {_step_text(step)} and status, '
        f"{page_text(_when(start))} to {page_text(_when(start + len(bars) * step))}</title>",
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_WIDTH - _RIGHT}" y2="{_TOP + plot_h}" '
        'stroke="#555"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 10}" text-anchor="end">{top:,}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for index, row in enumerate(bars):
        y = _TOP + plot_h
        for name, count in zip(STATUSES, row.tolist(), strict=True):
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(
                f'<rect x="{_LEFT + index * width:.2f}" y="{y:.2f}" width="{max(width - 1, 0.6):.2f}" '
                f'height="{h:.2f}" fill="{STATUS_COLORS[name]}"><title>{count:,} {name}, '
                f"{page_text(_when(start + index * step))}</title></rect>"
            )
    if now_ms is not None:
        limit = (now_ms - STALE_AFTER.value // 1_000_000) / HOUR_MS
        x = _LEFT + (limit - start) / step * width
        if _LEFT <= x <= _WIDTH - _RIGHT:
            parts.append(
                f'<line x1="{x:.2f}" y1="{_TOP}" x2="{x:.2f}" y2="{_TOP + plot_h}" stroke="#333" '
                f'stroke-dasharray="4 3"/><text x="{x - 4:.2f}" y="{_TOP + 10}" text-anchor="end">'
                "stale before this line</text>"
            )
    base = _TOP + plot_h + 16
    parts.append(f'<text x="{_LEFT}" y="{base}">{page_text(_when(start))}</text>')
    parts.append(
        f'<text x="{_WIDTH - _RIGHT}" y="{base}" text-anchor="end">'
        f"{page_text(_when(start + len(bars) * step))}</text>"
    )
    parts.append(
        f'<text x="{_LEFT}" y="{base + 18}">one bar per {_step_text(step)}; times in UTC</text></svg>'
    )
    return "".join(parts)
