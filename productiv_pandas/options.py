"""The data-shaping options shared by validate, prepare and publish, checked once."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import ConfigurationError
from .schema import DEFAULT_FUTURE_TOLERANCE, timestamp_ms
from .timestamps import UNITS

__all__ = ["API_FIELDS", "ON_STALE", "PrepareOptions"]

ON_STALE = ("warn", "skip", "ignore")
API_FIELDS = ("timestamp", "email", "eventName", "targetApp")
STALE_AFTER = pd.Timedelta(hours=12)


def _names(value: Collection[str] | str | None, option: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        # A lone string is almost always a forgotten pair of brackets, not a set of letters.
        return frozenset([value.strip()])
    try:
        return frozenset(str(name).strip() for name in value)
    except TypeError:
        raise ConfigurationError(f"{option} must be a collection of event names, got {value!r}") from None


@dataclass(frozen=True)
class PrepareOptions:
    """Validated options; build with :meth:`from_kwargs`.

    ``now`` is fixed once per call so every row is judged against the same instant.
    """

    columns: Mapping[str, str]
    unit: str
    tz: Any
    login_events: frozenset[str]
    allowed_events: frozenset[str] | None
    on_stale: str
    now: pd.Timestamp
    future_tolerance: pd.Timedelta

    @classmethod
    def from_kwargs(
        cls,
        *,
        columns: Mapping[str, str] | None = None,
        unit: str = "ms",
        tz: str | dt.tzinfo | None = None,
        login_events: Collection[str] | None = None,
        allowed_events: Collection[str] | None = None,
        on_stale: str = "warn",
        now: pd.Timestamp | dt.datetime | str | None = None,
        future_tolerance: pd.Timedelta | dt.timedelta | str = DEFAULT_FUTURE_TOLERANCE,
    ) -> PrepareOptions:
        if unit not in UNITS:
            raise ConfigurationError(f"unit must be one of {sorted(UNITS)}, got {unit!r}")
        if on_stale not in ON_STALE:
            raise ConfigurationError(f"on_stale must be one of {list(ON_STALE)}, got {on_stale!r}")
        if tz is not None:
            try:
                pd.Timestamp("2000-01-01").tz_localize(tz)
            except Exception as exc:
                raise ConfigurationError(
                    f"unknown timezone {tz!r}: use an IANA name like 'Europe/Paris' or 'UTC'"
                ) from exc
        mapping = dict(columns or {})
        for source, target in mapping.items():
            if target not in API_FIELDS:
                close = difflib.get_close_matches(str(target), API_FIELDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(
                    f"columns maps {source!r} to {target!r}, which is not an API field{hint}; "
                    f"the fields are {list(API_FIELDS)}"
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
        try:
            reference = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"now {now!r} is not a point in time") from exc
        if pd.isna(reference):
            raise ConfigurationError("now must be a point in time, got NaT")
        if reference.tzinfo is None:
            reference = reference.tz_localize(tz or "UTC")
        return cls(
            columns=mapping,
            unit=unit,
            tz=tz,
            login_events=_names(login_events, "login_events") or frozenset(),
            allowed_events=_names(allowed_events, "allowed_events"),
            on_stale=on_stale,
            now=reference.tz_convert("UTC"),
            future_tolerance=tolerance,
        )

    @property
    def now_ms(self) -> int:
        return timestamp_ms(self.now)
