"""The wire format of a usage event, as a pandera model, and the checks that define it.

``UsageEvents`` is usable on its own by people who build their own pipelines::

    >>> import pandas as pd, productiv_pandas as pp
    >>> frame = pd.DataFrame({"timestamp": [1_700_000_000_000], "email": ["ana@example.com"],
    ...                       "eventName": ["opened_file"]})
    >>> len(pp.UsageEvents.validate(frame))
    1

``prepare`` runs the same checks through :func:`wire_schema`, which binds the reference time
and adds the app-specific rules (Login events need ``targetApp``; names outside the app's
mapping are refused). Every check has a stable name; ``reasons.py`` turns a failed check into
words an analyst understands.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Collection, Iterator
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandera.typing import Series

from .._compat import register_pandera_backends
from ._text import control_mask, length_at_most, not_empty_mask

__all__ = [
    "EMAIL_PATTERN",
    "MAX_LENGTH",
    "MIN_TIMESTAMP_MS",
    "UsageEvents",
    "failed_checks",
    "is_plausible_email",
    "wire_schema",
]

#: 2000-01-01T00:00:00Z in milliseconds: anything earlier is a unit or parsing mistake.
MIN_TIMESTAMP_MS = 946_684_800_000
DEFAULT_FUTURE_TOLERANCE = pd.Timedelta(minutes=5)

# Every character Python's str.isspace() accepts, spelled out so that RE2 (pyarrow, the fast
# path) and Python's re (the fallback) agree on what "no whitespace" means.
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: One '@', a non-empty local part, a domain of two or more non-empty dot-separated labels.
EMAIL_PATTERN = f"[^@{_WHITESPACE}]+@[^@.{_WHITESPACE}]+(?:\\.[^@.{_WHITESPACE}]+)+"
_EMAIL_RE = re.compile(EMAIL_PATTERN)

# Check names: reasons.py maps each one to a sentence.
CHECK_NOT_BEFORE_2000 = "not_before_2000"
CHECK_NOT_IN_FUTURE = "not_in_future"
CHECK_PLAUSIBLE_EMAIL = "plausible_email"
CHECK_NOT_EMPTY = "not_empty"
CHECK_ALLOWED_EVENT = "allowed_event"
CHECK_LOGIN_TARGET_APP = "login_needs_target_app"
CHECK_MAX_LENGTH = "max_length"
CHECK_NO_CONTROL = "no_control_characters"

#: The longest value of each text field, in characters. An address has at most 254 (RFC 5321);
#: event names and app names are short words, and 1000 characters keeps a full batch's body
#: (1000 events) within a couple of megabytes, far below any server's limit on a request.
MAX_LENGTH = {"email": 254, "eventName": 1000, "targetApp": 1000}


def _arrow_strings(values: pd.Series) -> pa_arrow.Array | None:
    """The pyarrow array behind a pyarrow-backed string Series, or None for any other storage."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa_arrow.array(values.array)
    return None


def is_plausible_email(emails: pd.Series) -> pd.Series:
    """Element-wise: is the value a plausible email address? Missing values pass.

    Uses pyarrow's RE2 on pyarrow-backed strings (about 7x faster than ``Series.str.match``
    there) and Python's ``re`` otherwise; both use the same pattern.
    """
    arrow = _arrow_strings(emails)
    if arrow is not None:
        matched = pc.fill_null(pc.match_substring_regex(arrow, f"^{EMAIL_PATTERN}$"), True)
        return pd.Series(matched.to_numpy(zero_copy_only=False), index=emails.index)
    return emails.map(
        lambda v: (
            (not isinstance(v, str) and pd.isna(v)) or (isinstance(v, str) and bool(_EMAIL_RE.fullmatch(v)))
        )
    ).astype(bool)


def _not_empty(values: pd.Series) -> pd.Series:
    return pd.Series(not_empty_mask(values), index=values.index)


def _max_length(field: str):
    def check(values: pd.Series) -> pd.Series:
        return pd.Series(length_at_most(values, MAX_LENGTH[field]), index=values.index)

    return check


def _no_control(values: pd.Series) -> pd.Series:
    return pd.Series(~control_mask(values), index=values.index)


_EPOCH = pd.Timestamp(0, tz="UTC")
_ONE_MS = pd.Timedelta(milliseconds=1)


def timestamp_ms(moment: pd.Timestamp) -> int:
    """Unix milliseconds of a tz-aware Timestamp, floored (``Timestamp.value`` is always ns)."""
    return int((moment - _EPOCH) // _ONE_MS)


def _now_ms(now: pd.Timestamp | None) -> int:
    return timestamp_ms(pd.Timestamp.now(tz="UTC") if now is None else now)


def _not_in_future(now: pd.Timestamp | None, tolerance: pd.Timedelta):
    def check(timestamps: pd.Series) -> pd.Series:
        limit = _now_ms(now) + int(tolerance / pd.Timedelta(milliseconds=1))
        return (timestamps <= limit).fillna(True).astype(bool)

    return check


class UsageEvents(pa.DataFrameModel):
    """A frame of usage events in the wire format of the Publish Usage Events API.

    - ``timestamp``: int64 Unix time in milliseconds, on or after 2000-01-01 and no later than
      now + 5 minutes.
    - ``email``: a plausible address: one ``@``, a non-empty local part, a dotted domain,
      no whitespace; at most 254 characters (RFC 5321).
    - ``eventName``: a non-empty string of at most 1000 characters.
    - ``targetApp``: optional, nullable; required by the API only for Login events, which this
      model cannot know (``prepare(login_events=...)`` checks that); at most 1000 characters.
    - No text field holds a control or format character (Unicode categories Cc and Cf: NUL,
      a tab or newline inside, a zero-width space U+200B..U+200D, U+2060, a BOM U+FEFF, a
      bidi override): invisible in a report, they would make ``a\u200bna@x.com`` another user
      than ``ana@x.com``. Leading and trailing whitespace is stripped before, by ``prepare``.
      The reason names the character and its 0-based position in the value.

    The length bounds (:data:`MAX_LENGTH`, counted in characters) keep an oversized value out
    of a batch, so that a request body stays far below any server's limit.

    Extra columns are allowed and ignored: only these four fields are ever put on the wire.
    """

    timestamp: Series[np.int64] = pa.Field(nullable=False)
    email: Series[str] = pa.Field(nullable=False)
    eventName: Series[str] = pa.Field(nullable=False)
    targetApp: Optional[Series[str]] = pa.Field(nullable=True)  # noqa: UP045 (pandera needs Optional)

    @pa.check("timestamp", name=CHECK_NOT_BEFORE_2000)
    def _timestamp_not_before_2000(cls, timestamps: Series[np.int64]) -> Series[bool]:
        # pandera's Series[...] types a comparison as bool; at run time it is a boolean Series.
        return (timestamps >= MIN_TIMESTAMP_MS).fillna(True).astype(bool)  # type: ignore[attr-defined]

    @pa.check("timestamp", name=CHECK_NOT_IN_FUTURE)
    def _timestamp_not_in_future(cls, timestamps: Series[np.int64]) -> Series[bool]:
        return _not_in_future(None, DEFAULT_FUTURE_TOLERANCE)(timestamps)

    @pa.check("email", name=CHECK_PLAUSIBLE_EMAIL)
    def _email_plausible(cls, emails: Series[str]) -> Series[bool]:
        return is_plausible_email(emails)

    @pa.check("email", name=CHECK_MAX_LENGTH)
    def _email_max_length(cls, emails: Series[str]) -> Series[bool]:
        return _max_length("email")(emails)

    @pa.check("email", name=CHECK_NO_CONTROL)
    def _email_no_control(cls, emails: Series[str]) -> Series[bool]:
        return _no_control(emails)

    @pa.check("eventName", name=CHECK_NOT_EMPTY)
    def _event_name_not_empty(cls, names: Series[str]) -> Series[bool]:
        return _not_empty(names)

    @pa.check("eventName", name=CHECK_MAX_LENGTH)
    def _event_name_max_length(cls, names: Series[str]) -> Series[bool]:
        return _max_length("eventName")(names)

    @pa.check("eventName", name=CHECK_NO_CONTROL)
    def _event_name_no_control(cls, names: Series[str]) -> Series[bool]:
        return _no_control(names)

    @pa.check("targetApp", name=CHECK_NOT_EMPTY)
    def _target_app_not_empty(cls, apps: Series[str]) -> Series[bool]:
        return _not_empty(apps)

    @pa.check("targetApp", name=CHECK_MAX_LENGTH)
    def _target_app_max_length(cls, apps: Series[str]) -> Series[bool]:
        return _max_length("targetApp")(apps)

    @pa.check("targetApp", name=CHECK_NO_CONTROL)
    def _target_app_no_control(cls, apps: Series[str]) -> Series[bool]:
        return _no_control(apps)

    class Config:
        strict = False


# Built once, at import (one thread): pandera 0.24 builds a model's schema racily, and a
# to_schema() racing another in a second thread (Dask's partitions) names the checks after
# their methods ("_email_plausible") and caches that for good, so reasons said "failed the
# check '_email_plausible'". Every schema here starts from this one; it is never mutated.
_USAGE_SCHEMA = UsageEvents.to_schema()


def wire_schema(
    *,
    now: pd.Timestamp | None = None,
    future_tolerance: pd.Timedelta = DEFAULT_FUTURE_TOLERANCE,
    login_events: Collection[str] = (),
    allowed_events: Collection[str] | None = None,
    allow_missing: bool = False,
) -> pa.DataFrameSchema:
    """``UsageEvents`` bound to a reference time, plus the app's rules; the same object for the
    same arguments (see :func:`_built_schema`).

    Parameters
    ----------
    now, future_tolerance
        Timestamps later than ``now + future_tolerance`` fail ``not_in_future``.
    login_events
        Event names of category Login: rows with these names need a ``targetApp``.
    allowed_events
        The app's event mapping; other names fail ``allowed_event``. None allows any name.
    allow_missing
        Make every column nullable (``timestamp`` as ``Int64``) so the checks run on the values
        that could be read while ``prepare`` reports the missing ones with its own reasons.
    """
    return _built_schema(
        now,
        future_tolerance,
        frozenset(login_events or ()),
        None if allowed_events is None else frozenset(allowed_events),
        allow_missing,
    )


@functools.lru_cache(maxsize=16)
def _built_schema(
    now: pd.Timestamp | None,
    future_tolerance: pd.Timedelta,
    login_events: frozenset[str],
    allowed_events: frozenset[str] | None,
    allow_missing: bool,
) -> pa.DataFrameSchema:
    """:func:`wire_schema`'s work, cached: pandera copies the whole schema (``deepcopy``) for
    each column it updates, 3 ms a schema, which was a fifth of the time a small chunk took
    (validate_file builds it for every chunk with the same ``now``). A schema is never
    mutated once built, so sharing one, between threads too, is safe."""
    schema = _USAGE_SCHEMA
    columns = dict(schema.columns)
    ts_checks = [c for c in columns["timestamp"].checks if c.name != CHECK_NOT_IN_FUTURE]
    ts_checks.append(pa.Check(_not_in_future(now, future_tolerance), name=CHECK_NOT_IN_FUTURE))
    schema = schema.update_column("timestamp", checks=ts_checks)
    if allowed_events is not None:
        allowed = frozenset(allowed_events)
        name_checks = [*schema.columns["eventName"].checks]
        name_checks.append(
            pa.Check(
                lambda names: names.isin(allowed) | names.isna() | (names == ""),
                name=CHECK_ALLOWED_EVENT,
            )
        )
        schema = schema.update_column("eventName", checks=name_checks)
    if login_events:
        logins = frozenset(login_events)

        def login_has_target_app(frame: pd.DataFrame) -> pd.Series:
            target = frame["targetApp"] if "targetApp" in frame else pd.Series(pd.NA, index=frame.index)
            return ~(frame["eventName"].isin(logins) & target.isna())

        schema = copy.copy(schema)  # to_schema() may hand out a cached object: never mutate it
        schema.checks = [
            *schema.checks,
            pa.Check(login_has_target_app, name=CHECK_LOGIN_TARGET_APP),
        ]
    if allow_missing:
        for name in ("timestamp", "email", "eventName"):
            schema = schema.update_column(name, nullable=True)
        schema = schema.update_column("timestamp", dtype="Int64")
    return schema


def _failing(check: pa.Check, values: pd.Series | pd.DataFrame) -> np.ndarray:
    """Index labels where one pandera check fails, as ``schema.validate(lazy=True)`` reports them."""
    if check.groupby is not None or check.element_wise or check.is_builtin_check(check.name or ""):
        passed = check(values).check_output  # pandera's whole path
    else:
        # pandera's backend runs the function, as Check.__call__ does, but neither drops the
        # missing values first (a copy of the column, for nothing: every check here lets them
        # pass, and ignore_na is applied below all the same) nor post-processes (a copy of the
        # failing values, grouped, for a failure-case frame prepare does not use).
        passed = check.get_backend(values)(check).apply(values)
        if isinstance(passed, pd.Series) and isinstance(values, pd.Series) and check.ignore_na:
            failed = ~passed.to_numpy(dtype=bool, na_value=False) & values.notna().to_numpy(dtype=bool)
            return np.asarray(passed.index[failed])
    if not isinstance(passed, pd.Series):
        if bool(passed):
            return np.array([], dtype=np.int64)
        # pandera reports a failed whole-object check without an index: no row to blame.
        raise RuntimeError(f"check {check.name!r} failed as a whole, not row by row")
    # Indexing the index (a RangeIndex, mostly) rather than materializing it as a full array.
    return np.asarray(passed.index[~passed.to_numpy(dtype=bool, na_value=False)])


def failed_checks(
    schema: pa.DataFrameSchema, frame: pd.DataFrame
) -> Iterator[tuple[str | None, str, np.ndarray]]:
    """Run a schema's value checks; yield ``(column, check name, failing positions)`` per failed check.

    What ``schema.validate(frame, lazy=True)`` finds among the values, in the same order,
    without building its failure-case frame: ``prepare`` checks a million rows and wants
    positions, not a frame of failure cases (the column of a frame-wide check is None). Column
    dtypes and nullability are not checked: the caller builds ``frame`` with the schema's
    dtypes. ``frame`` must have a RangeIndex, so that index labels are positions.
    """
    register_pandera_backends(schema, frame)
    for name, column in schema.columns.items():
        if name not in frame.columns:  # an optional column that is absent is not checked
            continue
        for check in column.checks:
            failing = _failing(check, frame[name])
            if len(failing):
                yield name, check.name, failing
    for check in schema.checks:
        failing = _failing(check, frame)
        if len(failing):
            yield None, check.name, failing
