"""Every exit code of every command, as the README's table documents them, from ``cli.main``.

Each documented (command, code) has at least one scenario here; the README's table and these
scenarios are compared both ways, so a code documented and never produced, or produced and not
documented, fails. Real runs where they are cheap (a file, an in-process sandbox, a port already
taken); the heavy or unreachable parts (a bug, a Ctrl-C, the demo itself) are replaced where
the command calls them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import cli
from productiv_pandas.cli import _demo
from productiv_pandas.files import _stream
from productiv_pandas.sandbox import Sandbox, foreground

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET_TEXT = "text-of-the-exception-a-user-must-not-see"


def _exit_code(argv: list[str]) -> int:
    """What the console script would exit with: main's return value, or argparse's exit."""
    with warnings.catch_warnings():  # main installs its own warning display; keep it to this call
        try:
            return cli.main(argv)
        except SystemExit as exc:
            return int(exc.code or 0)


def _csv(tmp_path: Path, *, bad: bool = False) -> str:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(minutes=10 + i)).isoformat() for i in range(4)],
            "email": [f"user{i}@example.com" for i in range(4)],
            "eventName": ["opened_file"] * 4,
        }
    )
    if bad:
        frame.loc[1, "email"] = "bob@"
    path = tmp_path / ("messy.csv" if bad else "export.csv")
    frame.to_csv(path, index=False)
    return str(path)


def _raising(exception: BaseException) -> Callable[..., object]:
    def fake(*args: object, **kwargs: object) -> object:
        raise exception

    return fake


# Each scenario: (command, code, what, setup); setup(tmp_path, monkeypatch, sandbox) -> argv,
# and the line stderr must then hold (a regular expression), or None for no check.
Scenario = Callable[[Path, pytest.MonkeyPatch, Sandbox], tuple[list[str], str | None]]
SCENARIOS: list[tuple[str, int, str, Scenario]] = []


def scenario(command: str, code: int, what: str) -> Callable[[Scenario], Scenario]:
    def register(setup: Scenario) -> Scenario:
        SCENARIOS.append((command, code, what, setup))
        return setup

    return register


@scenario("validate", 0, "no row is invalid")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", _csv(tmp_path)], None


@scenario("validate", 1, "a row is invalid")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", _csv(tmp_path, bad=True)], None


@scenario("validate", 0, "the invalid rows are within --max-invalid")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", _csv(tmp_path, bad=True), "--max-invalid", "25%"], None  # 1 of 4 rows: exactly 25%


@scenario("validate", 1, "more rows invalid than --max-invalid")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", _csv(tmp_path, bad=True), "--max-invalid", "24.9%"], None


@scenario("validate", 2, "a bad --max-invalid")
def _(tmp_path, monkeypatch, sandbox):
    return (
        ["validate", _csv(tmp_path), "--max-invalid", "-1"],
        r"^productiv-pandas: error: argument --max-invalid: --max-invalid takes a number of rows",
    )


@scenario("validate", 2, "a bad --now")
def _(tmp_path, monkeypatch, sandbox):
    return (
        ["validate", _csv(tmp_path), "--now", "noon"],
        r"^productiv-pandas: error: argument --now: expected an ISO 8601 time like 2026-12-02T12:00:00Z, "
        r"got 'noon' \(see productiv-pandas validate --help\)$",
    )


@scenario("validate", 2, "the file is missing")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", str(tmp_path / "missing.csv")], r"^productiv-pandas: error: .*missing\.csv"


@scenario("validate", 2, "a usage error")
def _(tmp_path, monkeypatch, sandbox):
    return ["validate", _csv(tmp_path), "--chunksize", "0"], r"^productiv-pandas: error: .*--chunksize"


@scenario("validate", 3, "a bug")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_stream, "validate_file", _raising(RuntimeError(SECRET_TEXT)))
    return ["validate", _csv(tmp_path)], r"^productiv-pandas: internal error: RuntimeError at "


@scenario("validate", 130, "Ctrl-C")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_stream, "validate_file", _raising(KeyboardInterrupt()))
    return ["validate", _csv(tmp_path)], r"^interrupted$"


@scenario("publish", 0, "every row sent, to a sandbox")
def _(tmp_path, monkeypatch, sandbox):
    return ["publish", _csv(tmp_path), "--app-id", "acme", "--sandbox", "--no-progress"], None


@scenario("publish", 1, "a row invalid")
def _(tmp_path, monkeypatch, sandbox):
    return ["publish", _csv(tmp_path, bad=True), "--app-id", "acme", "--sandbox", "--no-progress"], None


@scenario("publish", 0, "the invalid rows are within --max-invalid, the rest sent")
def _(tmp_path, monkeypatch, sandbox):
    argv = ["publish", _csv(tmp_path, bad=True), "--app-id", "acme", "--sandbox", "--no-progress"]
    return [*argv, "--max-invalid", "1"], None


@scenario("publish", 1, "rows failed, whatever --max-invalid allows")
def _(tmp_path, monkeypatch, sandbox):
    sandbox.reset()
    sandbox.fail_next(3, status=503, retry_after=0.01)  # every try of the one batch: 1 + 2 retries
    for name, value in {"CLIENT_ID": sandbox.client_id, "CLIENT_SECRET": sandbox.client_secret,
                        "API_URL": sandbox.url, "TOKEN_URL": sandbox.token_url}.items():  # fmt: skip
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    return ["publish", _csv(tmp_path), "--app-id", "demo-app", "--no-progress", "--max-retries", "2",
            "--max-invalid", "100%"], None  # fmt: skip


@scenario("publish", 1, "rows rejected: the app does not exist (404)")
def _(tmp_path, monkeypatch, sandbox):
    sandbox.reset()
    for name, value in {"CLIENT_ID": sandbox.client_id, "CLIENT_SECRET": sandbox.client_secret,
                        "API_URL": sandbox.url, "TOKEN_URL": sandbox.token_url}.items():  # fmt: skip
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    return ["publish", _csv(tmp_path), "--app-id", "no-such-app", "--no-progress"], None


@scenario("publish", 2, "no credentials")
def _(tmp_path, monkeypatch, sandbox):
    return (
        ["publish", _csv(tmp_path), "--app-id", "acme", "--no-progress"],
        r"^productiv-pandas: error: no Productiv credentials in the environment",
    )


@scenario("publish", 3, "a bug")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_stream, "send_file", _raising(RuntimeError(SECRET_TEXT)))
    return (
        ["publish", _csv(tmp_path), "--app-id", "acme", "--sandbox", "--no-progress"],
        r"^productiv-pandas: internal error: RuntimeError at ",
    )


@scenario("publish", 130, "Ctrl-C")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_stream, "send_file", _raising(KeyboardInterrupt()))
    return ["publish", _csv(tmp_path), "--app-id", "acme", "--sandbox", "--no-progress"], r"^interrupted$"


def _sync(tmp_path, monkeypatch, sandbox, *, bad: bool = False) -> list[str]:
    """``sync`` of a folder holding one CSV, to the module's sandbox (app ``acme``)."""
    if "acme" not in sandbox.apps:
        sandbox.add_app("acme")
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", sandbox.issue_token())
    monkeypatch.setenv("PRODUCTIV_API_URL", sandbox.url)
    folder = tmp_path / "drop"
    folder.mkdir(exist_ok=True)
    Path(_csv(folder, bad=bad)).rename(folder / "events.csv")
    return ["sync", str(folder), "--app-id", "acme", "--state", str(tmp_path / "acme.sync")]


@scenario("sync", 0, "every row sent")
def _(tmp_path, monkeypatch, sandbox):
    return _sync(tmp_path, monkeypatch, sandbox), None


@scenario("sync", 1, "a row invalid beyond --max-invalid")
def _(tmp_path, monkeypatch, sandbox):
    return _sync(tmp_path, monkeypatch, sandbox, bad=True), None


@scenario("sync", 1, "rows failed: kept in the outbox")
def _(tmp_path, monkeypatch, sandbox):
    argv = _sync(tmp_path, monkeypatch, sandbox)
    sandbox.fail_next(1, status=503)
    return [*argv, "--max-retries", "0"], None


@scenario("sync", 2, "a database that refuses the query")
def _(tmp_path, monkeypatch, sandbox):
    _sync(tmp_path, monkeypatch, sandbox)  # the credentials
    argv = ["sync", "--sql", "SELECT * FROM nowhere WHERE t >= :since", "--db", f"sqlite:///{tmp_path}/x.db",
            "--app-id", "acme", "--state", str(tmp_path / "s")]  # fmt: skip
    return argv, r"^productiv-pandas: error: cannot run the query on sqlite:///.*no such table: nowhere"


@scenario("sync", 3, "another run holds the state")
def _(tmp_path, monkeypatch, sandbox):
    from productiv_pandas.sync import _run

    def locked(*args, **kwargs):
        raise pp.SyncLocked(str(tmp_path / "acme.sync"))

    monkeypatch.setattr(_run, "sync", locked)
    return _sync(tmp_path, monkeypatch, sandbox), r"^productiv-pandas: another sync run holds the state "


@scenario("sync", 4, "a bug: 3 is the lock's")
def _(tmp_path, monkeypatch, sandbox):
    from productiv_pandas.sync import _run

    monkeypatch.setattr(_run, "sync", _raising(RuntimeError(SECRET_TEXT)))
    return _sync(tmp_path, monkeypatch, sandbox), r"^productiv-pandas: internal error: RuntimeError at "


@scenario("sync", 130, "Ctrl-C")
def _(tmp_path, monkeypatch, sandbox):
    from productiv_pandas.sync import _run

    monkeypatch.setattr(_run, "sync", _raising(KeyboardInterrupt()))
    return _sync(tmp_path, monkeypatch, sandbox), r"^interrupted$"


@scenario("demo", 0, "the demo ran")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_demo, "run_demo", lambda *args, **kwargs: 0)  # run_demo's only return value
    return ["demo"], None


@scenario("demo", 2, "a file it cannot read")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_demo, "run_demo", _raising(FileNotFoundError(2, "No such file", "make_sample.py")))
    return ["demo"], r"^productiv-pandas: error: .*make_sample\.py"


@scenario("demo", 2, "a usage error")
def _(tmp_path, monkeypatch, sandbox):
    return ["demo", "--no-such-option"], r"^productiv-pandas: error: .*--no-such-option"


@scenario("demo", 3, "a bug")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_demo, "run_demo", _raising(RuntimeError(SECRET_TEXT)))
    return ["demo"], r"^productiv-pandas: internal error: RuntimeError at "


@scenario("demo", 130, "Ctrl-C")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(_demo, "run_demo", _raising(KeyboardInterrupt()))
    return ["demo"], r"^interrupted$"


class _CtrlCWhileWaiting:
    """A threading.Event whose wait is interrupted by Ctrl-C, as the serving loop's would be."""

    def set(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> bool:
        raise KeyboardInterrupt


@scenario("sandbox", 0, "stopped by Ctrl-C")
def _(tmp_path, monkeypatch, sandbox):
    import threading

    fake = types.SimpleNamespace(Event=_CtrlCWhileWaiting, current_thread=threading.current_thread,
                                 main_thread=threading.main_thread)  # fmt: skip
    monkeypatch.setattr(foreground, "threading", fake)
    return ["sandbox", "--app", "acme"], None


@scenario("sandbox", 2, "the port is taken")
def _(tmp_path, monkeypatch, sandbox):
    port = int(sandbox.url.rsplit(":", 1)[1])  # the module's sandbox listens there
    return [
        "sandbox",
        "--port",
        str(port),
    ], rf"^productiv-pandas sandbox: cannot serve on 127\.0\.0\.1:{port}: "


@scenario("sandbox", 2, "a usage error")
def _(tmp_path, monkeypatch, sandbox):
    return ["sandbox", "--port", "65536"], r"^productiv-pandas: error: .*--port"


@scenario("sandbox", 3, "a bug")
def _(tmp_path, monkeypatch, sandbox):
    monkeypatch.setattr(pp.sandbox, "serve_in_foreground", _raising(RuntimeError(SECRET_TEXT)))
    return ["sandbox"], r"^productiv-pandas: internal error: RuntimeError at "


@pytest.mark.parametrize(
    ("command", "code", "setup"),
    [
        pytest.param(command, code, setup, id=f"{command}-{code}-{what}")
        for command, code, what, setup in SCENARIOS
    ],
)
def test_each_command_exits_with_its_documented_code(
    command, code, setup, tmp_path, monkeypatch, capsys, sandbox
):
    argv, expected_line = setup(tmp_path, monkeypatch, sandbox)
    assert _exit_code(argv) == code
    stderr = capsys.readouterr().err
    assert SECRET_TEXT not in stderr
    if expected_line is not None:
        lines = [line for line in stderr.splitlines() if not line.startswith("warning:")]
        assert len(lines) == 1, stderr  # one line, never a traceback
        assert re.search(expected_line, lines[0]), lines[0]


def _readme_table() -> dict[tuple[str, int], str]:
    """The README's exit-code table: (command, code) -> what it means, for every cell not "—"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Command line", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[0] == "command"
    codes = [int(cell) for cell in header[1:]]
    table = {}
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if set(cells[0]) <= {"-"}:
            continue  # the |---| line
        command = cells[0].strip("`")
        for code, meaning in zip(codes, cells[1:], strict=True):
            if not meaning.startswith("—"):
                table[command, code] = meaning
    return table


def test_the_readme_table_documents_exactly_the_codes_tested():
    documented = _readme_table()
    tested = {(command, code) for command, code, _, _ in SCENARIOS}
    assert set(documented) == tested
    assert {command for command, _ in documented} == set(cli._COMMANDS)


def test_the_cli_docstring_lists_the_same_codes():
    listed = {int(code) for code in re.findall(r"^- (\d+): ", cli.__doc__ or "", flags=re.M)}
    assert listed == {code for _, code, _, _ in SCENARIOS}


@pytest.mark.slow
def test_the_readme_advice_for_set_e_scripts_lets_1_pass_and_stops_on_2(tmp_path):
    """The README's ``set -e`` lines, run by sh with the real command: exit 1 (an invalid row)
    goes on, exit 2 (a missing file) stops the script."""
    text = README.read_text(encoding="utf-8")
    block = next(
        body for body in re.findall(r"```sh\n(.*?)```", text, flags=re.S) if body.startswith("set -e")
    )
    package_parent = str(Path(pp.__file__).resolve().parent.parent)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PRODUCTIV_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    command = f"{sys.executable} -m productiv_pandas"
    for source, expected in [(_csv(tmp_path, bad=True), 0), (str(tmp_path / "missing.csv"), 1)]:
        script = block.replace("productiv-pandas", command).replace("export.csv", source)
        script += 'echo "the script went on"\n'
        run = subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120, check=False)  # fmt: skip
        assert run.returncode == expected, run.stderr
        assert ("the script went on" in run.stdout) is (expected == 0)
    assert (tmp_path / "report.csv").exists()
