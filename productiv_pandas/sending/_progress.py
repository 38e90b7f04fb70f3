"""Progress bars at the edge: tqdm.auto (a widget in a notebook, text in a terminal), or none.

The core reports progress by calling ``update``; only this module decides whether and how it
is drawn.
"""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar", "show_progress"]


class _Bar(tqdm):
    """tqdm without its monitor thread.

    tqdm starts a process-wide ``tqdm_monitor`` thread for every bar, even a disabled one, and
    it outlives the call; a publish promises that none of its threads does. The monitor only
    tunes ``miniters`` for very slow iterations, which batch-sized updates never are.
    """

    monitor_interval = 0


def show_progress(progress: bool | None) -> bool:
    """``progress`` if given; otherwise on in a notebook or a terminal, off in CI."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI"):
        return False
    in_notebook = "ipykernel" in sys.modules
    return in_notebook or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(total: int | None, *, unit: str, desc: str, show: bool) -> tqdm:
    """A bar over ``total`` units, drawn only when ``show``; close it (or use ``with``)."""
    return _Bar(total=total, unit=unit, desc=desc, disable=not show)
