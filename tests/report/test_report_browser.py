"""Reports opened in a real browser: what a person sees, for the three notebooks' scenarios.

Headless Chromium from the system (Debian's ``chromium`` package, ``.ci/run`` installs it),
driven by Playwright's sync API with ``executable_path``: no browser is ever downloaded. Every
request is routed: the page's own file is served, anything else fails the test. Without
chromium or playwright these tests are skipped, saying why, except in CI (``CI`` set), where
they fail instead. A screenshot of each report goes to ``out/`` for review.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sandbox import Sandbox

OUT = Path(__file__).resolve().parents[2] / "out"
NOW = pd.Timestamp.now(tz="UTC").floor("s")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI never skips the browser tests)", pytrace=False)
    pytest.skip(reason)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _unavailable("no chromium on PATH: `sudo apt-get install chromium` to run the browser tests")
    return str(found)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable(
            "the playwright package is missing: pip install -e '.[dev]' (never `playwright install`)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


class Opened:
    """A report open in a page, with every request and console error it caused."""

    def __init__(self, browser, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def _route(self, route) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text().strip()


def check_page(browser, status: pd.DataFrame, name: str, tmp_path: Path, *, redact_emails: bool = False):
    """Write the report of ``status``, open it, check what shows; the screenshot goes to out/."""
    path = status.productiv.report(tmp_path / f"{name}.html", redact_emails=redact_emails)
    opened = Opened(browser, path)
    page = opened.page
    counts = status["status"].value_counts()
    shown = {
        row.get_attribute("data-status"): row.locator("td.num").first.inner_text()
        for row in page.locator("tr[data-status]").all()
    }
    assert shown == {name: f"{count:,}" for name, count in counts.items() if count}
    assert opened.text('[data-count="rows"]') == f"{len(status):,}"
    assert opened.text('[data-count="stale"]') == f"{int(status['stale'].sum()):,}"
    # Every problem code of the status has its section, heading and examples, visibly.
    long = status.productiv.problems()
    per_code = long["problem"].value_counts()
    per_code = per_code[per_code > 0]
    sections = page.locator("section.problem")
    assert sorted(sections.evaluate_all("s => s.map(e => e.dataset.code)")) == sorted(per_code.index)
    for code, rows in per_code.items():
        section = page.locator(f'section.problem[data-code="{code}"]')
        assert section.is_visible()
        assert section.locator("h3").inner_text() == code
        assert section.locator('[data-count="problem"]').inner_text() == f"{rows:,}"
        examples = section.locator("table.examples tbody tr")
        assert examples.count() == min(5, rows)
        assert examples.first.is_visible()
    body = page.locator("body").inner_text()
    if redact_emails:  # no address left but in our own descriptions ("as in 'a@b..com'")
        ours = body
        for description in pp.PROBLEMS.values():
            ours = ours.replace(description, "")
        assert _EMAIL.findall(ours.replace("***@", "")) == []
        assert "***@" in body
    assert opened.requests == []
    assert opened.errors == []
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / f"report-{name}.png"), full_page=True)
    page.screenshot(path=str(OUT / f"report-{name}-top.png"))  # the first screen: for the README
    page.close()
    return body


def test_the_clean_sample(browser, tmp_path: Path) -> None:
    raw = pp.sample_events(now=NOW)
    with pytest.warns(pp.StaleEventWarning):
        first = raw.productiv.validate(**pp.SAMPLE_OPTIONS, now=NOW)
    clean = raw[(first["status"] == "valid").to_numpy()]
    with pytest.warns(pp.StaleEventWarning):
        status = clean.productiv.validate(**pp.SAMPLE_OPTIONS, now=NOW)
    assert set(status["status"]) == {"valid"}
    body = check_page(browser, status, "clean-sample", tmp_path)
    assert f"Ready to send: all {len(status):,} rows to send pass every check." in body
    assert "No row has a problem." in body


def test_the_dirty_export_of_the_data_quality_notebook(browser, tmp_path: Path) -> None:
    options = {name: value for name, value in pp.SAMPLE_OPTIONS.items() if name != "tz"}
    with pytest.warns((pp.StaleEventWarning, pp.NaiveTimestampWarning)):
        status = pp.sample_events(now=NOW).productiv.validate(**options, now=NOW)
    assert status["status"].value_counts()["invalid"] > 0
    body = check_page(browser, status, "dirty-export", tmp_path, redact_emails=True)
    assert "Not ready to send:" in body
    # docs/report.png, the README's screenshot, is a copy of out/report-dirty-export-top.png.


def test_a_backfill_with_an_outage(browser, tmp_path: Path) -> None:
    options = dict(pp.SAMPLE_OPTIONS, on_stale="skip", now=NOW)
    export = pp.sample_events(6_000, seed=2024, now=NOW)
    with Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(
            "acme-workspace", events=options["allowed_events"], login_events=options["login_events"]
        )
        sandbox.fail_next(8, status=503)  # the first requests and their one retry: an outage
        retry = pp.RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02)
        with sandbox.client(retry=retry) as client:
            status = export.productiv.publish(
                "acme-workspace", client=client, progress=False, max_workers=1, **options
            )
    counts = status["status"].value_counts()
    assert counts["failed"] == 4_000  # batches 0 to 3: 1,000 events each, refused twice
    body = check_page(browser, status, "backfill-outage", tmp_path)
    assert "App id\nacme-workspace" in body or "App id\tacme-workspace" in body
    assert "Not finished: 4,000 rows could not be delivered; publish again (with the same journal)" in body


def test_without_chromium_it_skips_but_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium"):
        _chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI never skips the browser tests"):
        _chromium()
