"""validate_file / publish_file: files read in chunks give what the whole file would give.

Each test writes a small file and reads it back with a small ``chunksize``, so every behaviour
that spans chunks (de-duplication, warnings, batch numbers, status files) is exercised on a
handful of rows. Memory and speed at 10,000,000 rows are measured by benchmarks/bench_files.py.
"""

from __future__ import annotations

import _thread
import doctest
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.files import _seen as seen_module
from productiv_pandas.files import _stream as stream
from productiv_pandas.files._readers import read_events
from productiv_pandas.files._seen import FirstSeen
from productiv_pandas.sandbox import Sandbox

APP = "acme"
NOW = pd.Timestamp("2024-06-01T12:00:00Z")
CATALOG = {"opened_file", "shared_doc", "sso_login"}
OPTIONS = {"now": NOW, "allowed_events": CATALOG, "login_events": {"sso_login"}}


def fresh(n: int, *, start: int = 0) -> pd.DataFrame:
    """``n`` distinct, valid, recent events (relative to the real clock: publish sends them)."""
    now = pd.Timestamp.now(tz="UTC").floor("s")
    return pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(seconds=10 + i)).isoformat() for i in range(start, start + n)],
            "email": [f"user{i}@example.com" for i in range(start, start + n)],
            "eventName": ["opened_file"] * n,
        }
    )


def messy() -> pd.DataFrame:
    """60 rows with a bit of everything prepare judges, duplicates within and across chunks."""
    rows = []
    for i in range(60):
        rows.append(
            {
                "when": (NOW - pd.Timedelta(minutes=7 * i)).isoformat(),
                "user": f"User{i}@Example.com",
                "action": ["opened_file", "shared_doc"][i % 2],
                "app": None,
            }
        )
    rows[2]["user"] = "bob@"  # no domain
    rows[6]["when"] = "yesterday-ish"  # unreadable
    rows[9]["user"] = None  # missing
    rows[11]["action"] = "opend_file"  # not in the mapping
    rows[13]["action"] = "sso_login"  # Login without targetApp
    rows[14].update(action="sso_login", app="Okta")  # Login with it
    rows[17]["when"] = "2031-01-01T00:00:00Z"  # future
    rows[19]["when"] = "1999-12-31T00:00:00Z"  # before 2000
    rows[21]["when"] = str(int((NOW - pd.Timedelta(hours=1)).value // 1_000_000))  # epoch ms as text
    rows[23]["when"] = "2024-06-01 10:00:00"  # naive: read as UTC
    rows[31]["when"] = "2024-06-01 09:00:00"  # naive, another chunk
    rows[5] = dict(rows[4])  # duplicate in the same chunk (chunksize 7)
    rows[12] = dict(rows[3], user="  USER3@example.COM ")  # equal once normalized
    rows[40] = dict(rows[3])  # across chunks
    rows[47] = dict(rows[12])  # a third sighting of row 3's event
    rows[50]["when"] = (NOW - pd.Timedelta(days=2)).isoformat()
    rows[55] = dict(rows[50])  # stale (50 * 7 min > 12 h), duplicated across chunks
    rows[57] = dict(rows[2])  # an invalid row repeated stays invalid, not duplicate
    return pd.DataFrame(rows)


MAPPING = {"when": "timestamp", "user": "email", "action": "eventName", "app": "targetApp"}


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


def whole(path: Path, **options) -> pd.DataFrame:
    """The reference: validate on the whole file read at once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.validate(read_events(path), **options)


def as_written(status: pd.DataFrame) -> pd.DataFrame:
    """A status frame as a Parquet status file holds it (status as plain text)."""
    return status.assign(status=status["status"].astype(str))


@pytest.mark.parametrize("chunksize", [pytest.param(1, marks=pytest.mark.slow), 7, 25, 1000])
@pytest.mark.parametrize("on_stale", ["warn", "skip"])
def test_same_status_as_validating_the_whole_file(tmp_path, chunksize, on_stale):
    path = write(messy(), tmp_path / "messy.csv")
    out = tmp_path / "status.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pp.validate_file(
            path, status_out=out, chunksize=chunksize, columns=MAPPING, on_stale=on_stale, **OPTIONS
        )
    expected = whole(path, columns=MAPPING, on_stale=on_stale, **OPTIONS)
    pd.testing.assert_frame_equal(pd.read_parquet(out), as_written(expected))
    assert report.rows == 60
    assert report.counts.to_dict() == expected["status"].value_counts(sort=False).to_dict()
    assert list(report.counts.index) == list(pp.STATUSES)
    # the cases the file was built for, so the comparison above is not between two wrong answers
    reasons = expected["reason"]
    assert reasons[40] == reasons[47] == reasons[12] == "duplicate of row 3"
    assert reasons[5] == "duplicate of row 4"
    assert reasons[55] == "duplicate of row 50"
    assert expected.loc[57, "status"] == "invalid"
    assert expected.loc[50, "status"] == ("skipped" if on_stale == "skip" else "valid")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_a_misread_timestamp_is_invalid_and_not_stale_in_a_file(tmp_path, suffix):
    seconds = int(NOW.value // 1_000_000_000) - 3_600  # an hour ago, in seconds: read as ms, 1970
    old_ms = int(NOW.value // 1_000_000) - 2 * 86_400_000  # two days ago, in ms: stale
    frame = pd.DataFrame(
        {
            "timestamp": [seconds, old_ms, old_ms],
            "email": ["a@x.com", "b@x.com", "no-at"],
            "eventName": ["opened_file"] * 3,
        }
    )
    path = write(frame, tmp_path / f"seconds{suffix}")
    out = tmp_path / "status.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pp.validate_file(path, status_out=out, chunksize=2, **OPTIONS)
    status = pd.read_csv(out)
    assert status["status"].tolist() == ["invalid", "valid", "invalid"]
    assert status["problem"].tolist() == ["timestamp.unit", np.nan, "email.no_at"]
    assert status["stale"].tolist() == [False, True, True]
    stale_warnings = [str(w.message)[:33] for w in caught if w.category is pp.StaleEventWarning]
    assert stale_warnings == ["1 event(s) are older than 12 hour"]


def test_a_duplicate_in_a_later_chunk_names_the_first_row_of_the_file(tmp_path):
    frame = fresh(10)
    frame.loc[8] = frame.loc[1]
    path = write(frame, tmp_path / "events.csv")
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=3)
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["valid"] * 8 + ["duplicate", "valid"]
    assert status.loc[8, "reason"] == "duplicate of row 1"
    assert report.counts["duplicate"] == 1
    assert list(status.index) == list(range(10))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_csv_parquet_and_json_lines_give_the_same_status(tmp_path, suffix):
    frame = messy()
    frame.loc[0, "app"] = None  # JSON Lines: the first line has no targetApp; later lines may
    path = write(frame, tmp_path / f"messy{suffix}")
    out = tmp_path / "status.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.validate_file(path, status_out=out, chunksize=8, columns=MAPPING, **OPTIONS)
    reference = whole(write(frame, tmp_path / "reference.csv"), columns=MAPPING, **OPTIONS)
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got, as_written(reference))
    assert got.loc[14, "status"] == "valid"  # its targetApp was read, in every format


@pytest.mark.parametrize("name", ["status.csv", "status.parquet"])
def test_status_out_holds_every_row_once_in_order(tmp_path, name):
    path = write(fresh(23), tmp_path / "events.csv")
    out = tmp_path / name
    pp.validate_file(path, status_out=out, chunksize=5)
    back = pd.read_csv(out, index_col=0) if name.endswith(".csv") else pd.read_parquet(out)
    assert list(back.index) == list(range(23))
    assert list(back.columns) == list(pp.validate(pd.read_csv(path)).columns)
    assert (back["status"] == "valid").all()
    assert back["email"].tolist() == [f"user{i}@example.com" for i in range(23)]


def test_a_file_without_rows_gives_an_empty_status_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("timestamp,email,eventName\n")
    out = tmp_path / "status.parquet"
    report = pp.validate_file(path, status_out=out)
    assert report.rows == 0
    assert report.counts.sum() == 0
    back = pd.read_parquet(out)
    assert len(back) == 0
    assert list(back.columns) == list(pp.validate(pd.read_csv(path)).columns)


def test_one_warning_of_each_kind_for_the_whole_file_in_prepares_words(tmp_path):
    path = write(messy(), tmp_path / "messy.csv")
    with warnings.catch_warnings(record=True) as chunked:
        warnings.simplefilter("always")
        pp.validate_file(path, chunksize=4, columns=MAPPING, **OPTIONS)
    with warnings.catch_warnings(record=True) as at_once:
        warnings.simplefilter("always")
        pp.validate(pd.read_csv(path), columns=MAPPING, **OPTIONS)
    ours = [(w.category, str(w.message)) for w in chunked]
    assert ours == [(w.category, str(w.message)) for w in at_once]
    assert [category for category, _ in ours] == [pp.StaleEventWarning, pp.NaiveTimestampWarning]
    assert ours[1][1].startswith("2 timestamp(s) had no timezone")
    assert all(w.filename == __file__ for w in chunked)  # pointing at the caller's line


def test_a_missing_column_is_reported_before_anything_is_written(tmp_path):
    path = write(messy(), tmp_path / "messy.csv")
    out = tmp_path / "status.csv"
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['email'\]") as caught:
        pp.validate_file(path, status_out=out, columns={"when": "timestamp", "action": "eventName"})
    assert "'user'" in str(caught.value)  # names the file's columns
    assert not out.exists()


def test_report_repr_and_problems(tmp_path):
    path = write(messy(), tmp_path / "messy.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pp.validate_file(path, chunksize=9, columns=MAPPING, **OPTIONS)
    assert repr(report) == (f"<RunReport {str(path)!r}: 60 rows: valid 47, invalid 8, duplicate 5>")
    assert report.problems.loc["email.no_domain", "invalid"] == 2
    assert list(report.problems.columns) == ["invalid", "rejected", "failed"]


def test_first_seen_finds_what_was_added_and_nothing_else():
    seen = FirstSeen()
    hashes = np.array([5, 2**63 + 7, 2**64 - 1, 42], dtype=np.uint64)
    seen.add(hashes, [10, 11, 12, 13])
    seen.add(np.array([6], dtype=np.uint64), [20])
    lookup = np.array([2**64 - 1, 6, 5, 41, 2**63 + 7, 0], dtype=np.uint64)
    assert seen.find(lookup).tolist() == [12, 20, 10, -1, 11, -1]
    assert len(seen) == 5
    assert seen.nbytes == 5 * 12  # a 64-bit hash and a 32-bit row
    seen.add(np.array([7], dtype=np.uint64), [2**32 + 3])  # past 32 bits: rows become 64-bit
    assert seen.find(np.array([7, 5, 6], dtype=np.uint64)).tolist() == [2**32 + 3, 10, 20]
    assert seen.nbytes == 6 * 16


def test_first_seen_see_finds_then_adds_only_the_new_hashes_kept():
    seen = FirstSeen()
    seen.add(np.array([5], dtype=np.uint64), [0])
    hashes = np.array([9, 5, 3, 9, 8], dtype=np.uint64)
    first = seen.see(hashes, np.array([10, 11, 12, 13, 14]), np.array([True, True, False, False, True]))
    assert first.tolist() == [-1, 0, -1, -1, -1]  # what find gave before the chunk was added
    assert seen.find(np.array([9, 3, 8, 5], dtype=np.uint64)).tolist() == [10, -1, 14, 0]


def test_first_seen_with_its_filter_finds_exactly_what_a_dict_finds(monkeypatch):
    # The filter is made once _FILTER_AT events are held: here after the first chunk, so the
    # lookups of the later ones go through it (a clear bit: not seen; a set bit: searched).
    monkeypatch.setattr(seen_module, "_FILTER_AT", 50)
    monkeypatch.setattr(seen_module, "_MERGE_AT", 300)
    rng = np.random.default_rng(7)
    seen, known, held = FirstSeen(), {}, np.empty(0, dtype=np.uint64)
    for chunk in range(20):
        hashes = rng.integers(0, 2**64, 100, dtype=np.uint64, endpoint=False)
        if len(held):  # a third of each chunk repeats earlier events
            hashes[::3] = held[rng.integers(0, len(held), len(hashes[::3]))]
        hashes = rng.permutation(np.unique(hashes))  # distinct, in no order
        rows, keep = np.arange(len(hashes)) + 100 * chunk, rng.random(len(hashes)) < 0.8
        expected = [known.get(int(h), -1) for h in hashes]
        assert seen.see(hashes, rows, keep).tolist() == expected
        for h, row, kept in zip(hashes.tolist(), rows.tolist(), keep.tolist(), strict=True):
            if kept:
                known.setdefault(h, row)
        held = np.concatenate([held, hashes])
    assert seen._filter is not None
    assert len(seen) == len(known)
    lookup = rng.integers(0, 2**64, 1000, dtype=np.uint64, endpoint=False)
    assert seen.find(lookup).tolist() == [known.get(int(h), -1) for h in lookup]
    assert seen.find(held).tolist() == [known.get(int(h), -1) for h in held]


def test_first_seen_sorts_hashes_that_differ_in_their_lowest_bits_only():
    """A chunk is sorted with each hash's position in its low bits: hashes equal but for those
    bits are put in order by a second sort, so that the binary searches find them."""
    base = np.uint64(0xABCDEF0123456789) & ~np.uint64(0xFF)
    hashes = base + np.array([7, 3, 200, 0, 9, 1], dtype=np.uint64)
    order, ordered = seen_module._sorted(hashes)
    assert ordered.tolist() == sorted(hashes.tolist())
    assert hashes[order].tolist() == ordered.tolist()
    seen = FirstSeen()
    first = seen.see(hashes, np.arange(6), np.ones(6, dtype=bool))
    assert first.tolist() == [-1] * 6
    assert seen.find(hashes[::-1]).tolist() == [5, 4, 3, 2, 1, 0]
    assert seen.find(base + np.array([2, 8], dtype=np.uint64)).tolist() == [-1, -1]


def test_the_docstring_examples_run():
    assert doctest.testmod(stream).failed == 0


# -- publish_file ---------------------------------------------------------------------------


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=CATALOG, login_events={"sso_login"})


def event_requests(sb: Sandbox) -> int:
    return sb.stats()["event_requests"]


def triples(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


def test_publish_file_stores_exactly_the_rows_marked_sent(sb, tmp_path):
    frame = pd.concat([fresh(40), fresh(5).assign(email="nobody")], ignore_index=True)
    frame.loc[30] = frame.loc[2]  # a duplicate across chunks is not sent twice
    path = write(frame, tmp_path / "events.csv")
    out = tmp_path / "status.parquet"
    with sb.client() as client:
        report = pp.publish_file(
            path, APP, client=client, status_out=out, chunksize=12, batch_size=5, progress=False
        )
    status = pd.read_parquet(out)
    assert list(status.index) == list(range(45))
    assert report.counts[["sent", "invalid", "duplicate"]].tolist() == [39, 5, 1]
    assert status.loc[30, "reason"] == "duplicate of row 2"
    assert triples(sb.events(APP)) == triples(status[status["status"] == "sent"])
    # batch numbers run on across chunks: 12 rows a chunk, 5 a batch -> 3 batches a chunk
    sent = status[status["status"] == "sent"]
    assert sent["batch"].is_monotonic_increasing
    assert sent.groupby("batch").size().max() <= 5
    assert sent["batch"].nunique() == event_requests(sb)


def test_a_second_publish_with_the_same_journal_sends_nothing(sb, tmp_path):
    frame = pd.concat([fresh(30), fresh(2).assign(email="nobody")], ignore_index=True)
    path = write(frame, tmp_path / "events.jsonl")
    journal = tmp_path / "backfill.journal"
    with sb.client() as client:
        first = pp.publish_file(path, APP, client=client, journal=journal, chunksize=7, progress=False)
        requests = event_requests(sb)
        out = tmp_path / "again.csv"
        with pp.Journal(journal, APP) as opened:  # an open journal is passed through too
            second = pp.publish_file(
                path, APP, client=client, journal=opened, chunksize=7, status_out=out, progress=False
            )
            assert opened.count() == 30
    assert first.counts[["sent", "invalid"]].tolist() == [30, 2]
    assert event_requests(sb) == requests  # nothing was sent again
    assert second.counts[["skipped", "invalid", "sent"]].tolist() == [30, 2, 0]
    status = pd.read_csv(out, index_col=0)
    assert (status.loc[:29, "reason"] == "already sent").all()
    assert len(sb.events(APP)) == 30


def test_publish_file_stops_sending_once_the_api_refuses_the_app(sb, tmp_path):
    path = write(fresh(30), tmp_path / "events.csv")
    out = tmp_path / "status.csv"
    with sb.client() as client:
        report = pp.publish_file(
            path, "no-such-app", client=client, status_out=out, chunksize=10, batch_size=5,
            max_workers=1, progress=False,
        )  # fmt: skip
    status = pd.read_csv(out, index_col=0)
    assert event_requests(sb) == 1  # not one a chunk (more workers: at most one each in flight)
    assert report.counts[["rejected", "failed"]].tolist() == [5, 25]
    assert status.loc[29, "reason"].startswith("not attempted: the API answered HTTP 404")


def test_a_stop_on_a_chunks_last_request_stops_the_later_chunks(sb, tmp_path):
    # One batch a chunk: the 429 asking for a day ends the first chunk's only request, so no
    # row of that chunk is "not attempted"; the run must still stop for the other chunks.
    sb.fail_next(1, status=429, retry_after=86_400)
    path = write(fresh(30), tmp_path / "events.csv")
    out = tmp_path / "status.csv"
    with sb.client() as client:
        report = pp.publish_file(
            path, APP, client=client, status_out=out, chunksize=10, batch_size=10, max_workers=1,
            progress=False,
        )  # fmt: skip
    status = pd.read_csv(out, index_col=0)
    assert event_requests(sb) == 1
    assert report.counts["failed"] == 30
    assert status.loc[0, "reason"].startswith("HTTP 429: ")
    assert status.loc[10:, "reason"].str.startswith("not attempted: the API answered HTTP 429").all()


class InterruptingClient:
    """Delegates to a real client and presses Ctrl-C (in the main thread) at the n-th request."""

    def __init__(self, client, at: int) -> None:
        self.client, self.at, self.calls = client, at, 0

    def post_events(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            _thread.interrupt_main()
        return self.client.post_events(*args, **kwargs)


def test_ctrl_c_writes_the_rows_read_and_says_where_it_stopped(sb, tmp_path):
    path = write(fresh(50), tmp_path / "events.parquet")
    out = tmp_path / "status.parquet"
    journal = tmp_path / "backfill.journal"
    with sb.client() as client, pytest.raises(pp.PublishInterrupted) as caught:
        # chunks of 10 rows, 2 batches each: the 4th request is the second chunk's last
        pp.publish_file(
            path, APP, client=InterruptingClient(client, at=4), journal=journal, status_out=out,
            chunksize=10, batch_size=5, max_workers=1, progress=False,
        )  # fmt: skip
    error = caught.value
    assert "the rows from row 20 on (30 rows) were not read, so not sent" in str(error)
    assert "Publish again with the same journal" in str(error)
    status = pd.read_parquet(out)
    assert list(status.index) == list(range(20))
    assert error.report.rows == 20
    assert list(error.status.index) == list(range(10, 20))
    assert (status.loc[:14, "status"] == "sent").all()
    left = status.loc[15:, "status"] != "sent"  # the last request raced the Ctrl-C
    assert (status.loc[15:, "reason"][left] == "interrupted").all()
    assert triples(sb.events(APP)) == triples(status[status["status"] == "sent"])
    # resuming with the journal sends the rest and only the rest
    with sb.client() as client:
        report = pp.publish_file(path, APP, client=client, journal=journal, chunksize=10, progress=False)
    assert report.counts["sent"] + report.counts["skipped"] == 50
    assert report.counts["skipped"] == (status["status"] == "sent").sum()
    assert len(sb.events(APP)) == 50


def test_reading_errors_name_the_file_and_the_row(tmp_path):
    path = tmp_path / "events.csv"
    good = fresh(6).to_csv(index=False)
    path.write_text(good + 'x,"unclosed,y\n' + good.split("\n", 1)[1])
    with pytest.raises(pp.ConfigurationError, match=r"cannot read .*events\.csv' as csv from row 4 on"):
        pp.validate_file(path, chunksize=4)
    with pytest.raises(pp.ConfigurationError, match="no such file"):
        pp.validate_file(tmp_path / "nope.parquet")
    with pytest.raises(pp.ConfigurationError, match="chunksize must be a positive number of rows"):
        pp.validate_file(path, chunksize=0)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_the_progress_bar_total_is_the_row_count(tmp_path, suffix):
    from productiv_pandas.files._readers import open_reader

    path = write(fresh(17), tmp_path / f"events{suffix}")
    assert open_reader(path, 5).estimate_rows() == 17


def test_numeric_looking_event_names_do_not_depend_on_where_chunks_fall(tmp_path):
    frame = fresh(8).assign(eventName=["1001", "1002", "1001", "1003", "1002", "login", "1001", "0042"])
    path = write(frame, tmp_path / "events.csv")
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=3)  # chunk 1 holds only "numbers"
    assert report.counts["valid"] == 8
    names = pd.read_csv(out, index_col=0, dtype={"eventName": str})["eventName"]
    assert names.tolist() == frame["eventName"].tolist()  # "0042" kept as written


# -- real-world export files ----------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_semicolon_or_tab_separated_export_reads_like_a_comma_one(tmp_path, sep):
    frame = fresh(5)
    path = tmp_path / "export.csv"
    # Excel's European CSV: a BOM, CRLF line ends, the separator its locale uses
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, sep=sep, lineterminator="\r\n").encode())
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=2)
    assert report.counts["valid"] == 5
    assert pd.read_csv(out, index_col=0)["email"].tolist() == frame["email"].tolist()


def test_a_header_naming_a_column_twice_is_refused_not_read_from_the_first(tmp_path):
    path = tmp_path / "export.csv"
    fresh(3).assign(other=["x@y.io"] * 3).to_csv(path, index=False)
    path.write_text(path.read_text().replace(",other", ",email", 1))
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_file(path)
    assert str(caught.value) == (
        f"{str(path)!r} has more than one column named 'email'; rename one in its header, "
        "or pick the second with columns={'email.1': 'email'}"
    )
    out = tmp_path / "status.csv"
    pp.validate_file(path, columns={"email.1": "email"}, status_out=out)
    assert pd.read_csv(out, index_col=0)["email"].tolist() == ["x@y.io"] * 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "'{path}' is empty: an events file starts with a header line"),
        (
            "latin1.csv",
            "timestamp,email,eventName\n1,jos\xe9@x.io,open\n".encode("latin-1"),
            "cannot read '{path}' as csv: it is not UTF-8 text (byte 0xe9); save it as "
            "UTF-8, e.g. iconv -f latin1 -t utf-8 latin1.csv > utf8-latin1.csv",
        ),
        (
            "excel.csv",
            "timestamp\temail\teventName\n".encode("utf-16"),
            "cannot read '{path}' as csv: it is not UTF-8 text (byte 0xff); save it as "
            "UTF-8, e.g. iconv -f utf-16 -t utf-8 excel.csv > utf8-excel.csv",
        ),
        (
            "events.jsonl",
            b'{"timestamp": 1, "email": "a@x.io", "eventName": "o"}\n{oops\n',
            "cannot read '{path}' as jsonl: line 2 is not a JSON object: '{{oops'; fix or remove that line",
        ),
    ],
)
def test_unreadable_files_say_why_and_what_to_do(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_file(path)
    assert str(caught.value) == message.format(path=path)


def test_json_lines_whose_first_line_lacks_a_key_are_judged_row_by_row(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = fresh(3).to_dict("records")
    del lines[0]["email"]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n")
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=2)
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["invalid", "valid", "valid"]
    assert status.loc[0, "reason"] == "email is missing"
    assert report.rows == 3


@pytest.mark.parametrize("empty", ["{}", '{"department": "ops"}'])
def test_json_lines_of_a_chunk_without_any_key_read_still_get_a_status_each(tmp_path, empty):
    # A chunk whose lines hold none of the keys read was once dropped: its rows had no status
    # and the rows after it were numbered as if they had not been there.
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(line) for line in fresh(4).to_dict("records")]
    path.write_text("\n".join([*lines[:2], empty, empty, *lines[2:]]) + "\n")
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=2)
    status = pd.read_csv(out, index_col=0)
    assert status.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert status["status"].tolist() == ["valid", "valid", "invalid", "invalid", "valid", "valid"]
    missing = "timestamp is missing; email is missing; eventName is missing"
    assert status.loc[[2, 3], "reason"].tolist() == [missing, missing]
    assert report.rows == 6
    assert report.counts["invalid"] == 2


def test_json_lines_whose_first_chunk_is_all_empty_objects_take_their_keys_from_the_next(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(line) for line in fresh(3).to_dict("records")]
    path.write_text("\n".join(["{}", "{}", *lines]) + "\n")
    out = tmp_path / "status.csv"
    report = pp.validate_file(path, status_out=out, chunksize=2)
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["invalid", "invalid", "valid", "valid", "valid"]
    assert report.rows == 5


def test_a_status_file_that_cannot_be_written_fails_before_anything_is_sent(sb, tmp_path):
    path = write(fresh(5), tmp_path / "events.csv")
    (tmp_path / "folder.csv").mkdir()
    cases = {
        tmp_path
        / "no"
        / "status.csv": f"the folder {str(tmp_path / 'no')!r} does not exist; create it first",
        tmp_path / "folder.csv": "it is a directory",
        tmp_path / "status.parquet.gz": "cannot compress a parquet status file with .gz; use .csv.gz, "
        ".csv.bz2, .csv.xz or .parquet",
    }
    with sb.client() as client:
        for out, why in cases.items():
            with pytest.raises(pp.ConfigurationError) as caught:
                pp.publish_file(path, APP, client=client, status_out=out, progress=False)
            assert str(caught.value) == f"cannot write the status to {str(out)!r}: {why}"
        before = path.read_bytes()
        with pytest.raises(pp.ConfigurationError, match="is the events file itself"):
            pp.publish_file(path, APP, client=client, status_out=tmp_path / "." / "events.csv")
        assert path.read_bytes() == before
    assert event_requests(sb) == 0


def test_a_gzip_status_file_is_gzip(tmp_path):
    path = write(fresh(5), tmp_path / "events.csv")
    out = tmp_path / "status.csv.gz"
    pp.validate_file(path, status_out=out, chunksize=2)
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert pd.read_csv(out, index_col=0)["status"].tolist() == ["valid"] * 5


def test_a_bad_line_mid_file_says_what_the_rows_before_it_became(sb, tmp_path):
    path = tmp_path / "events.jsonl"
    lines = fresh(6).to_json(orient="records", lines=True).splitlines()
    path.write_text("\n".join([*lines[:4], "{oops", *lines[4:]]) + "\n")
    out = tmp_path / "status.csv"
    with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
        pp.publish_file(path, APP, client=client, status_out=out, chunksize=2, progress=False)
    assert str(caught.value) == (
        f"cannot read {str(path)!r} as jsonl: line 5 is not a JSON object: '{{oops'; fix or remove "
        f"that line; the 4 rows before it have a status, written to {str(out)!r} (4 sent): fix the "
        "file and publish it again (with journal= to skip the rows already sent)"
    )
    assert pd.read_csv(out, index_col=0)["status"].tolist() == ["sent"] * 4
    assert len(sb.events(APP)) == 4


# -- validate_file's two stages: read and check in a thread, de-duplicate in the caller's ------


def _productiv_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "productiv-check"]


def _passes(path, chunksize: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The statuses of the threaded pass (validate_file's) and of the same pass in one thread."""
    from productiv_pandas.files._pass import validate_run
    from productiv_pandas.files._run import FileRun

    statuses = []
    for ahead in (True, False):
        out = path.parent / f"status-{ahead}.csv"
        options = {"columns": MAPPING, **OPTIONS}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate_run(FileRun(path, chunksize, options, ahead=ahead), stream.status_writer(out, path), out)
        statuses.append(pd.read_csv(out, index_col=0))
    return statuses[0], statuses[1]


@pytest.mark.parametrize("chunksize", [1, 7, 60])
def test_the_threaded_pass_gives_what_one_thread_gives_and_leaves_no_thread(tmp_path, chunksize):
    path = tmp_path / "events.csv"
    messy().to_csv(path, index=False)
    threaded, alone = _passes(path, chunksize)
    pd.testing.assert_frame_equal(threaded, alone)
    assert threaded.loc[40, "reason"] == "duplicate of row 3"  # across chunks, when there are some
    assert threaded["status"].value_counts().to_dict() == {"valid": 47, "invalid": 8, "duplicate": 5}
    assert _productiv_threads() == []


def test_a_bad_row_mid_file_stops_the_threaded_pass_as_it_stops_one_thread(tmp_path):
    """Row 4 opens a quote that never closes: the chunks before it have their status, the
    message is the unthreaded one, and the reading and checking thread is gone."""
    path = tmp_path / "events.csv"
    lines = fresh(8).to_csv(index=False).splitlines()
    path.write_text("\n".join([*lines[:5], '"' + lines[5], *lines[6:]]) + "\n")
    messages = []
    for ahead in (True, False):
        from productiv_pandas.files._pass import validate_run
        from productiv_pandas.files._run import FileRun

        out = tmp_path / f"status-{ahead}.csv"
        with pytest.raises(pp.ConfigurationError) as caught:
            validate_run(
                FileRun(path, 2, {"on_stale": "ignore"}, ahead=ahead), stream.status_writer(out, path), out
            )
        messages.append(str(caught.value))
        assert pd.read_csv(out, index_col=0)["status"].tolist() == ["valid"] * 4
    assert messages[0] == messages[1]
    assert "from row 4 on" in messages[0]
    assert _productiv_threads() == []
