"""The report from a status frame: what it counts, what the page says, what it never lets through."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.report import HtmlReport, ReportData, collect, write_report
from productiv_pandas.report._collect import Example, ProblemRows, ReportCollector, problem_rows
from productiv_pandas.report._text import mask_emails, page_text
from tests.helpers.publishing import APP, CATALOG, FAST

NOW = pd.Timestamp("2026-11-01 12:00", tz="UTC")
OPTIONS = {"now": NOW, "columns": {"user": "email"}, "allowed_events": ["open", "share"], "tz": "UTC"}


def frame() -> pd.DataFrame:
    """Five rows: valid, its duplicate, a bad email, a stale valid row, a future row."""
    hour = pd.Timedelta(hours=1)
    return pd.DataFrame(
        {
            "timestamp": [NOW - hour, NOW - hour, NOW - 2 * hour, NOW - 20 * hour, NOW + 48 * hour],
            "user": ["alice@acme.com", "alice@acme.com", "b@", "carol@acme.com", "dave@acme.com"],
            "eventName": ["open", "open", "open", "share", "open"],
        },
        index=[10, 11, 12, 13, 14],
    )


@pytest.fixture
def status() -> pd.DataFrame:
    with pytest.warns(pp.StaleEventWarning):
        return frame().productiv.validate(**OPTIONS)


def status_cells(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-status="(\w+)">.*?<td class="num">([\d,]+)</td>', page))


def test_the_collected_data_of_a_status_frame(status: pd.DataFrame) -> None:
    data = collect(status)
    assert data.rows == 5
    assert data.counts == {
        "valid": 2, "sent": 0, "invalid": 2, "duplicate": 1, "skipped": 0, "rejected": 0, "failed": 0,
    }  # fmt: skip
    assert data.problems == (
        ProblemRows("duplicate", 1, (Example("11", None, "duplicate of row 10"),)),
        ProblemRows("email.no_domain", 1, (Example("12", "b@", "email 'b@' has no domain"),)),
        ProblemRows("timestamp.future", 1, data.problems[2].examples),
    )
    assert data.problems[2].examples[0].label == "14"
    # The row 48 hours after the run is off the timeline (more than a day after it).
    assert (data.stale, data.future, data.untimed) == (1, 1, 1)
    now_hour = int(NOW.value // 3_600_000_000_000)
    assert [(hour - now_hour, counts) for hour, counts in data.hours] == [
        (-20, (1, 0, 0, 0, 0, 0, 0)),
        (-2, (0, 0, 1, 0, 0, 0, 0)),
        (-1, (1, 0, 0, 1, 0, 0, 0)),
    ]
    assert data.run["options"] == {
        "columns": {"user": "email"}, "unit": "ms", "tz": "UTC", "allowed_events": 2,
        "login_events": [], "login_events_count": 0, "on_stale": "warn", "future_tolerance": "5 minutes",
    }  # fmt: skip
    assert data.run["ran_at"] == "2026-11-01T12:00:00+00:00"
    assert "app_id" not in data.run


def test_the_long_form_of_the_problem_rows_is_the_whole_frames(status: pd.DataFrame) -> None:
    # Built from the rows with a problem code only (a file run's tally and report share it):
    # the same entries, labels and order as pp.problems of the whole frame, and the same report.
    pd.testing.assert_frame_equal(problem_rows(status), pp.problems(status))
    given = ReportCollector()
    given.add(status, problem_rows(status))
    assert given.data() == collect(status)
    valid = status[status["status"] == "valid"]
    pd.testing.assert_frame_equal(problem_rows(valid), pp.problems(valid))


def test_the_page_summary_counts_and_sections(status: pd.DataFrame, tmp_path: Path) -> None:
    path = status.productiv.report(tmp_path / "quality.html")
    assert path == tmp_path / "quality.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html><html lang="en">')
    assert status_cells(page) == {"valid": "2", "invalid": "2", "duplicate": "1"}
    assert (
        '<p class="verdict not-ready" data-ready="false">Not ready to send: 2 rows (40.0%) fail a '
        "check; fix them in the export, or send only the 2 rows that pass (1 row duplicate or skipped "
        "by choice).</p>"
    ) in page
    assert "<dt>Source</dt><dd>a DataFrame (in memory)</dd>" in page
    assert "<dt>Time of the run</dt><dd>2026-11-01 12:00:00 UTC</dd>" in page
    assert "<dt>Column mapping</dt><dd><code>user</code> → <code>email</code></dd>" in page
    assert "<dt>Allowed events</dt><dd>2 names</dd>" in page
    assert "<dt>Run</dt><dd>validate (nothing sent)</dd>" in page
    # Problems most frequent first, ties by code; each with its section and description.
    assert re.findall(r'<tr data-code="([\w.]+)">', page) == [
        "duplicate",
        "email.no_domain",
        "timestamp.future",
    ]
    assert re.findall(r'<section class="problem" id="problem-([\w.]+)"', page) == [
        "duplicate", "email.no_domain", "timestamp.future",
    ]  # fmt: skip
    assert page_text(pp.PROBLEMS["email.no_domain"]) in page
    assert '<td class="text">email &#x27;b@&#x27; has no domain</td>' in page
    assert '<td class="num" data-count="stale">1</td>' in page
    assert '<td class="num" data-count="future">1</td>' in page
    # Headings in order, none skipped; one h1.
    levels = [int(level) for level in re.findall(r"<h([1-6])", page)]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    # Self-contained: no script, no external reference of any kind.
    assert "<script" not in page
    assert "src=" not in page
    assert "url(" not in page
    assert "@import" not in page
    assert re.findall(r"https?:", page) == []  # http-equiv is no address
    assert "default-src 'none'" in page  # and the browser would refuse any request anyway
    assert "font-variant-numeric:tabular-nums" in page
    assert "@media print" in page
    assert "<svg " in page
    assert 'fill="#D55E00"' in page


def test_redacted_emails_are_masked_everywhere(status: pd.DataFrame, tmp_path: Path) -> None:
    plain = status.productiv.report(tmp_path / "plain.html").read_text(encoding="utf-8")
    masked = status.productiv.report(tmp_path / "masked.html", redact_emails=True).read_text(encoding="utf-8")
    assert "alice@acme.com" not in masked
    assert "b@" not in masked.replace("b***@", "")
    assert "email &#x27;b***@&#x27; has no domain" in masked
    assert "email &#x27;b@&#x27; has no domain" in plain
    assert "Emails are masked." in masked
    assert "Emails are masked." not in plain


def test_masking_rules() -> None:
    assert mask_emails("alice@acme.com") == "a***@acme.com"
    assert (
        mask_emails("email 'chloe d@acme.com' contains whitespace")
        == "email 'c***@acme.com' contains whitespace"
    )
    assert mask_emails("a@b@c.com and x@y.io") == "a***@c.com and x***@y.io"
    assert mask_emails("the email has no '@'") == "the email has no '@'"


def test_hostile_values_are_escaped_cut_and_printable(tmp_path: Path) -> None:
    hostile = pd.DataFrame(
        {
            "timestamp": [NOW - pd.Timedelta(hours=1)] * 3,
            "email": ['<script>alert("x")</script>', "nul\x00@acme.com", "x" * 1_000_000],
            "eventName": ["open"] * 3,
        },
        index=["<b>row</b>", "r'1", "r3"],
    )
    status = hostile.productiv.validate(now=NOW, tz="UTC")
    assert status["status"].tolist() == ["invalid"] * 3
    page = status.productiv.report(tmp_path / "hostile.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<b>row" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&#x27;&lt;b&gt;row&lt;/b&gt;&#x27;" in page  # the row label, as typed
    assert "\x00" not in page
    assert "nul\ufffd@acme.com" in page
    assert "x" * 201 not in page
    assert "… (999,800 more characters)" in page
    assert len(page.encode()) < 60_000


def test_lone_surrogates_reach_the_page_as_replacement_characters(tmp_path: Path) -> None:
    # prepare itself cannot hold them (Arrow text), but a status frame built by hand can.
    data = ReportData(
        rows=1, counts=dict.fromkeys(pp.STATUSES, 0) | {"invalid": 1},
        problems=(ProblemRows("email.no_domain", 1, (Example("'l\ud800'", "x\udfff@", "bad \ud800"),)),),
        stale=0, future=0, hours=(), untimed=1,
    )  # fmt: skip
    page = write_report(data, tmp_path / "s.html").read_text(encoding="utf-8")
    assert "&#x27;l\ufffd&#x27;" in page
    assert "x\ufffd@" in page
    assert "bad \ufffd" in page


def test_a_status_frame_read_back_from_a_file_has_no_options(status: pd.DataFrame, tmp_path: Path) -> None:
    status.to_csv(tmp_path / "status.csv")
    back = pd.read_csv(tmp_path / "status.csv", index_col=0)
    page = back.productiv.report(tmp_path / "back.html").read_text(encoding="utf-8")
    assert status_cells(page) == {"valid": "2", "invalid": "2", "duplicate": "1"}
    assert "<dt>Options</dt><dd>not recorded (a status frame read back from a file)</dd>" in page


def test_without_a_path_it_displays_inline(status: pd.DataFrame) -> None:
    shown = status.productiv.report()
    assert isinstance(shown, HtmlReport)
    fragment = shown._repr_html_()
    assert fragment.startswith('<div class="pp-report"><style>')
    assert "<html" not in fragment
    assert status_cells(fragment) == {"valid": "2", "invalid": "2", "duplicate": "1"}
    assert repr(shown).startswith("<HtmlReport: 5 rows; Not ready to send: 2 rows (40.0%) fail a check")


def test_a_publish_names_its_app_and_never_its_token(sandbox_with, tmp_path: Path) -> None:
    sb = sandbox_with(APP, events=CATALOG)
    events = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)] * 3,
            "email": ["a@acme.com", "b@acme.com", "nobody"],
            "eventName": ["opened_file"] * 3,
        }
    )
    token = sb.issue_token()
    with pp.ProductivClient(token, base_url=sb.url, retry=FAST) as client:
        status = events.productiv.publish(APP, client=client, progress=False)
    page = status.productiv.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert status_cells(page) == {"sent": "2", "invalid": "1"}
    assert f"<dt>App id</dt><dd><code>{APP}</code></dd>" in page
    assert "<dt>Run</dt><dd>publish</dd>" in page
    assert "2 rows sent; 1 row need fixing in the export before they can be sent." in page
    assert token not in page
    assert sb.client_secret not in page


def test_a_frame_that_is_no_status_frame_is_refused() -> None:
    with pytest.raises(
        TypeError,
        match=r"a report reads a status frame .* no column\(s\) \['status', 'reason', 'problem', 'stale'\]",
    ):
        frame().productiv.report()
