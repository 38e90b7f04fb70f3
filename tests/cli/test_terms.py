"""The command line explains problems in its own terms (issue 11, point 4): ``--column``,
``--unit s``, ``--tz``, ``--on-stale``, on screen and in the reasons of ``--status-out``; the
same frames through Python still say ``columns={...}`` and ``pass unit='s'``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp

SCRIPT = Path(sys.executable).with_name("productiv-pandas")
NOW = pd.Timestamp("2024-05-01 12:00", tz="UTC")
SECONDS = 1_714_521_600  # 2024-05-01 00:00:00 UTC in seconds: in the past whenever the test runs
SECONDS_REASON = (
    "timestamp 1714521600 read as milliseconds is 1970-01-20 20:15:21.600 UTC, which is before "
    "2000-01-01; it looks like seconds (2024-05-01 00:00:00 UTC): use --unit s"
)


def run(*args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=clean, timeout=120, check=False
    )


def no_timestamp() -> pd.DataFrame:
    return pd.DataFrame({"when": ["2024-05-01T10:00:00Z"], "email": ["a@example.com"], "eventName": ["x"]})


def in_seconds() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": [SECONDS], "email": ["a@example.com"], "eventName": ["x"]})


def test_a_missing_column_is_mapped_with_column_on_the_command_line(tmp_path):
    path = tmp_path / "export.csv"
    no_timestamp().to_csv(path, index=False)

    result = run("validate", str(path))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "productiv-pandas: error: missing required column(s) ['timestamp']; the file has "
        "['when', 'email', 'eventName']; map yours with --column your_column=timestamp\n"
    )


def test_a_missing_column_is_mapped_with_columns_in_python():
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate(no_timestamp(), now=NOW)

    assert str(caught.value) == (
        "missing required column(s) ['timestamp']; the frame has ['when', 'email', 'eventName']; "
        "map yours with columns={'your_column': 'timestamp'}"
    )


def test_a_unit_hint_in_the_status_file_says_unit_s(tmp_path):
    path, out = tmp_path / "export.csv", tmp_path / "status.csv"
    in_seconds().to_csv(path, index=False)

    result = run("validate", str(path), "--status-out", str(out))

    assert result.returncode == 1
    assert pd.read_csv(out, index_col=0)["reason"].tolist() == [SECONDS_REASON]


def test_the_same_unit_hint_in_python_says_pass_unit():
    reasons = pp.validate(in_seconds(), now=NOW)["reason"].tolist()

    assert reasons == [SECONDS_REASON.replace("use --unit s", "pass unit='s'")]


def test_warnings_on_screen_name_the_cli_options(tmp_path):
    path = tmp_path / "export.csv"
    # naive (no zone) and a day old: one NaiveTimestampWarning, one StaleEventWarning
    old = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=36)).strftime("%Y-%m-%d %H:%M:%S")
    frame = pd.DataFrame({"timestamp": [old], "email": ["a@example.com"], "eventName": ["x"]})
    frame.to_csv(path, index=False)

    result = run("validate", str(path))

    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("warning: StaleEventWarning: 1 event(s) are older than 12 hours")
    assert lines[0].endswith(
        "Productiv only guarantees to aggregate events pushed within 12 hours. Use --on-stale skip "
        "to leave them out or --on-stale ignore to send them quietly."
    )
    assert lines[1] == (
        "warning: NaiveTimestampWarning: 1 timestamp(s) had no timezone and were read as UTC; "
        "use --tz Area/City (the zone they were recorded in), or --tz UTC if they are UTC."
    )


def test_an_unknown_zone_names_tz(tmp_path):
    path = tmp_path / "export.csv"
    in_seconds().to_csv(path, index=False)

    result = run("validate", str(path), "--tz", "Mars/Base")

    assert result.returncode == 2
    assert result.stderr == (
        "productiv-pandas: error: unknown timezone 'Mars/Base': use an IANA name like "
        "--tz Europe/Paris or --tz UTC\n"
    )
