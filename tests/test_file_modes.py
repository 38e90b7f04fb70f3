"""Files the project writes for its users get ordinary permissions: 0666 less the umask (issue 11).

``mkstemp`` always creates 0600 and SQLite creates a database 0644, whatever the umask says;
the CSV of the sample once came out 0600 that way. Each writer is run under umask 022, 002 and
077 (set for the test and restored after) and the mode of what it wrote is compared with what
``open(path, "w")`` would give: 0644, 0664 and 0600.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.cli._demo import CHARTS, write_charts
from productiv_pandas.files import _run

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "make_sample.py"
NOW = pd.Timestamp("2025-06-10T15:00:00Z")
UMASKS = [0o022, 0o002, 0o077]


@pytest.fixture(params=UMASKS, ids=[f"umask{u:03o}" for u in UMASKS])
def umask(request) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _events(path: Path) -> Path:
    pd.DataFrame(
        {
            "when": ["2025-06-10T14:00:00Z", "2025-06-10T14:01:00Z", "bad"],
            "user": ["a@example.com", "b@example.com", "c@example.com"],
            "action": ["opened_file"] * 3,
        }
    ).to_csv(path, index=False)
    return path


def test_the_sample_csv(tmp_path: Path, umask: int):
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    path = script.write_sample(tmp_path / "usage_export.csv", n=50, now=NOW)

    assert mode(path) == 0o666 & ~umask


def test_the_demo_charts(tmp_path: Path, umask: int):
    status = pp.validate(pp.sample_events(200, now=NOW), **pp.SAMPLE_OPTIONS, now=NOW, on_stale="ignore")

    written = write_charts(status, tmp_path / "charts")

    assert [path.name for path in written] == list(CHARTS)
    assert {path.name: mode(path) for path in written} == dict.fromkeys(CHARTS, 0o666 & ~umask)


@pytest.mark.parametrize("name", ["status.csv", "status.csv.gz", "status.parquet"])
def test_the_status_file(tmp_path: Path, umask: int, name: str):
    events = _events(tmp_path / "events.csv")
    report = pp.validate_file(
        events, columns={"when": "timestamp", "user": "email", "action": "eventName"},
        status_out=tmp_path / name, now=NOW,
    )  # fmt: skip
    assert report.counts["valid"] == 2
    assert mode(tmp_path / name) == 0o666 & ~umask


def test_the_fallback_status_file(tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    status = pd.DataFrame({"status": ["valid", "invalid"]}, index=pd.RangeIndex(10, 12))

    written = _run._write_fallback(status, Path("/nowhere/status.csv"))

    assert written is not None
    assert written.parent == tmp_path
    assert written.name.startswith("status.csv.rows-10-11.")
    assert written.suffix == ".csv"
    assert pd.read_csv(written, index_col=0)["status"].tolist() == ["valid", "invalid"]
    assert mode(written) == 0o666 & ~umask


def test_the_fallback_never_opens_a_file_already_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Two chunks with the same rows (a re-run) each get a file of their own.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    status = pd.DataFrame({"status": ["valid"]}, index=pd.RangeIndex(0, 1))
    first = _run._write_fallback(status, Path("status.csv"))
    second = _run._write_fallback(status, Path("status.csv"))
    assert first is not None
    assert second is not None
    assert first != second
    assert sorted(tmp_path.iterdir()) == sorted([first, second])


def test_the_journal(tmp_path: Path, umask: int):
    path = tmp_path / "sent.journal"
    with pp.Journal(path, "acme") as journal:
        journal.record([1749564000000], ["a@example.com"], ["opened_file"])
        # SQLite gives its -wal and -shm files the database's mode.
        side = {p.name: mode(p) for p in tmp_path.iterdir() if p != path}
        assert set(side.values()) <= {0o666 & ~umask}
    assert mode(path) == 0o666 & ~umask


def test_an_existing_journal_keeps_its_mode(tmp_path: Path):
    path = tmp_path / "sent.journal"
    with pp.Journal(path, "acme") as journal:
        journal.record([1749564000000], ["a@example.com"], ["opened_file"])
    path.chmod(0o640)
    with pp.Journal(path, "acme") as journal:
        assert journal.count() == 1
    assert mode(path) == 0o640
