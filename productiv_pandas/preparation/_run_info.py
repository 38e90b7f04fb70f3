"""What shaped a status frame, kept small in its ``attrs`` for the report to say.

A report has only the status frame to read (it never recomputes anything), yet its summary
names the options that shaped the result: the column mapping, the unit, the zone, the number of
allowed events, the login events, the reference time, and the app id of a publish. prepare
writes them here as plain JSON values (``to_parquet`` writes ``attrs`` as JSON; pandas deep
copies ``attrs`` on every operation, so they stay a few hundred bytes: the allowed events are
counted, never listed). Nothing secret is an option, so nothing secret can reach a report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._options import PrepareOptions
from ._reasons import format_duration

__all__ = ["MAX_LOGIN_EVENTS_KEPT", "RUN_KEY", "run_info", "with_app_id"]

#: The key of the status frame's ``attrs`` that holds :func:`run_info`'s dict.
RUN_KEY = "productiv_run"
#: Login events named in the summary; beyond these, only their number.
MAX_LOGIN_EVENTS_KEPT = 20


def run_info(options: PrepareOptions) -> dict[str, Any]:
    """The options of a run as small JSON values: what the report's summary shows."""
    login = sorted(options.login_events)
    return {
        "ran_at": options.now.isoformat(),
        "options": {
            "columns": {str(source): str(target) for source, target in options.columns.items()},
            "unit": options.unit,
            "tz": None if options.tz is None else str(options.tz),
            "allowed_events": None if options.allowed_events is None else len(options.allowed_events),
            "login_events": login[:MAX_LOGIN_EVENTS_KEPT],
            "login_events_count": len(login),
            "on_stale": options.on_stale,
            "future_tolerance": format_duration(options.future_tolerance),
        },
    }


def with_app_id(status: pd.DataFrame, app_id: str) -> None:
    """Add the app id a publish sent to (in place: the frame is the publish's own result)."""
    info = status.attrs.get(RUN_KEY)
    if isinstance(info, dict):
        status.attrs[RUN_KEY] = {**info, "app_id": str(app_id)}
