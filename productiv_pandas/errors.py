"""The exceptions and warnings of productiv_pandas, in one place.

Hierarchy::

    ProductivError
    ├── ConfigurationError (also ValueError)   bad options, missing columns, bad credentials setup
    │   ├── JournalError                       the journal file is foreign, corrupted or of another app
    │   └── StatusFileError                    status_out could not be written mid-file (a full disk)
    ├── APIError                               the API answered with an error (status, code, message)
    │   └── AuthenticationError                no access token: the token endpoint refused or failed
    ├── PublishInterrupted                     Ctrl-C during publish; ``.status`` holds the rows so far
    └── SyncLocked                             another sync run holds the state file

    UserWarning
    ├── StaleEventWarning                      events older than 12 hours may not be aggregated
    └── NaiveTimestampWarning                  timestamps without a zone were read as UTC

Input errors subclass ``ValueError`` too, so callers can catch them either way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "JournalError",
    "NaiveTimestampWarning",
    "ProductivError",
    "PublishInterrupted",
    "StaleEventWarning",
    "StatusFileError",
    "SyncLocked",
    "user_stacklevel",
]


class ProductivError(Exception):
    """Root of every exception raised by productiv_pandas."""


class ConfigurationError(ProductivError, ValueError):
    """The call cannot start: an option, a column or a credential is wrong.

    Raised for structural problems only; bad values in rows become per-row reasons.
    """


class JournalError(ConfigurationError):
    """The publish journal cannot be used: the file is not a journal (not SQLite, or SQLite
    without productiv_pandas' marker), is corrupted, belongs to another app id, or cannot be
    opened or written. Never ignored: a journal that cannot be trusted would resend or skip
    events silently. The message says what to do (usually: another path, or delete the file
    to start over).
    """


class StatusFileError(ConfigurationError):
    """The status file (``status_out``) could not be written mid-file, e.g. the disk is full.

    Its message says which rows' status is where; nothing it claims to be in a file is not.

    Attributes
    ----------
    path : Path
        The status file.
    status : DataFrame
        The status of the chunk that could not be written (rows already processed, and for
        a publish possibly sent): the status that reached no file, unless ``fallback`` is set.
    rows_in_file : int or None
        How many rows the status file holds (rows 0 to ``rows_in_file - 1``), read back or cut
        back to whole chunks; None when it could not be finished and cannot be read.
    fallback : Path or None
        Where ``status`` was written instead (a CSV in the temp folder), when that worked.
    """

    def __init__(self, path: Any, cause: BaseException, status: Any, rows_in_file: int | None) -> None:
        self.path = path
        self.status = status
        self.rows_in_file = rows_in_file
        self.fallback: Any = None
        super().__init__(f"cannot write the status to {str(path)!r}: {cause}")


class APIError(ProductivError):
    """The Productiv API answered with an error.

    Parameters
    ----------
    status : int
        The HTTP status code.
    code : str
        The ``code`` field of the error body (the status again, as a string, in Productiv's API).
    message : str
        The ``message`` field of the error body, or a description when the body was not JSON.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"HTTP {status}: {message}")


class AuthenticationError(APIError):
    """No access token could be had: the token endpoint refused the credentials, failed, or was unreachable.

    ``status`` and ``code`` are None when no HTTP answer came back; ``timed_out`` then says
    whether the token endpoint did not answer in time (else the connection failed).
    ``retryable`` says whether trying again later may help (429, 5xx, network),
    ``retry_after`` what the server asked for. The message never holds the client secret or a
    token.
    """

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(status, code, message)  # type: ignore[arg-type]
        self.retryable = retryable
        self.retry_after = retry_after
        self.timed_out = timed_out
        if status is None:
            self.args = (message,)


class StaleEventWarning(UserWarning):
    """Some events are older than 12 hours: Productiv only guarantees to aggregate newer ones."""


class NaiveTimestampWarning(UserWarning):
    """Some timestamps had no timezone and were read as UTC because no ``tz`` was given."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """Return the ``stacklevel`` that makes a warning point at the first frame outside this package.

    pandas does the same (``find_stack_level``): a warning that points into library code tells
    the analyst nothing about which of their lines caused it.
    """
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    # pandas' accessor machinery sits between the user and us; skip it as well.
    while frame is not None and f"{os.sep}pandas{os.sep}" in frame.f_code.co_filename:
        frame = frame.f_back
        level += 1
    return level


class PublishInterrupted(ProductivError, KeyboardInterrupt):
    """Ctrl-C stopped a publish. ``status`` holds the status frame so far.

    Rows the API acknowledged are ``sent``; every other row that was to be sent is ``failed``
    with reason "interrupted", so re-publishing ``status[status.status == "failed"]`` sends
    exactly what is missing. Also a KeyboardInterrupt, so a script's Ctrl-C handling still works.
    """

    #: :func:`~productiv_pandas.publish_file`'s FileReport of the rows with a status; None otherwise.
    report: Any = None

    def __init__(self, status: Any) -> None:
        self.status = status
        super().__init__("publish interrupted: see .status for the rows sent so far")


class SyncLocked(ProductivError):
    """Another run holds the state: this run stopped before reading or sending anything.

    The lock is the operating system's, held by the other run's process and released when it
    ends, even by ``kill -9``: try again when it has finished. The command line exits 3.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"another sync run holds the state {path!r}: this run read and sent nothing; "
            "try again when that run has finished"
        )
