"""PrepareOptions.from_kwargs: each bad option a ConfigurationError naming it, at every entry point."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation._options import OPTION_NAMES, PrepareOptions

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
NOW_MS = 1_795_694_400_000
OPTIONS_LIST = (
    "['columns', 'unit', 'tz', 'login_events', 'allowed_events', 'on_stale', 'now', 'future_tolerance']"
)


def frame() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": [NOW_MS - 60_000], "email": ["a@x.io"], "eventName": ["opened_file"]})


def test_option_names_are_the_keyword_arguments_of_from_kwargs() -> None:
    assert list(OPTION_NAMES) == [
        "columns",
        "unit",
        "tz",
        "login_events",
        "allowed_events",
        "on_stale",
        "now",
        "future_tolerance",
    ]
    for name in OPTION_NAMES:  # each one is taken (None is every option's "left out" but unit/on_stale's)
        value = {"unit": "ms", "on_stale": "warn", "future_tolerance": "5min"}.get(name)
        PrepareOptions.from_kwargs(**{name: value})


def test_an_unknown_option_names_it_suggests_the_closest_and_lists_the_options() -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        pp.validate(frame(), login_event={"sso_login"}, now=NOW)
    assert str(raised.value) == (
        f"unknown option 'login_event' (did you mean 'login_events'?); the options are {OPTIONS_LIST}"
    )
    assert isinstance(raised.value, ValueError)


def test_several_unknown_options_are_all_named_and_one_without_a_match_gets_no_guess() -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        pp.validate(frame(), zzz=1, timezone="UTC", now=NOW)
    assert str(raised.value) == f"unknown options 'timezone', 'zzz'; the options are {OPTIONS_LIST}"


def test_a_callers_own_keyword_arguments_are_listed_and_suggested() -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        PrepareOptions.from_kwargs(("batch_size", "journal", "tz"), batch_sise=10)
    assert str(raised.value) == (
        "unknown option 'batch_sise' (did you mean 'batch_size'?); the options are "
        f"{OPTIONS_LIST[:-1]}, 'batch_size', 'journal']"
    )


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda f, path: pp.prepare(f, login_event={"x"}), id="prepare"),
        pytest.param(lambda f, path: f.productiv.validate(login_event={"x"}), id="accessor"),
        # app_id and max_workers are fine, so the options are checked next, before any client is built.
        pytest.param(lambda f, path: pp.publish(f, "acme", login_event={"x"}), id="publish"),
        pytest.param(lambda f, path: pp.validate_file(path, login_event={"x"}), id="validate_file"),
        pytest.param(lambda f, path: pp.publish_file(path, "acme", login_event={"x"}), id="publish_file"),
    ],
)
def test_every_entry_point_gives_the_same_message(call, tmp_path) -> None:
    path = tmp_path / "events.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(
        pp.ConfigurationError, match=re.escape("unknown option 'login_event' (did you mean 'login_events'?)")
    ):
        call(frame(), path)


@pytest.mark.parametrize("columns", [["email"], "email", ("user", "email"), 5])
def test_columns_must_be_a_mapping(columns) -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        pp.validate(frame(), columns=columns, now=NOW)
    assert str(raised.value) == (
        "columns must be a mapping from input column name to API field, e.g. {'user': 'email'}; "
        f"got {columns!r}"
    )


@pytest.mark.parametrize(
    "columns", [MappingProxyType({"user": "email"}), pd.Series({"user": "email"})], ids=["proxy", "Series"]
)
def test_columns_may_be_anything_with_keys_as_dict_takes_it(columns) -> None:
    status = pp.validate(frame().rename(columns={"email": "user"}), columns=columns, now=NOW)
    assert status["status"].tolist() == ["valid"]
    assert status["email"].tolist() == ["a@x.io"]


@pytest.mark.parametrize(
    ("now", "unit", "expected"),
    [
        (1_793_534_400_000, "ms", "2026-11-01 12:00:00+00:00"),
        (np.int64(1_793_534_400_000), "ms", "2026-11-01 12:00:00+00:00"),
        (1_793_534_400, "s", "2026-11-01 12:00:00+00:00"),
        (1_793_534_400.5, "s", "2026-11-01 12:00:00.500000+00:00"),
        (1_793_534_400_000_000, "us", "2026-11-01 12:00:00+00:00"),
        (1_793_534_400_000_000_000, "ns", "2026-11-01 12:00:00+00:00"),
    ],
)
def test_a_number_for_now_is_epoch_time_in_the_calls_unit(now, unit, expected) -> None:
    options = PrepareOptions.from_kwargs(now=now, unit=unit)
    assert str(options.now) == expected
    # Epoch numbers are UTC by definition: tz is for naive times, not for them.
    assert PrepareOptions.from_kwargs(now=now, unit=unit, tz="Europe/Paris").now == options.now


def test_a_millisecond_now_judges_recent_events_as_recent() -> None:
    status = pp.validate(frame(), now=NOW_MS)
    assert status["status"].tolist() == ["valid"]
    assert status["reason"].isna().all()
    assert not status["stale"].any()


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (True, "now True is not a point in time"),
        (np.True_, f"now {np.True_!r} is not a point in time"),  # numpy 1.x: True, 2.x: np.True_
        (float("inf"), "now inf is not a point in time"),
        (10**20, "now 100000000000000000000 is not a point in time"),
        (float("nan"), "now must be a point in time, got nan"),
        (pd.NaT, "now must be a point in time, got NaT"),
    ],
)
def test_now_that_is_not_a_point_in_time_is_refused(now, message) -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        pp.validate(frame(), now=now)
    assert str(raised.value) == message


@pytest.mark.parametrize("tz", [5, 3600, 1.5, True, dt.timedelta(hours=1), ["UTC"]])
def test_tz_must_be_a_name_or_a_tzinfo(tz) -> None:
    with pytest.raises(pp.ConfigurationError) as raised:
        pp.validate(frame(), tz=tz, now=NOW)
    assert str(raised.value) == (
        "tz must be a timezone name like 'Europe/Paris' or 'UTC', or a datetime.tzinfo; "
        f"got {tz!r} ({type(tz).__name__})"
    )


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", zoneinfo.ZoneInfo("Europe/Paris"), dt.UTC])
def test_tz_names_and_tzinfo_objects_are_accepted(tz) -> None:
    naive = frame().assign(timestamp=["2026-11-26 11:00:00"])
    status = pp.validate(naive, tz=tz, now=NOW)
    offset = 0 if str(tz) == "UTC" else 3_600_000  # Paris is UTC+1 in November
    assert status["timestamp"].tolist() == [NOW_MS - 3_600_000 - offset]
    assert status["status"].tolist() == ["valid"]
