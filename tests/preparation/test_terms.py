"""The two vocabularies of :mod:`productiv_pandas.preparation._terms` and every message that
takes one: each check worded once, in Python terms by default and in the command line's when
the CLI passes ``_terms=CLI`` down through the file functions (issue 11, point 4)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.errors import StatusFileError
from productiv_pandas.files._run import lost_status_message
from productiv_pandas.preparation._prepare import select_columns
from productiv_pandas.preparation._terms import CLI, PYTHON
from tests.files.test_stream import InterruptingClient, fresh

APP = "acme"
FIELDS = "['timestamp', 'email', 'eventName', 'targetApp']"


def csv(tmp_path: Path, frame: pd.DataFrame, name: str = "export.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def refusal(path: Path, **options) -> str:
    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate_file(path, **options)
    return str(caught.value)


# -- the templates --------------------------------------------------------------------------------


def test_an_option_with_a_value():
    assert PYTHON.option("unit", "s") == "unit='s'"
    assert CLI.option("unit", "s") == "--unit s"
    assert PYTHON.hint("on_stale", "skip") == "pass on_stale='skip'"
    assert CLI.hint("on_stale", "skip") == "use --on-stale skip"
    assert CLI.option("tz", "America/New_York") == "--tz America/New_York"
    assert CLI.option("tz", "Local time") == "--tz 'Local time'"  # one shell word
    assert (PYTHON.offered("tz", "UTC"), CLI.offered("tz", "UTC")) == ("'UTC'", "--tz UTC")
    assert (PYTHON.blank("journal"), CLI.blank("journal")) == ("journal=", "--journal FILE")
    assert [CLI.name(name) for name in ("columns", "login_events", "allowed_events")] == [
        "--column",
        "--login-event",
        "--allowed-events",
    ]


def test_a_column_mapping():
    pairs = [("Time stamp", "timestamp"), ("EMAIL", "email")]
    assert PYTHON.columns(pairs) == "columns={'Time stamp': 'timestamp', 'EMAIL': 'email'}"
    assert CLI.columns(pairs) == "--column 'Time stamp=timestamp' --column EMAIL=email"
    assert PYTHON.columns([(0, "timestamp")]) == "columns={0: 'timestamp'}"
    assert PYTHON.columns([(("a", 1), "email")]) == "columns={('a', 1): 'email'}"


def test_a_terms_option_that_is_not_terms_is_refused():
    with pytest.raises(TypeError, match=r"^_terms must be a Terms, got str$"):
        pp.validate(fresh(1), _terms="cli")


# -- the messages of the checks, in each vocabulary ----------------------------------------------


def test_a_close_name_is_suggested_as_the_user_maps_columns(tmp_path):
    path = csv(tmp_path, fresh(1).rename(columns={"timestamp": "Timestamp", "email": "EMAIL"}))
    start = "missing required column(s) ['timestamp', 'email']; the "
    has = " has ['Timestamp', 'EMAIL', 'eventName']; map yours with "

    cli = "--column Timestamp=timestamp --column EMAIL=email"
    assert refusal(path, _terms=CLI) == start + "file" + has + cli
    assert refusal(path) == start + "frame" + has + "columns={'Timestamp': 'timestamp', 'EMAIL': 'email'}"


@pytest.mark.parametrize(
    ("columns", "cli", "python"),
    [
        (
            {"nope": "email"},
            "--column maps ['nope'] but the file has no such column; it has ['timestamp', 'email', "
            "'eventName', 'other']",
            "columns maps ['nope'] but the frame has no such column; it has ['timestamp', 'email', "
            "'eventName', 'other']",
        ),
        (
            {"email": "mail"},
            f"--column maps 'email' to 'mail', which is not an API field (did you mean 'email'?); "
            f"the fields are {FIELDS}",
            f"columns maps 'email' to 'mail', which is not an API field (did you mean 'email'?); "
            f"the fields are {FIELDS}",
        ),
        (
            {"email": "email", "other": "email"},
            "--column maps ['email', 'other'] all to 'email'; keep one",
            "columns maps ['email', 'other'] all to 'email'; keep one",
        ),
    ],
)
def test_a_bad_column_mapping_names_the_option_as_the_user_gave_it(tmp_path, columns, cli, python):
    path = csv(tmp_path, fresh(1).assign(other=["b@c.de"]))

    assert refusal(path, columns=columns, _terms=CLI) == cli
    assert refusal(path, columns=columns) == python


def test_a_column_named_twice_is_picked_with_the_users_option(tmp_path):
    path = csv(tmp_path, fresh(3).assign(other=["x@y.io"] * 3))
    path.write_text(path.read_text().replace(",other", ",email", 1))
    start = (
        f"{str(path)!r} has more than one column named 'email'; rename one in its header, "
        "or pick the second with "
    )

    assert refusal(path, _terms=CLI) == start + "--column email.1=email"
    assert refusal(path) == start + "columns={'email.1': 'email'}"


def test_columns_of_one_name_in_a_file_get_no_pandas_code():
    frame = fresh(1)
    frame = pd.concat([frame, frame[["timestamp"]]], axis=1)
    message = "2 columns named 'timestamp' (at positions [0, 3]): drop or rename all but one"

    with pytest.raises(pp.ConfigurationError) as caught:
        select_columns(frame, {}, CLI)
    assert str(caught.value) == "the file has " + message
    with pytest.raises(pp.ConfigurationError) as caught:
        select_columns(frame, {})
    assert str(caught.value) == (
        "the frame has " + message + ", e.g. df = df.loc[:, ~df.columns.duplicated()] keeps the first"
    )


def test_a_frame_with_numbered_columns_is_mapped_without_an_ellipsis():
    frame = fresh(1).iloc[:, :3]
    frame.columns = [0, 1, 2]

    with pytest.raises(pp.ConfigurationError) as caught:
        pp.validate(frame)
    assert str(caught.value).endswith(
        "its column labels are not names (was the file read with header=None?): "
        "map them with columns={0: 'timestamp'}"
    )


def test_an_unknown_zone_suggests_names_as_the_user_writes_them(tmp_path):
    path = csv(tmp_path, fresh(1))

    assert refusal(path, tz="Mars/Base", _terms=CLI) == (
        "unknown timezone 'Mars/Base': use an IANA name like --tz Europe/Paris or --tz UTC"
    )
    assert refusal(path, tz="Mars/Base") == (
        "unknown timezone 'Mars/Base': use an IANA name like 'Europe/Paris' or 'UTC'"
    )


def test_the_warnings_of_a_file_name_the_users_options(tmp_path):
    old = pd.Timestamp.now(tz="UTC").tz_localize(None) - pd.Timedelta(hours=36)
    path = csv(tmp_path, fresh(1).assign(timestamp=[old.strftime("%Y-%m-%d %H:%M:%S")]))
    said = {}
    for terms in (CLI, PYTHON):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pp.validate_file(path, _terms=terms)
        said[terms.verb] = [str(warning.message).split("12 hours", 2)[-1] for warning in caught]

    assert said == {
        "use": [
            ". Use --on-stale skip to leave them out or --on-stale ignore to send them quietly.",
            "1 timestamp(s) had no timezone and were read as UTC; use --tz Area/City (the zone they "
            "were recorded in), or --tz UTC if they are UTC.",
        ],
        "pass": [
            ". Pass on_stale='skip' to leave them out or on_stale='ignore' to send them quietly.",
            "1 timestamp(s) had no timezone and were read as UTC; pass tz='Area/City' (the zone they "
            "were recorded in), or tz='UTC' if they are UTC.",
        ],
    }


# -- the file functions' advice on resuming ---------------------------------------------------------


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events={"opened_file", "shared_doc", "sso_login"}, login_events={"sso_login"})


def test_a_bad_line_mid_file_advises_the_users_journal_option(sb, tmp_path):
    path = tmp_path / "events.jsonl"
    lines = fresh(6).to_json(orient="records", lines=True).splitlines()
    path.write_text("\n".join([*lines[:4], "{oops", *lines[4:]]) + "\n")
    with sb.client() as client, pytest.raises(pp.ConfigurationError) as caught:
        pp.publish_file(path, APP, client=client, chunksize=2, progress=False, _terms=CLI)

    assert str(caught.value).endswith(
        "the 4 rows before it have a status (4 sent): fix the file and publish it again "
        "(with --journal FILE to skip the rows already sent)"
    )


@pytest.mark.parametrize(("terms", "advice"), [(CLI, "Use --journal FILE"), (PYTHON, "Pass journal=")])
def test_an_interrupted_publish_advises_the_users_journal_option(sb, tmp_path, terms, advice):
    path = csv(tmp_path, fresh(20))
    with sb.client() as client, pytest.raises(pp.PublishInterrupted) as caught:
        pp.publish_file(
            path, APP, client=InterruptingClient(client, at=1), chunksize=10, batch_size=5,
            max_workers=1, progress=False, _terms=terms,
        )  # fmt: skip

    assert str(caught.value).endswith(f"{advice} to be able to resume without sending rows twice.")


def test_a_status_lost_everywhere_points_python_users_at_the_exception():
    status = pd.DataFrame({"status": ["valid"] * 3}, index=[10, 11, 12])
    error = StatusFileError(Path("out.csv"), OSError("disk full"), status, 10)
    end = "; the status of rows 10 to 12 could not be written anywhere"
    tail = "; the rows from row 13 on were not read"

    assert lost_status_message(error, "csv", False, CLI).endswith(end + tail)
    assert lost_status_message(error, "csv", False, PYTHON).endswith(
        end + " (in Python: this error's .status)" + tail
    )
