"""The sync state file (journal + watermark + outbox + files) and the one-run-at-a-time lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sync._lock import state_lock
from productiv_pandas.sync._state import FileMark, SyncState


def _status(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [r[0] for r in rows],
            "email": [r[1] for r in rows],
            "eventName": ["open"] * len(rows),
            "targetApp": [None] * len(rows),
            "status": [r[2] for r in rows],
            "problem": [r[3] for r in rows],
        }
    )


def test_a_new_state_is_a_journal_with_the_sync_tables(tmp_path):
    path = tmp_path / "acme.sync"
    with SyncState(path, "acme") as state:
        assert state.watermark() is None
        assert state.outbox_size() == 0
        assert state.file_marks() == {}
    listed = sqlite3.connect(path).execute("SELECT name FROM sqlite_schema WHERE type='table'")
    tables = {r[0] for r in listed}
    assert tables == {"meta", "sent", "sync_meta", "outbox", "files"}
    with pytest.raises(pp.JournalError, match="records events of app 'acme', not 'other'"):
        SyncState(path, "other")


def test_outbox_watermark_files_and_pruning(tmp_path):
    with SyncState(tmp_path / "s", "acme") as state:
        status = _status([(1000, "a@x.io", "failed", "http.503"), (2000, "b@x.io", "sent", None),
                          (3000, "c@x.io", "failed", "timeout")])  # fmt: skip
        assert state.put_failed(status, "2026-12-01T00:00:00+00:00") == 2
        assert state.put_failed(status.iloc[:1], "2026-12-01T00:30:00+00:00") == 1  # a second attempt
        rows = state._conn.execute("SELECT timestamp, attempts, problem FROM outbox ORDER BY 1").fetchall()
        assert rows == [(1000, 2, "http.503"), (3000, 1, "timeout")]
        assert state.outbox()["email"].tolist() == ["a@x.io", "c@x.io"]
        state.journal.record([3000, 500], ["c@x.io", "old@x.io"], ["open", "open"])
        state.finish(pd.Timestamp("2026-12-01T10:00Z"), {"/d/a.csv": FileMark(10, 20)}, prune_before_ms=1000)
        assert state.outbox()["email"].tolist() == ["a@x.io"]  # the journal holds c: delivered
        assert state.journal.count() == 1  # 500 < 1000 pruned
        assert state.watermark() == pd.Timestamp("2026-12-01T10:00Z")
        assert state.file_marks() == {"/d/a.csv": FileMark(10, 20)}
        assert state.give_up(1001) == 1
        assert state.outbox_size() == 0
    with SyncState(tmp_path / "s", "acme") as state:  # durable: read back
        assert state.watermark() == pd.Timestamp("2026-12-01T10:00Z")


def test_settle_outbox_keeps_only_the_failed(tmp_path):
    with SyncState(tmp_path / "s", "acme") as state:
        failed = [(1, "a@x.io", "failed", "http.503"), (2, "b@x.io", "failed", "http.503")]
        state.put_failed(_status(failed), "t")
        state.settle_outbox(_status([(1, "a@x.io", "sent", None), (2, "b@x.io", "failed", "http.503")]))
        assert state.outbox()["timestamp"].tolist() == [2]


def test_a_newer_state_version_is_refused(tmp_path):
    path = tmp_path / "s"
    SyncState(path, "acme").close()
    con = sqlite3.connect(path)
    con.execute("UPDATE sync_meta SET value = '2' WHERE key = 'version'")
    con.commit()
    con.close()
    newer = r"has version '2', newer than this productiv_pandas reads \(1\)"
    with pytest.raises(pp.JournalError, match=newer):
        SyncState(path, "acme")


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from productiv_pandas.sync._lock import state_lock
    with state_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
    """
)


@pytest.mark.slow  # a subprocess
def test_a_second_run_is_refused_at_once_and_the_lock_dies_with_its_process(tmp_path):
    path = str(tmp_path / "acme.sync")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-c", _HOLDER, path]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(pp.SyncLocked) as caught, state_lock(path):
            pass
        assert str(caught.value) == (
            f"another sync run holds the state {path!r}: this run read and sent nothing; "
            "try again when that run has finished"
        )
        assert isinstance(caught.value, pp.ProductivError)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with state_lock(path):  # the kernel released it with the killed process: no file left to delete
        pass
    assert sorted(os.listdir(tmp_path)) == ["acme.sync"]


def test_the_lock_is_not_reentrant_within_a_process(tmp_path):
    # Two opens of the file are two locks: a second run in the same process is refused too.
    with state_lock(tmp_path / "s"), pytest.raises(pp.SyncLocked), state_lock(tmp_path / "s"):
        pass
