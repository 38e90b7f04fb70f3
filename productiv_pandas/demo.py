"""``make demo`` / ``productiv-pandas demo``: publish the sample export to an in-process sandbox.

It shows the whole job in a few seconds without credentials: validate, publish, the per-status
table and a few example reasons.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import pandas as pd

from .reason_kinds import reason_kind

__all__ = ["DEMO_APP", "load_sample_module", "run_demo"]

DEMO_APP = "acme-workspace"
_SAMPLE_SCRIPT = Path(__file__).resolve().parent.parent / "data" / "make_sample.py"


def load_sample_module() -> ModuleType:
    """The project's ``data/make_sample.py`` as a module (it lives beside the package)."""
    if not _SAMPLE_SCRIPT.exists():
        raise FileNotFoundError(
            f"{_SAMPLE_SCRIPT} not found: the demo runs from a checkout of productiv_pandas "
            "(pip install -e .), where data/ sits beside the package"
        )
    spec = importlib.util.spec_from_file_location("productiv_sample", _SAMPLE_SCRIPT)
    if spec is None or spec.loader is None:  # only if the path stops being a .py file
        raise ImportError(f"cannot load {_SAMPLE_SCRIPT} as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(status: pd.DataFrame) -> pd.DataFrame:
    counts = status["status"].value_counts(sort=False)
    table = pd.DataFrame({"rows": counts, "share": (counts / max(len(status), 1)).map("{:.1%}".format)})
    return table[table["rows"] > 0]


def run_demo() -> int:
    """Publish ``data/``'s sample to an in-process sandbox and print what happened."""
    from .publish import publish
    from .sandbox import Sandbox

    sample = load_sample_module()
    frame = sample.load_sample()
    # The export's naive times are New York wall time; stale rows are left out on purpose.
    options = dict(sample.SAMPLE_OPTIONS, tz=sample.SAMPLE_TZ, on_stale="skip")
    print(f"sample export: {len(frame):,} rows, columns {list(frame.columns)}")
    with Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(
            DEMO_APP, events=options.get("allowed_events"), login_events=options.get("login_events", ())
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = publish(frame, DEMO_APP, client=sandbox.client(), progress=False, **options)
        for warning in caught:
            print(f"warning: {warning.category.__name__}: {warning.message}")
        stored = len(sandbox.events(DEMO_APP))
    print()
    print(_summary(status).to_string())
    print(f"\nthe sandbox stored {stored:,} events")
    print("\nexample reasons, one per kind of problem:")
    not_sent = status[status["status"] != "sent"]
    for name, group in not_sent.groupby("status", observed=True):
        kinds = group["reason"].map(reason_kind)
        for kind, rows in group.groupby(kinds, sort=False):
            print(
                f"  {name:<9} {len(rows):>5} x {kind:<32} e.g. row {rows.index[0]}: {rows['reason'].iat[0]}"
            )
    return 0
