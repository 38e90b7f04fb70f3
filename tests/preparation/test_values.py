"""Every value pandas can hold gets a per-row status and a reason naming it, never a traceback
(issue 9, points 6 to 9), on every path: a frame (validate, prepare, publish), a file (CSV,
Parquet, JSON Lines; compressed or not), Dask and the CLI.
"""

from __future__ import annotations

import bz2
import datetime as dt
import decimal
import gzip
import lzma
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import productiv_pandas as pp

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
TEN_UTC_MS = 1_795_687_200_000  # 2026-11-26 10:00:00 UTC
DATE_ONLY = "is a date without a time of day; give the time it happened, with its zone"
FUTURE = "is in the future (later than now + 5 minutes)"
OPTIONS = {"now": NOW, "on_stale": "ignore", "tz": "UTC"}
SCRIPT = Path(sys.executable).with_name("productiv-pandas")


def frame_of(timestamps: pd.Series | list, emails=None, names=None) -> pd.DataFrame:
    values = timestamps if isinstance(timestamps, pd.Series) else pd.Series(timestamps, dtype=object)
    n = len(values)
    return pd.DataFrame(
        {
            "timestamp": values.reset_index(drop=True),
            "email": emails if emails is not None else [f"user{i}@example.com" for i in range(n)],
            "eventName": names if names is not None else ["opened_file"] * n,
        }
    )


def reasons(status: pd.DataFrame) -> list:
    return [None if pd.isna(r) else r for r in status["reason"]]


# -- point 6: timestamps of every kind ------------------------------------------------------------

# (value in an object column next to a good Timestamp, the reason its row gets)
HOSTILE_TIMESTAMPS = {
    "no-end-date sentinel": (dt.datetime(9999, 12, 31), f"timestamp 9999-12-31 00:00:00 UTC {FUTURE}"),
    "aware sentinel": (
        dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
        f"timestamp 9999-12-31 00:00:00 UTC {FUTURE}",
    ),
    "datetime64[s] year 9999": (
        np.datetime64("9999-12-31T00:00:00", "s"),
        f"timestamp 9999-12-31 00:00:00 UTC {FUTURE}",
    ),
    "datetime64 beyond any Timestamp": (
        np.datetime64("300000-01-01T00:00:00", "s"),
        "timestamp 300000-01-01T00:00:00 is out of range",
    ),
    "huge int": (2**70, "timestamp 1180591620717411303424 is out of range for milliseconds"),
    "uint64 beyond int64": (
        np.uint64(2**64 - 1),
        "timestamp 18446744073709551615 is out of range for milliseconds",
    ),
    "huge Decimal": (
        decimal.Decimal("99999999999999999999999999999999999999"),
        "timestamp 99999999999999999999999999999999999999 is out of range for milliseconds",
    ),
    "Decimal infinity": (decimal.Decimal("Infinity"), "timestamp Infinity is not a finite number"),
    "Decimal NaN": (decimal.Decimal("NaN"), "timestamp is missing"),
    "inf": (float("inf"), "timestamp inf is not a finite number"),
    "-inf": (float("-inf"), "timestamp -inf is not a finite number"),
    "nan": (float("nan"), "timestamp is missing"),
    "NaT": (pd.NaT, "timestamp is missing"),
    "negative": (
        -5,
        "timestamp -5 read as milliseconds is 1969-12-31 23:59:59.995 UTC, which is before 2000-01-01",
    ),
    "bool": (True, "timestamp True is not a date-time"),
    "Period": (
        pd.Period("2026-11", "M"),
        "timestamp 2026-11 (Period) is not a date-time, a number or ISO-8601 text",
    ),
    "Timedelta": (
        pd.Timedelta(minutes=5),
        "timestamp 0 days 00:05:00 (Timedelta) is not a date-time, a number or ISO-8601 text",
    ),
    "full-width digits": (
        "０１２",
        "timestamp '０１２' has the digit '０' (U+FF10 FULLWIDTH DIGIT ZERO); "
        "write numbers and dates with the digits 0-9",
    ),
    "Arabic-Indic digits": (
        "١٧٩٥٦٨٧٢٠٠٠٠٠",
        "timestamp '١٧٩٥٦٨٧٢٠٠٠٠٠' has the digit '١' (U+0661 ARABIC-INDIC DIGIT ONE); write numbers and "
        "dates with the digits 0-9",
    ),
    "number text beyond uint64": (
        "123456789012345678901234567890",
        "timestamp '123456789012345678901234567890' is out of range for milliseconds",
    ),
    "lone surrogate": (
        "2026-11-26T10:00:00Z\udc80",
        "timestamp contains characters that are not valid unicode",
    ),
    "date": (dt.date(2026, 11, 26), f"timestamp 2026-11-26 {DATE_ONLY}"),
    "date text": ("2026-11-26", f"timestamp 2026-11-26 {DATE_ONLY}"),
    "datetime64[D]": (np.datetime64("2026-11-26", "D"), f"timestamp 2026-11-26 {DATE_ONLY}"),
}


@pytest.mark.parametrize("name", list(HOSTILE_TIMESTAMPS))
def test_every_timestamp_value_gets_a_reason_naming_it(name: str) -> None:
    value, reason = HOSTILE_TIMESTAMPS[name]
    # A nanosecond Timestamp first: it used to make the sentinel's second to_datetime fail.
    column = [pd.Timestamp("2026-11-26 10:00:00.000000001"), value]

    status = pp.validate(frame_of(column), **OPTIONS)

    assert status["status"].tolist() == ["valid", "invalid"]
    assert reasons(status) == [None, reason]
    assert status["timestamp"].iloc[0] == TEN_UTC_MS


def test_every_hostile_value_at_once_in_validate_prepare_and_publish(sandbox_with) -> None:
    values = [value for value, _ in HOSTILE_TIMESTAMPS.values()]
    frame = frame_of([pd.Timestamp.now(tz="UTC").floor("s"), *values])
    expected = [None, *(reason for _, reason in HOSTILE_TIMESTAMPS.values())]
    options = {"on_stale": "ignore", "tz": "UTC"}

    validated = pp.validate(frame, **options)
    prepared = pp.prepare(frame, **options)
    sb = sandbox_with("acme", events={"opened_file"})
    with sb.client() as client:
        published = pp.publish(frame, "acme", client=client, **options)

    # "in the future" reasons are measured against the real now here: compare up to it.
    assert [r if r is None else r.split(" (later")[0] for r in reasons(validated)] == [
        r if r is None else r.split(" (later")[0] for r in expected
    ]
    assert prepared.index.tolist() == [0]
    assert published["status"].tolist() == ["sent"] + ["invalid"] * len(values)
    assert reasons(published)[1:] == reasons(validated)[1:]
    assert len(sb.events("acme")) == 1


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]", "str", object])
def test_non_ascii_digits_in_any_string_storage(dtype) -> None:
    column = pd.Series(["０１２", "٠١٢", str(TEN_UTC_MS)], dtype=dtype)

    status = pp.validate(frame_of(column), **OPTIONS)

    assert status["status"].tolist() == ["invalid", "invalid", "valid"]
    assert status["reason"].iloc[0].startswith("timestamp '０１２' has the digit '０' (U+FF10")
    assert status["reason"].iloc[1].startswith("timestamp '٠١٢' has the digit '٠' (U+0660")


def test_decimals_are_epoch_numbers_in_the_unit() -> None:
    column = [decimal.Decimal(TEN_UTC_MS), decimal.Decimal(TEN_UTC_MS + 1) + decimal.Decimal("0.75")]
    seconds = [decimal.Decimal(TEN_UTC_MS // 1000)]

    in_ms = pp.validate(frame_of(column), **OPTIONS)
    in_s = pp.validate(frame_of(seconds), unit="s", **OPTIONS)

    assert in_ms["status"].tolist() == ["valid", "valid"]
    assert in_ms["timestamp"].tolist() == [TEN_UTC_MS, TEN_UTC_MS + 1]  # fractions floored, as floats
    assert in_s["timestamp"].tolist() == [TEN_UTC_MS]


def test_uint64_column_names_the_value_not_zero() -> None:
    status = pp.validate(frame_of(pd.Series([2**64 - 1, TEN_UTC_MS], dtype=np.uint64)), **OPTIONS)

    assert reasons(status) == ["timestamp 18446744073709551615 is out of range for milliseconds", None]


def test_arrow_columns_decimal_timestamp_beyond_2262_and_date32() -> None:
    decimals = pd.array([decimal.Decimal(TEN_UTC_MS), None], dtype=pd.ArrowDtype(pa.decimal128(38, 0)))
    seconds = pd.array(
        [dt.datetime(2026, 11, 26, 10), dt.datetime(9999, 12, 31)],
        dtype=pd.ArrowDtype(pa.timestamp("s", tz="UTC")),
    )
    dates = pd.array([dt.date(2026, 11, 26), None], dtype=pd.ArrowDtype(pa.date32()))

    by_decimal = pp.validate(frame_of(pd.Series(decimals)), **OPTIONS)
    by_seconds = pp.validate(frame_of(pd.Series(seconds)), **OPTIONS)
    by_date = pp.validate(frame_of(pd.Series(dates)), **OPTIONS)

    assert reasons(by_decimal) == [None, "timestamp is missing"]
    assert by_decimal["timestamp"].iloc[0] == TEN_UTC_MS
    assert reasons(by_seconds) == [None, f"timestamp 9999-12-31 00:00:00 UTC {FUTURE}"]
    assert reasons(by_date) == [f"timestamp 2026-11-26 {DATE_ONLY}", "timestamp is missing"]


def test_mixed_zones_in_strings_and_timestamps_are_each_read() -> None:
    column = [
        "2026-11-26T11:00:00+01:00",
        pd.Timestamp("2026-11-26 19:00", tz="Asia/Tokyo"),
        "2026-11-26T05:00:00-05:00",
        dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC),
    ]

    status = pp.validate(frame_of(column), **OPTIONS)

    assert status["timestamp"].tolist() == [TEN_UTC_MS] * 4


# -- point 7: a date is a date, in an object or in text ------------------------------------------


def test_a_date_and_its_text_get_the_same_reason() -> None:
    status = pp.validate(
        frame_of([dt.date(2026, 11, 26), "2026-11-26", " 2026/11/26 ", "2026-11"]), **OPTIONS
    )

    assert reasons(status) == [
        f"timestamp 2026-11-26 {DATE_ONLY}",
        f"timestamp 2026-11-26 {DATE_ONLY}",
        f"timestamp 2026/11/26 {DATE_ONLY}",
        f"timestamp 2026-11 {DATE_ONLY}",
    ]


def test_an_impossible_date_is_not_iso_rather_than_a_date() -> None:
    status = pp.validate(frame_of(["2026-13-45"]), **OPTIONS)

    assert reasons(status) == ["timestamp '2026-13-45' is not an ISO-8601 date-time"]


# -- point 8: emails, event names, app names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("a\u200bna@x.com", "email 'a\\u200bna@x.com' contains U+200B ZERO WIDTH SPACE at position 1"),
        ("ana@x\u200c.com", "email 'ana@x\\u200c.com' contains U+200C ZERO WIDTH NON-JOINER at position 5"),
        ("an\u200da@x.com", "email 'an\\u200da@x.com' contains U+200D ZERO WIDTH JOINER at position 2"),
        ("ana\u2060@x.com", "email 'ana\\u2060@x.com' contains U+2060 WORD JOINER at position 3"),
        (
            "\ufeffana@x.com",
            "email '\\ufeffana@x.com' contains U+FEFF ZERO WIDTH NO-BREAK SPACE at position 0",
        ),
        ("ana@x.com\x00", "email 'ana@x.com\\x00' contains U+0000 (a control character) at position 9"),
        ("an\x1ba@x.com", "email 'an\\x1ba@x.com' contains U+001B (a control character) at position 2"),
        ("ana@x.c\u202eom", "email 'ana@x.c\\u202eom' contains U+202E RIGHT-TO-LEFT OVERRIDE at position 7"),
        ("an\xada@x.com", "email 'an\\xada@x.com' contains U+00AD SOFT HYPHEN at position 2"),
    ],
)
def test_invisible_characters_in_an_email_are_named(email: str, reason: str) -> None:
    status = pp.validate(frame_of([TEN_UTC_MS, TEN_UTC_MS], emails=[email, "ana@x.com"]), **OPTIONS)

    assert status["status"].tolist() == ["invalid", "valid"]
    assert status["reason"].iloc[0] == f"{reason} (invisible, but sent: remove it)"


def test_an_email_longer_than_254_characters_is_invalid_without_quoting_it() -> None:
    huge = "a" * 1_000_000 + "@x.com"
    longest = "a" * 248 + "@x.com"  # 254: allowed

    status = pp.validate(frame_of([TEN_UTC_MS] * 2, emails=[huge, longest]), **OPTIONS)

    assert status["status"].tolist() == ["invalid", "valid"]
    reason = status["reason"].iloc[0]
    assert reason.endswith("is 1,000,006 characters long; an address has at most 254 (RFC 5321)")
    assert len(reason) < 200


def test_event_name_and_target_app_refuse_control_characters_and_oversized_values() -> None:
    frame = frame_of([TEN_UTC_MS] * 4, names=["opened\tfile", "x" * 1001, "y" * 1000, "sso_login"])
    frame["targetApp"] = [None, None, None, "\u200bslack"]

    status = pp.validate(frame, **OPTIONS)

    assert status["status"].tolist() == ["invalid", "invalid", "valid", "invalid"]
    assert (
        status["reason"]
        .iloc[0]
        .startswith("eventName 'opened\\tfile' contains U+0009 (a control character) at position 6")
    )
    assert status["reason"].iloc[1].endswith("is 1,001 characters long; at most 1,000 are sent")
    assert (
        status["reason"]
        .iloc[3]
        .startswith("targetApp '\\u200bslack' contains U+200B ZERO WIDTH SPACE at position 0")
    )


def test_usage_events_model_refuses_the_same_values() -> None:
    import pandera.errors

    frame = pd.DataFrame(
        {
            "timestamp": [TEN_UTC_MS] * 2,
            "email": ["a\u200bna@x.com", "a" * 300 + "@x.io"],
            "eventName": ["e"] * 2,
        }
    )

    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        pp.UsageEvents.validate(frame, lazy=True)

    assert set(caught.value.failure_cases["check"]) == {"no_control_characters", "max_length"}


def test_oversized_values_never_reach_a_batch(sandbox_with) -> None:
    sb = sandbox_with("acme", events={"opened_file"})
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = frame_of([now] * 3, emails=["a@x.com", "b" * 10_000 + "@x.com", "c\x00@x.com"])

    with sb.client() as client:
        status = pp.publish(frame, "acme", client=client, on_stale="ignore")

    assert status["status"].tolist() == ["sent", "invalid", "invalid"]
    assert sb.events("acme")["email"].tolist() == ["a@x.com"]


# -- point 9: files ------------------------------------------------------------------------------------


def validate_file(path: Path, **options) -> pd.DataFrame:
    out = path.with_name(path.name + ".status.csv")
    pp.validate_file(path, status_out=out, **OPTIONS, **options)
    return pd.read_csv(out, index_col=0)


def test_a_too_big_number_in_one_json_line_is_that_row_s_problem(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [f'{{"timestamp": {TEN_UTC_MS + i}, "email": "u{i}@x.io", "eventName": "e"}}' for i in range(5)]
    lines[3] = '{"timestamp": 1795687200000000000000000, "email": "u3@x.io", "eventName": "e"}'
    path.write_text("\n".join(lines) + "\n")

    status = validate_file(path, chunksize=2)
    in_memory = frame_of([1795687200000000000000000], emails=["u3@x.io"], names=["e"])
    whole = pp.validate(in_memory, **OPTIONS)

    assert status["status"].tolist() == ["valid", "valid", "valid", "invalid", "valid"]
    assert status["reason"].iloc[3] == "timestamp 1795687200000000000000000 is out of range for milliseconds"
    assert status["reason"].iloc[3] == whole["reason"].iloc[0]  # the same words as in memory


def test_a_line_that_is_not_an_object_is_named_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        f'{{"timestamp": {TEN_UTC_MS}, "email": "a@x.io", "eventName": "e"}}\n'
        '{"timestamp": 1795687200000000000000000, "email": "b@x.io", "eventName": "e"}\n[1, 2]\n'
    )

    with pytest.raises(pp.ConfigurationError, match=r"line 3 is not a JSON object: '\[1, 2\]'"):
        pp.validate_file(path, **OPTIONS)


CSV = f"timestamp,email,eventName\n{TEN_UTC_MS},a@x.io,e\n2026-11-26,b@x.io,e\n{TEN_UTC_MS},c\u200b@x.io,e\n"
JSONL = (
    f'{{"timestamp": {TEN_UTC_MS}, "email": "a@x.io", "eventName": "e"}}\n'
    '{"timestamp": "2026-11-26", "email": "b@x.io", "eventName": "e"}\n'
    f'{{"timestamp": {TEN_UTC_MS}, "email": "c\\u200b@x.io", "eventName": "e"}}\n'
)
EXPECTED = [
    None,
    f"timestamp 2026-11-26 {DATE_ONLY}",
    "email 'c\\u200b@x.io' contains U+200B ZERO WIDTH SPACE at position 1 (invisible, but sent: remove it)",
]


def _zip(path: Path, text: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inside.txt", text)


def _write(opener):
    def write(path: Path, text: str) -> None:
        with opener(path, "wt", encoding="utf-8") as handle:
            handle.write(text)

    return write


COMPRESSORS = {"gzip": _write(gzip.open), "bzip2": _write(bz2.open), "xz": _write(lzma.open), "zip": _zip}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".csv.gz"])
@pytest.mark.parametrize("compression", list(COMPRESSORS))
def test_a_compressed_file_is_read_whatever_its_name(tmp_path: Path, compression: str, suffix: str) -> None:
    path = tmp_path / f"export{suffix}"  # .csv.gz holding bzip2 or xz: the bytes decide
    COMPRESSORS[compression](path, JSONL if suffix == ".jsonl" else CSV)

    status = validate_file(path, chunksize=2)

    assert reasons(status) == EXPECTED


def test_zstd_and_compressed_parquet_are_refused_naming_the_compression(tmp_path: Path) -> None:
    zstd = tmp_path / "export.csv"
    zstd.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(32))
    parquet = tmp_path / "export.parquet"
    frame_of([TEN_UTC_MS]).to_parquet(tmp_path / "plain.parquet")
    with gzip.open(parquet, "wb") as handle:
        handle.write((tmp_path / "plain.parquet").read_bytes())

    with pytest.raises(pp.ConfigurationError, match="zstd-compressed") as zstd_error:
        pp.validate_file(zstd, **OPTIONS)
    with pytest.raises(pp.ConfigurationError, match="gzip-compressed; Parquet compresses itself"):
        pp.validate_file(parquet, **OPTIONS)

    assert "latin1" not in str(zstd_error.value)


def test_a_zip_of_several_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.jsonl", JSONL)
        archive.writestr("b.jsonl", JSONL)

    with pytest.raises(pp.ConfigurationError, match="the zip archive holds 2 files, not one"):
        pp.validate_file(path, **OPTIONS)


def test_parquet_decimal_timestamp_beyond_2262_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    table = pa.table(
        {
            "timestamp": pa.array(
                [decimal.Decimal(TEN_UTC_MS), decimal.Decimal(10**30)], pa.decimal128(38, 0)
            ),
            "ends": pa.array(
                [dt.datetime(2026, 11, 26, 10), dt.datetime(9999, 12, 31)], pa.timestamp("ms", tz="UTC")
            ),
            "day": pa.array([dt.date(2026, 11, 26)] * 2, pa.date32()),
            "day64": pa.array([dt.date(2026, 11, 26)] * 2, pa.date64()),
            "email": ["a@x.io", "b@x.io"],
            "eventName": ["e", "f"],
        }
    )
    pq.write_table(table, path)

    by_decimal = validate_file(path)
    by_end = validate_file(path, columns={"ends": "timestamp"})
    by_day = validate_file(path, columns={"day": "timestamp"})
    by_day64 = validate_file(path, columns={"day64": "timestamp"})

    assert reasons(by_decimal) == [
        None,
        "timestamp 1000000000000000000000000000000 is out of range for milliseconds",
    ]
    assert reasons(by_end)[1] == f"timestamp 9999-12-31 00:00:00 UTC {FUTURE}"
    assert reasons(by_day) == [f"timestamp 2026-11-26 {DATE_ONLY}"] * 2
    assert reasons(by_day64) == [f"timestamp 2026-11-26 {DATE_ONLY}"] * 2


# Arrow dates reach millions of years either side; Python's dates stop at years 1 and 9999.
FAR_DATES = [-719_528, 20_418, 3_000_000, None]  # year 0, 2025-11-26, year 10183, missing


@pytest.mark.parametrize("kind", [pa.date32(), pa.date64()])
def test_arrow_dates_python_cannot_hold_are_judged_per_row(kind) -> None:
    days = pa.array(FAR_DATES, pa.date32()).cast(kind)
    frame = pd.DataFrame(
        {
            "timestamp": pd.array(days, dtype=pd.ArrowDtype(kind)),
            "email": ["a@x.io", "b@x.io", "c@x.io", "d@x.io"],
            "eventName": pd.array(days, dtype=pd.ArrowDtype(kind)),
        }
    )
    status = pp.validate(frame, **OPTIONS)

    assert status["status"].tolist() == ["invalid"] * 4
    assert status["problem"].tolist() == [
        "timestamp.before_2000",
        "timestamp.date_only",
        "timestamp.future",
        "timestamp.missing",
    ]
    assert reasons(status) == [
        "timestamp 0000-01-01 00:00:00 UTC is before 2000-01-01; eventName 0000-01-01 00:00:00 is not text",
        f"timestamp 2025-11-26 {DATE_ONLY}; eventName 2025-11-26 is not text",
        f"timestamp 10183-09-21 00:00:00 UTC {FUTURE}; eventName 10183-09-21 00:00:00 is not text",
        "timestamp is missing; eventName is missing",
    ]


def test_a_parquet_date_column_python_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    table = pa.table(
        {
            "day": pa.array(FAR_DATES, pa.date32()),
            "email": ["a@x.io", "b@x.io", "c@x.io", "d@x.io"],
            "eventName": ["e", "f", "g", "h"],
        }
    )
    pq.write_table(table, path)

    assert reasons(validate_file(path, columns={"day": "timestamp"})) == [
        "timestamp 0000-01-01 00:00:00 UTC is before 2000-01-01",
        f"timestamp 2025-11-26 {DATE_ONLY}",
        f"timestamp 10183-09-21 00:00:00 UTC {FUTURE}",
        "timestamp is missing",
    ]


def test_csv_with_numbers_beyond_uint64(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        f"timestamp,email,eventName\n1180591620717411303424,a@x.io,e\n{TEN_UTC_MS},b@x.io,e\n"
        "18446744073709551615,c@x.io,e\n"
    )

    status = validate_file(path)

    assert reasons(status) == [
        "timestamp 1180591620717411303424 is out of range for milliseconds",
        None,
        "timestamp 18446744073709551615 is out of range for milliseconds",
    ]


# -- point 9: column labels ------------------------------------------------------------------------


def _multi() -> pd.DataFrame:
    frame = frame_of([TEN_UTC_MS])
    frame.columns = pd.MultiIndex.from_tuples([("timestamp", "a"), ("email", "b"), ("eventName", "c")])
    return frame


MULTI = (
    r"the frame has MultiIndex columns \(2 levels, e.g. \('timestamp', 'a'\)\), so frame\['timestamp'\] "
    r"is not one column: flatten them first, "
    r"e.g. df.columns = \['_'.join\(map\(str, c\)\) for c in df.columns\]"
)
DUPLICATE = r"the frame has 2 columns named 'timestamp' \(at positions \[0, 3\]\): drop or rename all but one"


def _duplicated() -> pd.DataFrame:
    frame = frame_of([TEN_UTC_MS])
    return pd.concat([frame, frame[["timestamp"]]], axis=1)


def _numbered() -> pd.DataFrame:
    frame = frame_of([TEN_UTC_MS])
    frame.columns = [0, 1, 2]
    return frame


NUMBERED = (
    r"its column labels are not names \(was the file read with header=None\?\): "
    r"map them with columns=\{0: 'timestamp'\}$"
)


@pytest.mark.parametrize(
    ("make", "message"), [(_multi, MULTI), (_duplicated, DUPLICATE), (_numbered, NUMBERED)]
)
def test_column_labels_say_what_the_frame_has(make, message: str) -> None:
    import dask.dataframe as dd

    frame = make()

    for call in (pp.validate, pp.prepare):
        with pytest.raises(pp.ConfigurationError, match=message):
            call(frame, **OPTIONS)
    with pytest.raises(pp.ConfigurationError, match=message):
        pp.publish(
            frame, "acme", client=pp.ProductivClient(access_token="x" * 20, base_url="http://127.0.0.1:9")
        )
    with pytest.raises(pp.ConfigurationError, match=message):
        dd.from_pandas(frame, npartitions=1).productiv.validate(**OPTIONS)


def test_multiindex_columns_work_when_mapped_by_whole_tuples_and_numbers_when_mapped() -> None:
    multi = pp.validate(
        _multi(),
        columns={("timestamp", "a"): "timestamp", ("email", "b"): "email", ("eventName", "c"): "eventName"},
        **OPTIONS,
    )
    numbered = pp.validate(_numbered(), columns={0: "timestamp", 1: "email", 2: "eventName"}, **OPTIONS)

    assert multi["status"].tolist() == numbered["status"].tolist() == ["valid"]


# -- Dask and the CLI ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_gives_every_hostile_value_the_pandas_status() -> None:
    import dask
    import dask.dataframe as dd

    # A lone surrogate fails Dask's own string conversion first (see the next test).
    values = [value for name, (value, _) in HOSTILE_TIMESTAMPS.items() if name != "lone surrogate"]
    frame = frame_of([TEN_UTC_MS, *values])
    frame.loc[1, "email"] = "a\u200b@x.io"
    frame.loc[2, "email"] = "b" * 300 + "@x.io"
    expected = pp.validate(frame, **OPTIONS)

    with dask.config.set({"dataframe.convert-string": False}, scheduler="synchronous"):
        status = dd.from_pandas(frame, npartitions=3).productiv.validate(**OPTIONS).compute()
        prepared = dd.from_pandas(frame, npartitions=3).productiv.prepare(**OPTIONS).compute()
    # Dask's default turns a mixed object column into text first: each value is then read as
    # the text it became (a Decimal as digits), so the words may differ, never the statuses.
    with dask.config.set({"dataframe.convert-string": True}, scheduler="synchronous"):
        as_text = dd.from_pandas(frame, npartitions=3).productiv.validate(**OPTIONS).compute()

    assert status["status"].tolist() == expected["status"].tolist()
    assert reasons(status) == reasons(expected)
    assert prepared.index.tolist() == [0]
    assert as_text["status"].tolist() == expected["status"].tolist()
    assert as_text["reason"].iloc[1:].notna().all()


def test_dask_string_conversion_of_a_lone_surrogate_is_a_configuration_error() -> None:
    import dask
    import dask.dataframe as dd

    frame = frame_of([TEN_UTC_MS, "2026-11-26T10:00:00Z\udc80"])

    with dask.config.set({"dataframe.convert-string": True}):
        ddf = dd.from_pandas(frame, npartitions=1)
    with pytest.raises(pp.ConfigurationError, match="could not convert a text column to pyarrow strings"):
        ddf.productiv.validate(**OPTIONS)
    with dask.config.set({"dataframe.convert-string": False}, scheduler="synchronous"):
        status = dd.from_pandas(frame, npartitions=1).productiv.validate(**OPTIONS).compute()

    assert reasons(status) == [None, "timestamp contains characters that are not valid unicode"]


@pytest.mark.slow
def test_cli_reads_a_gzip_named_csv_and_names_each_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    recent = str(int(pd.Timestamp.now(tz="UTC").value // 1_000_000) - 60_000)
    COMPRESSORS["gzip"](path, CSV.replace(str(TEN_UTC_MS), recent) + "1795687200000000000000000,d@x.io,e\n")
    out = tmp_path / "status.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}

    result = subprocess.run(
        [str(SCRIPT), "validate", str(path), "--tz", "UTC", "--status-out", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert reasons(pd.read_csv(out, index_col=0)) == [
        *EXPECTED,
        # A CSV holds text: the value is quoted as written.
        "timestamp '1795687200000000000000000' is out of range for milliseconds",
    ]


def test_naive_sentinel_with_tz_is_read_in_that_zone() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = pp.validate(
            frame_of([pd.Timestamp("2026-11-26 11:00:00.000000001"), dt.datetime(9999, 12, 31)]),
            now=NOW,
            on_stale="ignore",
            tz="Europe/Paris",
        )

    assert status["timestamp"].tolist()[0] == TEN_UTC_MS
    assert status["reason"].iloc[1] == f"timestamp 9999-12-30 23:00:00 UTC {FUTURE}"


# -- review: values that still broke after the merge ------------------------------------------


@pytest.mark.parametrize("zone", ["America/New_York", "Etc/GMT+12", "Asia/Tokyo"])
@pytest.mark.parametrize("dtype", ["datetime64[s]", "datetime64[us]", "object", "str"])
def test_naive_sentinels_at_the_ends_of_the_calendar_in_any_zone(zone: str, dtype: str) -> None:
    # 9999-12-31 23:59 in a zone west of UTC is in the year 10000 in UTC: pandas' tz_localize
    # raised NotImplementedError (it goes through Python's datetime, which ends with 9999).
    texts = ["9999-12-31T23:59:00", "0001-01-01T00:00:00"]
    if dtype == "object":
        column = pd.Series([dt.datetime.fromisoformat(t) for t in texts], dtype=object)
    else:
        column = pd.Series(texts).astype(dtype)

    status = pp.validate(frame_of(column), now=NOW, on_stale="ignore", tz=zone)

    assert status["status"].tolist() == ["invalid", "invalid"]
    assert FUTURE in status["reason"].iat[0]
    assert "is before 2000-01-01" in status["reason"].iat[1]


def test_a_signaling_nan_decimal_is_missing_in_every_column() -> None:
    snan = decimal.Decimal("sNaN")  # pandas' isna raised InvalidOperation on it
    frame = frame_of(
        [snan, pd.Timestamp("2026-11-26 10:00"), pd.Timestamp("2026-11-26 10:00")],
        emails=pd.Series(["a@example.com", snan, "c@example.com"], dtype=object),
        names=pd.Series(["opened_file", "opened_file", snan], dtype=object),
    )
    frame["targetApp"] = pd.Series([snan, None, None], dtype=object)

    status = pp.validate(frame, **OPTIONS)

    assert reasons(status) == ["timestamp is missing", "email is missing", "eventName is missing"]
    assert pp.prepare(frame, **OPTIONS).empty


def test_a_numpy_timedelta_in_an_object_column_is_a_duration_not_a_number() -> None:
    column = [np.timedelta64(5, "s"), np.timedelta64("NaT")]

    status = pp.validate(frame_of(column), **OPTIONS)

    assert reasons(status) == [
        "timestamp 5 seconds (timedelta64) is not a date-time, a number or ISO-8601 text",
        "timestamp is missing",
    ]


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_an_integer_beyond_float_precision_is_named_exactly(unit: str) -> None:
    column = pd.Series([2**63 - 1, -(2**63) + 1], dtype="int64")

    status = pp.validate(frame_of(column), **OPTIONS, unit=unit)

    assert status["reason"].iat[0].startswith("timestamp 9223372036854775807 ")
    assert status["reason"].iat[1].startswith("timestamp -9223372036854775807 ")


def test_a_truncated_compressed_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(gzip.compress(b"timestamp,email,eventName\n" * 100)[:40])

    with pytest.raises(pp.ConfigurationError, match="cut short"):
        pp.validate_file(path, **OPTIONS)


def test_a_parquet_or_doubly_compressed_file_named_csv_is_named_not_sent_to_iconv(tmp_path: Path) -> None:
    parquet = tmp_path / "events.parquet"
    pd.DataFrame({"timestamp": [TEN_UTC_MS], "email": ["a@example.com"], "eventName": ["e"]}).to_parquet(
        parquet
    )
    renamed = tmp_path / "parquet.csv"
    renamed.write_bytes(parquet.read_bytes())
    twice = tmp_path / "twice.csv"
    twice.write_bytes(gzip.compress(gzip.compress(b"timestamp,email,eventName\n")))

    with pytest.raises(pp.ConfigurationError, match="it is a Parquet file; name it"):
        pp.validate_file(renamed, **OPTIONS)
    with pytest.raises(pp.ConfigurationError, match="compressed twice") as raised:
        pp.validate_file(twice, **OPTIONS)
    assert "iconv" not in str(raised.value)


def test_dask_with_a_signaling_nan_decimal_is_a_configuration_error_or_missing() -> None:
    import dask
    import dask.dataframe as dd

    frame = frame_of([pd.Timestamp("2026-11-26 10:00"), decimal.Decimal("sNaN")])

    with dask.config.set({"dataframe.convert-string": True}):
        ddf = dd.from_pandas(frame, npartitions=1)
    with pytest.raises(pp.ConfigurationError, match=r"signaling NaN Decimal\('sNaN'\)"):
        ddf.productiv.validate(**OPTIONS)
    with dask.config.set({"dataframe.convert-string": False}, scheduler="synchronous"):
        status = dd.from_pandas(frame, npartitions=1).productiv.validate(**OPTIONS).compute()

    assert reasons(status) == [None, "timestamp is missing"]
