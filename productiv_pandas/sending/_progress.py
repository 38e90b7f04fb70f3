"""Progress bars at the edge: tqdm.auto (a widget in a notebook, text in a terminal), or none.

The core feeds a :class:`RunProgress` with status counts and units done; only this module
decides whether and how it is drawn. A bar that only counted rows handled would end full and
green when thousands failed, so the postfix counts what became of the rows as they go
(``sent=2,000, not sent=3,000``), and the end says, in text and in colour, when rows were not
sent (:func:`final_look`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from tqdm.auto import tqdm

__all__ = [
    "LEFT_OUT", "NOT_SENT", "Look", "RunProgress", "final_look", "postfix", "progress_bar", "show_progress",
    "style_notebook_bar",
]  # fmt: skip

#: The statuses of rows that should have reached Productiv and did not (the CLI's exit code 1).
NOT_SENT = ("invalid", "rejected", "failed")
#: Rows left out on purpose (an event already in the run, already sent, or stale under "skip").
LEFT_OUT = ("duplicate", "skipped")

#: More tqdm arguments for every bar. Private plumbing: tests draw to a StringIO at every
#: update (``file``, ``mininterval=0``, ``miniters=1``) to read what a user would have seen.
_tqdm_options: dict = {}


class _Bar(tqdm):
    """tqdm without its monitor thread.

    tqdm starts a process-wide ``tqdm_monitor`` thread for every bar, even a disabled one, and
    it outlives the call; a publish promises that none of its threads does. The monitor only
    tunes ``miniters`` for very slow iterations, which batch-sized updates never are.
    """

    monitor_interval = 0


@dataclass(frozen=True)
class Look:
    """How a finished bar says what became of its rows."""

    suffix: str  # added to the description: "" when every row to send was sent
    colour: str | None  # the terminal bar's colour (None: tqdm's default, as when all is well)
    bar_style: str  # the notebook widget's style: "success", "warning" or "danger"


def _count(counts: Mapping[str, int], names: tuple[str, ...]) -> int:
    return sum(int(counts.get(name, 0)) for name in names)


def postfix(counts: Mapping[str, int]) -> str:
    """``sent=2,000, not sent=3,000`` (not sent: invalid, rejected, failed), with
    ``, left out=N`` when rows were duplicate or skipped."""
    text = f"sent={_count(counts, ('sent',)):,}, not sent={_count(counts, NOT_SENT):,}"
    left_out = _count(counts, LEFT_OUT)
    return f"{text}, left out={left_out:,}" if left_out else text


def final_look(counts: Mapping[str, int]) -> Look:
    """All sent (or left out on purpose): as a finished bar always looked. Some not sent: the
    description says how many, yellow (warning) if some were sent, red (danger) if none were."""
    not_sent = _count(counts, NOT_SENT)
    if not not_sent:
        return Look("", None, "success")
    if _count(counts, ("sent",)):
        return Look(f" ({not_sent:,} not sent)", "yellow", "warning")
    return Look(f" ({not_sent:,} not sent)", "red", "danger")


def style_notebook_bar(bar, look: Look) -> None:
    """Give a closed tqdm.notebook bar the widget style of ``look``; a terminal bar (no widget
    ``container``) is left alone. tqdm.notebook's own close has just made it "success" (or
    "danger" when it did not reach its total), which a run with rows not sent must not keep."""
    if look.bar_style != "success" and getattr(bar, "container", None) is not None:
        bar.disp(bar_style=look.bar_style, check_delay=False)


class RunProgress:
    """A bar over the units of a run (events sent, file rows done), whose postfix counts the
    statuses of all the run's rows, so its last numbers are the status frame's.

    Use as a context manager, or call :meth:`finish` (with the final counts) or :meth:`close`.
    """

    def __init__(self, total: int | None, *, unit: str, desc: str, show: bool) -> None:
        self.desc = desc
        self.counts: dict[str, int] = {}
        self.finished = False
        self.shown = show
        self.bar = _Bar(total=total, unit=unit, desc=desc, disable=not show, **_tqdm_options)

    def add(self, counts: Mapping[str, int], done: int = 0) -> None:
        """Count rows by status (any mapping, a value_counts Series too), and move ``done`` units."""
        for name, count in counts.items():
            if count and name != "valid":  # still to send: not an outcome yet
                self.counts[str(name)] = self.counts.get(str(name), 0) + int(count)
        if self.shown:
            self.bar.set_postfix_str(postfix(self.counts), refresh=False)
            if done:
                self.bar.update(done)
            else:
                self.bar.refresh()

    def finish(self, counts: Mapping[str, int]) -> None:
        """End the bar with the run's final counts: its postfix, then its description and colour."""
        if self.finished:
            return
        self.counts = {str(name): int(count) for name, count in counts.items() if count and name != "valid"}
        look = final_look(self.counts)
        if self.shown:
            self.bar.set_postfix_str(postfix(self.counts), refresh=False)
            self.bar.set_description_str(self.desc + look.suffix, refresh=False)
            if look.colour is not None and getattr(self.bar, "container", None) is None:
                self.bar.colour = look.colour  # the terminal's; a widget keeps its bar_style
        self.close()
        if self.shown:
            style_notebook_bar(self.bar, look)

    def close(self) -> None:
        if not self.finished:
            self.finished = True
            self.bar.close()

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def show_progress(progress: bool | None) -> bool:
    """``progress`` if given; otherwise on in a notebook or a terminal, off in CI."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI"):
        return False
    in_notebook = "ipykernel" in sys.modules
    return in_notebook or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(total: int | None, *, unit: str, desc: str, show: bool) -> RunProgress:
    """A bar over ``total`` units, drawn only when ``show``; finish or close it (or use ``with``)."""
    return RunProgress(total, unit=unit, desc=desc, show=show)
