"""The last line of ``productiv-pandas publish``: what became of the file's rows, in one sentence.

A cron log is often read from its last line only; it must say when rows did not reach
Productiv, how many and why, and where each row's reason is, the same numbers the progress
bar ended on (:mod:`productiv_pandas.sending._progress`) and ``--status-out`` holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..sending._progress import LEFT_OUT, NOT_SENT

__all__ = ["publish_summary"]


def _part(counts: Mapping[str, int], names: tuple[str, ...], what: str) -> str:
    """``; 10 not sent (invalid 2, failed 8)``, or "" when none of ``names`` has rows."""
    kinds = [(name, int(counts.get(name, 0))) for name in names]
    total = sum(count for _, count in kinds)
    if not total:
        return ""
    detail = ", ".join(f"{name} {count:,}" for name, count in kinds if count)
    return f"; {total:,} {what} ({detail})"


def publish_summary(
    counts: Mapping[str, int], rows: int, app_id: str, status_out: str | os.PathLike | None, *, sandbox: bool
) -> str:
    """``published 40 of 50 rows to app 'acme'; 10 not sent (failed 10); reasons in status.csv``.

    ``counts`` are rows per status (a FileReport's ``counts``). A ``--sandbox`` run starts with
    ``rehearsal:`` and says nothing went to Productiv. The reasons clause comes only when some
    row was not sent, and names ``--status-out`` when it was not given.
    """
    sent = int(counts.get("sent", 0))
    noun = "row" if rows == 1 else "rows"
    line = f"published {sent:,} of {rows:,} {noun} to app {app_id!r}"
    if sandbox:
        line = f"rehearsal: {line} in the local sandbox, nothing to Productiv"
    problems = _part(counts, NOT_SENT, "not sent") + _part(counts, LEFT_OUT, "left out")
    if not problems:
        return line
    reasons = (
        f"reasons in {os.fspath(status_out)}"
        if status_out is not None
        else "--status-out FILE keeps each row's reason"
    )
    return f"{line}{problems}; {reasons}"
