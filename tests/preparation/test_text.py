"""Text columns: emails, eventName and targetApp normalized, and each email defect in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation._schema import EMAIL_PATTERN, is_plausible_email
from productiv_pandas.preparation._text import (
    describe_value,
    length_at_most,
    normalize_text,
    not_empty_mask,
    regex_mask,
)

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")
TEN_UTC = "2026-11-26T10:00:00Z"


def validate_rows(**columns) -> pd.DataFrame:
    """Validate a frame whose missing required columns get harmless, distinct defaults."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(
        {
            "timestamp": [f"2026-11-26T10:00:{i:02d}Z" for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": "opened_file",
        }
        | columns
    )
    return pp.validate(frame, now=NOW)


# -- emails ------------------------------------------------------------------------------------


def test_emails_are_stripped_and_lower_cased_before_checking() -> None:
    status = validate_rows(email=["  Ana@Example.COM ", "\tBOB@X.IO\n"])

    assert status["status"].tolist() == ["valid", "valid"]
    assert status["email"].tolist() == ["ana@example.com", "bob@x.io"]


def test_emails_are_normalized_before_de_duplicating() -> None:
    status = validate_rows(
        timestamp=[TEN_UTC] * 3,
        email=["ana@example.com", " ANA@example.com", "Ana@Example.Com  "],
    )

    assert status["status"].tolist() == ["valid", "duplicate", "duplicate"]
    assert status["reason"].tolist()[1:] == ["duplicate of row 0", "duplicate of row 0"]


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("bob@", "email 'bob@' has no domain"),
        ("bob.example.com", "email 'bob.example.com' has no '@'"),
        ("bo b@example.com", "email 'bo b@example.com' contains whitespace"),
        # repr() shows the invisible no-break space, so the analyst can see what is wrong.
        ("bob\u00a0smith@example.com", "email 'bob\\xa0smith@example.com' contains whitespace"),
        ("bob@mail@example.com", "email 'bob@mail@example.com' has more than one '@'"),
        ("@example.com", "email '@example.com' has nothing before the '@'"),
        ("bob@localhost", "email 'bob@localhost' has no dot in its domain 'localhost'"),
        ("bob@example..com", "email 'bob@example..com' has an empty part in its domain 'example..com'"),
        ("bob@example.", "email 'bob@example.' has an empty part in its domain 'example.'"),
        ("", "email is empty"),
        ("   ", "email is empty"),  # stripped first
        ("@", "email '@' has nothing before the '@' and has no domain"),
        ("a b", "email 'a b' contains whitespace and has no '@'"),
    ],
)
def test_each_email_defect_has_its_own_wording(email: str, reason: str) -> None:
    status = validate_rows(email=[email, "ana@example.com"])

    assert status["status"].tolist() == ["invalid", "valid"]
    assert status["reason"].iloc[0] == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "email is missing"),
        (np.nan, "email is missing"),
        (pd.NA, "email is missing"),
        (42, "email 42 is not text"),
        (1.5, "email 1.5 is not text"),
        (True, "email True is not text"),
        (b"ana@example.com", "email b'ana@example.com' is not text"),
        ("ana\ud800@example.com", "email contains characters that are not valid unicode"),
    ],
)
def test_email_that_is_missing_or_not_text_is_invalid(value: object, reason: str) -> None:
    status = validate_rows(email=pd.Series([value, "ana@example.com"], dtype=object))

    assert status["status"].tolist() == ["invalid", "valid"]
    assert status["reason"].iloc[0] == reason
    assert pd.isna(status["email"].iloc[0])


def test_numeric_email_column_is_not_text() -> None:
    status = validate_rows(email=pd.Series([1.0, np.nan]))

    assert status["reason"].tolist() == ["email 1.0 is not text", "email is missing"]


def test_unicode_addresses_are_plausible() -> None:
    status = validate_rows(email=["josé@exämple.com", "用户@例子.中国"])

    assert status["status"].tolist() == ["valid", "valid"]


# -- eventName and targetApp ----------------------------------------------------------------------


def test_event_name_and_target_app_are_stripped_not_lower_cased() -> None:
    status = validate_rows(eventName=["  Opened_File ", "sso_login\t"], targetApp=[" Slack ", "\nZoom"])

    assert status["eventName"].tolist() == ["Opened_File", "sso_login"]
    assert status["targetApp"].tolist() == ["Slack", "Zoom"]
    assert status["status"].tolist() == ["valid", "valid"]


def test_event_names_are_stripped_before_de_duplicating() -> None:
    status = validate_rows(timestamp=[TEN_UTC] * 2, email=["ana@example.com"] * 2, eventName=["a", " a "])

    assert status["status"].tolist() == ["valid", "duplicate"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "eventName is empty"),
        ("   ", "eventName is empty"),
        (None, "eventName is missing"),
        (7, "eventName 7 is not text"),
    ],
)
def test_event_name_empty_missing_or_not_text_is_invalid(value: object, reason: str) -> None:
    status = validate_rows(eventName=pd.Series([value, "opened_file"], dtype=object))

    assert status["status"].tolist() == ["invalid", "valid"]
    assert status["reason"].iloc[0] == reason


def test_blank_target_app_means_absent() -> None:
    status = validate_rows(targetApp=["", "   ", None])

    assert status["status"].tolist() == ["valid"] * 3
    assert status["targetApp"].isna().all()


def test_target_app_that_is_not_text_is_invalid() -> None:
    status = validate_rows(targetApp=pd.Series([3, "slack"], dtype=object))

    assert status["reason"].tolist()[0] == "targetApp 3 is not text"
    assert status["status"].tolist() == ["invalid", "valid"]


def test_pyarrow_backed_text_columns() -> None:
    # read_csv/read_parquet(dtype_backend="pyarrow"): these used to be "not text".
    status = validate_rows(
        email=pd.Series([" Ana@Example.com", None, "bob@"], dtype=pd.ArrowDtype(pa.string())),
        eventName=pd.Series(["opened_file ", "x", "y"], dtype=pd.ArrowDtype(pa.large_string())),
        targetApp=pd.Series(["slack", None, ""], dtype=pd.ArrowDtype(pa.string())),
    )

    assert status["email"].tolist()[0] == "ana@example.com"
    assert status["eventName"].tolist() == ["opened_file", "x", "y"]
    assert status["status"].tolist() == ["valid", "invalid", "invalid"]
    assert status["reason"].tolist()[1:] == ["email is missing", "email 'bob@' has no domain"]


def test_pyarrow_numbers_in_a_text_column_are_not_text() -> None:
    status = validate_rows(email=pd.Series([5, None], dtype=pd.ArrowDtype(pa.int64())))

    assert status["reason"].tolist() == ["email 5 is not text", "email is missing"]


def test_categorical_text_columns() -> None:
    status = validate_rows(
        email=pd.Categorical([" Ana@Example.com", "bob@", None]),
        eventName=pd.Categorical(["opened_file", " opened_file ", "x"]),
    )

    assert status["email"].tolist()[:2] == ["ana@example.com", "bob@"]
    assert status["reason"].tolist() == [np.nan, "email 'bob@' has no domain", "email is missing"]


# -- the helpers -----------------------------------------------------------------------------------


def test_normalize_text_reports_non_text_by_position_and_ignores_the_index() -> None:
    values = pd.Series([" A@B.CO ", 5, None, "x"], index=["q", "q", "r", "s"], dtype=object)

    result = normalize_text(values, name="email", lower=True)

    assert result.values.tolist()[:2] == ["a@b.co", np.nan]
    assert result.values.tolist()[3] == "x"
    assert result.values.index.equals(pd.RangeIndex(4))
    assert result.problems == [(1, "email 5 is not text")]


@pytest.mark.parametrize("dtype", [object, "str", pd.StringDtype("python")])
def test_normalize_text_gives_the_str_dtype_whatever_the_input(dtype: object) -> None:
    result = normalize_text(pd.Series([" x ", None], dtype=dtype), name="eventName")

    assert result.values.dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    assert result.values.iloc[0] == "x"
    assert result.problems == []


def test_describe_value_quotes_text_and_shortens_long_values() -> None:
    assert describe_value("bob@") == "'bob@'"
    assert describe_value(12.5) == "12.5"
    assert describe_value(None) == "None"
    long = describe_value("x" * 100)
    assert len(long) == 60
    assert long.endswith("…")


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_email_check_agrees_on_every_string_storage(storage: str) -> None:
    emails = ["a@b.co", "a@b", "a b@c.de", "a@b@c.de", "@b.co", "a@.co", "a\u3000b@c.de", None]

    plausible = is_plausible_email(pd.Series(emails, dtype=pd.StringDtype(storage)))
    as_object = is_plausible_email(pd.Series(emails, dtype=object))

    expected = [True, False, False, False, False, False, False, True]  # missing values pass
    assert plausible.tolist() == expected
    assert as_object.tolist() == expected
    mask = regex_mask(pd.Series(emails, dtype=pd.StringDtype(storage)), EMAIL_PATTERN)
    assert mask.tolist() == [*expected[:-1], False]  # regex_mask: missing values never match


@pytest.mark.parametrize("lower", [False, True])
def test_normalize_text_strips_like_str_strip_in_every_arrow_layout(lower: bool) -> None:
    # Which values need stripping is read from the Arrow bytes (first and last of each value);
    # slices (an offset into the buffers) and several chunks must give what str.strip gives.
    values = ["ok", " lead", "trail\t", "", None, "José", "x\u3000", "\xa0y", "in side", "\u2028", "Ab"]
    column = pd.Series(values * 3, dtype="str")
    layouts = {
        "whole": column,
        "slice": column.iloc[5:].reset_index(drop=True),
        "chunks": pd.concat([column.iloc[:7], column.iloc[7:]], ignore_index=True),
        "clean": pd.Series(["ok", "José", None, "in side"], dtype="str"),
    }
    assert layouts["chunks"].array.__arrow_array__().num_chunks == 2
    for name, layout in layouts.items():
        expected = layout.str.strip().str.lower() if lower else layout.str.strip()
        result = normalize_text(layout, name="email", lower=lower).values
        pd.testing.assert_series_equal(result, expected, check_names=False, obj=name)


@pytest.mark.parametrize("storage", ["arrow", "python", "object"])
def test_lengths_and_emptiness_count_characters_not_bytes_in_every_layout(storage: str) -> None:
    # Only values longer than the limit in UTF-8 bytes are counted in characters: a value of
    # 4 two-byte characters (8 bytes) is within a limit of 4, one of 5 is not.
    values = ["", None, "abcd", "abcde", "éééé", "ééééé", "€€€€", "😀😀😀😀😀", "  ", "x"]
    at_most_4 = [True, True, True, False, True, False, True, False, True, True]
    filled = [False, True, True, True, True, True, True, True, True, True]
    column = pd.Series(values * 2, dtype=object if storage == "object" else pd.StringDtype(
        "pyarrow" if storage == "arrow" else "python", na_value=np.nan
    ))  # fmt: skip
    layouts = {"whole": column, "slice": column.iloc[3:].reset_index(drop=True)}
    if storage == "arrow":
        layouts["chunks"] = pd.concat([column.iloc[:7], column.iloc[7:]], ignore_index=True)
        assert layouts["chunks"].array.__arrow_array__().num_chunks == 2
    for name, layout in layouts.items():
        start = 3 if name == "slice" else 0
        assert length_at_most(layout, 4).tolist() == (at_most_4 * 2)[start:], name
        if storage == "arrow":
            assert not_empty_mask(layout).tolist() == (filled * 2)[start:], name
        else:  # the other storages as before this shortcut (their None compares as NaN: False)
            before = (layout.str.len() > 0).fillna(True).astype(bool)
            assert not_empty_mask(layout).tolist() == before.tolist(), name
