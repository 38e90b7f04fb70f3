"""Event times of every shape an export has, read into Unix milliseconds (issue 2).

Each test goes through ``pp.validate`` (the rule as an analyst meets it) and asserts the
exact status, millisecond value and reason; a few call ``parse_timestamps`` directly.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation._timestamps import parse_timestamps

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
TEN_UTC_MS = 1_795_687_200_000  # 2026-11-26 10:00:00 UTC, two hours before NOW
DATE_ONLY = "is a date without a time of day; give the time it happened, with its zone"


def check(timestamps, **options) -> tuple[pd.DataFrame, list[warnings.WarningMessage]]:
    """Validate one row per timestamp (distinct emails, so no row is a duplicate of another).

    Returns the status frame and every warning the call emitted.
    """
    values = timestamps if isinstance(timestamps, pd.Series) else pd.Series(timestamps, dtype=object)
    frame = pd.DataFrame(
        {
            "timestamp": values.reset_index(drop=True),
            "email": [f"user{i}@example.com" for i in range(len(values))],
            "eventName": "opened_file",
        }
    )
    options.setdefault("now", NOW)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = pp.validate(frame, **options)
    return status, caught


def one(timestamp, **options) -> pd.Series:
    """The status row of a single timestamp."""
    status, _ = check([timestamp], **options)
    return status.iloc[0]


def assert_valid(row: pd.Series, ms: int) -> None:
    assert row["status"] == "valid", row["reason"]
    assert pd.isna(row["reason"])
    assert row["timestamp"] == ms


def assert_invalid(row: pd.Series, reason: str) -> None:
    assert row["status"] == "invalid"
    assert row["reason"] == reason


def naive_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, pp.NaiveTimestampWarning)]


# -- datetime64 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("s", TEN_UTC_MS), ("ms", TEN_UTC_MS + 123), ("us", TEN_UTC_MS + 123), ("ns", TEN_UTC_MS + 123)],
)
def test_datetime64_of_any_unit_is_read_as_milliseconds(unit: str, expected: int) -> None:
    moment = pd.Timestamp("2026-11-26 10:00:00.123456789")
    column = pd.Series([moment]).astype(f"datetime64[{unit}]")
    assert column.dt.unit == unit

    status, caught = check(column, tz="UTC")

    assert_valid(status.iloc[0], expected)
    assert caught == []


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_tz_aware_datetime64_of_any_unit_is_converted_to_utc(unit: str) -> None:
    column = pd.Series([pd.Timestamp("2026-11-26 19:00", tz="Asia/Tokyo")]).astype(
        f"datetime64[{unit}, Asia/Tokyo]"
    )

    status, caught = check(column)

    assert_valid(status.iloc[0], TEN_UTC_MS)
    assert naive_warnings(caught) == []  # aware values are never "read as UTC"


def test_naive_datetimes_are_read_in_tz() -> None:
    column = pd.Series(pd.to_datetime(["2026-11-26 11:00", "2026-11-26 05:00"]))

    paris, _ = check(column.iloc[:1], tz="Europe/Paris")
    new_york, _ = check(column.iloc[1:], tz="America/New_York")

    assert_valid(paris.iloc[0], TEN_UTC_MS)  # 11:00 CET is 10:00 UTC
    assert_valid(new_york.iloc[0], TEN_UTC_MS)  # 05:00 EST is 10:00 UTC


def test_local_time_in_a_daylight_saving_gap_is_invalid() -> None:
    # Paris skips 02:00-03:00 on 2026-03-29: 02:30 never happened there.
    row = one(pd.Timestamp("2026-03-29 02:30"), tz="Europe/Paris")

    assert_invalid(
        row,
        "local time 2026-03-29 02:30:00 does not exist or is ambiguous in Europe/Paris "
        "(a daylight-saving change); give it with an explicit offset",
    )
    assert pd.isna(row["timestamp"])


def test_ambiguous_local_time_is_invalid() -> None:
    # Paris lives 02:00-03:00 twice on 2026-10-25: 02:30 could be either.
    column = pd.Series(pd.to_datetime(["2026-10-25 02:30", "2026-11-26 11:00"]))

    status, _ = check(column, tz="Europe/Paris")

    assert_invalid(
        status.iloc[0],
        "local time 2026-10-25 02:30:00 does not exist or is ambiguous in Europe/Paris "
        "(a daylight-saving change); give it with an explicit offset",
    )
    assert_valid(status.iloc[1], TEN_UTC_MS)  # the rest of the column is unaffected


def test_naive_times_without_tz_are_utc_with_exactly_one_warning_per_call() -> None:
    # Naive values of three kinds in one object column: still one warning, counting all three.
    column = pd.Series(
        [pd.Timestamp("2026-11-26 10:00"), dt.datetime(2026, 11, 26, 10, 0, 1), "2026-11-26T10:00:02"],
        dtype=object,
    )

    status, caught = check(column)

    assert status["status"].tolist() == ["valid", "valid", "valid"]
    assert status["timestamp"].tolist() == [TEN_UTC_MS, TEN_UTC_MS + 1000, TEN_UTC_MS + 2000]
    naive = naive_warnings(caught)
    assert len(naive) == 1
    assert str(naive[0].message) == (
        "3 timestamp(s) had no timezone and were read as UTC; pass tz='Area/City' (the zone "
        "they were recorded in), or tz='UTC' if they are UTC."
    )
    assert issubclass(pp.NaiveTimestampWarning, UserWarning)


def test_naive_warning_is_emitted_once_per_call_not_once_per_session() -> None:
    column = pd.Series(pd.to_datetime(["2026-11-26 10:00", "2026-11-26 10:01"]))

    _, first = check(column)
    _, second = check(column)

    assert len(naive_warnings(first)) == 1
    assert len(naive_warnings(second)) == 1


def test_no_naive_warning_when_tz_is_given() -> None:
    status, caught = check(pd.Series(pd.to_datetime(["2026-11-26 10:00"])), tz="UTC")

    assert_valid(status.iloc[0], TEN_UTC_MS)
    assert caught == []


# -- objects and strings ------------------------------------------------------------------------


def test_object_column_of_mixed_naive_and_aware_datetimes() -> None:
    column = pd.Series(
        [
            dt.datetime(2026, 11, 26, 11, 0),  # naive: read in tz (Paris, UTC+1)
            pd.Timestamp("2026-11-26 19:00:01", tz="Asia/Tokyo"),
            dt.datetime(2026, 11, 26, 5, 0, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            pd.Timestamp("2026-11-26 11:00:03"),  # naive Timestamp
            np.datetime64("2026-11-26T11:00:04.005"),  # naive numpy value
        ],
        dtype=object,
    )

    status, caught = check(column, tz="Europe/Paris")

    assert status["status"].tolist() == ["valid"] * 5
    assert status["timestamp"].tolist() == [
        TEN_UTC_MS,
        TEN_UTC_MS + 1000,
        TEN_UTC_MS + 2000,
        TEN_UTC_MS + 3000,
        TEN_UTC_MS + 4005,
    ]
    assert caught == []


def test_iso_strings_with_mixed_offsets_and_z() -> None:
    status, caught = check(
        [
            "2026-11-26T10:00:00Z",
            "2026-11-26T12:00:01+02:00",
            "2026-11-26T05:00:02-05:00",
            "2026-11-26T15:30:03.250+05:30",
            "2026-11-26 10:00:04 UTC",
            "2026-11-26T10:00:05z",
        ]
    )

    assert status["status"].tolist() == ["valid"] * 6
    assert status["timestamp"].tolist() == [
        TEN_UTC_MS,
        TEN_UTC_MS + 1000,
        TEN_UTC_MS + 2000,
        TEN_UTC_MS + 3250,
        TEN_UTC_MS + 4000,
        TEN_UTC_MS + 5000,
    ]
    assert naive_warnings(caught) == []


def test_iso_strings_without_offset_are_read_in_tz() -> None:
    status, caught = check(["2026-11-26T11:00:00", "2026-11-26T10:00:01Z"], tz="Europe/Paris")

    assert status["timestamp"].tolist() == [TEN_UTC_MS, TEN_UTC_MS + 1000]
    assert caught == []


def test_string_dtype_column_of_iso_text() -> None:
    column = pd.Series(["2026-11-26T10:00:00Z", "2026-11-26T10:00:01+00:00"], dtype="str")

    status, _ = check(column)

    assert status["timestamp"].tolist() == [TEN_UTC_MS, TEN_UTC_MS + 1000]


def test_pyarrow_backed_columns_are_read_like_their_numpy_twins() -> None:
    # What read_csv/read_parquet(dtype_backend="pyarrow") hand an analyst.
    iso = pd.Series(["2026-11-26T10:00:00Z", None], dtype=pd.ArrowDtype(pa.string()))
    millis = pd.Series([TEN_UTC_MS, None], dtype=pd.ArrowDtype(pa.int64()))
    nanos = pd.Series([1_795_687_200_123_999_999], dtype=pd.ArrowDtype(pa.int64()))
    aware = pd.Series(
        [pd.Timestamp("2026-11-26 19:00", tz="Asia/Tokyo"), None],
        dtype=pd.ArrowDtype(pa.timestamp("ms", tz="Asia/Tokyo")),
    )
    naive = pd.Series([pd.Timestamp("2026-11-26 11:00")], dtype=pd.ArrowDtype(pa.timestamp("us")))

    for column, options in ((iso, {}), (millis, {}), (aware, {}), (naive, {"tz": "Europe/Paris"})):
        status, caught = check(column, **options)
        assert_valid(status.iloc[0], TEN_UTC_MS)
        assert caught == []
        if len(column) > 1:
            assert_invalid(status.iloc[1], "timestamp is missing")
    nanos_status, _ = check(nanos, unit="ns")
    assert_valid(nanos_status.iloc[0], TEN_UTC_MS + 123)  # exact: not rounded through float64


# -- epoch numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "number", "expected"),
    [
        ("ms", 1_795_687_200_123, TEN_UTC_MS + 123),
        ("s", 1_795_687_200, TEN_UTC_MS),
        ("s", 1_795_687_200.5, TEN_UTC_MS + 500),
        ("us", 1_795_687_200_123_456, TEN_UTC_MS + 123),
        ("ns", 1_795_687_200_123_456_789, TEN_UTC_MS + 123),
    ],
)
def test_numbers_are_epoch_in_unit(unit: str, number: float, expected: int) -> None:
    numeric, _ = check(pd.Series([number]), unit=unit)  # int64 or float64 column
    as_object, _ = check([number], unit=unit)  # the same number in an object column

    assert_valid(numeric.iloc[0], expected)
    assert_valid(as_object.iloc[0], expected)


def test_numbers_written_as_text_are_epoch_in_unit() -> None:
    status, _ = check(["1795687200123", " 1795687200000.5 "], unit="ms")

    assert status["timestamp"].tolist() == [TEN_UTC_MS + 123, TEN_UTC_MS]


def test_nullable_integer_column_with_missing_values() -> None:
    status, _ = check(pd.Series([TEN_UTC_MS, None], dtype="Int64"))

    assert_valid(status.iloc[0], TEN_UTC_MS)
    assert_invalid(status.iloc[1], "timestamp is missing")


# -- unreadable values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("yesterday", "timestamp 'yesterday' is not an ISO-8601 date-time"),
        ("2026-13-45", "timestamp '2026-13-45' is not an ISO-8601 date-time"),
        ("", "timestamp is missing (empty text)"),
        (None, "timestamp is missing"),
        (np.nan, "timestamp is missing"),
        (pd.NaT, "timestamp is missing"),
        (float("inf"), "timestamp inf is not a finite number"),
        (float("-inf"), "timestamp -inf is not a finite number"),
        (True, "timestamp True is not a date-time"),
        (dt.date(2026, 11, 26), f"timestamp 2026-11-26 {DATE_ONLY}"),
        (
            b"1795687200000",
            "timestamp b'1795687200000' (bytes) is not a date-time, a number or ISO-8601 text",
        ),
        (2**70, "timestamp 1180591620717411303424 is out of range for milliseconds"),
        (-(2**63), "timestamp -9223372036854775808 is out of range for milliseconds"),  # NaT's sentinel
        ("NaT", "timestamp is missing (the text 'NaT')"),
        ("nan", "timestamp is missing (the text 'nan')"),
    ],
)
def test_unreadable_value_is_invalid_with_a_reason(value: object, reason: str) -> None:
    # In an object column next to a readable value, which must stay valid.
    status, _ = check([value, "2026-11-26T10:00:00Z"])

    assert_invalid(status.iloc[0], reason)
    assert pd.isna(status["timestamp"].iloc[0])
    assert not status["stale"].iloc[0]
    assert_valid(status.iloc[1], TEN_UTC_MS)


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_int64_extremes_are_out_of_range_not_1970(unit: str) -> None:
    # abs(int64 min) overflows to itself; -2**63 seconds used to be read as 1970-01-01.
    status, _ = check(pd.Series([-(2**63), 2**63 - 1], dtype=np.int64), unit=unit)

    name = {"s": "seconds", "ms": "milliseconds"}[unit]
    assert status["reason"].tolist() == [
        f"timestamp -9223372036854775808 is out of range for {name}",
        f"timestamp 9223372036854775807 is out of range for {name}",
    ]
    assert status["timestamp"].isna().all()


def test_bool_column_is_not_a_timestamp() -> None:
    status, _ = check(pd.Series([True, False]))

    assert status["reason"].tolist() == [
        "timestamp True is not a date-time",
        "timestamp False is not a date-time",
    ]


def test_float_column_with_nan_and_inf() -> None:
    status, _ = check(pd.Series([np.nan, np.inf, float(TEN_UTC_MS)]))

    assert status["reason"].tolist()[:2] == ["timestamp is missing", "timestamp inf is not a finite number"]
    assert_valid(status.iloc[2], TEN_UTC_MS)


# -- numbers in the wrong unit ----------------------------------------------------------------------


def test_seconds_read_as_milliseconds_name_the_likely_unit() -> None:
    row = one(1_795_687_200)

    assert_invalid(
        row,
        "timestamp 1795687200 read as milliseconds is 1970-01-21 18:48:07.200 UTC, which is before "
        "2000-01-01; it looks like seconds (2026-11-26 10:00:00 UTC): pass unit='s'",
    )


def test_milliseconds_read_as_seconds_name_the_likely_unit() -> None:
    row = one(TEN_UTC_MS, unit="s")

    assert_invalid(
        row,
        "timestamp 1795687200000 read as seconds is 58873-01-22 16:00:00 UTC, which is in the future "
        "(later than now + 5 minutes); it looks like milliseconds (2026-11-26 10:00:00 UTC): pass unit='ms'",
    )


def test_microseconds_read_as_milliseconds_name_the_likely_unit() -> None:
    row = one(1_795_687_200_123_456)

    assert row["status"] == "invalid"
    assert row["reason"].endswith("it looks like microseconds (2026-11-26 10:00:00.123 UTC): pass unit='us'")


def test_year_zero_in_seconds_is_invalid_not_a_crash() -> None:
    # Beyond the years strftime can print: the reason must still be built.
    row = one(-62_135_596_801, unit="s")

    assert_invalid(
        row,
        "timestamp -62135596801 read as seconds is 0000-12-31 23:59:59 UTC, which is before 2000-01-01",
    )


# -- flooring and range -----------------------------------------------------------------------------


def test_fractional_milliseconds_are_floored() -> None:
    row = one(1_700_000_000_000.9, on_stale="ignore")

    assert_valid(row, 1_700_000_000_000)


def test_nanosecond_datetime_is_floored_to_its_millisecond() -> None:
    row = one(pd.Timestamp("2026-11-26 10:00:00.123999999", tz="UTC"))

    assert_valid(row, TEN_UTC_MS + 123)


def test_times_before_1970_floor_towards_the_past() -> None:
    # -0.5 ms is 1969-12-31 23:59:59.9995: its millisecond is -1, not 0.
    result = parse_timestamps(
        pd.Series([-0.5, pd.Timestamp("1969-12-31 23:59:59.9995", tz="UTC")], dtype=object)
    )

    assert result.ms.tolist() == [-1, -1]


def test_year_3000_is_in_the_future() -> None:
    row = one("3000-01-01T00:00:00Z")

    assert_invalid(row, "timestamp 3000-01-01 00:00:00 UTC is in the future (later than now + 5 minutes)")
    assert row["timestamp"] == 32_503_680_000_000


def test_future_tolerance_decides_how_far_ahead_is_too_far() -> None:
    in_4_min, in_6_min = "2026-11-26T12:04:00Z", "2026-11-26T12:06:00Z"

    default, _ = check([in_4_min, in_6_min])
    wider, _ = check([in_4_min, in_6_min], future_tolerance="10min")

    assert default["status"].tolist() == ["valid", "invalid"]
    assert default["reason"].iloc[1] == (
        "timestamp 2026-11-26 12:06:00 UTC is in the future (later than now + 5 minutes)"
    )
    assert wider["status"].tolist() == ["valid", "valid"]


def test_before_2000_is_invalid() -> None:
    row = one("1999-12-31T23:59:59Z")

    assert_invalid(row, "timestamp 1999-12-31 23:59:59 UTC is before 2000-01-01")


# -- parse_timestamps directly --------------------------------------------------------------------


def test_parse_timestamps_ignores_the_index_and_reads_categoricals() -> None:
    column = pd.Series(
        pd.Categorical(["2026-11-26T10:00:00Z", "nope", "2026-11-26T10:00:00Z"]), index=["z", "z", "a"]
    )

    result = parse_timestamps(column)

    assert result.ms.tolist()[::2] == [TEN_UTC_MS, TEN_UTC_MS]
    assert result.readable.tolist() == [True, False, True]
    assert result.problems == [(1, "timestamp 'nope' is not an ISO-8601 date-time")]
    assert result.naive_read_as_utc == 0


def test_parse_timestamps_keeps_the_raw_number_for_unit_hints() -> None:
    result = parse_timestamps(pd.Series(["1795687200", "2026-11-26T10:00:00Z"], dtype=object))

    assert result.number[0] == 1_795_687_200
    assert np.isnan(result.number[1])  # not a number: no unit to hint at
