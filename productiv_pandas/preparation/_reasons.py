"""Per-row reasons: pandera's failure cases and the parsers' problems, in an analyst's words.

A row's reason names every check it failed, in a fixed order (timestamp, email, eventName,
targetApp, then the app's rules), joined with "; ".
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Collection, Iterable, Mapping

import numpy as np
import pandas as pd

from . import _schema as s
from ._options import PrepareOptions
from ._text import describe_value, first_control, unicode_name
from ._timestamps import UNIT_NAMES, UNITS

__all__ = ["ReasonBook", "explain_email", "explain_failures", "format_label", "format_ms"]

# str patterns' \s is exactly str.isspace() (both use the same Unicode table); one C search
# instead of a Python loop over the characters of each of thousands of bad addresses.
_WHITESPACE = re.compile(r"\s")

#: Where each column's reasons go in the joined text.
ORDER = {"timestamp": 0, "email": 10, "eventName": 20, "targetApp": 30, None: 40}


class ReasonBook:
    """Collects ``(position, order, text)`` and joins them into one reason per row.

    Most rows of a real export have no problem, so reasons are kept sparse: only the rows that
    have one are stored, and the text column is built from them at the end.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._entries: list[tuple[int, int, str]] = []

    def add(self, position: int, text: str, order: int) -> None:
        self._entries.append((int(position), order, text))

    def add_all(self, problems: list[tuple[int, str]], order: int) -> None:
        self._entries.extend((int(p), order, text) for p, text in problems)

    def build(self) -> tuple[np.ndarray, list[str]]:
        """The rows that have a reason (ascending positions) and each one's joined text.

        Identical entries count once; a row's texts are joined with "; " in ``order``, then in
        the order they were added.
        """
        # dict.fromkeys drops exact repeats and keeps the first-added order, and sorted() is
        # stable, so ties in (position, order) keep the order they were added in.
        entries = sorted(dict.fromkeys(self._entries), key=lambda entry: (entry[0], entry[1]))
        positions: list[int] = []
        texts: list[str] = []
        for position, group in itertools.groupby(entries, key=lambda entry: entry[0]):
            positions.append(position)
            texts.append("; ".join(text for _, _, text in group))
        return np.array(positions, dtype=np.int64), texts


def format_ms(ms: int) -> str:
    """``1566340678676`` -> ``'2019-08-20 22:37:58.676 UTC'``."""
    try:
        stamp = pd.Timestamp(int(ms), unit="ms", tz="UTC")
    except (ValueError, OverflowError):
        return f"{ms} ms since 1970"
    if pd.isna(stamp):  # int64 min is pandas' NaT sentinel, not a time
        return f"{ms} ms since 1970"
    # Built from components, not strftime: strftime refuses years outside 1..9999, which epoch
    # numbers reach easily (-62135596801 s is the year 0).
    text = (
        f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d} "
        f"{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}"
    )
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + " UTC"


def format_label(label: object) -> str:
    """An index label as the analyst would type it: ``3``, ``'a'``, ``('x', 2)``."""
    if isinstance(label, tuple):
        inner = ", ".join(format_label(part) for part in label)
        return f"({inner}{',' if len(label) == 1 else ''})"
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label) if isinstance(label, str) else str(label)


def format_duration(duration: pd.Timedelta) -> str:
    """``Timedelta('5min')`` -> ``'5 minutes'``; pandas' own ``'0 days 00:05:00'`` is not how
    an analyst says it."""
    seconds = pd.Timedelta(duration).total_seconds()
    for name, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {name}{'' if count == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _format_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:.10g}"


def explain_email(value: str) -> str:
    """Why an address is not plausible, naming every problem found."""
    if value == "":
        return "email is empty"
    problems = []
    if _WHITESPACE.search(value):
        problems.append("contains whitespace")
    at_signs = value.count("@")
    if at_signs == 0:
        problems.append("has no '@'")
    elif at_signs > 1:
        problems.append("has more than one '@'")
    else:
        local, domain = value.split("@")
        if not local:
            problems.append("has nothing before the '@'")
        if not domain:
            problems.append("has no domain")
        elif "." not in domain:
            problems.append(f"has no dot in its domain {domain!r}")
        elif "" in domain.split("."):
            problems.append(f"has an empty part in its domain {domain!r}")
    if not problems:
        problems.append("is not a plausible address")
    return f"email {describe_value(value)} " + " and ".join(problems)


def explain_time(
    ms: int, number: float, *, unit: str, too_early: bool, limit_ms: int, tolerance, shown: str | None = None
) -> str:
    """Why a timestamp is out of range; names the likely unit when the input was a number.

    ``shown`` is the number as written when ``number`` (a float) does not hold it exactly."""
    when = format_ms(ms)
    problem = (
        "is before 2000-01-01"
        if too_early
        else f"is in the future (later than now + {format_duration(tolerance)})"
    )
    if np.isnan(number):
        return f"timestamp {when} {problem}"
    text = (
        f"timestamp {shown or _format_number(number)} read as {UNIT_NAMES[unit]} is {when}, which {problem}"
    )
    for other, per_ms in UNITS.items():
        if other == unit:
            continue
        guess = number * per_ms
        if s.MIN_TIMESTAMP_MS <= guess <= limit_ms:
            return f"{text}; it looks like {UNIT_NAMES[other]} ({format_ms(int(guess))}): pass unit={other!r}"
    return text


def explain_length(column: str, value: str) -> str:
    """Why a text is too long: its length and the limit, quoting only its start."""
    limit = s.MAX_LENGTH[column]
    why = "an address has at most 254 (RFC 5321)" if column == "email" else f"at most {limit:,} are sent"
    return f"{column} {describe_value(value, limit=30)} is {len(value):,} characters long; {why}"


def explain_control(column: str, value: str) -> str:
    """Which invisible character a text holds, and where (0-based, as ``value[i]``)."""
    found = first_control(value)
    if found is None:  # the check and this search use the same table; kept safe regardless
        return f"{column} {describe_value(value)} contains a control or format character"
    position, char = found
    return (
        f"{column} {describe_value(value)} contains {unicode_name(char)} at position {position} "
        "(invisible, but sent: remove it)"
    )


def explain_event_name(value: str, allowed: Collection[str]) -> str:
    """Why an event name is refused, suggesting the closest allowed name (usually a typo)."""
    text = f"eventName {describe_value(value)} is not in the app's event mapping"
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        text += f"; did you mean {by_lower[close[0]]!r}?"
    return text


def explain_failures(
    failures: Iterable[tuple[str | None, str, np.ndarray]],
    checked: pd.DataFrame,
    number: np.ndarray,
    options: PrepareOptions,
    book: ReasonBook,
    *,
    exact: Mapping[int, str] | None = None,
) -> None:
    """Put a reason in ``book`` for every failed check, in the words of :func:`explain_email` & co.

    ``failures`` yields ``(column, check, positions)`` (see ``schema.failed_checks``); only the
    failing rows' values of ``checked`` become Python objects. ``number`` holds the raw epoch
    numbers, so a timestamp's reason can name the likely unit; ``exact`` the integers a float
    does not hold exactly, as text by position.
    """
    exact = exact or {}
    limit_ms = options.now_ms + int(options.future_tolerance / pd.Timedelta(milliseconds=1))
    # One reason per row, column and check: eventName and targetApp share check names.
    seen: set[tuple[int, str | None, str]] = set()
    for column, check, positions in failures:
        if check == s.CHECK_LOGIN_TARGET_APP:
            column = None
        values = checked[column].take(positions).tolist() if column else [None] * len(positions)
        explained: dict[object, str] = {}  # the same bad value fails the same way on every row
        for position, value in zip(positions.tolist(), values, strict=True):
            if (position, column, check) in seen:
                continue
            seen.add((position, column, check))
            if check in (s.CHECK_NOT_BEFORE_2000, s.CHECK_NOT_IN_FUTURE):
                text = explain_time(
                    int(value), number[position], unit=options.unit,
                    too_early=check == s.CHECK_NOT_BEFORE_2000, limit_ms=limit_ms,
                    tolerance=options.future_tolerance, shown=exact.get(position),
                )  # fmt: skip
            elif check == s.CHECK_PLAUSIBLE_EMAIL:
                if value not in explained:
                    explained[value] = explain_email(value)
                text = explained[value]
            elif check == s.CHECK_NOT_EMPTY:
                text = f"{column} is empty"
            elif check == s.CHECK_MAX_LENGTH and column is not None:
                text = explain_length(column, value)
            elif check == s.CHECK_NO_CONTROL and column is not None:
                text = explain_control(column, value)
            elif check == s.CHECK_ALLOWED_EVENT:
                if value not in explained:
                    explained[value] = explain_event_name(value, options.allowed_events or ())
                text = explained[value]
            elif check == s.CHECK_LOGIN_TARGET_APP:
                name = checked["eventName"].iat[position]
                text = f"eventName {name!r} is a Login event and needs a targetApp"
            else:
                text = f"{column} failed the check {check!r}"
            book.add(position, text, ORDER[column])
