"""The state of scheduled runs: one SQLite file holding the journal and what sync adds to it.

The file is a :class:`~productiv_pandas.Journal` (its ``meta`` and ``sent`` tables, its marker,
its app id check, WAL and ``synchronous=FULL``) with three more tables:

- ``sync_meta``: the state's own format version, and the watermark (ISO 8601, UTC): the latest
  cursor value of the rows a finished run read;
- ``outbox``: the rows that failed to be delivered, as they went on the wire (the event triple,
  its primary key, and targetApp), with when they first failed, how many runs tried them, and
  the last problem; retried first by the next run;
- ``files``: the size and modification time of each file of a folder source a finished run read,
  so the next run reads only new files and files that changed.

One file, so that copying or deleting the state moves everything together. A finished run
commits its watermark, the files it read, the outbox clean-up and the journal's pruning in one
transaction: a run killed before that leaves the watermark where it was, and the next run reads
the same rows again (the journal skipping what was delivered).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import JournalError
from ..journal._store import Journal

__all__ = ["STATE_VERSION", "FileMark", "SyncState"]

#: The version of the sync tables; a newer one is refused, as the journal refuses a newer journal.
STATE_VERSION = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (timestamp INTEGER NOT NULL, email TEXT NOT NULL,"
    " eventName TEXT NOT NULL, targetApp TEXT, first_failed TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, problem TEXT,"
    " PRIMARY KEY (timestamp, email, eventName)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL)",
)

_OUTBOX_COLUMNS = ["timestamp", "email", "eventName", "targetApp"]


@dataclass(frozen=True)
class FileMark:
    """What a file of a folder source was when a run read it."""

    size: int
    mtime_ns: int


class SyncState:
    """The state file at ``path`` for app ``app_id``: its journal (:attr:`journal`, handed to
    the publish so the overlap never resends) and the sync tables, on a second connection.

    Raises JournalError when the file is not a state or journal of this app, or its sync
    tables are of a newer version.
    """

    def __init__(self, path: str | os.PathLike[str], app_id: str) -> None:
        self.path = os.fspath(path)
        self.journal = Journal(self.path, app_id)
        try:
            self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._conn.execute("PRAGMA synchronous = FULL")  # per connection: as the journal's
            with self._transaction() as conn:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO sync_meta VALUES ('version', ?)", (str(STATE_VERSION),))
                version = conn.execute("SELECT value FROM sync_meta WHERE key = 'version'").fetchone()[0]
        except BaseException:
            self.close()
            raise
        if not str(version).isdigit() or int(version) > STATE_VERSION:
            self.close()
            raise JournalError(
                f"the sync state {self.path} has version {version!r}, newer than this "
                f"productiv_pandas reads ({STATE_VERSION}): upgrade productiv_pandas"
            )

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None  # type: ignore[assignment]
        self.journal.close()

    def __enter__(self) -> SyncState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise JournalError(f"cannot use the sync state {self.path}: {exc}") from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- the watermark -------------------------------------------------------------------------

    def watermark(self) -> pd.Timestamp | None:
        """The latest cursor value a finished run read (UTC), or None before the first run."""
        row = self._conn.execute("SELECT value FROM sync_meta WHERE key = 'watermark'").fetchone()
        return None if row is None else pd.Timestamp(row[0])

    # -- the outbox ----------------------------------------------------------------------------

    def outbox_size(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def outbox(self) -> pd.DataFrame:
        """The outbox's rows as a wire frame (timestamp in epoch ms), oldest event first."""
        rows = self._conn.execute(
            "SELECT timestamp, email, eventName, targetApp FROM outbox ORDER BY timestamp"
        ).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=_OUTBOX_COLUMNS, nrows=len(rows))
        frame["timestamp"] = frame["timestamp"].astype(np.int64)
        return frame.astype({name: object for name in _OUTBOX_COLUMNS[1:]})

    def give_up(self, before_ms: int) -> int:
        """Drop the outbox rows whose event time is before ``before_ms``: too old to matter."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM outbox WHERE timestamp < ?", (before_ms,)).rowcount

    def put_failed(self, status: pd.DataFrame, when: str) -> int:
        """Put a status frame's ``failed`` rows in the outbox (a row already there counts one more
        attempt, its problem updated); return how many. Durable when this returns."""
        failed = status[status["status"] == "failed"]
        if not len(failed):
            return 0
        target = failed["targetApp"].astype(object).where(failed["targetApp"].notna(), None)
        rows = zip(
            failed["timestamp"].astype(np.int64).tolist(),
            failed["email"].astype(object).tolist(),
            failed["eventName"].astype(object).tolist(),
            target.tolist(),
            failed["problem"].astype(object).where(failed["problem"].notna(), None).tolist(),
            strict=True,
        )
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE SET"
                " attempts = attempts + 1, problem = excluded.problem",
                [(t, e, n, a, when, p) for t, e, n, a, p in rows],
            )
        return len(failed)

    def settle_outbox(self, status: pd.DataFrame) -> None:
        """After a retry of the outbox: every row that is no longer ``failed`` leaves it."""
        done = status[status["status"] != "failed"]
        with self._transaction() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE timestamp = ? AND email = ? AND eventName = ?",
                zip(
                    done["timestamp"].astype(np.int64).tolist(),
                    done["email"].astype(object).tolist(),
                    done["eventName"].astype(object).tolist(),
                    strict=True,
                ),
            )

    # -- folder sources ------------------------------------------------------------------------

    def file_marks(self) -> dict[str, FileMark]:
        rows = self._conn.execute("SELECT path, size, mtime_ns FROM files").fetchall()
        return {path: FileMark(size, mtime) for path, size, mtime in rows}

    # -- the end of a run ----------------------------------------------------------------------

    def finish(
        self,
        watermark: pd.Timestamp | None,
        files: dict[str, FileMark],
        prune_before_ms: int | None,
    ) -> None:
        """Commit a finished run in one transaction: the watermark, the files read, the outbox
        rows the journal now holds (delivered by the main read after failing) removed, and the
        journal entries older than ``prune_before_ms`` (event time) pruned."""
        with self._transaction() as conn:
            if watermark is not None:
                conn.execute(
                    "INSERT INTO sync_meta VALUES ('watermark', ?)"
                    " ON CONFLICT DO UPDATE SET value = excluded.value",
                    (watermark.isoformat(),),
                )
            conn.executemany(
                "INSERT INTO files VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET"
                " size = excluded.size, mtime_ns = excluded.mtime_ns",
                [(path, mark.size, mark.mtime_ns) for path, mark in files.items()],
            )
            conn.execute(
                "DELETE FROM outbox WHERE EXISTS (SELECT 1 FROM sent WHERE sent.timestamp = outbox.timestamp"
                " AND sent.email = outbox.email AND sent.eventName = outbox.eventName)"
            )
            if prune_before_ms is not None:
                conn.execute("DELETE FROM sent WHERE timestamp < ?", (prune_before_ms,))
