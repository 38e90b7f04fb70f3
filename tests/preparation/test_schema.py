"""``pp.UsageEvents``, the pandera model of the wire format, on its own and bound by wire_schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation import _schema as schema
from productiv_pandas.preparation._schema import MIN_TIMESTAMP_MS, wire_schema

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
NOW_MS = 1_795_694_400_000
PAST_MS = 1_700_000_000_000  # 2023-11-14: in the past whenever the suite runs
YEAR_3000_MS = 32_503_680_000_000


def events(**columns) -> pd.DataFrame:
    """A wire frame; columns not given hold one plausible value on every row."""
    n = max((len(values) for values in columns.values()), default=1)
    base = {"timestamp": np.int64(PAST_MS), "email": "ana@example.com", "eventName": "opened_file"}
    return pd.DataFrame(base | columns, index=pd.RangeIndex(n))


def failures(frame: pd.DataFrame, model=pp.UsageEvents) -> list[tuple[str, str, object]]:
    """``(column, check, index)`` of every failure, as pandera reports them lazily."""
    with pytest.raises(pa.errors.SchemaErrors) as info:
        model.validate(frame, lazy=True)
    cases = info.value.failure_cases
    return list(zip(cases["column"], cases["check"], cases["index"], strict=True))


def test_usage_events_accepts_a_wire_frame() -> None:
    frame = events()

    validated = pp.UsageEvents.validate(frame)

    pd.testing.assert_frame_equal(validated, frame)


def test_target_app_is_optional_and_nullable() -> None:
    pp.UsageEvents.validate(events(targetApp=[None]))
    pp.UsageEvents.validate(events(targetApp=["slack"]))
    pp.UsageEvents.validate(events())


def test_extra_columns_are_allowed() -> None:
    pp.UsageEvents.validate(events(user_agent=["curl"]))


@pytest.mark.parametrize("dtype", [object, "str", "string"])
def test_email_and_event_name_may_be_any_common_string_dtype(dtype: object) -> None:
    frame = events()
    frame["email"] = frame["email"].astype(dtype)
    frame["eventName"] = frame["eventName"].astype(dtype)

    pp.UsageEvents.validate(frame)


def test_timestamp_must_be_int64_milliseconds() -> None:
    assert failures(events(timestamp=[float(PAST_MS)])) == [("timestamp", "dtype('int64')", None)]


def test_timestamp_before_2000_fails_not_before_2000() -> None:
    frame = events(timestamp=[MIN_TIMESTAMP_MS - 1, MIN_TIMESTAMP_MS])

    assert pd.Timestamp("2000-01-01", tz="UTC").value // 1_000_000 == MIN_TIMESTAMP_MS
    assert failures(frame) == [("timestamp", "not_before_2000", 0)]


def test_timestamp_in_the_future_fails_not_in_future() -> None:
    frame = events(timestamp=[PAST_MS, YEAR_3000_MS])

    assert failures(frame) == [("timestamp", "not_in_future", 1)]


@pytest.mark.parametrize(
    "email",
    ["bob@", "bob.example.com", "bo b@x.com", "a@b@c.com", "@x.com", "bob@localhost", "bob@x..com", ""],
)
def test_implausible_email_fails_plausible_email(email: str) -> None:
    assert failures(events(email=[email])) == [("email", "plausible_email", 0)]


def test_empty_event_name_and_target_app_fail_not_empty() -> None:
    assert failures(events(eventName=[""], targetApp=[""])) == [
        ("eventName", "not_empty", 0),
        ("targetApp", "not_empty", 0),
    ]


def test_missing_required_values_fail_not_nullable() -> None:
    frame = events(email=pd.Series([None], dtype="str"))

    assert failures(frame) == [("email", "not_nullable", 0)]


def test_every_failed_check_is_reported_with_its_row() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": [PAST_MS, 900_000_000_000, YEAR_3000_MS],
            "email": ["a@b.co", "bob@", "c@d.co"],
            "eventName": ["x", "", "y"],
        },
        index=["p", "q", "r"],
    )

    assert failures(frame) == [
        ("timestamp", "not_before_2000", "q"),
        ("timestamp", "not_in_future", "r"),
        ("email", "plausible_email", "q"),
        ("eventName", "not_empty", "q"),
    ]


# -- wire_schema: UsageEvents bound to a reference time and an app's rules -------------------------


def test_wire_schema_judges_the_future_against_now_and_tolerance() -> None:
    frame = events(timestamp=[NOW_MS + 5 * 60_000, NOW_MS + 5 * 60_000 + 1])

    assert failures(frame, wire_schema(now=NOW)) == [("timestamp", "not_in_future", 1)]
    wire_schema(now=NOW, future_tolerance=pd.Timedelta(minutes=6)).validate(frame)


def test_wire_schema_refuses_names_outside_the_mapping() -> None:
    frame = events(eventName=["opened_file", "opend_file"])

    assert failures(frame, wire_schema(allowed_events={"opened_file"})) == [("eventName", "allowed_event", 1)]


def test_wire_schema_needs_target_app_for_login_events() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": [PAST_MS] * 3,
            "email": ["a@b.co"] * 3,
            "eventName": ["sso_login", "sso_login", "opened_file"],
            "targetApp": [None, "slack", None],
        }
    )

    cases = failures(frame, wire_schema(login_events={"sso_login"}))

    assert {(check, index) for _, check, index in cases} == {("login_needs_target_app", 0)}


def test_wire_schema_without_target_app_column_flags_every_login_row() -> None:
    frame = events(eventName=["sso_login"])

    cases = failures(frame, wire_schema(login_events={"sso_login"}))

    assert {(check, index) for _, check, index in cases} == {("login_needs_target_app", 0)}


def test_wire_schema_never_changes_usage_events() -> None:
    before = pp.UsageEvents.to_schema()
    checks, columns = list(before.checks), {k: list(v.checks) for k, v in before.columns.items()}

    wire_schema(now=NOW, login_events={"sso_login"}, allowed_events={"x"}, allow_missing=True)

    after = pp.UsageEvents.to_schema()
    assert list(after.checks) == checks
    assert {k: list(v.checks) for k, v in after.columns.items()} == columns
    assert not after.columns["email"].nullable
    assert after.columns["timestamp"].dtype.type == np.int64
    assert failures(events(email=pd.Series([None], dtype="str"))) == [("email", "not_nullable", 0)]


def test_allow_missing_lets_the_checks_run_on_the_other_rows() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": pd.array([PAST_MS, None], dtype="Int64"),
            "email": pd.Series(["bob@", None], dtype="str"),
            "eventName": pd.Series([None, "x"], dtype="str"),
        }
    )

    assert failures(frame, wire_schema(allow_missing=True)) == [("email", "plausible_email", 0)]


def test_timestamp_ms_floors() -> None:
    assert schema.timestamp_ms(pd.Timestamp("2026-11-26 12:00:00.0009999", tz="UTC")) == NOW_MS
    assert schema.timestamp_ms(pd.Timestamp("1969-12-31 23:59:59.9995", tz="UTC")) == -1


def test_failed_checks_finds_what_lazy_validation_finds() -> None:
    # prepare runs the schema's checks through failed_checks (positions, no failure-case frame):
    # every value check must fail on exactly the rows pandera's own lazy validation reports.
    frame = pd.DataFrame(
        {
            "timestamp": pd.array([PAST_MS, 1, None, YEAR_3000_MS, PAST_MS, PAST_MS], dtype="Int64"),
            "email": pd.Series(["ana@example.com", "bob@", None, "x y@z.io", "", "c@d.org"], dtype="str"),
            "eventName": pd.Series(["opened_file", "", "sso_login", None, "sso_login", "typo"], dtype="str"),
            "targetApp": pd.Series([None, "", None, "app", None, "app"], dtype="str"),
        }
    )
    bound = wire_schema(
        now=NOW, login_events={"sso_login"}, allowed_events={"opened_file", "sso_login"}, allow_missing=True
    )

    found = [
        (column, check, int(position))
        for column, check, positions in schema.failed_checks(bound, frame)
        for position in positions
    ]

    # pandera reports a frame-wide check once per column of the row; failed_checks once, as None.
    frame_wide = {"login_needs_target_app"}
    reported = {
        (None if check in frame_wide else column, check, index)
        for column, check, index in failures(frame, bound)
    }
    assert sorted(found, key=str) == sorted(reported, key=str)
    assert found == [
        ("timestamp", "not_before_2000", 1), ("timestamp", "not_in_future", 3),
        ("email", "plausible_email", 1), ("email", "plausible_email", 3), ("email", "plausible_email", 4),
        ("eventName", "not_empty", 1), ("eventName", "allowed_event", 5), ("targetApp", "not_empty", 1),
        (None, "login_needs_target_app", 2), (None, "login_needs_target_app", 4),
    ]  # fmt: skip


def test_the_schema_keeps_its_check_names_when_threads_build_it_at_once():
    """pandera 0.24 named checks after their methods when two threads built the model's schema
    at once (Dask partitions did); the check names are what reasons and codes are made from."""
    import threading

    from productiv_pandas.preparation._schema import wire_schema

    names: list[list[str]] = []

    def build() -> None:
        schema = wire_schema(allowed_events={"open"}, login_events={"sso"})
        names.append(sorted(check.name for check in schema.columns["email"].checks))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names == [["max_length", "no_control_characters", "plausible_email"]] * 8
