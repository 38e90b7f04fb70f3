"""Frames to publish to a sandbox app, and the check every publish test ends with: what the
sandbox stored equals exactly the rows marked ``sent``.
"""

from __future__ import annotations

import pandas as pd

import productiv_pandas as pp
from productiv_pandas.sandbox import Sandbox

APP = "acme"
CATALOG = {"opened_file", "shared_doc", "sso_login"}
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05)


def events(n: int, *, index=None, minutes_ago: float = 60) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame(
        {
            "timestamp": [
                now - pd.Timedelta(minutes=minutes_ago) + pd.Timedelta(milliseconds=i) for i in range(n)
            ],
            "email": [f"user{i % 97}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        },
        index=index,
    )


def triples(frame: pd.DataFrame) -> set[tuple[int, str, str]]:
    return set(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


def assert_stored_is_sent(sb: Sandbox, status: pd.DataFrame) -> None:
    stored = sb.events(APP)
    sent = status[status["status"] == "sent"]
    assert len(stored) == len(sent)
    assert triples(stored) == triples(sent)


def event_requests(sb: Sandbox):
    return [r for r in sb.requests if r.app_id is not None]
