"""The journal on its own: a SQLite file that remembers, takes concurrent writers, and refuses a
file that is not its own (random bytes, truncated, damaged, foreign, another app's).

How publish uses it is in test_ledger.py; the kill -9 test is in test_crash.py.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.journal._store import Journal

APP = "acme"
T0 = 1_700_000_000_000


def keys(n: int, start: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    positions = np.arange(start, start + n)
    return (
        T0 + positions,
        [f"user{i % 13}@example.com" for i in positions],
        ["opened_file" if i % 2 else "shared_doc" for i in positions],
    )


def test_record_and_look_up(tmp_path):
    with Journal(tmp_path / "j", APP) as journal:
        assert journal.count() == 0
        assert journal.sent_mask(*keys(5)).tolist() == [False] * 5
        journal.record(*keys(3))
        journal.record(*keys(3, start=1))  # two triples again: stored once
        assert journal.count() == 4
        times, emails, names = keys(6)
        assert journal.sent_mask(times, emails, names).tolist() == [True] * 4 + [False] * 2
        # The whole triple is the key: the same time and email with another name is not sent.
        assert journal.sent_mask(times[:1], emails[:1], ["other"]).tolist() == [False]
        assert journal.sent_mask([], [], []).tolist() == []
        # Series in, as publish and the file publishers have them (Int64, pyarrow strings).
        series = (
            pd.Series(times, dtype="Int64"),
            pd.Series(emails, dtype="str"),
            pd.Series(names, dtype="str"),
        )
        assert journal.sent_mask(*series).tolist() == [True] * 4 + [False] * 2
        journal.record([], [], [])
        assert journal.count() == 4


def test_reopened_journal_remembers(tmp_path):
    path = tmp_path / "backfill.journal"
    with Journal.open(path, APP) as journal:
        journal.record(*keys(1000))
    assert not (tmp_path / "backfill.journal-wal").exists()  # closing folds the WAL back in
    with Journal(str(path), APP) as journal:
        assert journal.count() == 1000
        assert journal.sent_mask(*keys(1010)).sum() == 1000
        assert repr(journal) == f"<Journal {str(path)!r} app_id='acme' open>"
    assert "closed" in repr(journal)
    with pytest.raises(pp.JournalError, match="is closed"):
        journal.count()


def test_concurrent_writers_from_eight_threads(tmp_path):
    # Thread k records triples k*500 .. k*500+1999 (overlapping its neighbours) in shuffled
    # batches of 100, all threads released at once: the union is 0 .. 5499, stored once each.
    journal = Journal(tmp_path / "j", APP)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            batches = list(range(k * 500, k * 500 + 2000, 100))
            random.Random(k).shuffle(batches)
            start.wait()
            for first in batches:
                journal.record(*keys(100, start=first))
                journal.sent_mask(*keys(100, start=first))  # readers interleave with writers
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert journal.count() == 5500
    assert journal.sent_mask(*keys(5600)).tolist() == [True] * 5500 + [False] * 100
    journal.close()


def _refused(path, app_id=APP) -> str:
    before = path.read_bytes()
    with pytest.raises(pp.JournalError) as caught:
        Journal(path, app_id)
    assert path.read_bytes() == before  # never overwritten
    assert not os.path.exists(f"{path}-wal")
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_file_of_random_bytes_is_refused(tmp_path):
    path = tmp_path / "j"
    path.write_bytes(random.Random(1).randbytes(10_000))
    message = _refused(path)
    assert "not a productiv_pandas journal, or it is corrupted" in message
    assert "delete the file if you mean to start over" in message


def test_a_truncated_journal_is_refused(tmp_path):
    with Journal(tmp_path / "real", APP) as journal:
        journal.record(*keys(20_000))
    data = (tmp_path / "real").read_bytes()
    assert len(data) > 100_000
    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[: len(data) // 2])
    assert "corrupted" in _refused(truncated)


def test_a_damaged_page_is_refused(tmp_path):
    with Journal(tmp_path / "real", APP) as journal:
        journal.record(*keys(20_000))
    data = bytearray((tmp_path / "real").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = random.Random(2).randbytes(64)
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(data))
    assert "corrupted" in _refused(damaged)


def test_a_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts (email TEXT)")
        db.execute("INSERT INTO contacts VALUES ('a@b.com')")
    db.close()
    message = _refused(path)
    assert "a SQLite database but not a productiv_pandas journal" in message
    assert "contacts" in message
    with sqlite3.connect(path) as db:  # still the user's database, untouched
        assert db.execute("SELECT email FROM contacts").fetchall() == [("a@b.com",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    db.close()


def test_a_journal_of_another_app_is_refused(tmp_path):
    path = tmp_path / "j"
    with Journal(path, "acme-docs") as journal:
        journal.record(*keys(3))
    message = _refused(path, "acme-chat")
    assert "'acme-docs'" in message
    assert "'acme-chat'" in message
    with Journal(path, "acme-docs") as journal:  # and left intact for its own app
        assert journal.count() == 3


def test_an_empty_file_becomes_a_journal(tmp_path):
    # What a crash during creation leaves behind (the file exists, nothing was committed).
    path = tmp_path / "j"
    path.touch()
    with Journal(path, APP) as journal:
        journal.record(*keys(2))
    with Journal(path, APP) as journal:
        assert journal.count() == 2


def test_bad_keys_and_paths_are_refused(tmp_path):
    with Journal(tmp_path / "j", APP) as journal:
        times, emails, names = keys(3)
        with pytest.raises(pp.JournalError, match="position 1 holds None"):
            journal.record(times, [emails[0], None, emails[2]], names)
        with pytest.raises(pp.JournalError, match="as many eventNames as timestamps"):
            journal.record(times, emails, names[:2])
        with pytest.raises(pp.JournalError, match="whole milliseconds"):
            journal.sent_mask([1.5, 2.0, 3.0], emails, names)
        assert journal.count() == 0
    with pytest.raises(pp.JournalError, match=r"cannot open the journal .* check the path"):
        Journal(tmp_path / "no" / "such" / "dir" / "j", APP)
    with pytest.raises(pp.JournalError, match="non-empty app id"):
        Journal(tmp_path / "k", " ")
