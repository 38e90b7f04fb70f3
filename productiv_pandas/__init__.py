"""productiv_pandas: publish usage events from pandas DataFrames to Productiv.

Importing the package registers the ``productiv`` DataFrame accessor::

    import productiv_pandas as pp
    report = df.productiv.validate(columns={"user": "email", "action": "eventName", "when": "timestamp"})
    clean = df.productiv.prepare(columns=...)
"""

from __future__ import annotations

from . import accessor as _accessor  # noqa: F401  (registers df.productiv)
from .errors import (
    APIError,
    ConfigurationError,
    NaiveTimestampWarning,
    ProductivError,
    StaleEventWarning,
)
from .prepare import prepare, validate
from .schema import UsageEvents
from .status import STATUSES

__version__ = "0.1.0"

__all__ = [
    "STATUSES",
    "APIError",
    "ConfigurationError",
    "NaiveTimestampWarning",
    "ProductivError",
    "StaleEventWarning",
    "UsageEvents",
    "__version__",
    "prepare",
    "validate",
]
