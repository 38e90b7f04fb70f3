"""validate_chunks / publish_chunks: any iterable of frames gives what the whole frame gives.

The messy sample (``pp.sample_events``) is cut into chunks of 700 rows, as pandas frames,
pyarrow batches and tables, polars frames, one Arrow stream, ``read_csv(chunksize=)`` and
``read_sql(chunksize=)``; each must give the statuses and reasons ``pp.validate`` gives on the
whole frame, and publish the same events. Row numbers are the stream's (0, 1, ...), which for
the sample (a RangeIndex) are its own labels, so even ``duplicate of row N`` must match.
"""

from __future__ import annotations

import doctest
import gc
import sqlite3
import time
import weakref

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import productiv_pandas as pp
from productiv_pandas.sandbox import Sandbox

APP = "acme"
# Far from a daylight-saving change, so no New York local time is ambiguous.
NOW = pd.Timestamp("2025-06-10T15:00:00Z")
OPTIONS = {**pp.SAMPLE_OPTIONS, "now": NOW, "on_stale": "ignore"}
SIZE = 700  # 3,000 rows: 5 chunks, the last one short


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pp.sample_events(3_000, now=NOW)


@pytest.fixture(scope="module")
def whole(sample: pd.DataFrame) -> pd.DataFrame:
    return pp.validate(sample, **OPTIONS)


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def pieces(frame: pd.DataFrame, size: int = SIZE) -> list[pd.DataFrame]:
    return [frame.iloc[start : start + size] for start in range(0, len(frame), size)]


def arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


KINDS = {
    "pandas frames": lambda f: iter(pieces(f)),
    "pyarrow batches": lambda f: iter(arrow(f).to_batches(max_chunksize=SIZE)),
    "pyarrow tables": lambda f: (arrow(p) for p in pieces(f)),
    "polars frames": lambda f: (pl.from_pandas(p) for p in pieces(f)),
    "one RecordBatchReader": lambda f: pa.RecordBatchReader.from_batches(
        arrow(f).schema, arrow(f).to_batches(max_chunksize=SIZE)
    ),
    "one polars frame": lambda f: pl.from_pandas(f),
}


def judged(status: pd.DataFrame) -> pd.DataFrame:
    """What must match between two runs: each row's status and reason, by row number."""
    return pd.DataFrame(
        {
            "status": status["status"].astype(str).to_numpy(),
            "reason": status["reason"].astype(object).to_numpy(),
        }
    ).fillna({"reason": ""})


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_sample_in_chunks_gives_what_the_whole_frame_gives(kind, sample, whole, tmp_path):
    out = tmp_path / "status.parquet"
    report = pp.validate_chunks(KINDS[kind](sample), status_out=out, progress=False, **OPTIONS)
    status = pd.read_parquet(out)
    assert list(status.index) == list(range(3_000))
    pd.testing.assert_frame_equal(judged(status), judged(whole))
    assert report.counts[["valid", "invalid", "duplicate"]].tolist() == [2_887, 47, 66]
    assert report.rows == 3_000
    assert report.path is None
    assert repr(report) == (
        f"<RunReport 'chunks': 3,000 rows: valid 2,887, invalid 47, duplicate 66; status in {str(out)!r}>"
    )


def test_duplicates_are_found_across_chunks_and_named_by_row_number(tmp_path):
    first = pd.DataFrame(
        {"timestamp": [1_717_200_000_000] * 2, "email": ["a@x.io", "b@x.io"], "eventName": ["open"] * 2},
        index=["p", "q"],  # the chunk's own labels are not the stream's row numbers
    )
    second = first.assign(email=["c@x.io", " A@X.io"]).set_axis(["p", "q"])
    out = tmp_path / "status.csv"
    report = pp.validate_chunks([first, second], status_out=out, now=NOW, on_stale="ignore")
    status = pd.read_csv(out, index_col=0)
    assert status.index.tolist() == [0, 1, 2, 3]
    assert status["status"].tolist() == ["valid", "valid", "valid", "duplicate"]
    assert status.loc[3, "reason"] == "duplicate of row 0"
    assert report.counts[["valid", "duplicate"]].tolist() == [3, 1]
    assert first.index.tolist() == ["p", "q"]  # the caller's chunks are not renumbered in place


def test_read_csv_chunks_work(sample, whole, tmp_path):
    path = tmp_path / "export.csv"
    sample.to_csv(path, index=False)
    out = tmp_path / "status.csv"
    with pd.read_csv(path, chunksize=SIZE, dtype=str) as reader:
        report = pp.validate_chunks(reader, status_out=out, **OPTIONS)
    pd.testing.assert_frame_equal(judged(pd.read_csv(out, index_col=0)), judged(whole))
    assert report.counts[["valid", "invalid", "duplicate"]].tolist() == [2_887, 47, 66]


def test_read_sql_chunks_from_sqlite_work(sample, whole, tmp_path):
    with sqlite3.connect(tmp_path / "app.db") as con:
        sample.to_sql("audit", con, index=False)
        chunks = pd.read_sql("SELECT * FROM audit ORDER BY rowid", con, chunksize=SIZE)
        report = pp.validate_chunks(chunks, status_out=tmp_path / "status.parquet", **OPTIONS)
    con.close()
    pd.testing.assert_frame_equal(judged(pd.read_parquet(tmp_path / "status.parquet")), judged(whole))
    assert report.counts[["valid", "invalid", "duplicate"]].tolist() == [2_887, 47, 66]


def test_no_chunks_is_no_rows_and_an_empty_status_file(tmp_path):
    out = tmp_path / "status.csv"
    report = pp.validate_chunks(iter([]), status_out=out)
    assert report.rows == 0
    assert repr(report) == f"<RunReport 'chunks': 0 rows: none; status in {str(out)!r}>"
    assert len(pd.read_csv(out, index_col=0)) == 0


def test_what_is_not_chunks_is_a_type_error():
    with pytest.raises(TypeError) as caught:
        pp.validate_chunks(5)
    assert str(caught.value) == "chunks must be an iterable of frames (pandas, pyarrow, polars), got int"
    good = pd.DataFrame({"timestamp": [1_717_200_000_000], "email": ["a@x.io"], "eventName": ["open"]})
    with pytest.raises(TypeError) as caught:
        pp.validate_chunks([good, "events.csv"], now=NOW, on_stale="ignore")
    assert str(caught.value) == (
        "chunk 1 is a str: each chunk must be a pandas DataFrame or a frame exporting Arrow "
        "(pyarrow, polars, DuckDB)"
    )


def test_a_chunk_without_a_required_column_is_named_when_reached():
    good = pd.DataFrame({"timestamp": [1_717_200_000_000], "email": ["a@x.io"], "eventName": ["open"]})
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_chunks([good, good.drop(columns="email")], now=NOW, on_stale="ignore")
    assert str(caught.value).startswith("missing required column(s) ['email']")


def test_a_generator_that_raises_midway_keeps_the_status_of_the_rows_read(sample, whole, tmp_path):
    def broken():
        yield from pieces(sample)[:2]
        raise RuntimeError("the database went away")

    out = tmp_path / "status.csv"
    with pytest.raises(RuntimeError, match=r"^the database went away$"):
        pp.validate_chunks(broken(), status_out=out, **OPTIONS)
    status = pd.read_csv(out, index_col=0)
    assert status.index.tolist() == list(range(1_400))
    pd.testing.assert_frame_equal(judged(status), judged(whole.iloc[:1_400]))


def test_the_iterable_is_never_read_more_than_one_chunk_ahead(sample):
    """When a chunk is asked for, every chunk before it is gone: nothing reads ahead or keeps
    what it read, so memory holds one chunk at a time."""
    given: list[weakref.ref] = []
    alive_when_asked: list[int] = []

    def chunks():
        for piece in pieces(sample):
            gc.collect()
            alive_when_asked.append(sum(ref() is not None for ref in given))
            chunk = piece.copy()
            given.append(weakref.ref(chunk))
            yield chunk
            del chunk

    report = pp.validate_chunks(chunks(), **OPTIONS)
    assert report.rows == 3_000
    assert alive_when_asked == [0, 0, 0, 0, 0]


# -- publish_chunks -------------------------------------------------------------------------


@pytest.fixture
def sb(sandbox_with) -> Sandbox:
    return sandbox_with(APP, events=set(pp.SAMPLE_OPTIONS["allowed_events"]), login_events={"sso_login"})


def stored(sb: Sandbox) -> list[tuple]:
    events = sb.events(APP)
    return sorted(zip(events["timestamp"].astype("int64"), events["email"], events["eventName"], strict=True))


@pytest.mark.parametrize("kind", ["pandas frames", "pyarrow batches", "polars frames"])
def test_publish_chunks_stores_what_publishing_the_whole_frame_stores(kind, sb, sample, tmp_path):
    with sb.client() as client:
        whole = pp.publish(sample, APP, client=client, progress=False, **OPTIONS)
        expected = stored(sb)
        sb.reset()
        sb.add_app(APP, events=set(pp.SAMPLE_OPTIONS["allowed_events"]), login_events={"sso_login"})
        out = tmp_path / "status.parquet"
        report = pp.publish_chunks(
            KINDS[kind](sample), APP, client=client, status_out=out, batch_size=250, progress=False, **OPTIONS
        )
    status = pd.read_parquet(out)
    assert len(expected) == 2_887
    assert stored(sb) == expected
    pd.testing.assert_frame_equal(judged(status), judged(whole))
    assert report.counts[["sent", "invalid", "duplicate"]].tolist() == [2_887, 47, 66]
    sent = status[status["status"] == "sent"]
    assert sent["batch"].is_monotonic_increasing  # batch numbers run on across chunks
    assert sent["batch"].nunique() == sb.stats()["event_requests"]


def test_publish_chunks_reads_one_chunk_ahead_never_two(sb, sample):
    # Chunk k is asked for while chunk k-1 is sent (the overlap), and only once chunk k-2 is
    # stored and written: one chunk ahead at most, so memory stays flat.
    stored_when_asked: list[int] = []

    def chunks():
        for piece in pieces(sample):
            stored_when_asked.append(len(sb.events(APP)))
            yield piece

    with sb.client() as client:
        pp.publish_chunks(chunks(), APP, client=client, progress=False, **OPTIONS)
    valid = (pp.validate(sample, **OPTIONS)["status"] == "valid").to_numpy()
    sent_before = [int(valid[: SIZE * k].sum()) for k in range(5)]
    # Chunk 1 may be asked for before or after chunk 0 reached the server: the overlap is a
    # matter of timing (tests/files/test_overlap.py shows it at 50 ms a request), the bound is not.
    assert stored_when_asked[0] == 0
    for k in range(1, 5):
        assert sent_before[k - 1] <= stored_when_asked[k] <= sent_before[k], k


def test_a_publish_stopped_midway_resumes_with_its_journal(sb, sample, tmp_path):
    def broken():
        yield from pieces(sample)[:2]
        raise RuntimeError("the database went away")

    journal = tmp_path / "backfill.journal"
    out = tmp_path / "first.csv"
    with sb.client() as client:
        with pytest.raises(RuntimeError) as caught:
            pp.publish_chunks(
                broken(), APP, client=client, journal=journal, status_out=out, progress=False, **OPTIONS
            )
        first = pd.read_csv(out, index_col=0)
        sent_first = int((first["status"] == "sent").sum())
        assert str(caught.value) == "the database went away"
        assert caught.value.__notes__ == [
            f"The 1,400 rows before it have a status, written to {str(out)!r} ({sent_first:,} sent): fix the "
            "source and publish it again with the same journal to send only the rest"
        ]
        assert first.index.tolist() == list(range(1_400))
        requests = sb.stats()["event_requests"]
        again = tmp_path / "again.csv"
        report = pp.publish_chunks(
            iter(pieces(sample)),
            APP,
            client=client,
            journal=journal,
            status_out=again,
            progress=False,
            **OPTIONS,
        )
    second = pd.read_csv(again, index_col=0)
    assert sent_first == int((pp.validate(sample.iloc[:1_400], **OPTIONS)["status"] == "valid").sum())
    assert (second.loc[first.index[first["status"] == "sent"], "reason"] == "already sent").all()
    counts = report.counts[["sent", "skipped", "invalid", "duplicate"]].tolist()
    assert counts == [2_887 - sent_first, sent_first, 47, 66]
    assert sb.stats()["event_requests"] > requests
    assert len(sb.events(APP)) == 2_887  # every valid event once: none sent twice


def test_publish_chunks_checks_its_arguments_before_reading_a_chunk(sb):
    asked = []

    def chunks():
        asked.append(1)
        yield pd.DataFrame()

    with pytest.raises(pp.ConfigurationError):
        pp.publish_chunks(chunks(), APP, batch_size=0, progress=False)
    with pytest.raises(pp.ConfigurationError):
        pp.publish_chunks(chunks(), APP, status_out="status.txt", progress=False)
    assert asked == []


def test_the_docstring_example_runs():
    from productiv_pandas.files import _chunks

    assert doctest.testmod(_chunks).failed == 0


def test_ctrl_c_while_a_chunk_is_read_says_which_rows_have_a_status(sb, sample, tmp_path):
    def chunks():
        yield from pieces(sample)[:2]
        # As Ctrl-C lands while a query waits long for its next rows: by then the chunk before
        # was sent (the overlap sends it while this one is read; see test_ctrl_c_while_...)
        wait_until(lambda: len(sb.events(APP)) == 1_344)
        raise KeyboardInterrupt

    out = tmp_path / "status.parquet"
    with sb.client() as client, pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish_chunks(
            chunks(), APP, client=client, journal=tmp_path / "j", status_out=out, progress=False, **OPTIONS
        )
    status = pd.read_parquet(out)
    sent = int((status["status"] == "sent").sum())
    assert str(caught.value) == (
        f"publish of the chunks interrupted: 1,400 rows have a status, written to {str(out)!r} "
        f"({sent:,} sent); the rows from row 1,400 on were not read, so not sent. Publish again "
        "with the same journal to send only what is missing."
    )
    assert caught.value.report.rows == 1_400
    assert sent == len(sb.events(APP)) == 1_344
