"""pandera's failed checks as findings: a problem code and an analyst's sentence per value.

A row's reason names every check it failed, in a fixed order (timestamp, email, eventName,
targetApp, then the app's rules), joined with "; " (see :mod:`._findings`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..problem_codes import PROBLEMS
from . import _schema as s
from ._findings import CODE_NUMBER as _CODE_NUMBER
from ._findings import Finding, coded
from ._options import PrepareOptions
from ._terms import PYTHON, Terms, format_label
from ._text import describe_value, first_control, unicode_name
from ._timestamps import UNIT_NAMES, UNITS

__all__ = ["explain_email", "failure_findings", "format_label", "format_ms"]

# str patterns' \s is exactly str.isspace() (both use the same Unicode table); one C search
# instead of a Python loop over the characters of each of thousands of bad addresses.
_WHITESPACE = re.compile(r"\s")


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


def explain_email(value: str) -> tuple[str, str]:
    """Why an address is not plausible, naming every problem found: ``(code, sentence)``, the
    code of the first problem."""
    if value == "":
        return "email.missing", "email is empty"
    problems: list[tuple[str, str]] = []
    if _WHITESPACE.search(value):
        problems.append(("email.whitespace", "contains whitespace"))
    at_signs = value.count("@")
    if at_signs == 0:
        problems.append(("email.no_at", "has no '@'"))
    elif at_signs > 1:
        problems.append(("email.several_at", "has more than one '@'"))
    else:
        local, domain = value.split("@")
        if not local:
            problems.append(("email.no_local_part", "has nothing before the '@'"))
        if not domain:
            problems.append(("email.no_domain", "has no domain"))
        elif "." not in domain:
            problems.append(("email.bad_domain", f"has no dot in its domain {domain!r}"))
        elif "" in domain.split("."):
            problems.append(("email.bad_domain", f"has an empty part in its domain {domain!r}"))
    if not problems:
        problems.append(("email.implausible", "is not a plausible address"))
    return problems[0][0], f"email {describe_value(value)} " + " and ".join(text for _, text in problems)


def explain_time(
    ms: int, number: float, *, unit: str, too_early: bool, limit_ms: int, tolerance, shown: str | None = None,
    terms: Terms = PYTHON,
) -> tuple[str, str]:  # fmt: skip
    """Why a timestamp is out of range, naming the likely unit when the input was a number:
    ``(code, sentence)``; the code is ``timestamp.unit`` when another unit gives a plausible time.

    ``shown`` is the number as written when ``number`` (a float) does not hold it exactly;
    ``terms`` words the unit to use (``pass unit='s'``, ``use --unit s``)."""
    when = format_ms(ms)
    code = "timestamp.before_2000" if too_early else "timestamp.future"
    problem = (
        "is before 2000-01-01"
        if too_early
        else f"is in the future (later than now + {format_duration(tolerance)})"
    )
    if np.isnan(number):
        return code, f"timestamp {when} {problem}"
    text = (
        f"timestamp {shown or _format_number(number)} read as {UNIT_NAMES[unit]} is {when}, which {problem}"
    )
    for other, per_ms in UNITS.items():
        if other == unit:
            continue
        guess = number * per_ms
        if s.MIN_TIMESTAMP_MS <= guess <= limit_ms:
            return "timestamp.unit", (
                f"{text}; it looks like {UNIT_NAMES[other]} ({format_ms(int(guess))}): "
                f"{terms.hint('unit', other)}"
            )
    return code, text


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


def _values(checked: pd.DataFrame, column: str, positions: np.ndarray) -> np.ndarray | pa.Array:
    """The failing rows' values of one column (only those rows): an Arrow array for Arrow
    strings (factorized there: only distinct values become Python objects), else objects."""
    values = checked[column].array.take(positions)
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.array(values)
    return np.asarray(values, dtype=object)


_DATETIME_RANGE_MS = (-30_610_224_000_000, 253_402_300_799_999)  # years 1000 to 9999
_TEXT = pa.large_string()


def _word(text: str) -> pa.Scalar:
    return pa.scalar(text, _TEXT)


def _patched(texts: pa.Array, at: np.ndarray, replace) -> pa.Array:
    """``texts`` with the few ``at`` replaced by ``replace(i)`` (a Python round trip, rare)."""
    if not len(at):
        return texts
    out = texts.to_pylist()
    for i in at.tolist():
        out[i] = replace(i)
    return pa.array(out, type=_TEXT)


def format_ms_many(ms: np.ndarray) -> pa.Array:
    """:func:`format_ms` of many, as an Arrow array: years 1000 to 9999 in bulk, others one by one."""
    ms = np.asarray(ms, dtype=np.int64)
    inside = (ms >= _DATETIME_RANGE_MS[0]) & (ms <= _DATETIME_RANGE_MS[1])
    # Arrow's cast writes 'YYYY-MM-DD HH:MM:SS.mmm'; the milliseconds are dropped when whole.
    full = pa.array(np.where(inside, ms, 0), type=pa.timestamp("ms")).cast(_TEXT)
    text = pc.binary_join_element_wise(
        pc.if_else(pa.array(ms % 1000 == 0), pc.utf8_slice_codeunits(full, 0, 19), full),
        _word(" UTC"),
        _word(""),
    )
    return _patched(text, np.flatnonzero(~inside), lambda i: format_ms(int(ms[i])))


def _format_numbers(number: np.ndarray) -> pa.Array:
    """:func:`_format_number` of many: integers through int64, the rest one by one."""
    integral = np.isfinite(number) & (np.floor(number) == number) & (np.abs(number) < 2**62)
    out = pa.array(np.where(integral, number, 0).astype(np.int64)).cast(_TEXT)
    return _patched(out, np.flatnonzero(~integral), lambda i: _format_number(float(number[i])))


def _time_findings(
    check: str, positions: np.ndarray, checked: pd.DataFrame, number: np.ndarray, options: PrepareOptions,
    exact: Mapping[int, str],
) -> list[Finding]:  # fmt: skip
    """Timestamps out of range, in :func:`explain_time`'s words, rendered for all rows at once
    with Arrow string kernels (a bad clock makes every row's time distinct: nothing to share)."""
    limit_ms = options.now_ms + int(options.future_tolerance / pd.Timedelta(milliseconds=1))
    too_early = check == s.CHECK_NOT_BEFORE_2000
    code = "timestamp.before_2000" if too_early else "timestamp.future"
    problem = (
        "is before 2000-01-01"
        if too_early
        else f"is in the future (later than now + {format_duration(options.future_tolerance)})"
    )
    ms = checked["timestamp"].array.take(positions).to_numpy(dtype=np.int64, na_value=0)
    given = number[positions]
    when = format_ms_many(ms)
    numeric = ~np.isnan(given)
    shown = _format_numbers(np.where(numeric, given, 0))
    if exact:
        known = np.flatnonzero(np.isin(positions, np.fromiter(exact, dtype=np.int64, count=len(exact))))
        shown = _patched(shown, known, lambda i: exact[int(positions[i])])
    # The first other unit (in UNITS' order) that gives a time in range: its number and time.
    others = [other for other in UNITS if other != options.unit]
    guess_unit = np.zeros(len(positions), dtype=np.int8)  # 0: none, k: others[k - 1]
    guess_ms = np.zeros(len(positions), dtype=np.float64)
    for k, other in enumerate(others, start=1):
        guess = given * UNITS[other]
        fits = numeric & (guess_unit == 0) & (guess >= s.MIN_TIMESTAMP_MS) & (guess <= limit_ms)
        guess_unit[fits] = k
        guess_ms[fits] = guess[fits]
    looks = guess_unit > 0
    unit_name = UNIT_NAMES[options.unit]
    # The hint, empty where no other unit fits: one join for the whole sentence.
    which = pa.array(guess_unit)
    before = pa.array(["", *(f"; it looks like {UNIT_NAMES[other]} (" for other in others)], type=_TEXT)
    after = pa.array(["", *(f"): {options.terms.hint('unit', other)}" for other in others)], type=_TEXT)
    guess_when = (
        pc.if_else(pa.array(looks), format_ms_many(np.where(looks, guess_ms, 0).astype(np.int64)), _word(""))
        if looks.any()
        else pa.nulls(len(positions), _TEXT).fill_null("")
    )
    text = pc.binary_join_element_wise(
        _word("timestamp "), shown, _word(f" read as {unit_name} is "), when, _word(f", which {problem}"),
        before.take(which), guess_when, after.take(which), _word(""),
    )  # fmt: skip
    del guess_when
    codes = np.where(looks, _CODE_NUMBER["timestamp.unit"], _CODE_NUMBER[code]).astype(np.int16)
    if not numeric.all():
        plain = pc.binary_join_element_wise(_word("timestamp "), when, _word(f" {problem}"), _word(""))
        mask = pa.array(numeric)
        text, shown = pc.if_else(mask, text, plain), pc.if_else(mask, shown, when)
    return [
        Finding(positions, positions, _no_explain, "timestamp", rendered=(codes, text, shown))
    ]  # fmt: skip


def _no_explain(_: object) -> tuple[str, str]:  # pragma: no cover - rendered findings are not explained
    raise AssertionError("a rendered finding has its sentences")


def failure_findings(
    failures: Iterable[tuple[str | None, str, np.ndarray]],
    checked: pd.DataFrame,
    number: np.ndarray,
    options: PrepareOptions,
    *,
    exact: Mapping[int, str] | None = None,
) -> list[Finding]:
    """A :class:`Finding` per failed check, in the words of :func:`explain_email` & co.

    ``failures`` yields ``(column, check, positions)`` (see ``schema.failed_checks``); only the
    failing rows' values of ``checked`` become Python objects. ``number`` holds the raw epoch
    numbers, so a timestamp's reason can name the likely unit; ``exact`` the integers a float
    does not hold exactly, as text by position.
    """
    exact = exact or {}
    found: list[Finding] = []
    for column, check, positions in failures:
        positions = np.asarray(positions, dtype=np.int64)
        if check in (s.CHECK_NOT_BEFORE_2000, s.CHECK_NOT_IN_FUTURE):
            found.extend(_time_findings(check, positions, checked, number, options, exact))
        elif check == s.CHECK_PLAUSIBLE_EMAIL:
            found.append(Finding(positions, _values(checked, "email", positions), explain_email, "email"))
        elif check == s.CHECK_NOT_EMPTY and f"{column}.missing" in PROBLEMS:
            found.append(Finding.fixed(positions, f"{column}.missing", f"{column} is empty"))
        elif check == s.CHECK_MAX_LENGTH and column is not None:
            found.append(
                Finding(
                    positions, _values(checked, column, positions),
                    functools.partial(coded, f"{column}.too_long", functools.partial(explain_length, column)),
                    column,
                )
            )  # fmt: skip
        elif check == s.CHECK_NO_CONTROL and column is not None:
            found.append(
                Finding(
                    positions, _values(checked, column, positions),
                    functools.partial(
                        coded, f"{column}.control_character", functools.partial(explain_control, column)
                    ),
                    column,
                )
            )  # fmt: skip
        elif check == s.CHECK_ALLOWED_EVENT:
            allowed = tuple(options.allowed_events or ())
            found.append(
                Finding(
                    positions, _values(checked, "eventName", positions),
                    functools.partial(coded, "eventName.not_in_mapping",
                                      functools.partial(_explain_event_name, allowed)),
                    "eventName",
                )
            )  # fmt: skip
        elif check == s.CHECK_LOGIN_TARGET_APP:
            found.append(
                Finding(
                    positions, _values(checked, "eventName", positions), _explain_login, None,
                    shown=lambda _: None,
                )
            )  # fmt: skip
        else:  # a check without words of its own (none today): say which it was
            found.append(Finding.fixed(positions, "internal_error", f"{column} failed the check {check!r}"))
    return found


def _explain_event_name(allowed: Collection[str], value: str) -> str:
    return explain_event_name(value, allowed)


def _explain_login(name: str) -> tuple[str, str]:
    return "targetApp.missing_for_login", f"eventName {name!r} is a Login event and needs a targetApp"
