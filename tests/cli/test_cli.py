"""The console script, run in a subprocess as a backfill script would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from productiv_pandas.sandbox import Sandbox

pytestmark = pytest.mark.slow  # every test runs the console script in a subprocess

SCRIPT = Path(sys.executable).with_name("productiv-pandas")
MAPPING = ["--column", "when=timestamp", "--column", "user=email", "--column", "action=eventName"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    clean["CI"] = "1"
    clean.update(env or {})
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=clean, timeout=120, check=False
    )


def export(rows: int = 5, *, bad: bool = False) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {
            "when": [(now - pd.Timedelta(minutes=10 + i)).isoformat() for i in range(rows)],
            "user": [f"User{i}@Example.com" for i in range(rows)],
            "action": ["opened_file"] * rows,
        }
    )
    if bad:
        frame.loc[1, "user"] = "bob@"
    return frame


@pytest.fixture
def clean_csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    export().to_csv(path, index=False)
    return path


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "messy.csv"
    export(bad=True).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["validate", "publish", "demo", "sandbox"])
def test_help_is_complete_with_an_example(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout
    if command in ("validate", "publish"):
        for option in (
            "--column",
            "--unit",
            "--tz",
            "--login-event",
            "--allowed-events",
            "--on-stale",
            "--status-out",
            "--chunksize",
            "--now",
            "--max-invalid",
            "--summary-json",
        ):
            assert option in result.stdout
    if command == "publish":
        assert "--journal" in result.stdout


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run(
        [sys.executable, "-m", "productiv_pandas", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "validate" in result.stdout
    assert "publish" in result.stdout


def test_validate_clean_file_exits_0(clean_csv):
    result = run("validate", str(clean_csv), *MAPPING)
    assert result.returncode == 0, result.stderr
    assert "5 rows" in result.stdout
    assert "valid" in result.stdout


def test_validate_reports_problems_exits_1_and_writes_status(messy_csv, tmp_path):
    out = tmp_path / "status.parquet"
    result = run("validate", str(messy_csv), *MAPPING, "--status-out", str(out))
    assert result.returncode == 1
    assert "email.no_domain" in result.stdout
    status = pd.read_parquet(out)
    assert status["status"].tolist() == ["valid", "invalid", "valid", "valid", "valid"]
    assert status.loc[1, "reason"] == "email 'bob@' has no domain"


def test_validate_does_not_call_a_misread_timestamp_stale(tmp_path):
    seconds = int(pd.Timestamp.now(tz="UTC").value // 1_000_000_000) - 600
    path = tmp_path / "seconds.csv"
    pd.DataFrame(
        {"when": [seconds, seconds - 60], "user": ["a@x.com", "b@x.com"], "action": ["opened_file"] * 2}
    ).to_csv(path, index=False)
    out = tmp_path / "status.csv"
    result = run("validate", str(path), *MAPPING, "--status-out", str(out))
    assert result.returncode == 1
    status = pd.read_csv(out)
    assert status["problem"].tolist() == ["timestamp.unit", "timestamp.unit"]
    assert status["stale"].tolist() == [False, False]
    assert "older than 12 hours" not in result.stderr + result.stdout


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_validate_reads_parquet_and_json_lines(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    frame = export(bad=True)
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    out = tmp_path / "status.csv"
    result = run("validate", str(path), *MAPPING, "--status-out", str(out))
    assert result.returncode == 1
    assert pd.read_csv(out, index_col=0)["status"].tolist() == ["valid", "invalid", "valid", "valid", "valid"]


def test_allowed_events_file_and_login_events(tmp_path):
    path = tmp_path / "export.csv"
    frame = export(3)
    frame.loc[0, "action"] = "opend_file"
    frame.loc[1, "action"] = "sso_login"
    frame.to_csv(path, index=False)
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("opened_file\nsso_login\n")
    out = tmp_path / "status.csv"
    result = run(
        "validate", str(path), *MAPPING, "--allowed-events", str(catalog), "--login-event", "sso_login",
        "--status-out", str(out),
    )  # fmt: skip
    assert result.returncode == 1
    reasons = pd.read_csv(out, index_col=0)["reason"]
    assert reasons[0].endswith("did you mean 'opened_file'?")
    assert reasons[1] == "eventName 'sso_login' is a Login event and needs a targetApp"


def test_publish_to_a_rehearsal_sandbox(clean_csv, tmp_path):
    out = tmp_path / "status.csv"
    result = run(
        "publish", str(clean_csv), "--app-id", "acme", "--sandbox", *MAPPING, "--status-out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "rehearsal: published 5 of 5 rows to app 'acme' in the local sandbox, nothing to Productiv"
    )
    assert result.stderr == f"status written to {out}\n"
    assert (pd.read_csv(out, index_col=0)["status"] == "sent").all()


def test_publish_with_an_invalid_row_exits_1(messy_csv):
    result = run("publish", str(messy_csv), "--app-id", "acme", "--sandbox", *MAPPING)
    assert result.returncode == 1
    assert "sent" in result.stdout
    assert "invalid" in result.stdout


def test_publish_with_credentials_from_the_environment(messy_csv, tmp_path):
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        env = {
            "PRODUCTIV_CLIENT_ID": sb.client_id,
            "PRODUCTIV_CLIENT_SECRET": sb.client_secret,
            "PRODUCTIV_API_URL": sb.url,
            "PRODUCTIV_TOKEN_URL": sb.token_url,
        }
        out = tmp_path / "status.csv"
        result = run(
            "publish", str(messy_csv), "--app-id", "acme", *MAPPING, "--status-out", str(out), env=env
        )
        assert result.returncode == 1
        stored = sb.events("acme")
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["sent", "invalid", "sent", "sent", "sent"]
    assert sorted(stored["email"]) == sorted(status.loc[status["status"] == "sent", "email"])
    assert sb.client_secret not in result.stdout + result.stderr


def test_refused_api_rows_exit_1(clean_csv):
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        env = {"PRODUCTIV_ACCESS_TOKEN": "wrong-token-value", "PRODUCTIV_API_URL": sb.url}
        result = run("publish", str(clean_csv), "--app-id", "acme", *MAPPING, "--max-retries", "0", env=env)
    assert result.returncode == 1
    assert "failed" in result.stdout
    assert "wrong-token-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["publish", "{clean}", "--app-id", "acme", *MAPPING], "PRODUCTIV_ACCESS_TOKEN"),
        (["validate", "{missing}", *MAPPING], "no such file"),
        (["validate", "{clean}"], "missing required column(s)"),
        (["validate", "{clean}", "--column", "when"], "argument --column: takes INPUT=API"),
        (["validate", "{clean}", *MAPPING, "--tz", "Mars/Base"], "unknown timezone"),
        (["validate", "{clean}", *MAPPING, "--status-out", "{tmp}/x.xlsx"], "cannot tell the format"),
        (["validate", "{tmp}/export.txt", *MAPPING], "cannot tell the format"),
        (["validate", "{empty}"], "is empty: an events file starts with a header line"),
        (  # refused before the first chunk is sent, not after
            [
                "publish",
                "{clean}",
                "--app-id",
                "acme",
                "--sandbox",
                "--status-out",
                "{tmp}/no/s.csv",
                *MAPPING,
            ],
            "does not exist; create it first",
        ),
        (
            ["publish", "{clean}", "--app-id", "acme", "--sandbox", "--batch-size", "5000", *MAPPING],
            "argument --batch-size: expected a whole number from 1 to 1,000, got 5000",
        ),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(clean_csv, tmp_path, args, message):
    (tmp_path / "empty.csv").write_bytes(b"")
    paths = {"clean": str(clean_csv), "missing": str(tmp_path / "nope.csv"), "tmp": str(tmp_path)}
    paths["empty"] = str(tmp_path / "empty.csv")
    result = run(*[a.format(**paths) for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("productiv-pandas: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_a_semicolon_separated_excel_export_validates(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + export().to_csv(index=False, sep=";", lineterminator="\r\n").encode())
    out = tmp_path / "status.csv"
    result = run("validate", str(path), *MAPPING, "--status-out", str(out))
    assert result.returncode == 0, result.stderr
    assert "5 rows" in result.stdout
    assert pd.read_csv(out, index_col=0)["status"].tolist() == ["valid"] * 5


def test_argparse_usage_errors_exit_2():
    result = run("publish", "x.csv")  # --app-id missing
    assert result.returncode == 2
    assert "--app-id" in result.stderr


def test_publish_with_a_journal_resumes_without_sending_twice(tmp_path):
    path = tmp_path / "backfill.csv"
    export(12, bad=True).to_csv(path, index=False)
    journal = tmp_path / "backfill.journal"
    out = tmp_path / "status.csv"
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        env = {"PRODUCTIV_ACCESS_TOKEN": sb.issue_token(), "PRODUCTIV_API_URL": sb.url}
        args = [
            "publish",
            str(path),
            "--app-id",
            "acme",
            *MAPPING,
            "--journal",
            str(journal),
            "--chunksize",
            "5",
        ]
        first = run(*args, env=env)
        requests = sb.stats()["event_requests"]
        second = run(*args, "--status-out", str(out), env=env)
        assert sb.stats()["event_requests"] == requests  # the second run sent nothing
        assert len(sb.events("acme")) == 11
    assert first.returncode == second.returncode == 1  # the invalid row is still invalid
    assert "sent" in first.stdout
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["skipped", "invalid"] + ["skipped"] * 10
    assert (status.drop(index=1)["reason"] == "already sent").all()
    assert "skipped" in second.stdout


def test_validate_reads_in_chunks_and_finds_duplicates_across_them(tmp_path):
    path = tmp_path / "export.csv"
    frame = export(9)
    frame.loc[7] = frame.loc[0]
    frame.to_csv(path, index=False)
    out = tmp_path / "status.parquet"
    result = run("validate", str(path), *MAPPING, "--chunksize", "2", "--status-out", str(out))
    assert result.returncode == 0, result.stderr  # a duplicate is not a problem
    assert "9 rows" in result.stdout
    status = pd.read_parquet(out)
    assert status.loc[7, "reason"] == "duplicate of row 0"
    assert list(status.index) == list(range(9))


def test_ctrl_c_during_publish_exits_130_with_the_rows_read_written(tmp_path):
    path = tmp_path / "backfill.csv"
    export(3000).to_csv(path, index=False)
    out = tmp_path / "status.parquet"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        sb.set_delay(0.2)
        env = {**clean, "CI": "1", "PRODUCTIV_ACCESS_TOKEN": sb.issue_token(), "PRODUCTIV_API_URL": sb.url}
        process = subprocess.Popen(
            [str(SCRIPT), "publish", str(path), "--app-id", "acme", *MAPPING, "--chunksize", "1000",
             "--batch-size", "100", "--workers", "1", "--status-out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while sb.stats()["event_requests"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)  # Ctrl-C, while the first chunk is being sent
        _, stderr = process.communicate(timeout=60)
        stored = sb.events("acme")
    assert process.returncode == 130, stderr
    assert "the rows from row 1,000 on were not read, so not sent" in stderr
    assert "Traceback" not in stderr
    status = pd.read_parquet(out)
    assert list(status.index) == list(range(1000))
    sent = status[status["status"] == "sent"]
    assert 3 <= len(sent) // 100 < 10
    assert (status.loc[status["status"] != "sent", "reason"] == "interrupted").all()
    assert sorted(stored["email"]) == sorted(sent["email"])


def test_the_summary_goes_to_the_stdout_of_the_moment(clean_csv, capsys):
    from productiv_pandas import cli

    assert cli.main(["validate", str(clean_csv), *MAPPING]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 rows\n  valid              5  100.0%\n")
