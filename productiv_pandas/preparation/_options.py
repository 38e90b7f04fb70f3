"""The data-shaping options shared by validate, prepare and publish, checked once."""

from __future__ import annotations

import datetime as dt
import difflib
import numbers
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import pandas as pd

from ..errors import ConfigurationError
from ._schema import DEFAULT_FUTURE_TOLERANCE, timestamp_ms
from ._terms import PYTHON, Terms
from ._timestamps import UNITS

__all__ = ["API_FIELDS", "ON_STALE", "OPTION_NAMES", "PrepareOptions", "PrepareOptionsDict"]

ON_STALE = ("warn", "skip", "ignore")
API_FIELDS = ("timestamp", "email", "eventName", "targetApp")
STALE_AFTER = pd.Timedelta(hours=12)
#: The keyword arguments :meth:`PrepareOptions.from_kwargs` takes, in the order the docs list them.
OPTION_NAMES = (
    "columns",
    "unit",
    "tz",
    "login_events",
    "allowed_events",
    "on_stale",
    "now",
    "future_tolerance",
)


class PrepareOptionsDict(TypedDict, total=False):
    """The options of validate, prepare and publish: every option, documented once, here.

    The functions and methods that shape events take them as keyword arguments
    (``**options: Unpack[PrepareOptionsDict]``): :func:`productiv_pandas.validate`,
    :func:`~productiv_pandas.prepare`, :func:`~productiv_pandas.publish`,
    :func:`~productiv_pandas.validate_file`, :func:`~productiv_pandas.publish_file`,
    ``df.productiv.validate/prepare/publish`` and the Dask accessor's. Type checkers and IDEs
    read the names and types from here. At run time an unknown name is a ConfigurationError
    suggesting the closest option, and so is a bad value (naming its option), before any row
    is read or sent. Every option may be left out.

    Attributes
    ----------
    columns : mapping of str to str
        Input column name -> API field (``timestamp``, ``email``, ``eventName``,
        ``targetApp``), e.g. ``{"user": "email"}``; same-named columns need none.
    unit : {"ms", "s", "us", "ns"}
        The unit of epoch numbers, in the timestamp column and in ``now`` (default ``"ms"``).
    tz : str or datetime.tzinfo
        The zone of naive times (an IANA name like ``"Europe/Paris"``, or ``"UTC"``); without
        it they are read as UTC, with a NaiveTimestampWarning.
    login_events : collection of str
        Event names that need a ``targetApp`` (Login events).
    allowed_events : collection of str
        The only event names accepted; a name outside is ``invalid``, with the closest allowed
        name suggested. Without it every name is accepted.
    on_stale : {"warn", "skip", "ignore"}
        What to do with events older than 12 hours before ``now``: send them with a
        StaleEventWarning (default), leave them ``skipped``, or send them silently.
    now : Timestamp, datetime, str or number
        The reference time (default: the current time, fixed once per call). A number is epoch
        time in ``unit``, like the timestamp column's numbers (``now=1_793_534_400_000`` is
        2026-11-01 UTC with the default milliseconds); a naive time is in ``tz``.
        ``True``/``False`` are refused.
    future_tolerance : Timedelta, timedelta or str
        How far after ``now`` a timestamp may lie (default 5 minutes); not a bare number.
    """

    columns: Mapping[str, str]
    unit: Literal["ms", "s", "us", "ns"]
    tz: str | dt.tzinfo | None
    login_events: Collection[str] | None
    allowed_events: Collection[str] | None
    on_stale: Literal["warn", "skip", "ignore"]
    now: pd.Timestamp | dt.datetime | str | float | None
    future_tolerance: pd.Timedelta | dt.timedelta | str


def _unknown_options(unknown: Collection[str], also: Collection[str]) -> ConfigurationError:
    """The error for keyword arguments nobody takes: a typo must not pass for an option."""
    valid = [*OPTION_NAMES, *(name for name in also if name not in OPTION_NAMES)]
    named = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1)
        named.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    option = "option" if len(named) == 1 else "options"
    return ConfigurationError(f"unknown {option} {', '.join(named)}; the options are {valid}")


def _check_tz(tz: object, terms: Terms) -> None:
    # pandas also takes an int (seconds east of UTC) or a pytz-like object; a bare number is far
    # more often a mistake (hours? an offset in minutes?) than a deliberate offset in seconds.
    if not isinstance(tz, str | dt.tzinfo):
        raise ConfigurationError(
            f"tz must be a timezone name like 'Europe/Paris' or 'UTC', or a datetime.tzinfo; "
            f"got {tz!r} ({type(tz).__name__})"
        )
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception as exc:
        like = f"{terms.offered('tz', 'Europe/Paris')} or {terms.offered('tz', 'UTC')}"
        raise ConfigurationError(f"unknown timezone {tz!r}: use an IANA name like {like}") from exc


def _reference_time(now: object, unit: str, tz: object) -> pd.Timestamp:
    """``now`` as a UTC Timestamp: numbers are epoch in ``unit``, naive times are in ``tz``."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    # bool is an int to Python, never a point in time to an analyst.
    number = isinstance(now, numbers.Real) and not isinstance(now, bool)
    try:
        # An epoch number is read as the timestamp column's numbers are (pd.Timestamp alone
        # would take nanoseconds, putting milliseconds in 1970).
        reference = pd.Timestamp(now, unit=unit, tz="UTC") if number else pd.Timestamp(now)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigurationError(f"now {now!r} is not a point in time") from exc
    if pd.isna(reference):
        raise ConfigurationError(f"now must be a point in time, got {now!r}")
    if reference.tzinfo is None:
        reference = reference.tz_localize(tz or "UTC")
    return reference.tz_convert("UTC")


def _names(value: Collection[str] | str | None, option: str, terms: Terms) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        # A lone string is almost always a forgotten pair of brackets, not a set of letters.
        return frozenset([value.strip()])
    try:
        return frozenset(str(name).strip() for name in value)
    except TypeError:
        raise ConfigurationError(
            f"{terms.name(option)} must be a collection of event names, got {value!r}"
        ) from None


@dataclass(frozen=True)
class PrepareOptions:
    """Validated options; build with :meth:`from_kwargs`. Each option is documented in
    :class:`PrepareOptionsDict`.

    ``now`` is fixed once per call so every row is judged against the same instant. ``terms``
    is the vocabulary of the messages and reasons (:mod:`._terms`): Python's, unless the command
    line asked for its own with the private ``_terms`` keyword.
    """

    columns: Mapping[str, str]
    unit: str
    tz: Any
    login_events: frozenset[str]
    allowed_events: frozenset[str] | None
    on_stale: str
    now: pd.Timestamp
    future_tolerance: pd.Timedelta
    terms: Terms = PYTHON

    @classmethod
    def from_kwargs(
        cls,
        also: Collection[str] = (),
        /,
        *,
        columns: Mapping[str, str] | None = None,
        unit: str = "ms",
        tz: str | dt.tzinfo | None = None,
        login_events: Collection[str] | None = None,
        allowed_events: Collection[str] | None = None,
        on_stale: str = "warn",
        now: pd.Timestamp | dt.datetime | str | float | None = None,
        future_tolerance: pd.Timedelta | dt.timedelta | str = DEFAULT_FUTURE_TOLERANCE,
        _terms: Terms = PYTHON,
        **unknown: Any,
    ) -> PrepareOptions:
        """Check the options (:class:`PrepareOptionsDict`) and fix ``now``; raise ConfigurationError
        naming any bad one.

        ``also`` names the caller's own keyword arguments (``batch_size``, ``journal``...), so an
        unknown option's message lists and suggests them too. It is positional so that no
        option name is taken by it. ``_terms`` (private, see :mod:`._terms`) is the vocabulary the
        messages use: the command line passes :data:`~._terms.CLI`.
        """
        if unknown:
            raise _unknown_options(unknown, also)
        if not isinstance(_terms, Terms):
            raise TypeError(f"_terms must be a Terms, got {type(_terms).__name__}")
        terms = _terms
        if unit not in UNITS:
            raise ConfigurationError(f"{terms.name('unit')} must be one of {sorted(UNITS)}, got {unit!r}")
        if on_stale not in ON_STALE:
            raise ConfigurationError(
                f"{terms.name('on_stale')} must be one of {list(ON_STALE)}, got {on_stale!r}"
            )
        if tz is not None:
            _check_tz(tz, terms)
        # dict() takes anything with keys() (a Series too); a list of names is a common slip.
        if columns is not None and not hasattr(columns, "keys"):
            raise ConfigurationError(
                f"columns must be a mapping from input column name to API field, e.g. "
                f"{{'user': 'email'}}; got {columns!r}"
            )
        mapping = {} if columns is None else dict(columns)
        for source, target in mapping.items():
            if target not in API_FIELDS:
                close = difflib.get_close_matches(str(target), API_FIELDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(
                    f"{terms.name('columns')} maps {source!r} to {target!r}, which is not an API "
                    f"field{hint}; the fields are {list(API_FIELDS)}"
                )
        if isinstance(future_tolerance, int | float) and not isinstance(future_tolerance, bool):
            raise ConfigurationError(
                f"future_tolerance must be a duration such as '5min' or timedelta(minutes=5), "
                f"got the bare number {future_tolerance!r}"
            )
        try:
            tolerance = pd.Timedelta(future_tolerance)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"future_tolerance {future_tolerance!r} is not a duration") from exc
        if pd.isna(tolerance) or tolerance < pd.Timedelta(0):
            raise ConfigurationError(f"future_tolerance must be zero or positive, got {future_tolerance!r}")
        reference = _reference_time(now, unit, tz)
        return cls(
            columns=mapping,
            unit=unit,
            tz=tz,
            login_events=_names(login_events, "login_events", terms) or frozenset(),
            allowed_events=_names(allowed_events, "allowed_events", terms),
            on_stale=on_stale,
            now=reference,
            future_tolerance=tolerance,
            terms=terms,
        )

    @property
    def now_ms(self) -> int:
        return timestamp_ms(self.now)
