"""``--summary-json``, ``--max-invalid`` and ``--now`` on validate and publish, through ``cli.main``
(in process), against the module's sandbox: the summary's counts and ``requests`` are what
the sandbox saw, and its ``exit_code`` is the one the command returned."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import cli
from productiv_pandas.summary import check_summary

NOW = "2026-12-02T12:00:00Z"
STATUSES_ZERO = dict.fromkeys(pp.STATUSES, 0)
STALE_FUTURE = (["skipped", "invalid"], ["stale", "timestamp.future"])


def _main(argv: list[str]) -> int:
    with warnings.catch_warnings():  # main installs its own warning display; keep it to this call
        try:
            return cli.main(argv)
        except SystemExit as exc:
            return int(exc.code or 0)


def _events(tmp_path: Path, rows: int, *, bad: int = 0, name: str = "export.csv") -> str:
    """``rows`` events a minute apart before NOW, the first ``bad`` with an email without '@'."""
    now = pd.Timestamp(NOW)
    frame = pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(minutes=1 + i)).isoformat() for i in range(rows)],
            "email": [f"user{i}@example.com" if i >= bad else f"user{i}" for i in range(rows)],
            "eventName": ["opened_file"] * rows,
        }
    )
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _read(path: Path) -> dict:
    summary = json.loads(path.read_text(encoding="utf-8"))
    check_summary(summary)
    return summary


@pytest.fixture
def credentials(sandbox, monkeypatch):
    """The module's sandbox, reset, as the environment's Productiv."""
    sandbox.reset()
    for name, value in {"CLIENT_ID": sandbox.client_id, "CLIENT_SECRET": sandbox.client_secret,
                        "API_URL": sandbox.url, "TOKEN_URL": sandbox.token_url}.items():  # fmt: skip
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    return sandbox


def test_the_summary_of_a_validate(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = _main(["validate", _events(tmp_path, 10, bad=3), "--now", NOW, "--summary-json", str(out)])
    assert code == 1
    summary = _read(out)
    assert summary["duration_s"] >= 0
    assert summary | {"duration_s": 0} == {
        "version": 1, "rows_read": 10, "outbox_retried": 0,
        "statuses": STATUSES_ZERO | {"valid": 7, "invalid": 3}, "problems": {"email.no_at": 3},
        "watermark_before": None, "watermark_after": None, "outbox_before": 0, "outbox_after": 0,
        "requests": 0, "duration_s": 0, "exit_code": 1,
    }  # fmt: skip
    assert f"summary written to {out}" in capsys.readouterr().err.splitlines()


def test_the_summary_of_a_publish_counts_every_request_the_sandbox_saw(tmp_path, credentials):
    out = tmp_path / "run.json"
    credentials.fail_next(2, status=503, retry_after=0.01)  # the first batch is tried 3 times
    argv = ["publish", _events(tmp_path, 10, bad=1), "--app-id", "demo-app", "--batch-size", "3",
            "--workers", "1", "--no-progress", "--now", NOW, "--max-invalid", "1",
            "--summary-json", str(out)]  # fmt: skip
    assert _main(argv) == 0
    stats = credentials.stats()
    assert stats["event_requests"] == 5  # 9 rows in 3 batches, 2 retries
    assert stats["events_stored"] == 9
    summary = _read(out)
    assert summary["requests"] == 5
    assert summary["rows_read"] == 10
    assert summary["statuses"] == STATUSES_ZERO | {"sent": 9, "invalid": 1}
    assert summary["problems"] == {"email.no_at": 1}
    assert summary["exit_code"] == 0


def test_a_publish_with_rows_failed_exits_1_and_says_so_in_its_summary(tmp_path, credentials):
    out = tmp_path / "run.json"
    credentials.fail_next(3, status=503, retry_after=0.01)
    argv = ["publish", _events(tmp_path, 4), "--app-id", "demo-app", "--no-progress", "--max-retries", "2",
            "--now", NOW, "--max-invalid", "100%", "--summary-json", str(out)]  # fmt: skip
    assert _main(argv) == 1
    summary = _read(out)
    assert (summary["requests"], credentials.stats()["event_requests"]) == (3, 3)
    assert summary["statuses"] == STATUSES_ZERO | {"failed": 4}
    assert summary["problems"] == {"http.503": 4}
    assert summary["exit_code"] == 1


@pytest.mark.parametrize(
    ("bad", "max_invalid", "code", "line"),
    [
        (2, "1%", 0, "2 of 200 rows invalid: within --max-invalid 1%"),  # 1% of 200 rows = 2
        (3, "1%", 1, "3 of 200 rows invalid: exceed --max-invalid 1%"),
        (5, "5", 0, "5 of 200 rows invalid: within --max-invalid 5"),  # exactly N
        (6, "5", 1, "6 of 200 rows invalid: exceed --max-invalid 5"),  # N + 1
        (1, "0", 1, None),  # the default: no line, any invalid row exits 1
        (0, "0", 0, None),
    ],
)
def test_max_invalid_at_the_boundary(tmp_path, capsys, bad, max_invalid, code, line):
    out = tmp_path / "run.json"
    argv = ["validate", _events(tmp_path, 200, bad=bad), "--now", NOW, "--max-invalid", max_invalid,
            "--summary-json", str(out)]  # fmt: skip
    assert _main(argv) == code
    summary = _read(out)
    assert (summary["exit_code"], summary["statuses"]["invalid"], summary["rows_read"]) == (code, bad, 200)
    threshold_lines = [text for text in capsys.readouterr().err.splitlines() if "--max-invalid" in text]
    assert threshold_lines == ([] if line is None else [line])


@pytest.fixture
def two_events(tmp_path) -> str:
    """One event 12.5 hours before NOW, one 30 minutes after it."""
    path = tmp_path / "two.csv"
    path.write_text(
        "timestamp,email,eventName\n"
        "2026-12-01T23:30:00Z,a@example.com,opened\n"
        "2026-12-02T12:30:00Z,b@example.com,opened\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize(
    ("now", "extra", "statuses", "problems"),
    [
        # 12.5 h old: stale, skipped; 30 min ahead: in the future (beyond 5 minutes)
        ("2026-12-02T12:00:00Z", [], *STALE_FUTURE),
        ("2026-12-02T12:00:00", [], *STALE_FUTURE),  # naive: UTC
        # naive: in --tz (13:00 Paris is 12:00 UTC)
        ("2026-12-02T13:00:00", ["--tz", "Europe/Paris"], *STALE_FUTURE),
        ("2026-12-02T13:00:00+01:00", [], *STALE_FUTURE),
        ("2026-12-02T11:00:00Z", [], ["valid", "invalid"], [None, "timestamp.future"]),  # 11.5 h old
        ("2026-12-02T12:40:00Z", [], ["skipped", "valid"], ["stale", None]),  # 13.2 h old; 10 min ago
    ],
)
def test_now_moves_the_stale_and_future_decisions(tmp_path, two_events, now, extra, statuses, problems):
    status_out = tmp_path / "status.csv"
    code = _main(["validate", two_events, "--on-stale", "skip", "--now", now, *extra,
                  "--status-out", str(status_out)])  # fmt: skip
    status = pd.read_csv(status_out, index_col=0)
    assert status["status"].tolist() == statuses
    assert [None if pd.isna(p) else p for p in status["problem"]] == problems
    assert code == (1 if "invalid" in statuses else 0)


def test_an_interrupted_publish_writes_its_summary_with_exit_code_130(tmp_path, credentials, monkeypatch):
    from productiv_pandas.files import _pass

    real = _pass._Sender.submit
    calls = []

    def interrupt_second_chunk(self, chunk):  # as it is handed to the sending threads
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, chunk)

    monkeypatch.setattr(_pass._Sender, "submit", interrupt_second_chunk)
    out = tmp_path / "run.json"
    argv = ["publish", _events(tmp_path, 6), "--app-id", "demo-app", "--no-progress", "--chunksize", "4",
            "--now", NOW, "--summary-json", str(out)]  # fmt: skip
    assert _main(argv) == 130
    summary = _read(out)
    assert summary["exit_code"] == 130
    assert summary["rows_read"] == 4
    assert summary["statuses"] == STATUSES_ZERO | {"sent": 4}
    assert summary["requests"] == credentials.stats()["event_requests"] == 1


@pytest.mark.parametrize("option", ["the events file", "--status-out"])
def test_the_summary_never_overwrites_another_file_of_the_run(tmp_path, capsys, option):
    events = _events(tmp_path, 2)
    target = events if option == "the events file" else str(tmp_path / "status.csv")
    argv = ["validate", events, "--status-out", str(tmp_path / "status.csv"), "--summary-json", target]
    assert _main(argv) == 2
    assert capsys.readouterr().err == (
        f"productiv-pandas: error: --summary-json {target!r} is {option}: write the summary elsewhere\n"
    )
    assert Path(events).read_text(encoding="utf-8").startswith("timestamp,email,eventName\n")


def test_a_configuration_error_writes_no_summary(tmp_path):
    out = tmp_path / "run.json"
    assert _main(["validate", str(tmp_path / "missing.csv"), "--summary-json", str(out)]) == 2
    assert not out.exists()
