"""productiv_pandas: publish usage events from pandas DataFrames to Productiv.

Importing the package registers the ``productiv`` DataFrame accessor::

    import productiv_pandas as pp
    report = df.productiv.validate(columns={"user": "email", "action": "eventName", "when": "timestamp"})
    clean = df.productiv.prepare(columns=...)
    status = df.productiv.publish("app-123", client=pp.ProductivClient.from_env())
"""

from __future__ import annotations

from importlib.util import find_spec as _find_spec

from . import accessor as _accessor  # noqa: F401  (registers df.productiv)
from ._long_form import problems  # the long form; the codes are in problem_codes.py
from ._sample import SAMPLE_OPTIONS, sample_events
from .client._client import Delivery, ProductivClient
from .client._retry import RetryPolicy
from .errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    JournalError,
    NaiveTimestampWarning,
    ProductivError,
    PublishInterrupted,
    StaleEventWarning,
    StatusFileError,
    SyncLocked,
)
from .files._chunks import publish_chunks, validate_chunks
from .files._stream import FileReport, RunReport, publish_file, validate_file
from .journal._store import Journal
from .preparation._options import PrepareOptionsDict
from .preparation._prepare import prepare, validate
from .preparation._schema import UsageEvents
from .problem_codes import PROBLEMS
from .sending._publish import publish
from .sources._sql import publish_sql, validate_sql
from .status import STATUSES
from .sync._run import SyncReport, sync

if _find_spec("dask") is not None:  # the optional Dask extra; without it, nothing imports dask
    from ._dask.accessor import register as _register_dask

    _register_dask()  # ddf.productiv; dask_accessor says why this happens at import time

__version__ = "0.1.0"

__all__ = [
    "PROBLEMS",
    "SAMPLE_OPTIONS",
    "STATUSES",
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "Delivery",
    "FileReport",
    "Journal",
    "JournalError",
    "NaiveTimestampWarning",
    "PrepareOptionsDict",
    "ProductivClient",
    "ProductivError",
    "PublishInterrupted",
    "RetryPolicy",
    "RunReport",
    "StaleEventWarning",
    "StatusFileError",
    "SyncLocked",
    "SyncReport",
    "UsageEvents",
    "__version__",
    "prepare",
    "problems",
    "publish",
    "publish_chunks",
    "publish_file",
    "publish_sql",
    "sample_events",
    "sync",
    "validate",
    "validate_chunks",
    "validate_file",
    "validate_sql",
]
