"""Every problem prepare can find has its code: one recipe a code, asserting the row's status,
its ``problem`` and its entries in the long form exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.problem_codes import FIELD_OF

NOW = pd.Timestamp("2025-06-10T15:00:00Z")
GOOD = {"timestamp": "2025-06-10T14:00:00Z", "email": "ana@example.com", "eventName": "opened_file"}


def row(**changes) -> pd.DataFrame:
    """One event, with ``changes``; object columns, so any value goes in as it is."""
    values = {**GOOD, **changes}
    return pd.DataFrame({name: pd.Series([value], dtype=object) for name, value in values.items()})


def with_app(value) -> pd.DataFrame:
    return row(targetApp=value)


#: code -> (frame, options): the frame's LAST row has that code as its only problem.
RECIPES: dict[str, tuple[pd.DataFrame, dict]] = {
    "timestamp.missing": (row(timestamp=None), {}),
    "timestamp.unreadable": (row(timestamp="nope"), {}),
    "timestamp.invalid_unicode": (row(timestamp="2025-06-10\ud800"), {}),
    "timestamp.not_finite": (pd.DataFrame({**row(), "timestamp": [np.inf]}), {}),
    "timestamp.out_of_range": (pd.DataFrame({**row(), "timestamp": [2**62]}), {}),
    "timestamp.date_only": (row(timestamp="2025-06-10"), {}),
    "timestamp.nonexistent_local_time": (row(timestamp="2025-03-30 02:30:00"), {"tz": "Europe/Berlin"}),
    "timestamp.unit": (pd.DataFrame({**row(), "timestamp": [1_749_564_000]}), {}),
    "timestamp.before_2000": (row(timestamp="1999-01-01T00:00:00Z"), {}),
    "timestamp.future": (row(timestamp="2026-01-01T00:00:00Z"), {}),
    "email.missing": (row(email=None), {}),
    "email.not_text": (row(email=5), {}),
    "email.invalid_unicode": (row(email="a\ud800@example.com"), {}),
    "email.whitespace": (row(email="ana b@example.com"), {}),
    "email.no_at": (row(email="ana"), {}),
    "email.several_at": (row(email="a@b@example.com"), {}),
    "email.no_local_part": (row(email="@example.com"), {}),
    "email.no_domain": (row(email="ana@"), {}),
    "email.bad_domain": (row(email="ana@example"), {}),
    "email.too_long": (row(email="a" * 250 + "@example.com"), {}),
    "email.control_character": (row(email="a\u200bna@example.com"), {}),
    "eventName.missing": (row(eventName=None), {}),
    "eventName.not_text": (row(eventName=5), {}),
    "eventName.invalid_unicode": (row(eventName="open\ud800"), {}),
    "eventName.too_long": (row(eventName="e" * 1001), {}),
    "eventName.control_character": (row(eventName="opened\u200b_file"), {}),
    "eventName.not_in_mapping": (row(eventName="opend_file"), {"allowed_events": ["opened_file"]}),
    "targetApp.not_text": (with_app(5), {}),
    "targetApp.invalid_unicode": (with_app("app\ud800"), {}),
    "targetApp.too_long": (with_app("t" * 1001), {}),
    "targetApp.control_character": (with_app("a\u200bpp"), {}),
    "targetApp.missing_for_login": (row(), {"login_events": ["opened_file"]}),
    "duplicate": (pd.concat([row(), row()], ignore_index=True), {}),
    "stale": (row(timestamp="2025-06-09T00:00:00Z"), {"on_stale": "skip"}),
}
#: Codes prepare has but no input reaches: the email regex and explain_email agree on every
#: address, so "not plausible" without a named reason is a safety net.
UNREACHABLE = {"email.implausible"}
STATUS_OF = {"duplicate": "duplicate", "stale": "skipped"}


def prepare_codes() -> set[str]:
    return {code for code, field in FIELD_OF.items() if field} | {"duplicate", "stale"}


def test_the_recipes_cover_every_prepare_code():
    assert set(RECIPES) | UNREACHABLE == prepare_codes()


@pytest.mark.parametrize("code", sorted(RECIPES))
def test_each_code_is_produced(code):
    frame, options = RECIPES[code]
    status = pp.validate(frame, now=NOW, **options)
    last = status.index[-1]
    assert status.loc[last, "status"] == STATUS_OF.get(code, "invalid")
    assert status.loc[last, "problem"] == code
    # Every row that is not valid has a code; valid rows have none.
    assert (status["problem"].isna() == (status["status"] == "valid")).all()
    long = pp.problems(status)
    entries = long.loc[[last]]
    assert [
        (status_, None if pd.isna(column) else column, problem)
        for status_, column, problem in entries[["status", "column", "problem"]].itertuples(index=False)
    ] == [(STATUS_OF.get(code, "invalid"), FIELD_OF[code], code)]
    assert entries["reason"].iloc[0] == status.loc[last, "reason"]
    assert len(long) == int(status["problem"].notna().sum())


def test_the_unit_code_apart_from_really_before_2000_or_future():
    frame = pd.DataFrame(
        {
            "timestamp": [1_749_564_000, 946_684_000, 1_749_564_000_000_000],
            **{k: [v] * 3 for k, v in GOOD.items() if k != "timestamp"},
        }
    )
    status = pp.validate(frame, now=NOW)
    # seconds as ms: looks like seconds; 946684000 s is 1999 (before 2000 in any unit);
    # microseconds as ms: far future, looks like microseconds.
    assert status["problem"].tolist() == ["timestamp.unit", "timestamp.before_2000", "timestamp.unit"]
    assert status["reason"].str.contains("it looks like").tolist() == [True, False, True]


def test_the_first_problem_in_the_reasons_order_is_the_code():
    frame = pd.concat(
        [
            row(email="bob@", eventName="zz"),
            row(timestamp="nope", email="bob@"),
            row(eventName="zz", targetApp=None),
        ],
        ignore_index=True,
    )
    status = pp.validate(frame, now=NOW, allowed_events=["opened_file"], login_events=["zz"])
    assert status["problem"].tolist() == [
        "email.no_domain",
        "timestamp.unreadable",
        "eventName.not_in_mapping",
    ]
    assert status.loc[2, "reason"] == (
        "eventName 'zz' is not in the app's event mapping; "
        "eventName 'zz' is a Login event and needs a targetApp"
    )


def test_prepare_issues_no_warning_and_returns_the_counts():
    from productiv_pandas.preparation._options import PrepareOptions
    from productiv_pandas.preparation._prepare import PrepareCounts, prepare_events

    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2025-06-10 14:00", "2025-06-09 00:00", "2025-06-08 12:00"]),
            "email": ["a@example.com", "b@example.com", "c@example.com"],
            "eventName": ["x", "y", "z"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = prepare_events(frame, PrepareOptions.from_kwargs(now=NOW))
    oldest = int(pd.Timestamp("2025-06-08 12:00", tz="UTC").value // 1_000_000)
    assert prepared.counts == PrepareCounts(naive=3, stale=2, oldest_stale_ms=oldest)
    assert prepared.counts + PrepareCounts(naive=1, stale=1, oldest_stale_ms=0) == PrepareCounts(4, 3, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pp.validate(frame, now=NOW)
    assert [w.category for w in caught] == [pp.StaleEventWarning, pp.NaiveTimestampWarning]
    assert str(caught[0].message).startswith("2 event(s) are older than 12 hours (the oldest by 2.1 days)")
    assert str(caught[1].message).startswith("3 timestamp(s) had no timezone and were read as UTC")
