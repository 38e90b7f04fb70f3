"""validate, prepare and publish take any frame exporting Arrow: pyarrow, polars, DuckDB.

The messy sample as a pyarrow Table, a RecordBatch and a polars DataFrame must be judged as the
pandas frame is, row for row, with the status indexed by row number.
"""

from __future__ import annotations

import warnings

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import productiv_pandas as pp
from productiv_pandas.preparation._frames import as_pandas

APP = "acme"
NOW = pd.Timestamp("2025-06-10T15:00:00Z")
OPTIONS = {**pp.SAMPLE_OPTIONS, "now": NOW, "on_stale": "ignore"}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pp.sample_events(2_000, now=NOW)


@pytest.fixture(scope="module")
def whole(sample: pd.DataFrame) -> pd.DataFrame:
    return pp.validate(sample, **OPTIONS)


CONVERT = {
    "pyarrow Table": lambda f: pa.Table.from_pandas(f, preserve_index=False),
    "pyarrow RecordBatch": lambda f: pa.RecordBatch.from_pandas(f, preserve_index=False),
    "polars DataFrame": lambda f: pl.from_pandas(f),
}


@pytest.mark.parametrize("kind", list(CONVERT))
def test_validate_judges_an_arrow_frame_as_the_pandas_one(kind, sample, whole):
    status = pp.validate(CONVERT[kind](sample), **OPTIONS)
    assert isinstance(status.index, pd.RangeIndex)
    assert list(status.index) == list(range(2_000))
    pd.testing.assert_series_equal(status["status"], whole["status"])
    pd.testing.assert_series_equal(status["reason"], whole["reason"])
    assert status["status"].value_counts()[["valid", "invalid", "duplicate"]].tolist() == [1_925, 31, 44]


@pytest.mark.parametrize("kind", list(CONVERT))
def test_prepare_gives_the_same_wire_rows(kind, sample):
    wire = pp.prepare(CONVERT[kind](sample), **OPTIONS)
    expected = pp.prepare(sample, **OPTIONS)
    pd.testing.assert_frame_equal(
        wire.reset_index(drop=True).astype(str), expected.reset_index(drop=True).astype(str)
    )
    assert wire.index.equals(expected.index)  # the sample's labels are its row numbers


def test_a_stored_pandas_index_is_not_the_status_index(sample):
    """A table made with ``Table.from_pandas`` keeps the frame's index in its metadata; Arrow
    has no index, so rows are numbered as the table holds them."""
    labelled = sample.iloc[:3].set_axis(["a", "b", "c"])
    status = pp.validate(pa.Table.from_pandas(labelled), **OPTIONS)
    assert status.index.tolist() == [0, 1, 2]


def test_typed_arrow_columns_are_read_as_they_are():
    frame = pl.DataFrame(
        {
            "at": [NOW.to_pydatetime(), NOW.to_pydatetime(), None],
            "user": ["a@x.io", " A@x.io", "b@x.io"],
            "action": ["open", "open", "open"],
        }
    ).with_columns(pl.col("at").dt.cast_time_unit("ms"), pl.col("action").cast(pl.Categorical))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pp.NaiveTimestampWarning)  # a zoned timestamp raises none
        status = pp.validate(
            frame, columns={"at": "timestamp", "user": "email", "action": "eventName"}, now=NOW
        )
    assert status["timestamp"].tolist()[:2] == [1_749_567_600_000] * 2
    assert status["status"].tolist() == ["valid", "duplicate", "invalid"]
    assert status["reason"].tolist()[1:] == ["duplicate of row 0", "timestamp is missing"]


def test_what_exports_no_arrow_is_a_type_error():
    with pytest.raises(TypeError) as caught:
        pp.validate([{"timestamp": 1}])
    assert str(caught.value) == (
        "expected a pandas DataFrame, got list (a pyarrow, polars or DuckDB frame, anything "
        "exporting Arrow, works too)"
    )
    with pytest.raises(TypeError, match=r"^expected a pandas DataFrame, got Series"):
        as_pandas(pd.Series([1]))


def test_publish_sends_a_polars_frame(sandbox_with, sample):
    sb = sandbox_with(APP, events=set(pp.SAMPLE_OPTIONS["allowed_events"]), login_events={"sso_login"})
    with sb.client() as client:
        status = pp.publish(pl.from_pandas(sample), APP, client=client, progress=False, **OPTIONS)
    assert isinstance(status.index, pd.RangeIndex)
    assert status["status"].value_counts()[["sent", "invalid", "duplicate"]].tolist() == [1_925, 31, 44]
    events = sb.events(APP)
    sent = status[status["status"] == "sent"]
    assert sorted(zip(events["timestamp"].astype("int64"), events["email"], strict=True)) == sorted(
        zip(sent["timestamp"].astype("int64"), sent["email"], strict=True)
    )


def test_a_duckdb_relation_is_a_frame_and_a_stream_of_chunks(sample, whole, tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="DuckDB comes with the sql extra")
    con = duckdb.connect()
    con.register("exported", pa.Table.from_pandas(sample, preserve_index=False))
    query = "SELECT * FROM exported ORDER BY occurred_at, user_email, action, ip, session_id"
    ordered = con.sql(query).df()
    expected = pp.validate(ordered, **OPTIONS)
    status = pp.validate(con.sql(query), **OPTIONS)
    pd.testing.assert_series_equal(status["status"], expected["status"])
    pd.testing.assert_series_equal(status["reason"], expected["reason"])
    out = tmp_path / "status.parquet"
    report = pp.validate_chunks(con.sql(query), status_out=out, **OPTIONS)  # its record batches
    assert pd.read_parquet(out)["reason"].fillna("").tolist() == expected["reason"].fillna("").tolist()
    assert report.counts[["valid", "invalid", "duplicate"]].tolist() == [1_925, 31, 44]
