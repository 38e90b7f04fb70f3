"""One run at a time on a state file: an OS-level lock that dies with its process.

``flock`` on the state file itself (``LOCK_EX | LOCK_NB``): the kernel drops it when the process
ends however it ends (``kill -9``, a power cut ends everything anyway), so no lock file is left
behind for a human to delete, and the run after a crash proceeds at once. SQLite locks the same
file with POSIX ``fcntl`` locks, which on Linux and macOS are independent of ``flock``: neither
disturbs the other. On Windows, ``msvcrt.locking`` on a byte far past the end of the file does
the same. Not for network file systems, where ``flock`` may be local to one machine: keep the
state on a local disk.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from ..errors import SyncLocked

__all__ = ["SyncLocked", "state_lock"]

#: The byte msvcrt locks on Windows: far past any real state file's end, so reads are unaffected.
_WINDOWS_OFFSET = 2**31 - 2


@contextlib.contextmanager
def state_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive lock of the state file at ``path`` (created if missing), or raise
    :class:`SyncLocked` at once if another process holds it."""
    name = os.fspath(path)
    # 0666 less the umask, as the journal creates its file: the state is the user's file.
    handle = os.open(name, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(handle, name)
        try:
            yield
        finally:
            _release(handle)
    finally:
        os.close(handle)  # closing the descriptor releases the lock too


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _acquire(handle: int, name: str) -> None:
        os.lseek(handle, _WINDOWS_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            raise SyncLocked(name) from None

    def _release(handle: int) -> None:
        os.lseek(handle, _WINDOWS_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(handle: int, name: str) -> None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncLocked(name) from None

    def _release(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
