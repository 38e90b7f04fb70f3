"""Reports of file runs: collected chunk by chunk during the run, equal to the whole frame's;
and the command line's --report and --redact-emails."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.cli import main
from productiv_pandas.report import collect

NOW = pd.Timestamp("2026-11-01 12:00", tz="UTC")
OPTIONS = {"now": NOW, "tz": "UTC", "on_stale": "ignore", "columns": {"user": "email"}}
MAPPING = ["--column", "user=email", "--tz", "UTC", "--on-stale", "ignore"]


def export(rows: int = 40) -> pd.DataFrame:
    """Every 4th row a bad email, every 10th row a copy of the row before: of rows 8 and 28 (bad
    emails: invalid too, 12 invalid rows, examples across chunks), of 18 and 38 (duplicates,
    often in another chunk than their first)."""
    users = [f"user{i}@acme.com" if i % 4 else f"user{i}@" for i in range(rows)]
    minutes = [i - 1 if i % 10 == 9 else i for i in range(rows)]
    users = [users[i - 1] if i % 10 == 9 else user for i, user in enumerate(users)]
    return pd.DataFrame(
        {
            "timestamp": [(NOW - pd.Timedelta(minutes=30 + m)).isoformat() for m in minutes],
            "user": users,
            "eventName": ["open"] * rows,
        }
    )


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    export().to_csv(path, index=False)
    return path


def status_cells(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-status="(\w+)">.*?<td class="num">([\d,]+)</td>', page))


def test_a_file_runs_report_data_equals_the_whole_frames(csv: Path) -> None:
    whole = collect(pd.read_csv(csv).productiv.validate(**OPTIONS))
    for chunksize in (3, 7, 1000):
        report = pp.validate_file(csv, chunksize=chunksize, **OPTIONS)
        assert report.report_data is not None
        assert report.report_data.source == str(csv)
        assert dataclasses.replace(report.report_data, source=None) == whole, chunksize
    assert whole.counts == {
        "valid": 26, "sent": 0, "invalid": 12, "duplicate": 2, "skipped": 0, "rejected": 0, "failed": 0,
    }  # fmt: skip
    assert [(item.code, item.rows) for item in whole.problems] == [("email.no_domain", 12), ("duplicate", 2)]
    assert [example.label for example in whole.problems[0].examples] == ["0", "4", "8", "9", "12"]
    assert [example.reason for example in whole.problems[1].examples] == [
        "duplicate of row 18", "duplicate of row 38",
    ]  # fmt: skip


def test_the_file_reports_page_without_a_status_file(csv: Path, tmp_path: Path) -> None:
    report = pp.validate_file(csv, chunksize=7, **OPTIONS)
    assert report.status_out is None
    path = report.report(tmp_path / "quality.html")
    assert path == tmp_path / "quality.html"
    page = path.read_text(encoding="utf-8")
    assert status_cells(page) == {"valid": "26", "invalid": "12", "duplicate": "2"}
    assert f"<dt>Source</dt><dd>{csv}</dd>" in page
    assert "<dt>Column mapping</dt><dd><code>user</code> → <code>email</code></dd>" in page
    assert report.report()._repr_html_().startswith('<div class="pp-report">')


def test_a_publish_files_report_names_the_app(csv: Path, tmp_path: Path, sandbox_with) -> None:
    sb = sandbox_with("acme")
    with sb.client() as client:
        report = pp.publish_file(csv, "acme", chunksize=7, client=client, progress=False, **OPTIONS)
    page = report.report(tmp_path / "run.html", redact_emails=True).read_text(encoding="utf-8")
    assert status_cells(page) == {"sent": "26", "invalid": "12", "duplicate": "2"}
    assert "<dt>App id</dt><dd><code>acme</code></dd>" in page
    assert "user0@" not in page
    assert "email &#x27;u***@&#x27; has no domain" in page


def test_the_command_lines_report(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "quality.html"
    code = main(["validate", str(csv), *MAPPING, "--chunksize", "7", "--report", str(out), "--redact-emails"])
    assert code == 1  # invalid rows
    assert f"report written to {out}" in capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert status_cells(page) == {"valid": "26", "invalid": "12", "duplicate": "2"}
    assert "user0@" not in page
    assert "Emails are masked." in page


def test_the_command_lines_publish_report(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.html"
    code = main(["publish", str(csv), "--app-id", "acme", "--sandbox", "--no-progress", *MAPPING,
                 "--report", str(out)])  # fmt: skip
    assert code == 1
    page = out.read_text(encoding="utf-8")
    assert status_cells(page) == {"sent": "26", "invalid": "12", "duplicate": "2"}
    assert "<dt>App id</dt><dd><code>acme</code></dd>" in page
    assert "email &#x27;user0@&#x27; has no domain" in page  # not masked without --redact-emails


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--redact-emails"], "--redact-emails masks the emails of the --report page: give --report FILE"),
        (["--report", "{csv}"], "--report '{csv}' is the events file: write the report elsewhere"),
    ],
)
def test_report_options_refused(csv: Path, capsys: pytest.CaptureFixture[str], extra, message) -> None:
    args = [part.format(csv=csv) for part in extra]
    assert main(["validate", str(csv), *MAPPING, *args]) == 2
    assert capsys.readouterr().err == f"productiv-pandas: error: {message.format(csv=csv)}\n"
