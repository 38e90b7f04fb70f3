"""The status file of validate_file / publish_file: refused when it is another argument's file,
and truthful when it cannot be written mid-file (a full disk).

A full disk is simulated by a file object whose write puts part of a chunk's bytes on disk and
then raises ENOSPC, as a real full disk does; tests/cli/test_errors.py has the same with a real limit
(RLIMIT_FSIZE) in a subprocess.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.files import _formats as files

APP = "acme"


def fresh(n: int) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    return pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(seconds=10 + i)).isoformat() for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        }
    )


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    fresh(10).to_csv(path, index=False)
    return path


def triples(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


# -- point 12: one file, two roles ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "relative", "dot", "symlink", "journal object"])
def test_a_journal_that_is_the_status_file_is_refused_before_anything_is_sent(
    sb, events, tmp_path, monkeypatch, spelling
):
    monkeypatch.chdir(tmp_path)
    status_out = tmp_path / "run.csv"
    journal: object = {
        "same": tmp_path / "run.csv",
        "relative": "run.csv",
        "dot": "./sub/../run.csv",
        "symlink": tmp_path / "link.csv",
        "journal object": None,
    }[spelling]
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(status_out)
    opened = None
    if spelling == "journal object":
        journal = opened = pp.Journal(tmp_path / "run.csv", APP)
    try:
        with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
            pp.publish_file(
                events, APP, client=client, status_out=status_out, journal=journal, progress=False
            )
    finally:
        if opened is not None:
            opened.close()
    message = str(caught.value)
    assert message.startswith(f"the status file {str(status_out)!r} and the journal ")
    assert "are the same file" in message
    assert sb.stats()["event_requests"] == 0
    if spelling != "journal object":
        assert not status_out.exists()  # nothing was created either


@pytest.mark.parametrize("other", ["journal", "events"])
def test_a_hard_link_is_the_same_file_however_it_is_named(sb, events, tmp_path, other):
    # Same inode, different names: realpath cannot tell; the status written over it would
    # destroy the journal or the events file being read.
    journal = tmp_path / "run.journal"
    pp.Journal(journal, APP).close()
    target = journal if other == "journal" else events
    status_out = tmp_path / "status.csv"
    os.link(target, status_out)
    before = target.read_bytes()

    with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
        pp.publish_file(events, APP, client=client, status_out=status_out, journal=journal, progress=False)

    assert "same file" in str(caught.value) or "is the events file itself" in str(caught.value)
    assert target.read_bytes() == before
    assert sb.stats()["event_requests"] == 0


def test_a_status_file_named_like_the_journals_wal_is_refused(sb, events, tmp_path):
    with sb.client() as client, pytest.raises(pp.ConfigurationError, match="are the same file"):
        pp.publish_file(
            events, APP, client=client, journal=tmp_path / "j.csv", status_out=tmp_path / "j.csv-wal",
            progress=False,
        )  # fmt: skip
    assert sb.stats()["event_requests"] == 0


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink"])
def test_a_journal_that_is_the_events_file_is_refused_and_the_file_left_alone(
    sb, events, tmp_path, monkeypatch, spelling
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.csv").symlink_to(events)
    journal = {"same": events, "relative": "events.csv", "symlink": tmp_path / "link.csv"}[spelling]
    before = events.read_bytes()
    with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
        pp.publish_file(events, APP, client=client, journal=journal, progress=False)
    assert str(caught.value) == (
        f"journal {str(journal)!r} is the events file {str(events)!r}: keep the journal elsewhere"
    )
    assert events.read_bytes() == before
    assert not Path(f"{events}-wal").exists()
    assert sb.stats()["event_requests"] == 0


# -- point 13: a status file that fails mid-file ------------------------------------------------


class FullDisk:
    """A binary file whose ``fail_at``-th write puts half its bytes on disk, then raises ENOSPC."""

    def __init__(self, real, fail_at: int) -> None:
        self.real, self.fail_at, self.writes = real, fail_at, 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes == self.fail_at:
            self.real.write(data[: len(data) // 2])
            self.real.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


def fill_disk_at(monkeypatch, fail_at: int) -> None:
    real_open = open

    def fake_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return FullDisk(handle, fail_at) if "w" in mode else handle

    monkeypatch.setattr(files, "open", fake_open, raising=False)


def fill_parquet_at(monkeypatch, fail_at: int) -> None:
    import pyarrow.parquet as pq

    real = pq.ParquetWriter.write_table
    calls = {"n": 0}

    def write_table(self, table, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)


def read_status(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, index_col=0)


def fallback_of(message: str) -> Path:
    found = re.search(r"was written to '([^']+)' instead", message)
    assert found, message
    return Path(found.group(1))


@pytest.mark.parametrize("name", ["status.csv", "status.csv.gz", "status.csv.xz", "status.parquet"])
def test_a_full_disk_mid_file_says_where_every_sent_rows_status_is(sb, events, tmp_path, monkeypatch, name):
    out, journal = tmp_path / name, tmp_path / "run.journal"
    if name.endswith(".parquet"):
        fill_parquet_at(monkeypatch, 3)
    else:
        fill_disk_at(monkeypatch, 3)
    with sb.client() as client, pytest.raises(pp.StatusFileError) as caught:
        pp.publish_file(
            events, APP, client=client, status_out=out, journal=journal, chunksize=3, batch_size=2,
            progress=False,
        )  # fmt: skip
    error = caught.value
    fallback = fallback_of(str(error))
    assert str(error) == (
        f"cannot write the status to {str(out)!r}: [Errno 28] No space left on device; {str(out)!r} "
        f"holds the status of rows 0 to 5; the status of rows 6 to 8 (3 of them sent) was written "
        f"to {str(fallback)!r} instead; the rows from row 9 on were not read. The journal holds "
        "every row sent: make room and publish again with the same journal to send only the rest"
    )
    assert isinstance(error, pp.ConfigurationError)
    assert error.rows_in_file == 6
    assert error.fallback == fallback
    assert error.path == out
    in_file, elsewhere = read_status(out), pd.read_csv(fallback, index_col=0)
    assert list(in_file.index) == list(range(6))  # what the message says, no more, no less
    assert list(elsewhere.index) == [6, 7, 8]
    assert list(error.status.index) == [6, 7, 8]
    both = pd.concat([in_file, elsewhere])
    assert (both["status"] == "sent").all()
    assert triples(sb.events(APP)) == triples(both)  # every row sent has its status on disk
    with pp.Journal(journal, APP) as opened:  # and the journal agrees
        assert opened.count() == 9
        assert opened.sent_mask(both["timestamp"], both["email"], both["eventName"]).all()
    fallback.unlink()


def test_a_full_disk_at_the_first_chunk_claims_no_row_in_the_file(sb, events, tmp_path, monkeypatch):
    out = tmp_path / "status.csv"
    fill_disk_at(monkeypatch, 1)
    with sb.client() as client, pytest.raises(pp.StatusFileError) as caught:
        pp.publish_file(events, APP, client=client, status_out=out, chunksize=4, progress=False)
    message = str(caught.value)
    fallback = fallback_of(message)
    assert f"{str(out)!r} holds no row's status; the status of rows 0 to 3 (4 of them sent)" in message
    assert message.endswith(
        "Make room and publish again: rows already sent are sent again (the API keeps one of each); "
        "journal= would skip them"
    )
    assert out.read_bytes() == b""
    assert pd.read_csv(fallback, index_col=0)["status"].tolist() == ["sent"] * 4
    assert len(sb.events(APP)) == 4
    fallback.unlink()


def test_when_no_fallback_can_be_written_the_message_says_so_and_the_error_keeps_the_status(
    sb, events, tmp_path, monkeypatch
):
    out = tmp_path / "status.csv"
    fill_disk_at(monkeypatch, 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # mkstemp fails there
    with sb.client() as client, pytest.raises(pp.StatusFileError) as caught:
        pp.publish_file(events, APP, client=client, status_out=out, chunksize=4, progress=False)
    error = caught.value
    assert error.fallback is None
    assert (
        f"{str(out)!r} holds the status of rows 0 to 3; the status of rows 4 to 7 (4 of them sent) "
        "could not be written anywhere (in Python: this error's .status)"
    ) in str(error)
    assert error.status["status"].tolist() == ["sent"] * 4
    assert list(read_status(out).index) == [0, 1, 2, 3]


def test_validate_file_on_a_full_disk_names_the_rows_and_sends_nothing(events, tmp_path, monkeypatch):
    out = tmp_path / "status.csv"
    fill_disk_at(monkeypatch, 2)
    with pytest.raises(pp.StatusFileError) as caught:
        pp.validate_file(events, status_out=out, chunksize=4)
    fallback = fallback_of(str(caught.value))
    assert str(caught.value) == (
        f"cannot write the status to {str(out)!r}: [Errno 28] No space left on device; {str(out)!r} "
        f"holds the status of rows 0 to 3; the status of rows 4 to 7 was written to "
        f"{str(fallback)!r} instead; the rows from row 8 on were not read"
    )
    assert list(read_status(out).index) == [0, 1, 2, 3]
    assert list(pd.read_csv(fallback, index_col=0).index) == [4, 5, 6, 7]
    fallback.unlink()


@pytest.mark.parametrize("name", ["status.csv.gz", "status.csv.bz2"])
def test_a_compressed_status_file_written_in_chunks_reads_as_one(tmp_path, name):
    path = tmp_path / "events.csv"
    fresh(7).to_csv(path, index=False)
    pp.validate_file(path, status_out=tmp_path / name, chunksize=2)
    assert list(pd.read_csv(tmp_path / name, index_col=0).index) == list(range(7))
