"""The Publish Usage Events payload contract, checked the way the API checks it.

Plain loops over plain ``json.loads`` output: at 1000 events a batch this costs well under a
millisecond, so validation never becomes the bottleneck of a publish benchmark. Every problem
is reported with the index of the event that has it, so a refused batch says what to fix::

    events[3]: timestamp must be an integer number of milliseconds, got 1566340678.5 (float)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_EVENTS", "App", "ContractError", "check_payload"]

MAX_EVENTS = 1000
# 2000-01-01 and 9999-12-31T23:59:59.999 in Unix ms: outside this range the value is almost
# certainly in another unit (seconds, microseconds, nanoseconds), not a real millisecond time.
MIN_TIMESTAMP_MS = 946_684_800_000
MAX_TIMESTAMP_MS = 253_402_300_799_999
EVENT_FIELDS = frozenset({"timestamp", "email", "eventName", "targetApp"})
# How many problems one 422 message lists ("events[i]: why", joined by "; "); the rest are counted.
MAX_REPORTED = 20

Row = tuple[int, str, str, str | None]


@dataclass(frozen=True)
class App:
    """An app registered on the sandbox and its event mapping.

    ``events`` is None when any event name is accepted; ``login_events`` are the names of
    category Login, which need a ``targetApp`` (and are always part of the mapping).
    """

    app_id: str
    events: frozenset[str] | None
    login_events: frozenset[str]

    @classmethod
    def build(cls, app_id: str, events: Iterable[str] | None = None, login_events: Iterable[str] = ()) -> App:
        if not isinstance(app_id, str) or not app_id or "/" in app_id:
            raise ValueError(f"app_id must be a non-empty string without '/', got {app_id!r}")
        if isinstance(events, str) or isinstance(login_events, str):
            raise TypeError("events and login_events must be iterables of names, not a single string")
        logins = frozenset(login_events)
        names = None if events is None else frozenset(events) | logins
        return cls(app_id, names, logins)


class ContractError(ValueError):
    """The payload breaks the contract (HTTP 422); the message names each bad event and why."""


def _show(value: object) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _event_problems(event: object, app: App) -> list[str]:
    if type(event) is not dict:
        return [f"must be an object, got {_show(event)}"]
    problems = []
    timestamp = event.get("timestamp")
    if timestamp is None:
        problems.append("timestamp is missing")
    elif type(timestamp) is not int:  # bool is a subclass of int and floats are not integers
        problems.append(f"timestamp must be an integer number of milliseconds, got {_show(timestamp)}")
    elif not MIN_TIMESTAMP_MS <= timestamp <= MAX_TIMESTAMP_MS:
        hint = ""
        if 0 < timestamp < MIN_TIMESTAMP_MS // 100:
            hint = " (seconds? multiply by 1000)"
        elif timestamp > MAX_TIMESTAMP_MS:
            hint = " (microseconds or nanoseconds? divide by 1000 or 1000000)"
        problems.append(
            f"timestamp {timestamp} is not Unix milliseconds between 2000-01-01 and 9999-12-31{hint}"
        )
    email = event.get("email")
    if email is None:
        problems.append("email is missing")
    elif type(email) is not str:
        problems.append(f"email must be a string, got {_show(email)}")
    elif "@" not in email:
        problems.append(f"email {email!r} is not an email address")
    name = event.get("eventName")
    if name is None:
        problems.append("eventName is missing")
    elif type(name) is not str:
        problems.append(f"eventName must be a string, got {_show(name)}")
    elif app.events is not None and name not in app.events:
        problems.append(f"eventName {name!r} is not in the event mapping of app {app.app_id!r}")
    if "targetApp" in event:
        target = event["targetApp"]
        if type(target) is not str or not target:
            problems.append(f"targetApp must be a non-empty string when present, got {_show(target)}")
    elif type(name) is str and name in app.login_events:
        problems.append(f"eventName {name!r} is a Login event and needs targetApp")
    extra = event.keys() - EVENT_FIELDS
    if extra:
        problems.append(f"unexpected fields {sorted(extra)} (allowed: {sorted(EVENT_FIELDS)})")
    return problems


def check_payload(payload: object, app: App) -> list[Row]:
    """Return the events of a parsed request body as rows, or raise ContractError.

    Parameters
    ----------
    payload : object
        The parsed JSON body.
    app : App
        The app the events are published to (its event mapping and Login events).

    Returns
    -------
    list of (timestamp, email, eventName, targetApp or None)

    Examples
    --------
    >>> app = App.build("demo-app", login_events=["sso_login"])
    >>> check_payload({"events": [{"timestamp": 1566340678676, "email": "a@b.com", "eventName": "x"}]}, app)
    [(1566340678676, 'a@b.com', 'x', None)]
    """
    if type(payload) is not dict:
        raise ContractError(f'the body must be a JSON object {{"events": [...]}}, got {_show(payload)}')
    if "events" not in payload:
        raise ContractError('the body has no "events" field; expected {"events": [...]}')
    extra = payload.keys() - {"events"}
    if extra:
        raise ContractError(f'unexpected top-level fields {sorted(extra)}; only "events" is allowed')
    events = payload["events"]
    if type(events) is not list:
        raise ContractError(f'"events" must be a list, got {_show(events)}')
    if len(events) > MAX_EVENTS:
        raise ContractError(
            f"{len(events)} events in one request; at most {MAX_EVENTS} are allowed, split the batch"
        )
    rows: list[Row] = []
    bad: list[str] = []
    bad_count = problem_count = 0
    names, logins = app.events, app.login_events
    for index, event in enumerate(events):
        # The fast path, for a well-formed event; anything else gets the full diagnosis below.
        if type(event) is dict:
            timestamp, email, name = event.get("timestamp"), event.get("email"), event.get("eventName")
            if (
                type(timestamp) is int
                and MIN_TIMESTAMP_MS <= timestamp <= MAX_TIMESTAMP_MS
                and type(email) is str
                and "@" in email
                and type(name) is str
                and (names is None or name in names)
            ):
                size = len(event)
                if size == 3 and name not in logins:
                    rows.append((timestamp, email, name, None))
                    continue
                target = event.get("targetApp")
                if size == 4 and type(target) is str and target:
                    rows.append((timestamp, email, name, target))
                    continue
        problems = _event_problems(event, app)
        if problems:
            bad_count += 1
            problem_count += len(problems)
            bad.extend(f"events[{index}]: {problem}" for problem in problems[: MAX_REPORTED - len(bad)])
        else:  # pragma: no cover - the fast path accepts every event the diagnosis accepts
            rows.append((event["timestamp"], event["email"], event["eventName"], event.get("targetApp")))
    if bad_count:
        more = f"; and {problem_count - len(bad)} more problems" if problem_count > len(bad) else ""
        noun = "event" if bad_count == 1 else "events"
        raise ContractError(f"{bad_count} invalid {noun} of {len(events)}: {'; '.join(bad)}{more}")
    return rows
