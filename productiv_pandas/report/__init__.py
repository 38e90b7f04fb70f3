"""The data-quality report: one self-contained HTML page per run, to share.

``status.productiv.report("quality.html")`` writes it and returns its Path;
``status.productiv.report()`` returns an :class:`HtmlReport` that a notebook shows inline. A file
run (``pp.validate_file(...)``) collects the same data chunk by chunk (:class:`ReportCollector`),
so its ``.report(...)`` needs no status file and no second pass.

    status frame or chunks -> _collect (counts, examples, hours) -> _html (+ _timeline, _text) -> page
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ._collect import EXAMPLES, ReportCollector, ReportData, collect
from ._html import render_fragment, render_page, verdict

__all__ = ["EXAMPLES", "HtmlReport", "ReportCollector", "ReportData", "collect", "report", "write_report"]


class HtmlReport:
    """A report not yet written to a file: shown inline by Jupyter, or saved with :meth:`save`."""

    def __init__(self, data: ReportData, redact_emails: bool = False) -> None:
        self.data = data
        self.redact_emails = redact_emails

    @property
    def html(self) -> str:
        """The whole standalone page."""
        return render_page(self.data, self.redact_emails)

    def _repr_html_(self) -> str:
        # A fragment, its CSS scoped to .pp-report: a notebook's own page must not be restyled.
        return render_fragment(self.data, self.redact_emails)

    def save(self, path: str | os.PathLike) -> Path:
        return write_report(self.data, path, redact_emails=self.redact_emails)

    def __repr__(self) -> str:
        return f"<HtmlReport: {self.data.rows:,} rows; {verdict(self.data)[1]}>"


def write_report(data: ReportData, path: str | os.PathLike, *, redact_emails: bool = False) -> Path:
    """Write the page to ``path`` (UTF-8) and return it as a Path."""
    target = Path(path)
    target.write_text(render_page(data, redact_emails), encoding="utf-8")
    return target


def report(
    status: pd.DataFrame,
    path: str | os.PathLike | None = None,
    *,
    redact_emails: bool = False,
    source: str | None = None,
) -> Path | HtmlReport:
    """A self-contained HTML data-quality report of a status frame.

    Parameters
    ----------
    status : DataFrame
        A status frame from validate or publish (or read back from a status file: the summary
        then says the options were not recorded).
    path : str or PathLike, optional
        Where to write the page. Without it, an :class:`HtmlReport` (inline in a notebook).
    redact_emails : bool
        Mask every email on the page as ``a***@acme.com``: for reports that leave the team.
    source : str, optional
        What was checked, for the summary (a file name); default "a DataFrame".

    Returns
    -------
    Path or HtmlReport

    Examples
    --------
    >>> import productiv_pandas as pp
    >>> status = pp.sample_events(200, seed=1).productiv.validate(**pp.SAMPLE_OPTIONS)  # doctest: +SKIP
    >>> status.productiv.report("quality.html")  # doctest: +SKIP
    PosixPath('quality.html')
    """
    data = collect(status, source)
    if path is None:
        return HtmlReport(data, redact_emails)
    return write_report(data, path, redact_emails=redact_emails)
