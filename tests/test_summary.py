"""productiv_pandas.summary: the run summary, its schema, its atomic file, and the threshold."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import summary as summary_module
from productiv_pandas.errors import ConfigurationError
from productiv_pandas.summary import (
    SUMMARY_KEYS,
    SUMMARY_SCHEMA,
    build_summary,
    check_summary,
    exceeds,
    parse_max_invalid,
    write_summary,
)

PARIS = dt.timezone(dt.timedelta(hours=1))
TAKES = "max_invalid takes a number of rows (e.g. 10) or a percentage of the rows read (e.g. 1% or 0.5%)"


def _summary(**overrides) -> dict:
    arguments = dict(statuses={"sent": 7, "invalid": 2, "failed": 1},
                     problems={"email.no_at": 2, "http.503": 1, "stale": 0},
                     rows_read=10, requests=3, duration_s=1.23456, exit_code=1)  # fmt: skip
    return build_summary(**(arguments | overrides))


def test_a_summary_has_exactly_the_documented_keys_in_order_and_values():
    summary = _summary(
        outbox_retried=4,
        watermark_before=dt.datetime(2026, 12, 2, 12, 30, tzinfo=PARIS),
        watermark_after=dt.datetime(2026, 12, 2, 12, 0, 0, 123456),  # naive: read as UTC
        outbox_before=5,
        outbox_after=1,
    )
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary == {
        "version": 1,
        "rows_read": 10,
        "outbox_retried": 4,
        "statuses": {
            "valid": 0,
            "sent": 7,
            "invalid": 2,
            "duplicate": 0,
            "skipped": 0,
            "rejected": 0,
            "failed": 1,
        },
        "problems": {"email.no_at": 2, "http.503": 1},
        "watermark_before": "2026-12-02T11:30:00.000Z",
        "watermark_after": "2026-12-02T12:00:00.123Z",
        "outbox_before": 5,
        "outbox_after": 1,
        "requests": 3,
        "duration_s": 1.235,
        "exit_code": 1,
    }
    check_summary(summary)
    assert json.loads(json.dumps(summary)) == summary  # plain JSON values only


def test_counts_from_pandas_and_numpy_become_plain_ints():
    counts = pd.Series({"sent": 3, "invalid": 1}, dtype="int64")
    summary = build_summary(statuses=counts.to_dict(), problems=pd.Series({"email.no_at": 1}).to_dict(),
                            rows_read=counts.sum(), requests=1, duration_s=0.5, exit_code=1)  # fmt: skip
    assert type(summary["rows_read"]) is int
    assert summary["rows_read"] == 4
    assert type(summary["statuses"]["sent"]) is int
    watermark = build_summary(**_args(), watermark_after=pd.Timestamp("2026-01-01 10:00", tz="Europe/Paris"))
    assert watermark["watermark_after"] == "2026-01-01T09:00:00.000Z"


def _args() -> dict:
    return dict(statuses={}, problems={}, rows_read=0, requests=0, duration_s=0.0, exit_code=0)


def test_problems_are_most_frequent_first_then_by_code():
    summary = build_summary(**_args() | {"problems": {"b": 1, "a": 1, "c": 5}})
    assert list(summary["problems"].items()) == [("c", 5), ("a", 1), ("b", 1)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statuses": {"sent": 1, "lost": 2}}, "unknown statuses ['lost']: the statuses are "),
        ({"rows_read": -1}, "rows_read must be a whole number >= 0, got -1"),
        ({"requests": 1.5}, "requests must be a whole number >= 0, got 1.5"),
        ({"exit_code": True}, "exit_code must be a whole number >= 0, got True"),
        ({"duration_s": -0.1}, "duration_s must be >= 0, got -0.1"),
    ],
)
def test_a_wrong_count_is_a_bug_refused_at_once(change, message):
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        build_summary(**_args() | change)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda s: s.pop("requests"), []),
        (lambda s: s.update(extra=1), []),
        (lambda s: s.update(version=2), ["version"]),
        (lambda s: s["statuses"].pop("failed"), ["statuses"]),
        (lambda s: s["statuses"].update(lost=1), ["statuses"]),
        (lambda s: s["problems"].update({"email no at": 1}), ["problems"]),
        (lambda s: s["problems"].update({"email.no_at": 0}), ["problems", "email.no_at"]),
        (lambda s: s.update(watermark_after="2026-12-02 12:00:00"), ["watermark_after"]),
        (lambda s: s.update(watermark_after="2026-12-02T12:00:00.000+01:00"), ["watermark_after"]),
        (lambda s: s.update(exit_code=4), ["exit_code"]),
        (lambda s: s.update(outbox_after=-1), ["outbox_after"]),
        (lambda s: s.update(duration_s="1s"), ["duration_s"]),
    ],
)
def test_the_schema_refuses_what_a_reader_could_not_rely_on(edit, path):
    summary = _summary()
    edit(summary)
    with pytest.raises(jsonschema.ValidationError) as caught:
        check_summary(summary)
    assert list(caught.value.absolute_path) == path


def test_the_schema_is_the_file_shipped_in_the_package_and_a_valid_draft_2020_12_schema():
    shipped = Path(pp.__file__).parent / "schemas" / "run-summary.v1.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == SUMMARY_SCHEMA
    jsonschema.Draft202012Validator.check_schema(SUMMARY_SCHEMA)
    assert SUMMARY_SCHEMA["required"] == list(SUMMARY_KEYS)
    assert set(SUMMARY_SCHEMA["properties"]) == set(SUMMARY_KEYS)
    assert SUMMARY_SCHEMA["properties"]["statuses"]["required"] == list(pp.STATUSES)


def test_write_summary_writes_indented_json_with_a_final_newline(tmp_path):
    summary = _summary()
    path = write_summary(summary, str(tmp_path / "run.json"))
    assert path == tmp_path / "run.json"
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(summary, indent=2) + "\n"
    assert json.loads(text) == summary
    assert os.listdir(tmp_path) == ["run.json"]  # no temporary file left


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_write_summary_creates_the_file_with_0666_less_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_summary(_summary(), tmp_path / "run.json")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode


def test_write_summary_replaces_a_file_whole_and_a_failed_replace_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    write_summary(_summary(exit_code=0), path)
    write_summary(_summary(exit_code=1), path)
    assert json.loads(path.read_text(encoding="utf-8"))["exit_code"] == 1

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(summary_module.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left on device"):
        write_summary(_summary(exit_code=3), path)
    assert json.loads(path.read_text(encoding="utf-8"))["exit_code"] == 1
    assert os.listdir(tmp_path) == ["run.json"]  # the temporary file was removed


@pytest.mark.parametrize(
    ("invalid", "rows", "max_invalid", "expected"),
    [
        (0, 200, 0, False),
        (1, 200, 0, True),  # the default: any invalid row exceeds
        (5, 200, "5", False),  # exactly N is within
        (6, 200, "5", True),  # N + 1 exceeds
        (5, 200, 5, False),
        (2, 200, "1%", False),  # 1% of 200 rows = 2
        (3, 200, "1%", True),
        (1, 200, "0.5%", False),
        (2, 200, "0.5%", True),
        (1, 3, "33.4%", False),  # compared exactly: 33.4% of 3 is 1.002
        (1, 3, "33.3%", True),  # 0.999
        (200, 200, "100%", False),
        (1, 200, "0%", True),
        (0, 0, "1%", False),  # nothing read, nothing invalid
        (2, 200, " 1 % ", False),
        (2, 200, Decimal(1), False),  # a parsed percentage
    ],
)
def test_exceeds_only_above_the_threshold(invalid, rows, max_invalid, expected):
    assert exceeds(invalid, rows, max_invalid) is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", f"{TAKES}, got '-1'"),
        ("1.5", f"{TAKES}, got '1.5'"),
        ("", f"{TAKES}, got ''"),
        ("1e3", f"{TAKES}, got '1e3'"),
        ("abc%", f"{TAKES}, got 'abc%'"),
        ("101%", "max_invalid as a percentage is from 0% to 100%, got '101%'"),
        ("-1%", "max_invalid as a percentage is from 0% to 100%, got '-1%'"),
        ("nan%", "max_invalid as a percentage is from 0% to 100%, got 'nan%'"),
        (-3, "max_invalid must be >= 0 rows, got -3"),
    ],
)
def test_a_bad_threshold_is_a_configuration_error_quoting_it(value, message):
    with pytest.raises(ConfigurationError) as caught:
        parse_max_invalid(value)
    assert str(caught.value) == message
    with pytest.raises(ConfigurationError):
        exceeds(0, 10, value)


def test_parse_max_invalid_gives_rows_as_int_and_a_percentage_as_decimal():
    assert parse_max_invalid("12") == 12
    assert type(parse_max_invalid("12")) is int
    assert parse_max_invalid("2.5%") == Decimal("2.5")
