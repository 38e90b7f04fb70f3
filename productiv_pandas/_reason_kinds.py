"""Kinds of reasons: what check a status frame's reason reports, without the values in it.

A row's ``reason`` names every check it failed, joined with "; " (see :mod:`.reasons`), and
each names the bad value (``email 'bob@' has no domain``). Charts and summaries group rows by
the kind of check instead (``email has no domain``), so that three addresses without a domain
make one bar of three, not three bars of one. The table follows the wording of
:mod:`.reasons`, :mod:`.timestamps`, :mod:`.text`, :mod:`.prepare` and :mod:`.publish`.

    >>> kinds_of("email 'ann@' has no domain; eventName 'opne' is not in the app's event "
    ...          "mapping; did you mean 'open'?")
    ['email has no domain', 'eventName not in mapping']
"""

from __future__ import annotations

import re
from collections.abc import Collection

import numpy as np
import pandas as pd

__all__ = [
    "REASON_KINDS",
    "REASON_STATUSES",
    "count_kinds",
    "kinds_of",
    "most_frequent_first",
    "reason_kind",
    "split_reasons",
]

#: The statuses whose reasons are problems to fix (duplicate and skipped are choices).
REASON_STATUSES = ("invalid", "rejected", "failed")

_COLUMN = r"(timestamp|email|eventName|targetApp)"
#: ``(pattern, kind)`` tried in order on one reason; the first whose pattern matches the start
#: of the reason names its kind (``\1`` stands for the pattern's group). A reason naming several
#: problems of one email counts under the first of them listed here.
REASON_KINDS = (
    (r"timestamp .*; it looks like ", "timestamp looks like another unit"),
    (r"timestamp .*is before 2000-01-01", "timestamp before 2000"),
    (r"timestamp .*is in the future", "timestamp in the future"),
    (rf"{_COLUMN} is (?:missing|empty)", r"\1 missing"),
    (r"local time .*does not exist or is ambiguous", "local time skipped or repeated by DST"),
    (rf"{_COLUMN} .*is not text$", r"\1 is not text"),
    (rf"{_COLUMN} contains characters that are not valid unicode", r"\1 is not valid unicode"),
    (r"timestamp ", "timestamp unreadable"),
    (r"email .*contains whitespace", "email contains whitespace"),
    (r"email .*has no '@'", "email has no '@'"),
    (r"email .*has more than one '@'", "email has several '@'"),
    (r"email .*has nothing before the '@'", "email has nothing before '@'"),
    (r"email .*has no domain", "email has no domain"),
    (r"email .*(?:has no dot in|has an empty part in) its domain", "email domain malformed"),
    (r"email ", "email not plausible"),
    (r"eventName .*is not in the app's event mapping", "eventName not in mapping"),
    (r"eventName .*is a Login event and needs a targetApp", "Login event without targetApp"),
    (r"duplicate of row ", "duplicate"),
    (r"stale: ", "stale (older than 12 h)"),
    (r"HTTP (\d{3})", r"HTTP \1"),
    (r"not attempted", "not attempted (run stopped)"),
    (r"interrupted|cancelled", "interrupted"),
    (r"credentials refused", "credentials refused"),
    (r"internal error", "internal error"),
    (r"(?i).*\b(?:timed out|timeout)\b", "timeout"),
    (r"(?i)(?:connection failed|TLS error|request failed)|.*\bnetwork\b", "network error"),
)
_PATTERNS = tuple((re.compile(pattern), kind) for pattern, kind in REASON_KINDS)
# How a reason starts: after "; ", text that does not is the tail of the reason before it
# (a "did you mean ...?", a unit hint, a server message that contains "; ").
_START = re.compile(
    r"(?:(?:timestamp|email|eventName|targetApp)\b|local time |duplicate of |stale: |HTTP \d{3}"
    r"|not attempted|interrupted|credentials refused|internal error)"
)


def split_reasons(reason: str) -> list[str]:
    """A row's reason cut into single reasons, each keeping its own ``"; ..."`` tail.

    >>> split_reasons("timestamp is missing; email 'bob' has no '@'")
    ['timestamp is missing', "email 'bob' has no '@'"]
    """
    parts: list[str] = []
    for piece in reason.split("; "):
        if parts and not _START.match(piece):
            parts[-1] += "; " + piece
        else:
            parts.append(piece)
    return parts


def reason_kind(reason: str) -> str:
    """The kind of check one single reason reports, per :data:`REASON_KINDS`.

    A reason no pattern knows keeps its text, shortened to 40 characters with quoted values
    and numbers masked, so that rows differing only in a value still share a kind.

    >>> reason_kind("email 'bob@' has no domain")
    'email has no domain'
    >>> reason_kind("Service Unavailable: 'maintenance until 14:00'")
    'Service Unavailable: …'
    """
    for pattern, kind in _PATTERNS:
        found = pattern.match(reason)
        if found:
            return found.expand(kind)
    text = re.sub(r"\d+(?:\.\d+)?", "N", re.sub(r"'[^']*'|\"[^\"]*\"", "…", reason))
    return text if len(text) <= 40 else text[:39] + "…"


def kinds_of(reason: str) -> list[str]:
    """The distinct kinds of a row's whole reason, in the order the reason names them."""
    return list(dict.fromkeys(map(reason_kind, split_reasons(reason))))


def most_frequent_first(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a kind-by-status count table, most rows first (ties: by kind, alphabetically)."""
    order = table.sum(axis=1).sort_index().sort_values(ascending=False, kind="stable").index
    return table.loc[order]


def count_kinds(
    codes: pd.Series, reasons: pd.Series, statuses: Collection[str] = REASON_STATUSES
) -> pd.DataFrame:
    """Rows per kind of reason (index) and status (columns, ``statuses``), most frequent first.

    ``codes`` and ``reasons`` are a status frame's ``status`` and ``reason`` columns; a row
    counts once under each kind its reason names. Charts and the file summary both count here.
    """
    wanted = list(statuses)
    picked = (codes.isin(wanted) & reasons.notna()).to_numpy(dtype=bool)
    texts = reasons.to_numpy(dtype=object)[picked]
    owners = codes.to_numpy(dtype=object)[picked]
    known = {text: kinds_of(text) for text in set(texts)}  # reasons repeat: classify each once
    kinds = [kind for text in texts for kind in known[text]]
    whose = [owner for text, owner in zip(texts, owners, strict=True) for _ in known[text]]
    table = pd.DataFrame(index=pd.Index([], name="kind"))
    if kinds:
        table = pd.crosstab(np.array(kinds, dtype=object), np.array(whose, dtype=object),
                            rownames=["kind"], colnames=["status"])  # fmt: skip
    table = table.reindex(columns=pd.Index(wanted, name="status"), fill_value=0).astype("int64")
    return most_frequent_first(table)
