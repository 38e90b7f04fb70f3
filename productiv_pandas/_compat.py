"""What differs between the lowest versions pyproject.toml declares and the newest: one place.

Each helper names the version that needs it, so it can go when the floor moves past it.
``make test-floor`` runs the whole suite on the floors (``.ci/floor_requirements.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["fixed_interval", "register_pandera_backends"]


def register_pandera_backends(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> None:
    """Make ``Check.__call__`` work on ``frame``'s type before any ``schema.validate`` ran.

    pandera 0.24 registers its pandas check backends only when a schema validates, so calling a
    ``Check`` directly (``schema.failed_checks``) in a fresh process raises ``KeyError: Backend
    not found``; pandera 0.35 registers them on a check's first call. Registering is cached.
    """
    schema.register_default_backends(type(frame))


def fixed_interval(freq: str) -> pd.Timedelta:
    """The length of a fixed-interval frequency ("h", "15min", "D"); ValueError or TypeError for
    a calendar frequency without one ("MS", "ME").

    pandas 3.0.0 made ``Day`` a calendar offset that ``pd.Timedelta`` refuses; pandas 3.1 reads
    it as 24 hours again. A day is 24 hours here in every version.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, pd.offsets.Day):
        return pd.Timedelta(days=offset.n)
    return pd.Timedelta(offset)
