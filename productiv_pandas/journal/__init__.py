"""The journal: which events the API accepted, in SQLite (_store), and how a run uses it (_ledger)."""

from ._ledger import Ledger, journal_for
from ._store import Journal

__all__ = ["Journal", "Ledger", "journal_for"]
