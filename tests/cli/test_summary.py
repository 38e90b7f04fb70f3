"""The last line of ``publish``: what became of the rows, the same numbers the progress bar
ended on, and where each row's reason is (issue 11, point 7)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import cli
from productiv_pandas.cli._summary import publish_summary

NO_OUT = "--status-out FILE keeps each row's reason"
REHEARSAL = "rehearsal: published"
LOCAL = "in the local sandbox, nothing to Productiv"


def _csv(tmp_path: Path, *, invalid: int = 0, duplicate: bool = False) -> str:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(minutes=10 + i)).isoformat() for i in range(6)],
            "email": [f"user{i}@example.com" for i in range(6)],
            "eventName": ["opened_file"] * 6,
        }
    )
    frame.loc[: invalid - 1, "email"] = "bob@"
    if duplicate:
        frame.loc[5] = frame.loc[4]
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _publish(argv: list[str], capsys) -> tuple[int, list[str], str]:
    """main's exit code, its stdout lines, its stderr."""
    with warnings.catch_warnings():  # main installs its own warning display; keep it to this call
        code = cli.main(["publish", *argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


@pytest.fixture
def api(sandbox, monkeypatch):
    """The module's sandbox, reset, with app "acme", as the real API the CLI reads from the environment."""
    sandbox.reset()
    sandbox.add_app("acme")
    for name, value in {"CLIENT_ID": sandbox.client_id, "CLIENT_SECRET": sandbox.client_secret,
                        "API_URL": sandbox.url, "TOKEN_URL": sandbox.token_url}.items():  # fmt: skip
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    return sandbox


def test_all_sent_in_a_rehearsal(tmp_path, capsys):
    code, out, err = _publish([_csv(tmp_path), "--app-id", "acme", "--sandbox"], capsys)
    assert code == 0
    assert (
        out[-1] == "rehearsal: published 6 of 6 rows to app 'acme' in the local sandbox, nothing to Productiv"
    )
    assert err == ""


def test_some_not_sent_in_a_rehearsal_with_a_status_file(tmp_path, capsys):
    status = tmp_path / "status.csv"
    argv = [
        _csv(tmp_path, invalid=2, duplicate=True),
        "--app-id",
        "acme",
        "--sandbox",
        "--status-out",
        str(status),
    ]
    code, out, err = _publish(argv, capsys)
    assert code == 1
    assert out[-1] == (
        "rehearsal: published 3 of 6 rows to app 'acme' in the local sandbox, nothing to Productiv; "
        f"2 not sent (invalid 2); 1 left out (duplicate 1); reasons in {status}"
    )
    assert err == f"status written to {status}\n"  # stderr as before: where the status went
    counts = pd.read_csv(status, index_col=0)["status"].value_counts().to_dict()
    assert counts == {"sent": 3, "invalid": 2, "duplicate": 1}


def test_left_out_only_exits_0_and_names_the_reasons(tmp_path, capsys):
    code, out, _ = _publish([_csv(tmp_path, duplicate=True), "--app-id", "acme", "--sandbox"], capsys)
    assert code == 0
    assert out[-1] == (
        "rehearsal: published 5 of 6 rows to app 'acme' in the local sandbox, nothing to Productiv; "
        f"1 left out (duplicate 1); {NO_OUT}"
    )


def test_some_failed(api, tmp_path, capsys):
    api.fail_next(1, 500)
    argv = [_csv(tmp_path), "--app-id", "acme", "--batch-size", "2", "--workers", "1", "--max-retries", "0"]
    code, out, _ = _publish(argv, capsys)
    assert code == 1
    assert out[-1] == f"published 4 of 6 rows to app 'acme'; 2 not sent (failed 2); {NO_OUT}"
    assert len(api.events("acme")) == 4


def test_none_sent(api, tmp_path, capsys):
    status = tmp_path / "status.parquet"
    argv = [_csv(tmp_path, invalid=1), "--app-id", "no-such-app", "--status-out", str(status)]
    code, out, _ = _publish(argv, capsys)
    assert code == 1
    assert out[-1] == (
        f"published 0 of 6 rows to app 'no-such-app'; 6 not sent (invalid 1, rejected 5); reasons in {status}"
    )
    assert pd.read_parquet(status)["status"].value_counts().to_dict() == {"rejected": 5, "invalid": 1}


@pytest.mark.parametrize(
    ("counts", "rows", "status_out", "sandbox", "line"),
    [
        ({"sent": 50}, 50, None, False, "published 50 of 50 rows to app 'acme'"),
        ({"sent": 1}, 1, None, False, "published 1 of 1 row to app 'acme'"),
        ({}, 0, None, True, f"{REHEARSAL} 0 of 0 rows to app 'acme' {LOCAL}"),
        (
            {"sent": 40, "failed": 10}, 50, "status.csv", False,
            "published 40 of 50 rows to app 'acme'; 10 not sent (failed 10); reasons in status.csv",
        ),
        (
            {"sent": 81_394, "invalid": 1, "rejected": 999, "failed": 11_000,
             "duplicate": 1, "skipped": 2_000},
            94_395, None, False,
            "published 81,394 of 94,395 rows to app 'acme'; 12,000 not sent (invalid 1, rejected 999, "
            f"failed 11,000); 2,001 left out (duplicate 1, skipped 2,000); {NO_OUT}",
        ),
        (
            pd.Series([0, 4, 0, 1, 0, 0, 0], index=list(pp.STATUSES)),  # as FileReport.counts
            5, Path("out/status.parquet"), True,
            "rehearsal: published 4 of 5 rows to app 'acme' in the local sandbox, nothing to Productiv; "
            "1 left out (duplicate 1); reasons in out/status.parquet",
        ),
    ],
)  # fmt: skip
def test_publish_summary(counts, rows, status_out, sandbox, line):
    assert publish_summary(counts, rows, "acme", status_out, sandbox=sandbox) == line
