"""Prepare: from an analyst's frame to wire-ready events, with a status for every row.

    map columns -> read timestamps as ms (_timestamps) -> normalize text (_text)
    -> check with the pandera schema (_schema) -> explain failures (_reasons)
    -> flag stale -> drop duplicate triples (_duplicates)

Nothing here sends anything; ``validate`` and ``prepare`` are this stage alone, ``publish``
(:mod:`productiv_pandas.sending`) starts with it.
"""

from ._options import PrepareOptions
from ._prepare import Prepared, prepare, prepare_events, select_columns, validate
from ._schema import UsageEvents

__all__ = [
    "PrepareOptions",
    "Prepared",
    "UsageEvents",
    "prepare",
    "prepare_events",
    "select_columns",
    "validate",
]
