"""Resuming a publish with a journal: skip the rows it holds, record each batch the API accepted.

The glue between :mod:`.publish` and :class:`~productiv_pandas.journal.Journal`, kept apart so
publish reads the same with or without a journal. The keys are the status frame's normalized
triples, exactly what went on the wire, so a re-run of the same data finds them again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import ConfigurationError, JournalError
from ..preparation._prepare import Prepared
from ..sending._outcomes import Outcome, StatusArrays
from ._store import Journal

__all__ = ["ALREADY_SENT", "Ledger", "journal_for"]

logger = logging.getLogger("productiv_pandas")

#: The reason of a row skipped because the journal says the API already accepted it.
ALREADY_SENT = "already sent"


@contextmanager
def journal_for(journal: object, app_id: str) -> Iterator[Journal | None]:
    """The journal a publish uses: None, one opened (and closed) here from a path, or the
    caller's own open :class:`Journal` (left open), which must be for ``app_id``."""
    if journal is None:
        yield None
    elif isinstance(journal, Journal):
        if journal.app_id != app_id:
            raise JournalError(
                f"the journal {journal.path} records events of app {journal.app_id!r}, not "
                f"{app_id!r}: open a journal for {app_id!r} at another path"
            )
        yield journal
    elif isinstance(journal, str | os.PathLike):
        with Journal(journal, app_id) as opened:
            yield opened
    else:
        raise ConfigurationError(
            f"journal must be a file path or a productiv_pandas.Journal, got {type(journal).__name__}"
        )


class Ledger:
    """One publish's view of its journal: which rows to skip, and recording what was sent."""

    def __init__(self, journal: Journal, status: pd.DataFrame) -> None:
        self.journal = journal
        # Rows without a timestamp are never sent, so the 0 standing in for them is never used.
        self._times = status["timestamp"].to_numpy(dtype=np.int64, na_value=0)
        self._emails = status["email"].to_numpy(dtype=object)
        self._names = status["eventName"].to_numpy(dtype=object)
        #: Why the journal stopped taking records, once it has; the run stops then.
        self.failure: str | None = None

    def _keys(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._times[positions], self._emails[positions], self._names[positions]

    def skip_recorded(self, prepared: Prepared, arrays: StatusArrays) -> Prepared:
        """Mark the rows to send that the journal holds ``skipped`` ("already sent"); return
        ``prepared`` narrowed to the others."""
        positions = prepared.to_send
        if not len(positions):
            return prepared
        known = self.journal.sent_mask(*self._keys(positions))
        arrays.mark(positions[known], "skipped", ALREADY_SENT, "already_sent")
        if known.any():
            logger.info("journal %s: %d row(s) already sent, skipped", self.journal.path, int(known.sum()))
        return replace(prepared, to_send=positions[~known])

    def record(self, outcome: Outcome) -> str | None:
        """Record a ``sent`` outcome durably; on failure return why (the run must stop).

        Called from the worker threads (the journal serializes them); never raises, so a worker
        always hands its outcome back and no row loses its status.
        """
        if outcome.status != "sent" or self.failure is not None:
            return None
        try:
            self.journal.record(*self._keys(outcome.positions))
        except Exception as exc:
            # The rows stay ``sent`` (the API has them); only resuming loses its memory of them,
            # and sending more would make the next run resend even more: stop instead.
            self.failure = f"the journal could not be written ({exc})"
            if isinstance(exc, JournalError):
                logger.error("%s; stopping the publish", self.failure)
            else:
                logger.exception("%s; stopping the publish", self.failure)
            return self.failure
        return None
