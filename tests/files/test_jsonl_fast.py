"""JSON Lines chunks read by pyarrow (productiv_pandas.files._arrow_json) give exactly what the
old path (pandas' reader, then Python's json line by line) gives: the same frames, dtypes,
statuses, reasons, row numbers and error messages, on hostile files and at several chunk
sizes; and pyarrow really serves the clean files (the fast path is not silently dead)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.errors import ConfigurationError
from productiv_pandas.files import _input
from productiv_pandas.files._arrow_json import ArrowJson, arrow_columns
from productiv_pandas.files._readers import open_reader

NOW = pd.Timestamp("2024-06-01T12:00:00Z")
USECOLS = ["timestamp", "email", "eventName", "targetApp"]
TEXT = ("email", "eventName", "targetApp")
AT = '"timestamp":"2024-06-01T11:00:00Z"'
MAIL = '"email":"a@example.com"'


def line(i: int, stamp: str | None = None, **extra: str) -> str:
    stamp = stamp or f'"{(NOW - pd.Timedelta(minutes=i + 1)).isoformat().replace("+00:00", "Z")}"'
    fields = [f'"timestamp":{stamp}', f'"email":"user{i % 7}@example.com"', '"eventName":"open"']
    fields += [f'"{key}":{value}' for key, value in extra.items()]
    return "{" + ",".join(fields) + "}\n"


def clean(n: int = 12) -> str:
    return "".join(line(i) for i in range(n))


def millis(n: int = 12) -> str:
    return "".join(
        line(i, str(int((NOW - pd.Timedelta(minutes=i + 1)).timestamp() * 1000))) for i in range(n)
    )


#: Files pyarrow reads (and must serve) and files it must leave to the old path, or read alike.
CLEAN = {
    "iso": clean(),
    "millis": millis(),
    "millis_null": millis(6) + '{"timestamp":null,"email":"a@example.com","eventName":"open"}\n' + millis(5),
    "millis_missing": millis(6) + '{"email":"a@example.com","eventName":"open"}\n' + millis(5),
    "target_app": "".join(line(i, targetApp='"Slack"') for i in range(10)),
    "target_some": clean(5) + line(5, targetApp='"Slack"') + clean(6),
    "unused_odd_column": "".join(
        line(i, extra='{"a":[1,2,{"b":null}]}', big="123456789012345678901234567890") for i in range(9)
    ),
    "escapes": clean(4)
    + "{"
    + AT
    + ',"email":"\\u00e9t\\u00e9@example.com","eventName":"a\\u0000b\\n\\"q\\"\\\\\\/"}\n'
    + clean(4),
    "non_ascii": clean(3) + "{" + AT + ',"email":"zoë@exämple.com","eventName":"😀 ouvrir"}\n' + clean(3),
    "empty_strings": clean(3) + '{"timestamp":"","email":"","eventName":""}\n' + clean(3),
    "nulls": clean(3) + '{"timestamp":null,"email":null,"eventName":null,"targetApp":null}\n' + clean(3),
    "empty_object": clean(3) + "{}\n" + clean(3),
    "duplicates": clean(5) + clean(5),
    "spaces": "".join(
        '{ "timestamp" : "2024-06-01T11:00:00Z" , "email" : "a@example.com", "eventName" : "x" }\n'
        for _ in range(5)
    ),
    "no_final_newline": clean(6).rstrip("\n"),
    "aware_offset": "".join(line(i, '"2024-06-01T11:00:00+02:00"') for i in range(6)),
    "naive": "".join(line(i, '"2024-06-01 11:00:00"') for i in range(6)),
    "stale_and_future": "".join(
        line(i, f'"{s}"') for i, s in enumerate(["2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "x"] * 3)
    ),
    "nan_unused": "".join(line(i, nan="NaN", inf="-Infinity") for i in range(6)),
    "duplicate_unused_key": "".join(line(i).replace("{", '{"x":1,"x":"y",', 1) for i in range(6)),
    "min_max_int": "".join(
        line(i, s) for i, s in enumerate(["9223372036854775807", "-9223372036854775808", "-0", "0"] * 2)
    ),
}
HOSTILE = {
    "blank_lines": clean(3) + "\n\n" + clean(3) + "   \n" + clean(2),
    "crlf": clean(6).replace("\n", "\r\n"),
    "bom": "\ufeff" + clean(6),
    "null_line": clean(3) + "null\n" + clean(3),
    "null_first": "null\n" + clean(3),
    "array_line": clean(3) + "[1, 2]\n" + clean(3),
    "scalar_line": clean(3) + "1\n" + clean(3),
    "string_line": clean(3) + '"x"\n' + clean(3),
    "two_objects_one_line": clean(3) + clean(2).replace("\n", " ", 1) + clean(3),
    "object_over_two_lines": clean(3) + "{" + AT + ',\n"email":"a@example.com","eventName":"x"}\n' + clean(3),
    "duplicate_key": clean(3)
    + line(3).replace('"email":', '"email":"first@example.com","email":')
    + clean(3),
    "number_in_email": clean(3) + "{" + AT + ',"email":12,"eventName":"x"}\n' + clean(3),
    "object_in_event": clean(3) + "{" + AT + "," + MAIL + ',"eventName":{"a":1}}\n' + clean(3),
    "array_in_event": clean(3) + "{" + AT + "," + MAIL + ',"eventName":[1]}\n' + clean(3),
    "true_in_target": clean(3) + line(3, targetApp="true") + clean(3),
    "numbers_in_events": "".join("{" + AT + "," + MAIL + ',"eventName":1001}\n' for _ in range(5)),
    "big_int_timestamp": millis(3) + line(3, "18446744073709551616") + millis(3),
    "uint64_timestamp": millis(3) + line(3, "9223372036854775808") + millis(3),
    "float_timestamp": millis(3) + line(3, "1717243200.5") + millis(3),
    "exp_timestamp": millis(3) + line(3, "1.7e12") + millis(3),
    "mixed_timestamp": millis(3) + clean(3),
    "big_ints_missing": "".join(
        line(i, s) for i, s in enumerate(["9223372036854775807", "-9223372036854775808", "9007199254740993"])
    )
    + '{"email":"a@example.com","eventName":"open"}\n',
    "bool_timestamp": clean(3) + line(3, "true") + clean(3),
    "nan_timestamp": millis(3) + line(3, "NaN") + millis(3),
    "inf_unused": "".join(line(i, x="Inf") for i in range(4)),
    "minus_inf_unused": "".join(line(i, x="-Inf") for i in range(4)),
    "minus_nan_unused": "".join(line(i, x="-NaN") for i in range(4)),
    "lone_surrogate": clean(3) + line(3).replace("open", "op\\ud800en") + clean(3),
    "raw_tab": clean(3) + line(3).replace("open", "op\ten") + clean(3),
    "raw_control": clean(3) + line(3).replace("open", "op\x01en") + clean(3),
    "trailing_comma": clean(3) + line(3).replace("}", ",}") + clean(3),
    "leading_zero": millis(3) + line(3, "01") + millis(3),
    "bad_escape": clean(3) + line(3).replace("open", "op\\qen") + clean(3),
    "broken": clean(3) + '{"timestamp": "2024\n' + clean(3),
    "form_feed": clean(3) + "\x0c" + line(3) + clean(3),
    "nbsp_line": clean(3) + "\xa0\n" + clean(3),
    "all_empty_objects": "{}\n" * 4 + clean(4),
    "no_used_key": '{"x":1}\n' * 4 + clean(4),
    "null_target_everywhere": "".join(line(i, targetApp="null") for i in range(8)),
    "null_email_everywhere": "".join(
        line(i).replace('"user' + str(i % 7) + '@example.com"', "null") for i in range(8)
    ),
    "escaped_key": "".join(line(i).replace('"eventName"', '"event\\u004eame"') for i in range(6)),
    "escaped_null_target": "".join(line(i, **{"target\\u0041pp": "null"}) for i in range(6)),
    "long_line": clean(3) + line(3, x='"' + "y" * (1 << 21) + '"') + clean(3),
    "only_blank": "\n\n  \n",
    "empty": "",
}
CHUNKSIZES = (1, 3, 5, 100)


def frames(path: Path, chunksize: int, usecols=USECOLS):
    """Every chunk the reader gives, or the error's message."""
    try:
        reader = open_reader(path, chunksize)
        return [pd.DataFrame(columns=reader.columns()), *reader.numbered_chunks(usecols, TEXT)]
    except ConfigurationError as exc:
        return str(exc)


def status(path: Path, chunksize: int, tmp_path: Path, tag: str):
    """validate_file's status file and counts, or the error's message."""
    out = tmp_path / f"status-{tag}-{chunksize}.csv"
    try:
        report = pp.validate_file(path, status_out=out, chunksize=chunksize, now=NOW)
    except ConfigurationError as exc:
        return str(exc)
    return report.counts.to_dict(), pd.read_csv(out, keep_default_na=False)


def same(new, old) -> None:
    assert type(new) is type(old)
    if isinstance(old, str):
        assert new == old
    elif isinstance(old, tuple):
        assert new[0] == old[0]
        pd.testing.assert_frame_equal(new[1], old[1])
    else:
        assert len(new) == len(old)
        for got, want in zip(new, old, strict=True):
            pd.testing.assert_frame_equal(got, want)


@pytest.fixture
def served(monkeypatch):
    """Chunks pyarrow read during the test (a list of row counts)."""
    calls: list[int] = []
    frame = ArrowJson.frame

    def spy(self, lines):
        result = frame(self, lines)
        if result is not None:
            calls.append(len(result))
        return result

    monkeypatch.setattr(ArrowJson, "frame", spy)
    return calls


def old_path(monkeypatch) -> None:
    monkeypatch.setattr(ArrowJson, "frame", lambda self, lines: None)
    monkeypatch.setattr(_input, "arrow_columns", lambda lines: None)


@pytest.mark.parametrize("name", sorted({**CLEAN, **HOSTILE}))
def test_chunks_are_the_old_paths(tmp_path, monkeypatch, name):
    path = tmp_path / "events.jsonl"
    path.write_bytes({**CLEAN, **HOSTILE}[name].encode("utf-8", "surrogatepass"))
    new = {size: frames(path, size) for size in CHUNKSIZES}
    old_path(monkeypatch)
    for size in CHUNKSIZES:
        same(new[size], frames(path, size))


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_pyarrow_serves_the_clean_files(tmp_path, served, name):
    path = tmp_path / "events.jsonl"
    path.write_text(CLEAN[name], encoding="utf-8")
    chunks = frames(path, 100)
    assert not isinstance(chunks, str)
    assert served == [len(chunk) for chunk in chunks[1:]]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_pyarrow_leaves_the_hostile_chunk(tmp_path, served, name):
    """The chunk holding the odd line goes to the old path (pyarrow would misread it, or it
    is the old path's to say what is wrong); only the files read alike are served."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(HOSTILE[name].encode("utf-8", "surrogatepass"))
    frames(path, 1000)
    # Read alike by pyarrow: blank lines, CRLF, rows of {} among others, a chunk of each type.
    alike = {"blank_lines", "crlf", "all_empty_objects", "no_used_key", "big_ints_missing"}
    assert bool(served) == (name in alike)


@pytest.mark.parametrize(
    "name", ["iso", "millis", "millis_null", "escapes", "nulls", "duplicates", "stale_and_future"]
)
@pytest.mark.parametrize("chunksize", [1, 4, 100])
def test_validate_file_status_is_the_old_paths(tmp_path, monkeypatch, served, name, chunksize):
    path = tmp_path / "events.jsonl"
    path.write_text("\n" + CLEAN[name] + "  \n\n" + CLEAN[name], encoding="utf-8")
    new = status(path, chunksize, tmp_path, "new")
    assert served
    old_path(monkeypatch)
    same(new, status(path, chunksize, tmp_path, "old"))


@pytest.mark.parametrize(
    "name",
    [
        "null_line",
        "array_line",
        "bom",
        "two_objects_one_line",
        "inf_unused",
        "number_in_email",
        "big_int_timestamp",
        "float_timestamp",
    ],
)
def test_validate_file_hostile_is_the_old_paths(tmp_path, monkeypatch, name):
    path = tmp_path / "events.jsonl"
    path.write_text(clean(7) + HOSTILE[name], encoding="utf-8")
    new = status(path, 5, tmp_path, "new")
    old_path(monkeypatch)
    same(new, status(path, 5, tmp_path, "old"))


def test_invalid_utf8_message_and_row_are_the_old_paths(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    path.write_bytes((clean(20) + "{" + AT + ',"email":"').encode() + b'\xe9@x.com","eventName":"x"}\n')
    new = status(path, 3, tmp_path, "new")
    assert "not UTF-8" in new
    old_path(monkeypatch)
    assert status(path, 3, tmp_path, "old") == new


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zip"])
def test_compressed_files_are_served_alike(tmp_path, monkeypatch, served, kind):
    data = (millis(9) + HOSTILE["blank_lines"]).encode()
    path = tmp_path / f"events.jsonl.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("events.jsonl", data)
    else:
        path.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](data))
    new = status(path, 4, tmp_path, "new")
    assert served
    old_path(monkeypatch)
    same(new, status(path, 4, tmp_path, "old"))


def test_read_without_usecols_stays_pandas(tmp_path, served):
    """Reading the whole file (no usecols) keeps pandas' reader: every key, its own dtype."""
    path = tmp_path / "events.jsonl"
    path.write_text(clean(4), encoding="utf-8")
    assert len(pp.read_events(path)) == 4 if hasattr(pp, "read_events") else True
    assert served == []


@pytest.mark.parametrize(
    "text",
    [
        '{"b":1,"a":"x"}\n{"c":null}\n' * 3 + '{"a":"y","d":[1],"b":2}\n' * 50_000 + '{"z":"last"}\n',
        '{"1":1,"2":2}\n{"3":3}\n',  # numbers: pandas makes them ints (the old path decides)
        '{"2024-01-01":1}\n',
        '{"a":1,"a":2}\n',
        "{}\n" * 3 + '{"a":1}\n',
    ],
)
def test_columns_are_pandas(text, monkeypatch):
    """The first chunk's keys, by pyarrow, in pandas' order and spelling (or left to pandas)."""
    import io

    lines = io.StringIO(text).readlines()
    names = arrow_columns(lines)
    assert names is not None or not text.startswith('{"b"')  # the order case is pyarrow's
    if names is not None:
        frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        assert names == [str(name) for name in frame.columns]


def test_columns_of_a_clean_file_come_from_pyarrow(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    path.write_text(CLEAN["target_some"], encoding="utf-8")
    monkeypatch.setattr(_input, "json_chunks", None)  # the old path would fail
    assert open_reader(path, 100).columns() == ["timestamp", "email", "eventName", "targetApp"]
