"""The journal: which events the API accepted for one app, kept in a SQLite file so a re-run
(after a crash, a Ctrl-C, a lost laptop lid) sends only what is still missing.

One row a (timestamp, email, eventName) triple, the event's identity (the API de-duplicates
events by it), under a primary key: recording a triple twice stores it once. The file carries
its own identity twice over, SQLite's header ``application_id`` and a ``meta`` table (format,
version, app id), so a foreign or corrupted file, or a journal of another app, is refused with
a clear error instead of being trusted or overwritten.

Durability, chosen for ``kill -9`` and power loss alike:

- WAL mode, one transaction an acknowledged batch: a commit is one append to the ``-wal`` file,
  and a reader never blocks the writer;
- ``synchronous=FULL``: each commit is fsynced before ``record`` returns. ``NORMAL`` already
  survives ``kill -9`` (the data sits in the OS page cache), but may lose the last commits on
  an OS crash or power loss; FULL keeps those too, at one fsync a batch of up to 1000 events,
  which is small beside the HTTP round trip that produced the batch (and the API's rate limit);
- a crash mid-transaction leaves the transaction uncommitted: the batch is simply sent again on
  resume, which the API's de-duplication by triple makes harmless.

The journal is the file plus, while open, its ``-wal`` and ``-shm`` siblings: move or delete them
together, and copy a journal only when no publish is using it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..errors import JournalError

__all__ = ["Journal"]

#: SQLite's header field made for naming a file format ("PPJ1"); a foreign database lacks it.
APPLICATION_ID = 0x50504A31
FORMAT = "productiv_pandas.journal"
VERSION = 1

_START_OVER = "use another path, or delete the file if you mean to start over"

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # WITHOUT ROWID: the key is the table, so a triple is stored once, in one b-tree.
    "CREATE TABLE sent (timestamp INTEGER NOT NULL, email TEXT NOT NULL, eventName TEXT NOT NULL,"
    " PRIMARY KEY (timestamp, email, eventName)) WITHOUT ROWID",
)


class Journal:
    """The event triples the API accepted for app ``app_id``, in the SQLite file at ``path``.

    A missing (or empty) file becomes a new journal; an existing one must be a journal of the
    same app. Safe to share between threads (one connection behind a lock); several
    processes may open the same file (SQLite locks it), though one publish a journal is the
    intended use.

    Parameters
    ----------
    path : str or PathLike
        The journal file.
    app_id : str
        The Productiv app whose accepted events it records.

    Raises
    ------
    JournalError
        The file is not a journal (not SQLite, or SQLite without our marker), is corrupted,
        was written by a newer version, belongs to another app, or cannot be opened.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "backfill.journal")
    >>> with Journal(path, "acme") as journal:
    ...     journal.record([1566340678676], ["a@b.com"], ["opened_file"])
    ...     journal.sent_mask([1566340678676, 1566340678677], ["a@b.com"] * 2, ["opened_file"] * 2)
    array([ True, False])
    """

    def __init__(self, path: str | os.PathLike[str], app_id: str) -> None:
        if not isinstance(app_id, str) or not app_id.strip():
            raise JournalError(f"a journal needs a non-empty app id, got {app_id!r}")
        self.path = os.fspath(path)
        self.app_id = app_id
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            # SQLite creates a new database 0644 whatever the umask allows (its -wal and -shm
            # files copy the database's mode): created here first, it gets 0666 less the umask,
            # like any file the user writes. An empty file is a new database to SQLite. When this
            # fails (no such folder, no right to write), SQLite fails too and says why below.
            with contextlib.suppress(OSError):
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666))
            # isolation_level=None: transactions are begun and committed here, explicitly.
            self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._adopt()
        except sqlite3.Error as exc:
            self.close()
            raise self._error(exc, opening=True) from exc
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], app_id: str) -> Journal:
        """Open (or create) the journal at ``path`` for ``app_id``; the same as ``Journal(path, app_id)``."""
        return cls(path, app_id)

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Journal {self.path!r} app_id={self.app_id!r} {state}>"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (the last connection to close also folds the ``-wal`` file back in)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- opening -------------------------------------------------------------------------------

    def _adopt(self) -> None:
        """Check that the file is our journal for this app, or create one in an empty file."""
        conn = self._conn
        assert conn is not None
        # The first read: SQLite reports a file that is not a database here.
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        if not tables:
            marker = conn.execute("PRAGMA application_id").fetchone()[0]
            if marker not in (0, APPLICATION_ID):
                raise JournalError(
                    f"{self.path} is an empty SQLite database of another application "
                    f"(application_id {marker:#x}), not a productiv_pandas journal; {_START_OVER}"
                )
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file header
            self._configure()
            self._create()
            return
        # A database that is not ours is read, never written: no pragma that changes it yet.
        marker = conn.execute("PRAGMA application_id").fetchone()[0]
        if marker != APPLICATION_ID or "meta" not in tables:
            raise JournalError(
                f"{self.path} is a SQLite database but not a productiv_pandas journal "
                f"(tables: {sorted(tables)}); {_START_OVER}"
            )
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self._check_meta(meta)
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise JournalError(
                f"the journal {self.path} is corrupted ({'; '.join(problems[:3])}); "
                f"the events it recorded cannot be trusted: {_START_OVER}"
            )
        conn.execute("PRAGMA journal_mode = WAL")
        self._configure()

    def _configure(self) -> None:
        assert self._conn is not None
        self._conn.execute("PRAGMA synchronous = FULL")  # why: see the module docstring
        self._conn.execute("PRAGMA temp_store = MEMORY")  # sent_mask's probe table: 30% faster

    def _create(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")  # take the write lock, then look again: another
        try:  # process may have created the journal in between
            if conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                conn.execute("ROLLBACK")
                self._adopt()
                return
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("format", FORMAT), ("version", str(VERSION)), ("app_id", self.app_id)],
            )
            conn.execute("COMMIT")  # all of it or nothing: a crash here leaves an empty file
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _check_meta(self, meta: dict[str, str]) -> None:
        if meta.get("format") != FORMAT:
            raise JournalError(
                f"{self.path} is a SQLite database but not a productiv_pandas journal "
                f"(format {meta.get('format')!r}); {_START_OVER}"
            )
        version = meta.get("version", "")
        if not version.isdigit() or int(version) > VERSION:
            raise JournalError(
                f"the journal {self.path} has format version {version!r}, newer than this "
                f"productiv_pandas reads ({VERSION}): upgrade productiv_pandas, or {_START_OVER}"
            )
        if meta.get("app_id") != self.app_id:
            raise JournalError(
                f"the journal {self.path} records events of app {meta.get('app_id')!r}, not "
                f"{self.app_id!r}: a journal serves one app; {_START_OVER}"
            )

    def _error(self, exc: sqlite3.Error, *, opening: bool = False) -> JournalError:
        """Our error for a SQLite one, saying what it means for the analyst."""
        text = str(exc)
        if "locked" in text or "busy" in text:
            return JournalError(
                f"the journal {self.path} is locked by another process ({text}); wait for it to "
                "finish, or use another path"
            )
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
            return JournalError(
                f"{self.path} is not a productiv_pandas journal, or it is corrupted ({text}); {_START_OVER}"
            )
        doing = "open" if opening else "use"
        return JournalError(
            f"cannot {doing} the journal {self.path}: {text}; check the path and its permissions"
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal {self.path} is closed; open it again with Journal(path, app_id)")
        return self._conn

    # -- reading and writing -------------------------------------------------------------------

    def count(self) -> int:
        """The number of triples recorded."""
        with self._lock:
            try:
                return int(self._connection().execute("SELECT count(*) FROM sent").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def record(self, timestamps: Iterable[Any], emails: Iterable[Any], event_names: Iterable[Any]) -> None:
        """Record that the API accepted these triples: one transaction, durable when this returns.

        Idempotent: a triple already recorded is left as it is.
        """
        times, mails, names = _triples(timestamps, emails, event_names)
        rows = zip(times.tolist(), mails.tolist(), names.tolist(), strict=True)
        with self._lock, self._transaction("BEGIN IMMEDIATE") as conn:
            conn.executemany("INSERT OR IGNORE INTO sent VALUES (?, ?, ?)", rows)

    def sent_mask(
        self, timestamps: Iterable[Any], emails: Iterable[Any], event_names: Iterable[Any]
    ) -> np.ndarray:
        """A boolean array: True where the triple at that position is recorded.

        Rows outside the journal's span of timestamps (read off the primary key) are not looked
        up at all, so a first run or a run over new data costs next to nothing. The rest go into
        a temporary table joined with the primary key in one query: the cost grows with the rows
        asked about (about a second per million), not with the size of the journal, which
        loading the journal's keys into memory would.
        """
        times, mails, names = _triples(timestamps, emails, event_names)
        mask = np.zeros(len(times), dtype=bool)
        with self._lock, self._transaction("BEGIN") as conn:  # one snapshot for the span and the join
            low, high = conn.execute("SELECT min(timestamp), max(timestamp) FROM sent").fetchone()
            if low is not None:
                where = np.flatnonzero((times >= low) & (times <= high))
                if len(where):
                    found = self._lookup(conn, times[where], mails[where], names[where])
                    mask[where[found]] = True
        return mask

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """One transaction on the open connection; SQLite errors become JournalError, and no
        exit (a Ctrl-C included) leaves a transaction open."""
        conn = self._connection()
        try:
            conn.execute(begin)
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._error(exc) from exc
        except BaseException:
            self._rollback()
            raise

    @staticmethod
    def _lookup(
        conn: sqlite3.Connection, times: np.ndarray, mails: np.ndarray, names: np.ndarray
    ) -> np.ndarray:
        """Positions (into the arrays given) of the triples the journal holds."""
        # A fresh table numbers its rows 1, 2, 3, ... in insertion order: the rowid is the position.
        conn.execute("DROP TABLE IF EXISTS temp.probe")
        conn.execute("CREATE TEMP TABLE probe (timestamp INTEGER, email TEXT, eventName TEXT)")
        conn.executemany(
            "INSERT INTO probe VALUES (?, ?, ?)",
            zip(times.tolist(), mails.tolist(), names.tolist(), strict=True),
        )
        # CROSS JOIN keeps the probe as the outer loop: one primary-key lookup a row.
        found = conn.execute(
            "SELECT probe.rowid - 1 FROM probe CROSS JOIN sent ON sent.timestamp = probe.timestamp"
            " AND sent.email = probe.email AND sent.eventName = probe.eventName"
        ).fetchall()
        conn.execute("DROP TABLE temp.probe")
        return np.fromiter((row[0] for row in found), dtype=np.int64, count=len(found))

    def _rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            # The original error says more than a failed rollback would; SQLite rolls back
            # on its own whenever it must.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")


def _triples(
    timestamps: Iterable[Any], emails: Iterable[Any], event_names: Iterable[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked arrays: int64 milliseconds and two object arrays of str (a key holds no missing values)."""
    times = np.asarray(timestamps)
    if times.dtype.kind not in "iu":
        try:
            whole = times.astype(np.int64)
            exact = times.dtype.kind in "fO" and bool(np.array_equal(whole, times))
        except (TypeError, ValueError, OverflowError):
            exact = False
        if not exact:
            raise JournalError(
                "journal timestamps must be whole milliseconds (integers) without missing values; "
                f"got dtype {times.dtype}"
            )
        times = whole
    texts = []
    for name, values in (("email", emails), ("eventName", event_names)):
        array = np.asarray(values, dtype=object)
        if array.shape != times.shape:
            raise JournalError(
                f"journal triples need as many {name}s as timestamps: got {len(array)} and {len(times)}"
            )
        bad = next((i for i, value in enumerate(array.tolist()) if not isinstance(value, str)), None)
        if bad is not None:
            raise JournalError(f"journal {name}s must be strings; position {bad} holds {array[bad]!r}")
        texts.append(array)
    return times.astype(np.int64, copy=False).reshape(-1), texts[0], texts[1]
