"""The ``productiv`` DataFrame accessor: a thin front door over the plain functions.

pandas caches an accessor per object, so it holds nothing but the frame; every method is one
call into the module that does the work, which the CLI and notebooks call too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Unpack

import pandas as pd

from .preparation import _prepare as _prepare
from .preparation._options import PrepareOptionsDict
from .sending import _publish as _publish
from .sending._settings import DEFAULT_MAX_SPLIT_REQUESTS, MAX_BATCH_SIZE

if TYPE_CHECKING:
    from .client._client import ProductivClient
    from .journal._store import Journal

__all__ = ["ProductivAccessor"]


@pd.api.extensions.register_dataframe_accessor("productiv")
class ProductivAccessor:
    """``df.productiv.validate()``, ``.prepare()``, ``.publish(app_id)``: see :mod:`productiv_pandas`."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def validate(self, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
        """Check every row, send nothing: :func:`productiv_pandas.validate`; the options are
        :class:`~productiv_pandas.PrepareOptionsDict`'s."""
        return _prepare.validate(self._frame, **options)

    def prepare(self, **options: Unpack[PrepareOptionsDict]) -> pd.DataFrame:
        """The wire-ready rows that would be sent: :func:`productiv_pandas.prepare`; the
        options are :class:`~productiv_pandas.PrepareOptionsDict`'s."""
        return _prepare.prepare(self._frame, **options)

    def publish(
        self,
        app_id: str,
        *,
        client: ProductivClient | None = None,
        journal: str | os.PathLike | Journal | None = None,
        batch_size: int = MAX_BATCH_SIZE,
        max_workers: int = 4,
        max_retries: int | None = None,
        max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS,
        progress: bool | None = None,
        **options: Unpack[PrepareOptionsDict],
    ) -> pd.DataFrame:
        """Send the valid rows to ``app_id``: :func:`productiv_pandas.publish`, whose keyword
        arguments these are; the options are :class:`~productiv_pandas.PrepareOptionsDict`'s."""
        return _publish.publish(
            self._frame, app_id, client=client, journal=journal, batch_size=batch_size,
            max_workers=max_workers, max_retries=max_retries, max_split_requests=max_split_requests,
            progress=progress, **options,
        )  # fmt: skip

    def problems(self) -> pd.DataFrame:
        """The long form of a status frame, one row per (input row, problem):
        :func:`productiv_pandas.problems`."""
        from . import _long_form

        return _long_form.problems(self._frame)

    def report(self, path: str | os.PathLike | None = None, *, redact_emails: bool = False):
        """A self-contained HTML data-quality report: written to ``path`` (returns its Path), or
        shown inline in a notebook: :func:`productiv_pandas.report.report`."""
        from . import report as _report  # matplotlib's colours are loaded only when a report is made

        return _report.report(self._frame, path, redact_emails=redact_emails)

    def plot(self, kind: str = "dashboard", **kwargs):
        """Chart a status frame: :func:`productiv_pandas.plots.plot` (``kind`` is "dashboard",
        "status", "timeline" or "reasons")."""
        from . import plots  # matplotlib is loaded only when a chart is drawn

        return plots.plot(self._frame, kind=kind, **kwargs)
