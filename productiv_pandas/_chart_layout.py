"""Text and layout of the charts: wrapping to a width, the label column beside bars, the log axis
of counts, the timeline's notes, names joined in a sentence.

The charts size their text before matplotlib lays the figure out: widths are measured with the
font matplotlib draws with, against the axes' width as placed before the layout (a little more
than it ends with); tests/test_plots.py draws every chart and checks that no two texts overlap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # matplotlib itself is imported where a chart is drawn: the HTML report and
    # the file runs that collect for it use the text helpers here without loading it (27 MiB)
    from matplotlib.axes import Axes

__all__ = [
    "STATUS_COLORS",
    "axes_width_in",
    "compact_count",
    "decade_ticks",
    "join_names",
    "label_column",
    "log_count_axis",
    "not_shown_text",
    "rows_text",
    "share_text",
    "span_text",
    "status_label",
    "text_width_in",
    "when_text",
    "wrap_code",
    "wrap_text",
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

# A date and time as the charts write it ("2026-11-25 23:30"), kept on one line by wrap_text.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
_KEEP = "\x00"


def text_width_in(text: str, fontsize: float | str = "medium") -> float:
    """The width of one line of ``text`` in inches, measured with matplotlib's own font (Agg)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, 72)  # 72 dpi: a point is a pixel
    width, _height, _descent = renderer.get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False
    )
    return width / 72


def axes_width_in(ax: Axes, share: float = 1.0) -> float:
    """``share`` of the width of ``ax`` in inches, as placed before the layout runs."""
    from matplotlib.figure import Figure

    figure = ax.get_figure(root=True)
    width = figure.get_figwidth() if isinstance(figure, Figure) else 6.4
    return max(ax.get_position().width * width * share, 0.5)


def wrap_text(text: str, width_in: float, fontsize: float | str = "medium") -> str:
    """``text`` broken into lines at spaces so that each fits ``width_in`` inches at ``fontsize``;
    existing line breaks are kept, a word (or a date and time) is never cut."""
    lines = []
    for paragraph in text.split("\n"):
        kept = _DATE_TIME.sub(lambda match: match.group().replace(" ", _KEEP), paragraph)
        line = ""
        for word in kept.split(" "):
            longer = f"{line} {word}" if line else word
            if line and text_width_in(longer.replace(_KEEP, " "), fontsize) > width_in:
                lines.append(line)
                longer = word
            line = longer
        lines.append(line)
    return "\n".join(lines).replace(_KEEP, " ")


def wrap_code(code: str, width_in: float, fontsize: float | str = "medium") -> str:
    """A problem code on lines of at most ``width_in`` inches, broken after a ``.`` or ``_``
    (``timestamp.`` / ``nonexistent_local_time``): the lines joined again give the code."""

    def fits(text: str) -> bool:
        return text_width_in(text, fontsize) <= width_in

    if fits(code):
        return code
    field, dot, what = code.partition(".")
    if dot and fits(what):  # the field on a line, what is wrong below
        return f"{field}.\n{what}"
    lines, line = [], ""
    for part in _pieces(code):
        if line and not fits(line + part):
            lines.append(line)
            line = ""
        line += part
    return "\n".join([*lines, line])


def _pieces(code: str) -> Iterable[str]:
    piece = ""
    for char in code:
        piece += char
        if char in "._":
            yield piece
            piece = ""
    if piece:
        yield piece


def join_names(names: Sequence[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def rows_text(count: int) -> str:
    """``1 row``, ``30,000 rows``."""
    return f"{count:,} row" + ("" if count == 1 else "s")


def share_text(count: int, total: int) -> str:
    """``count`` as a share of ``total`` with one decimal, never rounded to 0% or 100% unless it is."""
    if total <= 0 or count == total:
        return "100%" if total > 0 else "0%"
    share = count / total
    if count and share < 0.001:
        return "<0.1%"
    if share > 0.999:
        return ">99.9%"
    return f"{share:.1%}"


def status_label(count: int, stale: int, total: int) -> str:
    """The label beside a status bar: ``462 (1.6%), 92 stale``, ``3,869 (13.4%), all stale``."""
    label = f"{count:,} ({share_text(count, total)})"
    if stale and stale == count:
        return f"{label}, all stale"
    return f"{label}, {stale:,} stale" if stale else label


def when_text(ms: int) -> str:
    """A time in ms since the epoch as the charts write it: ``2024-05-01 12:00`` (UTC)."""
    return pd.Timestamp(ms, unit="ms").strftime("%Y-%m-%d %H:%M")


def span_text(start_ms: int, end_ms: int) -> str:
    """``2024-05-01 00:00 to 13:00``; the second date is written when it differs."""
    first, last = when_text(start_ms), when_text(end_ms)
    return f"{first} to {last[11:] if last[:10] == first[:10] else last}"


def not_shown_text(earlier: np.ndarray, later: np.ndarray, outside: int, unreadable: int) -> str:
    """What the timeline leaves out, from the times (ms) of the rows before and after its window
    and the counts of rows it cannot place: ``3 earlier (the oldest at 2024-04-30 16:00), 2
    before 2000 or over a day after now``; empty when nothing is left out."""
    parts = []
    if len(earlier):
        parts.append(f"{len(earlier):,} earlier (the oldest at {when_text(int(earlier.min()))})")
    if len(later):
        parts.append(f"{len(later):,} later (the newest at {when_text(int(later.max()))})")
    if outside:
        parts.append(f"{outside:,} before 2000 or over a day after now")
    if unreadable:
        parts.append(f"{unreadable:,} without a readable timestamp")
    return ", ".join(parts)


def log_count_axis(ax: Axes, largest: int) -> None:
    """Make the x axis of ``ax`` a log axis of counts up to ``largest``: from half a row (a bar of
    one row shows) to the next power of ten with room to spare, labelled 1, 10, ..., 1k, with
    ticks only inside the axes (matplotlib's log locator also places some outside)."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    right = max(10.0 ** math.ceil(math.log10(largest * 1.5)), 10.0)
    ax.set_xscale("log")
    ax.set_xlim(0.5, right)
    ticks = decade_ticks(1, right)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([compact_count(tick) for tick in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("rows (log scale)")


def label_column(ax: Axes, rows: Sequence[float], labels: Sequence[str]) -> None:
    """One label a bar, in a column just right of the axes at each bar's ``y``: never over a bar,
    never two on a line (the layout makes room for them)."""
    for row, label in zip(rows, labels, strict=True):
        ax.annotate(label, xy=(1, row), xytext=(4, 0), xycoords=("axes fraction", "data"),
                    textcoords="offset points", ha="left", va="center", fontsize="small")  # fmt: skip


def compact_count(value: float) -> str:
    """A tick of a log axis of counts: 1, 10, 100, 1k, 10k, 100k, 1M, ..."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def decade_ticks(low: float, high: float) -> list[float]:
    """The powers of ten from ``low`` to ``high`` (both included when they are one)."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    return [10.0**power for power in range(first, last + 1)]
