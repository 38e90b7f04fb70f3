"""The command line's errors, in subprocesses: a usage or configuration error on any command is
exit code 2 and ONE line on stderr, no traceback, no secret; rows that are not ok are exit 1;
a bug is exit 3 without the exception's text."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from productiv_pandas import cli
from productiv_pandas.sandbox import Sandbox

pytestmark = pytest.mark.timeout(300)

SCRIPT = Path(sys.executable).with_name("productiv-pandas")
MAPPING = ["--column", "when=timestamp", "--column", "user=email", "--column", "action=eventName"]
SECRET = "Zq7secretTOKENvalue"


def run(
    *args: str, env: dict[str, str] | None = None, limit: int | None = None
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    clean["CI"] = "1"
    clean.update(env or {})

    def cap_file_size() -> None:  # a real "disk full" for regular files (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=clean, timeout=120, check=False,
        preexec_fn=cap_file_size if limit is not None else None,
    )  # fmt: skip


def export(rows: int = 5) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    return pd.DataFrame(
        {
            "when": [(now - pd.Timedelta(minutes=10 + i)).isoformat() for i in range(rows)],
            "user": [f"user{i}@example.com" for i in range(rows)],
            "action": ["opened_file"] * rows,
        }
    )


@pytest.fixture
def clean_csv(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    export().to_csv(path, index=False)
    return path


def one_error_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


PUBLISH = ["publish", "{clean}", "--app-id", "acme", "--sandbox", *MAPPING]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        # every command's own usage errors, argparse's included
        ([], "error: the following arguments are required: COMMAND (see productiv-pandas --help)"),
        (["demo", "extra"], "error: unrecognized arguments: extra"),
        (["sandbox", "--port", "-5"], "argument --port: expected a whole number from 0 to 65,535, got -5"),
        (
            ["sandbox", "--port", "http"],
            "argument --port: expected a whole number from 0 to 65,535, got 'http'",
        ),
        (["sandbox", "--app", ""], "argument --app: app id must not be empty"),
        (["sandbox", "--app", "acme/docs"], "argument --app: the sandbox takes app ids without '/'"),
        (
            ["validate", "{clean}", *MAPPING, "--chunksize", "0"],
            "argument --chunksize: expected a whole number >= 1",
        ),
        (["validate", "{clean}", *MAPPING, "--unit", "bogus"], "argument --unit: invalid choice: 'bogus'"),
        (["validate", "{clean}", *MAPPING, "--on-stale", "bogus"], "argument --on-stale: invalid choice"),
        (["validate", "{clean}", *MAPPING, "--tz", "Mars/Base"], "unknown timezone 'Mars/Base'"),
        (["validate", "{clean}", "--column", "user:email"], "argument --column: takes INPUT=API"),
        (["validate", ""], "argument file: expected a file path, got an empty one"),
        (["validate", "{tmp}/nope.csv", *MAPPING], "no such file"),
        (["validate", "{tmp}/folder.csv", *MAPPING], "Is a directory"),
        (
            ["validate", "{clean}", *MAPPING, "--allowed-events", "{tmp}/nope.txt"],
            "cannot read --allowed-events",
        ),
        (
            ["validate", "{clean}", *MAPPING, "--allowed-events", "{tmp}/latin1.txt"],
            "cannot read --allowed-events",
        ),
        ([*PUBLISH, "--workers", "-1"], "argument --workers: expected a whole number >= 1, got -1"),
        ([*PUBLISH, "--workers", "0"], "argument --workers: expected a whole number >= 1, got 0"),
        (
            [*PUBLISH, "--batch-size", "0"],
            "argument --batch-size: expected a whole number from 1 to 1,000, got 0",
        ),
        ([*PUBLISH, "--max-retries", "-1"], "argument --max-retries: expected a whole number >= 0, got -1"),
        (
            [*PUBLISH, "--max-retries", "2.5"],
            "argument --max-retries: expected a whole number >= 0, got '2.5'",
        ),
        (["publish", "{clean}", "--app-id", "", *MAPPING], "argument --app-id: app id must not be empty"),
        (["publish", "{clean}", "--app-id", "  \t", *MAPPING], "argument --app-id: app id must not be empty"),
        (
            ["publish", "{clean}", "--app-id", "acme/docs", "--sandbox", *MAPPING],
            "--sandbox cannot rehearse --app-id 'acme/docs'",
        ),
        # ".." is left alone by URL quoting, and a URL resolves it to another path than the app's
        (
            ["publish", "{clean}", "--app-id", "..", *MAPPING],
            "argument --app-id: app_id '..' is not an app id",
        ),
        (
            ["publish", "{clean}", "--app-id", ".", "--sandbox", *MAPPING],
            "argument --app-id: app_id '.' is not an app id",
        ),
        # journal errors
        (
            [*PUBLISH, "--journal", "{tmp}/run.csv", "--status-out", "{tmp}/folder.csv/../run.csv"],
            "the status file '{tmp}/folder.csv/../run.csv' and the journal '{tmp}/run.csv' are the same "
            "file: give each its own path",
        ),
        ([*PUBLISH, "--journal", "{clean}"], "is the events file"),
        ([*PUBLISH, "--journal", "{tmp}/latin1.txt"], "is not a productiv_pandas journal"),
        ([*PUBLISH, "--journal", "{tmp}/no/such/folder/j.db"], "cannot open the journal"),
    ],
)
def test_usage_and_configuration_errors_are_one_line_and_exit_2_on_every_command(
    clean_csv, tmp_path, args, message
):
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    paths = {"clean": str(clean_csv), "tmp": str(tmp_path)}
    line = one_error_line(run(*[a.format(**paths) for a in args]))
    assert line.startswith("productiv-pandas: error: ")
    assert message.format(**paths) in line
    assert not (tmp_path / "run.csv").exists()  # refused before anything was written


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no Productiv credentials in the environment"),
        ({"PRODUCTIV_CLIENT_ID": "x"}, "PRODUCTIV_CLIENT_SECRET not set"),
        (
            {"PRODUCTIV_ACCESS_TOKEN": SECRET, "PRODUCTIV_API_URL": "notaurl"},
            "base_url must be an https:// URL",
        ),
        (
            {"PRODUCTIV_ACCESS_TOKEN": SECRET, "PRODUCTIV_API_URL": "ftp://x"},
            "base_url must be an https:// URL",
        ),
        (
            {"PRODUCTIV_CLIENT_ID": "x", "PRODUCTIV_CLIENT_SECRET": SECRET, "PRODUCTIV_TOKEN_URL": "bad"},
            "token_url must be an https:// URL",
        ),
    ],
)
def test_credential_errors_are_one_line_and_exit_2(clean_csv, tmp_path, env, message):
    out = tmp_path / "status.csv"
    result = run("publish", str(clean_csv), "--app-id", "acme", *MAPPING, "--status-out", str(out), env=env)
    line = one_error_line(result)
    assert message in line
    assert SECRET not in result.stdout + result.stderr
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "token",
    [
        f"{SECRET}\n{SECRET}2",
        f"{SECRET}\r{SECRET}",
        f"{SECRET}\u20ac{SECRET}",
        f"{SECRET}\x1b[0m",
        f"\u200b{SECRET}",
    ],
    ids=["newline", "carriage-return", "non-latin-1", "escape", "zero-width"],
)
def test_a_token_that_cannot_go_in_a_header_exits_2_without_a_trace_of_it(clean_csv, tmp_path, token):
    out = tmp_path / "status.csv"
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        env = {"PRODUCTIV_ACCESS_TOKEN": token, "PRODUCTIV_API_URL": sb.url}
        result = run(
            "publish", str(clean_csv), "--app-id", "acme", *MAPPING, "--status-out", str(out), env=env
        )
        assert sb.stats()["event_requests"] == 0
    line = one_error_line(result)
    assert line.startswith("productiv-pandas: error: PRODUCTIV_ACCESS_TOKEN cannot be used")
    seen = result.stdout + result.stderr
    for form in (
        token,
        token.strip(),
        SECRET,
        SECRET[:8],
        repr(token),
        token.encode("unicode_escape").decode(),
    ):
        assert form not in seen
    assert not out.exists()  # no status file, so no token in one


@pytest.mark.slow
def test_an_app_id_with_a_slash_is_sent_url_quoted_and_its_rows_get_a_status(clean_csv, tmp_path):
    out = tmp_path / "status.csv"
    with Sandbox(rate_limit=None, apps=["acme"]) as sb:
        env = {"PRODUCTIV_ACCESS_TOKEN": sb.issue_token(), "PRODUCTIV_API_URL": sb.url}
        result = run(
            "publish", str(clean_csv), "--app-id", "acme/docs", *MAPPING, "--status-out", str(out), env=env
        )
    assert result.returncode == 1, result.stderr  # the sandbox knows no such app: rows not ok
    assert "Traceback" not in result.stderr
    status = pd.read_csv(out, index_col=0)
    assert status["status"].tolist() == ["rejected"] * 5
    assert (status["http_status"] == 404).all()


def test_a_bug_exits_3_in_one_line_without_the_exceptions_text(monkeypatch, capsys, clean_csv):
    def broken(args):
        raise RuntimeError(f"Bearer {SECRET}")

    monkeypatch.setitem(cli._COMMANDS, "validate", broken)
    assert cli.main(["validate", str(clean_csv)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"productiv-pandas: internal error: RuntimeError at {Path(__file__).name}:")
    assert err.count("\n") == 1
    assert SECRET not in err


FALLBACK = re.compile(r"was written to '([^']+)' instead")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["validate", "publish"])
def test_a_full_disk_mid_file_exits_2_and_says_truly_where_each_rows_status_is(tmp_path, command):
    path = tmp_path / "export.csv"
    export(60).to_csv(path, index=False)
    out = tmp_path / "status.csv"
    extra = ["--app-id", "acme", "--sandbox"] if command == "publish" else []
    result = run(
        command, str(path), *MAPPING, *extra, "--chunksize", "10", "--status-out", str(out), limit=1500
    )
    line = one_error_line(result)
    found = re.search(r"holds the status of rows 0 to (\d+); the status of rows (\d+) to (\d+)", line)
    assert found, line
    last_in_file, first_elsewhere, last_elsewhere = map(int, found.groups())
    assert f"cannot write the status to {str(out)!r}: [Errno 27] File too large" in line
    assert first_elsewhere == last_in_file + 1
    assert last_elsewhere == first_elsewhere + 9
    assert line.split("; ", 3)[3] == f"the rows from row {last_elsewhere + 1} on were not read" + (
        ". Make room and publish again: rows already sent are sent again (the API keeps one of each); "
        "--journal FILE would skip them"
        if command == "publish"
        else ""
    )
    fallback = Path(FALLBACK.search(line).group(1))
    try:
        assert list(pd.read_csv(out, index_col=0).index) == list(range(last_in_file + 1))
        elsewhere = pd.read_csv(fallback, index_col=0)
        assert list(elsewhere.index) == list(range(first_elsewhere, last_elsewhere + 1))
        assert (elsewhere["status"] == ("sent" if command == "publish" else "valid")).all()
        if command == "publish":
            assert "(10 of them sent)" in line
    finally:
        fallback.unlink()
