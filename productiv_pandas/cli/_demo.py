"""``make demo`` / ``productiv-pandas demo``: publish a generated sample export to an in-process sandbox.

It shows the whole job in a few seconds without credentials: validate, publish, the per-status
table, a few example reasons, and the charts of the status frame written as PNG files into
``--out`` (``./productiv-demo/`` unless told otherwise; ``make demo`` passes the checkout's
git-ignored ``out/``). The sample comes from :func:`productiv_pandas.sample_events`, so the demo
needs nothing but the installed package.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pandas as pd

__all__ = ["CHARTS", "DEFAULT_OUT_DIR", "DEMO_APP", "run_demo", "write_charts"]

DEMO_APP = "acme-workspace"
#: Where the demo writes its charts unless told otherwise: relative, so in the current
#: directory (never next to the installed package, which may not be writable or yours).
DEFAULT_OUT_DIR = Path("productiv-demo")
#: The charts the demo writes, by file name: the ``kind`` of :func:`productiv_pandas.plots.plot`.
CHARTS = {"dashboard.png": "dashboard", "status.png": "status", "timeline.png": "timeline",
          "reasons.png": "reasons"}  # fmt: skip


def _summary(status: pd.DataFrame) -> pd.DataFrame:
    counts = status["status"].value_counts(sort=False)
    table = pd.DataFrame({"rows": counts, "share": (counts / max(len(status), 1)).map("{:.1%}".format)})
    return table[table["rows"] > 0]


def write_charts(status: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Draw each chart of :data:`CHARTS` for ``status`` and save it as a PNG in ``out_dir``.

    The demo runs in a terminal or CI, where there may be no display: unless pyplot is
    already loaded (a notebook calling the demo keeps its own backend), matplotlib is switched
    to Agg, which only renders to files. Returns the paths written, in :data:`CHARTS` order.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from ..plots import plot

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, kind in CHARTS.items():
        drawn = plot(status, kind=kind)
        figure = drawn if isinstance(drawn, Figure) else drawn.figure  # the dashboard is a Figure
        assert isinstance(figure, Figure)  # an Axes of pyplot's is on a Figure, not a SubFigure
        try:
            figure.savefig(folder / name, dpi=100)
        finally:
            plt.close(figure)  # figures from pyplot live until closed
        written.append(folder / name)
    return written


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (``out/dashboard.png``)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_demo(out_dir: str | os.PathLike | None = None) -> int:
    """Publish a generated sample export to an in-process sandbox, print what happened, write the charts.

    Parameters
    ----------
    out_dir : path, optional
        Where the PNG charts go (created if needed); default :data:`DEFAULT_OUT_DIR`,
        ``productiv-demo/`` in the current directory.

    Returns
    -------
    int
        0, the command's exit code.
    """
    from .._sample import SAMPLE_OPTIONS, sample_events
    from ..sandbox import Sandbox
    from ..sending._publish import publish

    frame = sample_events()
    # Stale rows are left out on purpose: Productiv would not count them.
    options = dict(SAMPLE_OPTIONS, on_stale="skip")
    print(f"sample export (pp.sample_events()): {len(frame):,} rows, columns {list(frame.columns)}")
    with Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(DEMO_APP, events=options["allowed_events"], login_events=options["login_events"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = publish(frame, DEMO_APP, client=sandbox.client(), progress=False, **options)
        for warning in caught:
            print(f"warning: {warning.category.__name__}: {warning.message}")
        stored = len(sandbox.events(DEMO_APP))
    print()
    print(_summary(status).to_string())
    print(f"\nthe sandbox stored {stored:,} events")
    print("\nexample reasons, one per problem (the row's first; pp.PROBLEMS says what each means):")
    not_sent = status[status["status"] != "sent"]
    width = max((len(code) for code in not_sent["problem"].dropna().unique()), default=0)
    for (name, code), rows in not_sent.groupby(["status", "problem"], observed=True):
        example = f"e.g. row {rows.index[0]}: {rows['reason'].iat[0]}"
        print(f"  {name:<9} {len(rows):>5} x {code:<{width}}  {example}")
    folder = Path(DEFAULT_OUT_DIR if out_dir is None else out_dir)
    charts = write_charts(status, folder)
    print(f"\ncharts of the status frame, written to {folder.resolve()}:")
    for path in charts:
        print(f"  {_shown(path)}")
    return 0
