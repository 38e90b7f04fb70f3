"""What the sandbox holds: registered apps, stored events, counters and the request log.

Everything sits under one lock, taken once to store a batch and once to record a request, so
concurrent publishers see consistent counts and the lock is held for microseconds a batch.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .contract import App, Row

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RequestRecord", "SandboxState"]

EVENT_COLUMNS = ("timestamp", "email", "eventName", "targetApp")


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received.

    Attributes
    ----------
    time : float
        ``time.monotonic()`` when the request's headers had arrived.
    method, path : str
        The request line (``path`` includes any query string).
    status : int
        The status answered, or 0 when the connection was closed without an answer.
    events : int
        Events in the body (0 when the body was not a JSON object with an ``events`` list).
    app_id : str or None
        The app of an events POST, None for other endpoints.
    handle_seconds : float
        Server-side time from the whole body in hand to the answer ready: parsing, checking,
        storing. Excludes waiting for the body to arrive and any injected delay.
    """

    time: float
    method: str
    path: str
    status: int
    events: int
    app_id: str | None
    handle_seconds: float


class _AppEvents:
    """The events of one app: de-duplicated by (timestamp, email, eventName), in arrival order."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, str, str]] = set()
        self.rows: list[Row] = []


class SandboxState:
    """Apps, stored events, counters, the request log and server errors; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._apps: dict[str, App] = {}
        self._events: dict[str, _AppEvents] = {}
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._requests: list[RequestRecord] = []
        self._by_status: Counter[int] = Counter()
        self._events_by_status: Counter[int] = Counter()
        self._counts: Counter[str] = Counter()
        self._errors: list[str] = []

    def add_app(self, app: App) -> None:
        with self._lock:
            self._apps[app.app_id] = app
            self._events.setdefault(app.app_id, _AppEvents())

    def app(self, app_id: str) -> App | None:
        return self._apps.get(app_id)

    @property
    def app_ids(self) -> list[str]:
        with self._lock:
            return list(self._apps)

    def store(self, app_id: str, rows: list[Row]) -> tuple[int, int]:
        """Store an accepted batch; return (stored, duplicates)."""
        with self._lock:
            table = self._events[app_id]
            seen, kept = table.seen, table.rows
            before = len(kept)
            for row in rows:
                key = row[:3]
                if key not in seen:
                    seen.add(key)
                    kept.append(row)
            stored = len(kept) - before
            self._counts["events_received"] += len(rows)
            self._counts["events_stored"] += stored
            self._counts["duplicates_received"] += len(rows) - stored
        return stored, len(rows) - stored

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)
            if record.status:
                self._by_status[record.status] += 1
            else:
                self._counts["dropped"] += 1
            if record.app_id is not None:
                self._counts["event_requests"] += 1
                if record.status:
                    self._events_by_status[record.status] += 1
                if record.status not in (0, 200):  # answered with an error: nothing stored
                    self._counts["events_refused"] += record.events

    def record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @property
    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = self._counts
            return {
                "requests": len(self._requests),
                "by_status": dict(sorted(self._by_status.items())),
                "event_requests": counts["event_requests"],
                "events_by_status": dict(sorted(self._events_by_status.items())),
                "token_requests": counts["token_requests"],
                "events_received": counts["events_received"],
                "events_stored": counts["events_stored"],
                "duplicates_received": counts["duplicates_received"],
                "events_refused": counts["events_refused"],
                "dropped": counts["dropped"],
                "server_errors": len(self._errors),
            }

    def events_frame(self, app_id: str) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        with self._lock:
            if app_id not in self._apps:
                raise KeyError(f"no app {app_id!r} on this sandbox; registered apps: {sorted(self._apps)}")
            rows = list(self._events[app_id].rows)
        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
        text = pd.Series(["text"]).dtype  # pandas' own text dtype: str in pandas 3, object before
        frame = {"timestamp": np.array(columns[0], dtype=np.int64)}
        for name, values in zip(EVENT_COLUMNS[1:], columns[1:], strict=True):
            frame[name] = pd.Series(values, dtype=object).astype(text)
        return pd.DataFrame(frame, columns=list(EVENT_COLUMNS))

    def reset(self) -> None:
        """Forget events, counters, the request log and errors; keep the apps."""
        with self._lock:
            self._events = {app_id: _AppEvents() for app_id in self._apps}
            self._reset_counters()
