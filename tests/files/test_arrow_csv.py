"""CSV chunks read by pyarrow (files/_arrow_csv.py) give what pandas' C parser gave.

Every test compares the two readers on one file: the status of each row through pyarrow (the
default) against the status with pyarrow switched off (every chunk by pandas' parser, as
before), for several chunk sizes, so a chunk boundary falls everywhere. Where pyarrow must not
give up (the point of the reader is its speed), pandas' parser is made to fail if it is asked.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import productiv_pandas as pp
from productiv_pandas.files import _arrow_csv, _readers
from productiv_pandas.files._readers import CsvReader, open_reader

NOW = pd.Timestamp("2024-06-01T12:00:00Z")
OPTIONS = {"now": NOW, "allowed_events": {"opened_file", "shared_doc", "1001"}, "on_stale": "skip"}
HEADER = "timestamp,email,eventName\n"


def _status(path, monkeypatch, chunksize, *, arrow: bool, **extra) -> pd.DataFrame:
    with monkeypatch.context() as patch:
        if not arrow:
            patch.setattr(_readers, "_ARROW_COMPRESSIONS", ())
        out = path.parent / f"status-{arrow}-{chunksize}.parquet"
        report = pp.validate_file(path, chunksize=chunksize, status_out=out, **OPTIONS, **extra)
    status = pd.read_parquet(out)
    assert report.rows == len(status)
    return status


def _pandas_refused(monkeypatch) -> None:
    def refuse(self, usecols, text):
        raise AssertionError("pandas' parser was asked to read this file")

    monkeypatch.setattr(CsvReader, "_pandas_chunks", refuse)


def assert_alike(
    path, monkeypatch, *, arrow_only: bool = True, sizes=(1, 2, 3, 7, 1000), **extra
) -> pd.DataFrame:
    """The status through pyarrow equals the status through pandas' parser, chunk size by size."""
    for chunksize in sizes:
        expected = _status(path, monkeypatch, chunksize, arrow=False, **extra)
        with monkeypatch.context() as patch:
            if arrow_only:
                _pandas_refused(patch)
            got = _status(path, monkeypatch, chunksize, arrow=True, **extra)
        assert_frame_equal(got, expected)
    return expected


def test_utc_times_are_parsed_by_pyarrow_with_the_same_outcome_as_prepares_reading(tmp_path, monkeypatch):
    # Parsed by pyarrow when every value of a chunk is ...Z; any other value leaves the chunk
    # text: an impossible date, one beyond nanoseconds, an offset, a space, a date alone.
    values = [
        "2024-06-01T11:00:00Z",
        "2024-06-01T11:00:00.123456789Z",
        "2024-06-01T11:59:59.9995Z",
        "2024-06-01T13:30:00Z",  # future
        "2024-05-30T11:00:00Z",  # stale: skipped
        "1999-12-31T23:59:59Z",  # before 2000
        "1969-12-31T23:59:59.999Z",
        "2262-04-11T23:47:16.854775807Z",
        "2300-01-01T00:00:00Z",  # beyond nanoseconds (pyarrow 15 wrapped it around)
        "1677-09-21T00:12:43.145224193Z",
        "2024-02-30T00:00:00Z",
        "2024-06-01T11:00:00+02:00",
        "2024-06-01 11:00:00Z",
        "2024-06-01",
        "",
        "NaT",
        "2024-06-01T11:00:00Z",  # a duplicate of the first row
    ]
    text = HEADER + "".join(f"{v},u{i % (len(values) - 1)}@x.io,opened_file\n" for i, v in enumerate(values))
    path = tmp_path / "times.csv"
    path.write_text(text)
    status = assert_alike(path, monkeypatch)
    assert status["status"].tolist()[-1] == "duplicate"
    assert status["reason"].tolist()[-1] == "duplicate of row 0"


def test_a_later_block_with_text_in_a_numeric_column_does_not_stop_the_read(tmp_path, monkeypatch):
    # pyarrow's own inference fixes a column's type from its first block: here every column
    # is read as text and typed a chunk at a time, as pandas' chunks were.
    rows = [f"{1717236000000 - i},u{i}@x.io,1001\n" for i in range(3000)]
    rows += [f"2024-06-01T11:{i % 60:02d}:00Z,v{i}@x.io,shared_doc\n" for i in range(3000)]
    rows += [f"{1717236000 - i},w{i}@x.io,1001\n" for i in range(10)]  # seconds: a unit problem
    path = tmp_path / "changes.csv"
    path.write_text(HEADER + "".join(rows))
    monkeypatch.setattr(_arrow_csv, "block_size", lambda chunksize: 16_384)  # 14 blocks
    assert_alike(path, monkeypatch, sizes=(1000, 2500, 10_000))


def test_empty_strings_missing_words_quotes_newlines_bom_and_crlf(tmp_path, monkeypatch):
    text = (
        "\ufefftimestamp;email;eventName\r\n"
        '2024-06-01T11:00:00Z;"a;b@x.io";opened_file\r\n'
        '2024-06-01T11:00:01Z;"line\nbreak@x.io";opened_file\r\n'
        '2024-06-01T11:00:02Z;"";opened_file\r\n'
        "2024-06-01T11:00:03Z;NA;opened_file\r\n"
        '2024-06-01T11:00:04Z;"null";"shared_doc"\r\n'
        "2024-06-01T11:00:05Z; c@x.io ;N/A\r\n"
        '2024-06-01T11:00:06Z;"say ""hi""@x.io";opened_file\r\n'
        "\r\n"
        "NA;d@x.io;opened_file\r\n"
        "1717236000000;é@x.io;opened_file\r\n"
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("utf-8"))
    status = assert_alike(path, monkeypatch)
    assert len(status) == 9


def test_a_row_pyarrow_refuses_mid_file_hands_the_rest_to_pandas_from_the_same_row(tmp_path, monkeypatch):
    # A short row: pandas fills it with missing values, pyarrow refuses it; the chunks before
    # it came from pyarrow, the rest from pandas, numbered on.
    rows = [f"2024-06-01T11:{i % 60:02d}:{i % 7:02d}Z,u{i}@x.io,opened_file\n" for i in range(40)]
    rows[23] = "2024-06-01T11:00:00Z,u23@x.io\n"
    path = tmp_path / "short.csv"
    path.write_text(HEADER + "".join(rows))
    status = assert_alike(path, monkeypatch, arrow_only=False, sizes=(5, 7, 100))
    assert status.index.tolist() == list(range(40))
    assert status.loc[23, "reason"] == "eventName is missing"


def test_gzip_and_numbers_that_are_not_integers_read_alike(tmp_path, monkeypatch):
    values = ["1717236000000", "1717236000000.5", "+1717236000000", " 1717236000000", "1e12", "inf", "True"]
    text = HEADER + "".join(f"{v},u{i}@x.io,opened_file\n" for i, v in enumerate(values))
    path = tmp_path / "numbers.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert_alike(path, monkeypatch)


def test_chunks_have_pandas_sizes_and_text_columns_are_pandas_str(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(f"{i},u{i}@x.io,{i}\n" for i in range(10)))
    reader = open_reader(path, chunksize=4)
    fast = list(reader.chunks(["timestamp", "email", "eventName"], ("email", "eventName")))
    slow = list(reader._pandas_chunks(["timestamp", "email", "eventName"], ("email", "eventName")))
    assert [len(frame) for frame in fast] == [4, 4, 2]
    for got, expected in zip(fast, slow, strict=True):
        assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    assert fast[0]["timestamp"].dtype == np.int64


@pytest.mark.parametrize(
    ("header", "columns"),
    [("timestamp,email,email,eventName\n", {"email.1": "email"}), ("timestamp,email,,eventName\n", {})],
)
def test_a_header_pyarrow_names_otherwise_is_read_by_pandas(tmp_path, monkeypatch, header, columns):
    path = tmp_path / "odd.csv"
    path.write_text(header + "2024-06-01T11:00:00Z,a@x.io,b@x.io,opened_file\n")
    status = assert_alike(path, monkeypatch, arrow_only=False, sizes=(1,), columns=columns)
    assert status["email"].tolist() == ["b@x.io" if columns else "a@x.io"]


_TIME_CHARS = "0123456789-T:.Z +x/\u00e9"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["2024-06-01T11:00:00Z", "2024-06-01T11:00:00.123Z", "1677-09-21T00:12:43.145224193Z"]),
    st.lists(st.tuples(st.integers(0, 29), st.sampled_from(_TIME_CHARS)), max_size=3),
    st.integers(1, 5),
)
def test_times_read_off_the_bytes_answer_as_the_regex_does(template, edits, rows):
    """Values of one length are checked byte by byte; the answer (and the years' range) is the
    regular expression's, whatever characters land where."""
    value = list(template)
    for at, char in edits:
        if at < len(value):
            value[at] = char
    column = pa.chunked_array([pa.array(["".join(value)] * rows)])
    fixed = _arrow_csv._fixed_width_times(column)
    matches = pc.all(pc.match_substring_regex(column, _arrow_csv._UTC_TIME)).as_py()
    assert fixed is not None  # one length, none missing: always read off the bytes
    assert fixed[0] == matches
    if matches:
        assert fixed[1] == ("1678" <= "".join(value)[:4] <= "2261")


def test_times_of_several_lengths_or_missing_go_to_the_regex():
    assert (
        _arrow_csv._fixed_width_times(pa.chunked_array([["2024-06-01T11:00:00Z", "2024-06-01T11:00:00.1Z"]]))
        is None
    )
    assert _arrow_csv._fixed_width_times(pa.chunked_array([["2024-06-01T11:00:00Z", None]])) is None
    assert _arrow_csv._fixed_width_times(pa.chunked_array([["2024-06-01T11:00:00.Z"]])) == (False, False)
    assert _arrow_csv._fixed_width_times(pa.chunked_array([["x" * 40]])) == (False, False)
    sliced = pa.chunked_array([pa.array(["junk", "2024-06-01T11:00:00Z", "2024-06-01T11:00:01Z"]).slice(1)])
    assert _arrow_csv._fixed_width_times(sliced) == (True, True)


@pytest.mark.parametrize("bad_at", [0, 10_921, 10_922, 29_999])
def test_times_checked_block_by_block_find_a_bad_value_wherever_it_is(bad_at):
    """30,000 times of 24 bytes span three blocks of bytes: one value off, in any block (the
    first and last of a block, the last of the chunk), and the answer is no."""
    values = ["2024-06-01T11:00:00.123Z"] * 30_000
    assert _arrow_csv._fixed_width_times(pa.chunked_array([values])) == (True, True)
    values[bad_at] = "2024-06-01T11:00:00.12xZ"
    assert _arrow_csv._fixed_width_times(pa.chunked_array([values])) == (False, False)
    values[bad_at] = "2300-06-01T11:00:00.123Z"  # well formed, beyond nanoseconds
    assert _arrow_csv._fixed_width_times(pa.chunked_array([values])) == (True, False)
