"""validate() and prepare(): the rules of issue 2, each with its exact status and reason."""

from __future__ import annotations

import copy
import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation import _schema as schema
from productiv_pandas.status import STATUS_COLUMNS, STATUSES, WIRE_COLUMNS

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
NOW_MS = 1_795_694_400_000
HOUR_MS = 3_600_000
TEN_UTC = "2026-11-26T10:00:00Z"
TEN_UTC_MS = NOW_MS - 2 * HOUR_MS


def events(n: int | None = None, index=None, **columns) -> pd.DataFrame:
    """A frame of plausible, distinct, fresh events; ``columns`` override some of them."""
    if n is None:
        n = max((len(v) for v in columns.values()), default=1)
    base = {
        "timestamp": [f"2026-11-26T10:{i // 60:02d}:{i % 60:02d}Z" for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)],
        "eventName": ["opened_file"] * n,
    }
    frame = pd.DataFrame(base | columns)
    if index is not None:
        frame.index = index
    return frame


def validate(frame: pd.DataFrame, **options) -> pd.DataFrame:
    """pp.validate at the fixed NOW, failing on any warning the test did not ask about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pp.validate(frame, now=NOW, **options)


def recorded(function, frame: pd.DataFrame, **options) -> tuple[pd.DataFrame, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(frame, now=NOW, **options)
    return result, caught


def pinned_usage_events_validate(frame: pd.DataFrame) -> pd.DataFrame:
    """pp.UsageEvents.validate with its wall clock pinned to NOW (its "not in the future")."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "_now_ms", lambda now: schema.timestamp_ms(NOW if now is None else now))
        return pp.UsageEvents.validate(frame)


# -- columns and structure ------------------------------------------------------------------------


def test_columns_maps_input_names_to_api_fields() -> None:
    frame = pd.DataFrame(
        {"when": [TEN_UTC], "user": ["Ana@Example.com"], "action": ["opened_file"], "app": ["slack"]}
    )

    status = validate(
        frame, columns={"when": "timestamp", "user": "email", "action": "eventName", "app": "targetApp"}
    )

    assert status.loc[0, ["timestamp", "email", "eventName", "targetApp"]].tolist() == [
        TEN_UTC_MS,
        "ana@example.com",
        "opened_file",
        "slack",
    ]
    assert status.loc[0, "status"] == "valid"


def test_an_explicit_mapping_wins_over_a_same_named_column() -> None:
    frame = events(1).assign(login_email=["real@example.com"])

    status = validate(frame, columns={"login_email": "email"})

    assert status.loc[0, "email"] == "real@example.com"


def test_missing_required_column_names_it_and_the_existing_columns() -> None:
    frame = pd.DataFrame({"when": [TEN_UTC], "user": ["a@b.co"], "eventName": ["x"]})

    with pytest.raises(ValueError, match=r"missing required column\(s\) \['timestamp', 'email'\]") as info:
        pp.validate(frame, now=NOW)

    assert str(info.value) == (
        "missing required column(s) ['timestamp', 'email']; the frame has ['when', 'user', 'eventName']; "
        "map yours with columns={'your_column': 'timestamp'}"
    )
    assert isinstance(info.value, pp.ProductivError)


def test_missing_required_column_after_mapping() -> None:
    frame = pd.DataFrame({"when": [TEN_UTC], "user": ["a@b.co"], "eventName": ["x"]})

    with pytest.raises(ValueError, match=r"missing required column\(s\) \['timestamp'\]") as info:
        pp.validate(frame, columns={"user": "email"}, now=NOW)

    assert "the frame has ['when', 'user', 'eventName']" in str(info.value)


def test_missing_column_hint_suggests_a_close_name() -> None:
    frame = pd.DataFrame({"Timestamp": [TEN_UTC], "EMAIL": ["a@b.co"], "eventName": ["x"]})

    with pytest.raises(ValueError, match="map yours with columns=") as info:
        pp.validate(frame, now=NOW)

    assert str(info.value).endswith("columns={'Timestamp': 'timestamp', 'EMAIL': 'email'}")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"nope": "email"}, "columns maps ['nope'] but the frame has no such column; it has"),
        (
            {"email": "mail"},
            "columns maps 'email' to 'mail', which is not an API field (did you mean 'email'?)",
        ),
        ({"email": "email", "other": "email"}, "columns maps ['email', 'other'] all to 'email'; keep one"),
    ],
)
def test_bad_columns_mapping_raises(columns: dict, message: str) -> None:
    frame = events(1).assign(other=["b@c.de"])

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        pp.validate(frame, columns=columns, now=NOW)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"unit": "h"}, "unit must be one of ['ms', 'ns', 's', 'us'], got 'h'"),
        ({"on_stale": "x"}, "on_stale must be one of ['warn', 'skip', 'ignore'], got 'x'"),
        ({"tz": "Mars/Base"}, "unknown timezone 'Mars/Base': use an IANA name like 'Europe/Paris' or 'UTC'"),
        ({"future_tolerance": 5}, "future_tolerance must be a duration such as '5min'"),
        ({"future_tolerance": "-1min"}, "future_tolerance must be zero or positive, got '-1min'"),
        ({"future_tolerance": "soon"}, "future_tolerance 'soon' is not a duration"),
        ({"now": "not a time"}, "now 'not a time' is not a point in time"),
        ({"login_events": 5}, "login_events must be a collection of event names, got 5"),
    ],
)
def test_bad_option_values_raise_value_error(options: dict, message: str) -> None:
    options.setdefault("now", NOW)

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        pp.validate(events(1), **options)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        pp.prepare(events(1), **options)


def test_not_a_dataframe_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got list"):
        pp.validate([{"timestamp": TEN_UTC}], now=NOW)


def test_validate_never_raises_for_bad_values() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": pd.Series([None, "garbage", 1e300, -(2**63), True, [1, 2], {"a": 1}], dtype=object),
            "email": pd.Series([1, None, "x", "@", b"", [1], 3.5], dtype=object),
            "eventName": pd.Series([None, 1, "", "\ud800", np.inf, (), "ok"], dtype=object),
        }
    )

    status = validate(frame, login_events={"ok"}, allowed_events={"ok"})

    assert status["status"].tolist() == ["invalid"] * 7
    assert status["reason"].notna().all()


# -- login_events and allowed_events ---------------------------------------------------------------


def test_login_event_without_target_app_is_invalid() -> None:
    frame = events(eventName=["sso_login", "sso_login", "opened_file"], targetApp=[None, " slack ", None])

    status = validate(frame, login_events={"sso_login"})

    assert status["status"].tolist() == ["invalid", "valid", "valid"]
    assert status["reason"].iloc[0] == "eventName 'sso_login' is a Login event and needs a targetApp"


def test_login_event_without_target_app_column_is_invalid() -> None:
    status = validate(events(eventName=["sso_login"]), login_events=["sso_login"])

    assert status["reason"].iloc[0] == "eventName 'sso_login' is a Login event and needs a targetApp"


def test_login_event_names_are_matched_after_stripping() -> None:
    status = validate(events(eventName=[" sso_login "]), login_events={"sso_login "})

    assert status["reason"].iloc[0] == "eventName 'sso_login' is a Login event and needs a targetApp"


def test_a_lone_string_of_login_events_is_one_name() -> None:
    status = validate(events(eventName=["sso_login", "s"]), login_events="sso_login")

    assert status["status"].tolist() == ["invalid", "valid"]


def test_event_name_outside_the_mapping_suggests_the_closest() -> None:
    frame = events(eventName=["opened_file", "opend_file", "Opened_File", "zzz"])

    status = validate(frame, allowed_events={"opened_file", "sso_login"})

    assert status["status"].tolist() == ["valid", "invalid", "invalid", "invalid"]
    assert status["reason"].tolist()[1:] == [
        "eventName 'opend_file' is not in the app's event mapping; did you mean 'opened_file'?",
        "eventName 'Opened_File' is not in the app's event mapping; did you mean 'opened_file'?",
        "eventName 'zzz' is not in the app's event mapping",  # nothing close: no guess
    ]


def test_without_allowed_events_any_name_is_accepted() -> None:
    assert validate(events(eventName=["anything at all"]))["status"].tolist() == ["valid"]


# -- de-duplication ---------------------------------------------------------------------------------


def test_first_occurrence_is_kept_and_later_ones_name_it() -> None:
    frame = events(
        timestamp=[TEN_UTC] * 4,
        email=["ana@example.com"] * 3 + ["bob@example.com"],
        index=[10, 20, 30, 40],
    )

    status = validate(frame)

    assert status["status"].tolist() == ["valid", "duplicate", "duplicate", "valid"]
    assert status["reason"].tolist()[1:3] == ["duplicate of row 10", "duplicate of row 10"]


def test_duplicates_are_found_on_the_normalized_triple() -> None:
    frame = events(
        timestamp=["2026-11-26T10:00:00Z", "2026-11-26T12:00:00+02:00", TEN_UTC_MS, TEN_UTC_MS + 0.9],
        email=["ana@example.com", " ANA@example.com", "Ana@Example.com", "ana@example.com "],
        eventName=["opened_file", " opened_file", "opened_file ", "opened_file"],
        index=["a", "b", "c", "d"],
    )

    status = validate(frame)

    assert status["status"].tolist() == ["valid", "duplicate", "duplicate", "duplicate"]
    assert status["reason"].tolist()[1:] == ["duplicate of row 'a'"] * 3


def test_target_app_is_not_part_of_the_identity() -> None:
    frame = events(timestamp=[TEN_UTC] * 2, email=["a@b.co"] * 2, targetApp=["slack", "zoom"])

    assert validate(frame)["status"].tolist() == ["valid", "duplicate"]


def test_different_event_names_are_different_events() -> None:
    frame = events(timestamp=[TEN_UTC] * 2, email=["a@b.co"] * 2, eventName=["opened_file", "closed_file"])

    assert validate(frame)["status"].tolist() == ["valid", "valid"]


def test_an_invalid_row_never_shadows_a_valid_one() -> None:
    # Row 0 has the same triple as row 1 but fails a check (not in the mapping / Login without app).
    frame = events(
        timestamp=[TEN_UTC] * 4,
        email=["a@b.co"] * 4,
        eventName=["sso_login"] * 4,
        targetApp=[None, "slack", "slack", None],
    )

    status = validate(frame, login_events={"sso_login"})

    assert status["status"].tolist() == ["invalid", "valid", "duplicate", "invalid"]
    assert status["reason"].tolist()[2] == "duplicate of row 1"


def test_duplicate_reason_names_a_multiindex_label() -> None:
    index = pd.MultiIndex.from_tuples([("x", 1), ("y", 2)], names=["source", "line"])
    frame = events(timestamp=[TEN_UTC] * 2, email=["a@b.co"] * 2, index=index)

    status = validate(frame)

    assert status["reason"].tolist() == [np.nan, "duplicate of row ('x', 1)"]


def test_duplicate_reason_names_a_timestamp_label() -> None:
    frame = events(
        timestamp=[TEN_UTC] * 2, email=["a@b.co"] * 2, index=pd.to_datetime(["2026-01-01", "2026-01-02"])
    )

    assert validate(frame)["reason"].iloc[1] == "duplicate of row 2026-01-01 00:00:00"


# -- stale events ------------------------------------------------------------------------------------


STALE_FRAME = events(
    timestamp=[
        "2026-11-26T00:00:00Z",  # exactly 12 hours old: still fresh
        "2026-11-25T23:59:59.999Z",  # 12 hours and 1 ms: stale
        "2026-11-24T00:00:00Z",  # two days: the oldest
        TEN_UTC,
    ]
)


def test_stale_rows_are_flagged() -> None:
    status, _ = recorded(pp.validate, STALE_FRAME, on_stale="ignore")

    assert status["stale"].tolist() == [False, True, True, False]
    assert status["status"].tolist() == ["valid"] * 4


def test_on_stale_warn_keeps_them_with_one_warning_per_call() -> None:
    status, caught = recorded(pp.validate, STALE_FRAME)

    assert status["status"].tolist() == ["valid"] * 4
    assert [w.category for w in caught] == [pp.StaleEventWarning]
    assert str(caught[0].message) == (
        "2 event(s) are older than 12 hours (the oldest by 2.5 days); Productiv only guarantees to "
        "aggregate events pushed within 12 hours. Pass on_stale='skip' to leave them out or "
        "on_stale='ignore' to send them quietly."
    )
    assert issubclass(pp.StaleEventWarning, UserWarning)
    _, again = recorded(pp.validate, STALE_FRAME)
    assert [w.category for w in again] == [pp.StaleEventWarning]


def test_stale_warning_gives_hours_for_a_recent_oldest() -> None:
    _, caught = recorded(pp.validate, events(timestamp=["2026-11-25T20:00:00Z"]))

    assert str(caught[0].message).startswith("1 event(s) are older than 12 hours (the oldest by 16.0 hours);")


def test_on_stale_skip_marks_them_skipped() -> None:
    status, caught = recorded(pp.validate, STALE_FRAME, on_stale="skip")

    assert caught == []
    assert status["status"].tolist() == ["valid", "skipped", "skipped", "valid"]
    assert status["reason"].tolist()[1:3] == [
        "stale: 12.0 hours old; only events pushed within 12 hours are guaranteed to be aggregated",
        "stale: 2.5 days old; only events pushed within 12 hours are guaranteed to be aggregated",
    ]


def test_on_stale_ignore_keeps_them_quietly() -> None:
    status, caught = recorded(pp.validate, STALE_FRAME, on_stale="ignore")

    assert caught == []
    assert status["status"].tolist() == ["valid"] * 4
    assert pd.isna(status["reason"]).all()


def test_stale_warning_counts_only_rows_that_would_be_sent() -> None:
    frame = events(
        timestamp=["2026-11-20T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-24T00:00:00Z"],
        email=["a@b.co", "a@b.co", "bad"],
    )

    status, caught = recorded(pp.validate, frame)

    assert status["status"].tolist() == ["valid", "duplicate", "invalid"]
    assert str(caught[0].message).startswith("1 event(s) are older than 12 hours (the oldest by 6.5 days)")


def test_no_stale_warning_when_nothing_is_stale() -> None:
    _, caught = recorded(pp.validate, events(3))

    assert caught == []


def test_a_timestamp_that_failed_a_check_is_never_stale() -> None:
    # Seconds read as milliseconds land in January 1970; 1999 is before Productiv's range: both
    # rows are invalid for their timestamp, which says nothing about when the event happened.
    frame = events(timestamp=[TEN_UTC_MS // 1000, 946_684_799_000, NOW_MS - 13 * HOUR_MS, TEN_UTC_MS])

    status, caught = recorded(pp.validate, frame)

    assert status["status"].tolist() == ["invalid", "invalid", "valid", "valid"]
    assert status["problem"].tolist()[:2] == ["timestamp.unit", "timestamp.before_2000"]
    assert status["stale"].tolist() == [False, False, True, False]
    assert [str(w.message)[:44] for w in caught] == ["1 event(s) are older than 12 hours (the olde"]


def test_a_row_invalid_for_another_field_with_an_old_timestamp_is_stale() -> None:
    frame = events(timestamp=["2026-11-24T00:00:00Z", "2026-11-24T00:00:00Z"], email=["no-at-sign", "a@b.co"])

    status, caught = recorded(pp.validate, frame, on_stale="ignore")

    assert status["status"].tolist() == ["invalid", "valid"]
    assert status["problem"].tolist()[0].startswith("email.")
    assert status["stale"].tolist() == [True, True]
    assert caught == []


def test_on_stale_skip_leaves_misread_timestamps_invalid_not_skipped() -> None:
    frame = events(timestamp=[TEN_UTC_MS // 1000, "2026-11-24T00:00:00Z"])

    status, _ = recorded(pp.validate, frame, on_stale="skip")

    assert status["status"].tolist() == ["invalid", "skipped"]
    assert status["stale"].tolist() == [False, True]


def test_the_sample_export_counts_stale_rows_only_where_the_timestamp_is_sound() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pp.StaleEventWarning)
        status = pp.sample_events().productiv.validate(**pp.SAMPLE_OPTIONS)

    stale = status[status["stale"]]
    assert len(stale) == 1_196
    assert stale["status"].value_counts()[lambda counts: counts > 0].to_dict() == {
        "valid": 1_164,
        "duplicate": 19,
        "invalid": 13,
    }
    assert not stale["problem"].astype("string").str.startswith("timestamp.").any()


# -- a row failing several checks -------------------------------------------------------------------


def test_reason_names_every_failed_check_in_column_order() -> None:
    frame = events(
        timestamp=[1_795_687_200],
        email=["bob@"],
        eventName=["sso_lgin"],
        targetApp=[5],
    )

    status = validate(frame, login_events={"sso_lgin"}, allowed_events={"sso_login"})

    assert status["status"].iloc[0] == "invalid"
    assert status["reason"].iloc[0] == (
        "timestamp 1795687200 read as milliseconds is 1970-01-21 18:48:07.200 UTC, which is before "
        "2000-01-01; it looks like seconds (2026-11-26 10:00:00 UTC): pass unit='s'"
        "; email 'bob@' has no domain"
        "; eventName 'sso_lgin' is not in the app's event mapping; did you mean 'sso_login'?"
        "; targetApp 5 is not text"
        "; eventName 'sso_lgin' is a Login event and needs a targetApp"
    )


def test_reason_names_missing_values_together() -> None:
    frame = events(timestamp=[None], email=[None], eventName=[None])

    assert validate(frame)["reason"].iloc[0] == "timestamp is missing; email is missing; eventName is missing"


# -- the input and its index --------------------------------------------------------------------------


def test_the_input_frame_is_never_modified() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2026-11-26 11:00", "2026-11-26 11:00", "2026-03-29 02:30"]),
            "user": pd.Categorical([" Ana@Example.com ", "ana@example.com", "bob@"]),
            "eventName": pd.Series([" opened_file ", "opened_file", None], dtype=object),
            "targetApp": pd.Series(["", " slack", None], dtype="string"),
            "extra": [1.5, np.nan, 3.0],
        },
        index=pd.Index(["r1", "r1", "r2"], name="row"),
    )
    before = copy.deepcopy(frame)

    pp.validate(frame, columns={"when": "timestamp", "user": "email"}, tz="Europe/Paris", now=NOW)
    pp.prepare(frame, columns={"when": "timestamp", "user": "email"}, tz="Europe/Paris", now=NOW)
    frame.productiv.validate(columns={"when": "timestamp", "user": "email"}, tz="Europe/Paris", now=NOW)

    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    assert frame.dtypes.equals(before.dtypes)
    assert frame.attrs == before.attrs


@pytest.mark.parametrize(
    "index",
    [
        pd.Index([7, 7, 3, 7]),  # duplicated labels, not sorted
        pd.Index(["d", "c", "b", "a"]),
        pd.Index(["x", "y", "x", "y"], dtype=object),
        pd.MultiIndex.from_tuples([("b", 2), ("a", 1), ("b", 2), ("a", 0)], names=["file", "line"]),
        pd.DatetimeIndex(["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01"], name="day"),
        pd.RangeIndex(100, 108, 2),
    ],
    ids=["duplicated", "strings", "object", "multi", "datetime", "range"],
)
def test_status_frame_keeps_the_index_and_order(index: pd.Index) -> None:
    frame = events(
        timestamp=[TEN_UTC, "nope", TEN_UTC, "2026-11-26T10:00:01Z"],
        email=["a@b.co", "a@b.co", "a@b.co", "c@d.co"],
        index=index,
    )

    status = validate(frame)

    pd.testing.assert_index_equal(status.index, index, exact=True)
    assert status["status"].tolist() == ["valid", "invalid", "duplicate", "valid"]
    assert status["reason"].iloc[1] == "timestamp 'nope' is not an ISO-8601 date-time"


def test_a_pyarrow_backed_export_validates_like_a_numpy_one() -> None:
    text = (
        "when,user,action,app\n"
        "2026-11-26T10:00:00Z,Ana@Example.com,sso_login,slack\n"
        "2026-11-26T10:00:00Z,ana@example.com,sso_login,slack\n"
        "1795687200,bob@example.com,opened_file,\n"
    )
    options = {
        "columns": {"when": "timestamp", "user": "email", "action": "eventName", "app": "targetApp"},
        "login_events": {"sso_login"},
    }

    arrow = pd.read_csv(io.StringIO(text), dtype_backend="pyarrow")
    numpy = pd.read_csv(io.StringIO(text))
    before = arrow.copy(deep=True)

    assert isinstance(arrow["user"].dtype, pd.ArrowDtype)
    pd.testing.assert_frame_equal(validate(arrow, **options), validate(numpy, **options))
    assert validate(arrow, **options)["status"].tolist() == ["valid", "duplicate", "invalid"]
    pd.testing.assert_frame_equal(arrow, before)


def test_status_frame_dtypes() -> None:
    status = validate(events(3, targetApp=["slack", None, "zoom"]))

    assert tuple(status.columns) == STATUS_COLUMNS
    assert status["timestamp"].dtype == "Int64"
    assert isinstance(status["status"].dtype, pd.CategoricalDtype)
    assert tuple(status["status"].cat.categories) == STATUSES
    assert STATUSES == ("valid", "sent", "invalid", "duplicate", "skipped", "rejected", "failed")
    assert status["stale"].dtype == bool
    for name in ("batch", "http_status", "attempts"):
        assert status[name].dtype == "Int64"
        assert status[name].isna().all()
    for name in ("email", "eventName", "targetApp", "reason"):
        assert pd.api.types.is_string_dtype(status[name].dtype)


def test_empty_frame_gives_an_empty_status_frame_with_the_same_dtypes() -> None:
    empty = pd.DataFrame({"timestamp": [], "email": [], "eventName": []})

    status = validate(empty)
    wire = pp.prepare(empty, now=NOW)

    assert len(status) == 0
    assert status.dtypes.equals(validate(events(1)).dtypes)
    assert len(wire) == 0
    assert wire["timestamp"].dtype == np.int64


def test_now_defaults_to_the_current_time() -> None:
    a_minute_ago = pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=1)
    in_an_hour = pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=1)

    status = pp.validate(events(timestamp=[a_minute_ago.isoformat(), in_an_hour.isoformat()]))

    assert status["status"].tolist() == ["valid", "invalid"]


def test_naive_now_is_read_in_tz() -> None:
    # 12:00 in Paris is 11:00 UTC: an event at 11:04 UTC is within the 5-minute tolerance,
    # 11:06 is not.
    frame = events(timestamp=["2026-11-26T11:04:00Z", "2026-11-26T11:06:00Z"])

    status = pp.validate(frame, now=pd.Timestamp("2026-11-26 12:00"), tz="Europe/Paris")

    assert status["status"].tolist() == ["valid", "invalid"]


# -- prepare ---------------------------------------------------------------------------------------------


def mixed_frame() -> pd.DataFrame:
    return events(
        timestamp=[TEN_UTC, TEN_UTC, "nope", "2026-11-20T00:00:00Z", "2026-11-26T10:00:00.5+00:00"],
        email=["a@b.co", "A@B.CO", "c@d.co", "e@f.co", "g@h.co"],
        targetApp=[None, None, None, None, " slack "],
        index=pd.Index(["k", "k", "m", "n", "o"]),
    )


def test_prepare_returns_only_the_rows_that_would_be_sent() -> None:
    wire, _ = recorded(pp.prepare, mixed_frame(), on_stale="skip")

    assert list(wire.columns) == list(WIRE_COLUMNS)
    assert wire.index.tolist() == ["k", "o"]
    assert wire["timestamp"].dtype == np.int64
    assert wire["timestamp"].tolist() == [TEN_UTC_MS, TEN_UTC_MS + 500]
    assert wire["email"].tolist() == ["a@b.co", "g@h.co"]
    assert wire["targetApp"].tolist()[1] == "slack"
    pinned_usage_events_validate(wire)


def test_prepare_keeps_stale_rows_unless_skipped() -> None:
    wire, caught = recorded(pp.prepare, mixed_frame(), on_stale="warn")

    assert wire.index.tolist() == ["k", "n", "o"]
    assert [w.category for w in caught] == [pp.StaleEventWarning]


def test_prepare_matches_the_valid_rows_of_validate() -> None:
    status, _ = recorded(pp.validate, mixed_frame(), on_stale="ignore")
    wire, _ = recorded(pp.prepare, mixed_frame(), on_stale="ignore")

    valid = status[(status["status"] == "valid").to_numpy()]
    expected = valid.loc[:, list(WIRE_COLUMNS)].astype({"timestamp": np.int64})
    pd.testing.assert_frame_equal(wire, expected)


def test_prepare_output_passes_usage_events_on_the_real_clock() -> None:
    # Events well in the past (and options that keep them), so no clock needs pinning.
    frame = events(timestamp=["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z"], targetApp=["slack", None])

    wire, _ = recorded(pp.prepare, frame, on_stale="ignore")

    assert len(wire) == 2
    pp.UsageEvents.validate(wire)
