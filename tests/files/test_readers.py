"""The input readers of productiv_pandas.files._readers: one class per format behind one
interface (columns, chunks, row_count, read), chosen by extension in READERS, so that a new
format is one class plus one registry line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.files._readers import (
    READERS,
    CsvReader,
    EventReader,
    JsonLinesReader,
    ParquetReader,
    file_format,
    open_reader,
    read_events,
)

NOW = pd.Timestamp("2024-06-01T12:00:00Z")


def events(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [(NOW - pd.Timedelta(minutes=i + 1)).isoformat() for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["open"] * n,
        }
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    if ".csv" in path.suffixes:
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


@pytest.mark.parametrize(
    ("name", "cls", "rows"),
    [
        ("events.csv", CsvReader, None),
        ("events.parquet", ParquetReader, 5),
        ("events.jsonl", JsonLinesReader, None),
    ],
)
def test_each_reader_gives_columns_chunks_and_row_count(tmp_path, name, cls, rows):
    frame = events(5)
    reader = open_reader(write(frame, tmp_path / name), 2)
    assert type(reader) is cls
    assert reader.name == file_format(reader.path)
    assert reader.columns() == ["timestamp", "email", "eventName"]
    chunks = list(reader.chunks())
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame, check_dtype=False)
    assert reader.row_count() == rows  # only Parquet says it without being read
    assert reader.estimate_rows() == 5  # the text formats by a count of lines
    numbered = list(reader.numbered_chunks(["email"]))
    assert [chunk.index.tolist() for chunk in numbered] == [[0, 1], [2, 3], [4]]
    assert [list(chunk.columns) for chunk in numbered] == [["email"]] * 3
    pd.testing.assert_frame_equal(reader.read(), frame, check_dtype=False)


def test_csv_reader_finds_the_separator_the_repeated_names_and_reads_text_as_text(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("timestamp;email;email;eventName\n1;a@x.io;b@x.io;1001\n2;c@x.io;d@x.io;1002\n")
    reader = open_reader(path, 10)
    assert isinstance(reader, CsvReader)
    assert reader.sep == ";"
    assert reader.columns() == ["timestamp", "email", "email.1", "eventName"]
    assert reader.repeated() == ("email",)
    (chunk,) = reader.chunks(["timestamp", "eventName"], text=("eventName",))
    assert chunk["eventName"].tolist() == ["1001", "1002"]
    assert chunk["timestamp"].tolist() == [1, 2]


def test_a_compressed_csv_is_read_as_its_bytes_say_and_not_counted_by_lines(tmp_path):
    path = tmp_path / "events.csv"  # gzip inside, whatever the name says
    path.write_bytes(gzip.compress(events(3).to_csv(index=False).encode()))
    reader = open_reader(path, 2)
    assert reader.compression == "gzip"
    assert reader.columns() == ["timestamp", "email", "eventName"]
    assert sum(len(chunk) for chunk in reader.chunks()) == 3
    assert reader.row_count() is None
    assert reader.estimate_rows() is None


def test_parquet_reader_leaves_out_a_stored_index_and_refuses_compression(tmp_path):
    path = tmp_path / "events.parquet"
    events(4).set_index("email").to_parquet(path)  # the index is stored as a column
    reader = open_reader(path, 3)
    assert reader.columns() == ["timestamp", "eventName"]
    assert reader.row_count() == 4
    squeezed = tmp_path / "squeezed.parquet"
    squeezed.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(
        pp.ConfigurationError, match=r"as parquet: the file is gzip-compressed; Parquet compresses"
    ):
        open_reader(squeezed)


def test_json_lines_reader_knows_the_first_chunks_keys_only(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        {"timestamp": "2024-06-01T11:00:00Z", "email": f"u{i}@x.io", "eventName": "open"} for i in range(4)
    ]
    lines[3]["targetApp"] = "Okta"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    reader = open_reader(path, 2)
    assert not reader.complete_columns
    assert reader.columns() == ["timestamp", "email", "eventName"]
    chunks = list(reader.chunks(["email", "targetApp"]))
    # A chunk lacking a key gets it, empty (all missing), as a whole file's read would.
    assert [chunk["targetApp"].isna().tolist() for chunk in chunks] == [[True, True], [True, False]]
    assert chunks[1]["targetApp"].iloc[1] == "Okta"


def test_the_registry_names_the_extensions_understood(tmp_path):
    with pytest.raises(pp.ConfigurationError, match=r"cannot tell the format of .*events\.json'") as caught:
        open_reader(tmp_path / "events.json")
    assert str(sorted(READERS)) in str(caught.value)
    with pytest.raises(pp.ConfigurationError, match="chunksize must be a positive number of rows"):
        open_reader(tmp_path / "events.csv", 0)
    with pytest.raises(pp.ConfigurationError, match="no such file"):
        read_events(tmp_path / "events.csv")


class JsonArrayReader(EventReader):
    """A toy format: the whole file is one JSON array of objects."""

    name = "json"

    def __init__(self, path: Path, chunksize: int, compression: str | None) -> None:
        super().__init__(path, chunksize, compression)
        self._records = json.loads(path.read_text())

    def columns(self) -> list[str]:
        return list(dict.fromkeys(key for record in self._records for key in record))

    def chunks(self, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
        for start in range(0, len(self._records), self.chunksize):
            frame = pd.DataFrame.from_records(self._records[start : start + self.chunksize])
            yield frame if usecols is None else frame.reindex(columns=usecols)

    def row_count(self) -> int | None:
        return len(self._records)


def test_a_new_format_is_one_class_and_one_registry_line(tmp_path, monkeypatch):
    frame = events(5)
    frame.loc[1, "email"] = "bob@"
    frame.loc[3] = frame.loc[0]
    path = tmp_path / "events.json"
    path.write_text(frame.to_json(orient="records"))
    with pytest.raises(pp.ConfigurationError, match="cannot tell the format"):
        pp.validate_file(path)

    monkeypatch.setitem(READERS, ".json", JsonArrayReader)

    out = tmp_path / "status.csv"
    report = pp.validate_file(path, chunksize=2, status_out=out, now=NOW)
    assert report.rows == 5
    assert report.counts[["valid", "invalid", "duplicate"]].tolist() == [3, 1, 1]
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["valid", "invalid", "valid", "duplicate", "valid"]
    assert status.loc[1, "reason"] == "email 'bob@' has no domain"
    assert status.loc[3, "reason"] == "duplicate of row 0"
    assert open_reader(path).estimate_rows() == 5  # its row_count: not a text format
    pd.testing.assert_frame_equal(read_events(path), frame, check_dtype=False)
