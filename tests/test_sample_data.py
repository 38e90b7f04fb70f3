"""The sample export, ``pp.sample_events``: deterministic, carrying the documented defects, kept fresh.

Also the script in data/ that writes it as CSV.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import _sample as ms

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "make_sample.py"
_spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)

# Far from a daylight-saving change, so no New York local time is ambiguous.
NOW = pd.Timestamp("2025-06-10T15:00:00Z")
ROWS = 30_000


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pp.sample_events(now=NOW)


@pytest.fixture(scope="module")
def report(sample: pd.DataFrame) -> pd.DataFrame:
    return pp.validate(sample, **pp.SAMPLE_OPTIONS, now=NOW, on_stale="ignore")


def between(count: int, share: float, rows: int = ROWS, slack: float = 0.25) -> bool:
    """Is ``count`` within ``slack`` (relative) of ``share`` of ``rows``?"""
    expected = share * rows
    return (1 - slack) * expected <= count <= (1 + slack) * expected


def test_same_seed_and_now_give_the_same_frame():
    first = pp.sample_events(2_000, seed=3, now=NOW)
    pd.testing.assert_frame_equal(first, pp.sample_events(2_000, seed=3, now=NOW))
    assert not first.equals(pp.sample_events(2_000, seed=4, now=NOW))
    assert not first.equals(pp.sample_events(2_000, seed=3, now=NOW + pd.Timedelta(hours=1)))


def test_the_defaults_are_30_000_rows_seed_7_and_the_current_time():
    before = pd.Timestamp.now(tz="UTC")
    frame = pp.sample_events()
    after = pd.Timestamp.now(tz="UTC")
    assert len(frame) == ROWS
    newest = pd.to_datetime(frame["occurred_at"].str.extract(r"^(.*Z)$")[0].dropna(), utc=True).max()
    assert before - pd.Timedelta(hours=11) <= newest <= after
    now = pd.Timestamp(newest) + pd.Timedelta(seconds=40)  # some now after the newest row
    assert pp.sample_events(500, now=now).equals(pp.sample_events(500, seed=7, now=now))


def test_sample_options_are_read_only_and_read_the_sample_as_meant():
    options = pp.SAMPLE_OPTIONS
    assert isinstance(options, Mapping)
    assert set(options) == {"columns", "tz", "login_events", "allowed_events"}
    assert dict(options["columns"]) == {
        "occurred_at": "timestamp", "user_email": "email", "action": "eventName", "target_app": "targetApp",
    }  # fmt: skip
    assert options["tz"] == "America/New_York"
    assert options["login_events"] == frozenset({"sso_login"})
    assert options["allowed_events"] == ms.CATALOG
    with pytest.raises(TypeError):
        options["tz"] = "UTC"  # type: ignore[index]
    with pytest.raises(TypeError):
        options["columns"]["ip"] = "timestamp"


def test_shape_of_the_export(sample: pd.DataFrame):
    assert len(sample) == ROWS
    assert list(sample.columns) == ["occurred_at", "user_email", "action", "target_app", "ip", "session_id"]
    users = sample["user_email"].str.strip().str.lower().nunique()
    assert 1_500 <= users <= ms.USERS + 200  # a few thousand users, plus their misspellings
    assert set(ms.CATALOG) <= set(sample["action"])  # every app's events occur
    assert (
        sample["target_app"].notna().sum()
        == ((sample["action"] == ms.LOGIN_EVENT) & sample["target_app"].notna()).sum()
    )  # only logins name a target app


@pytest.mark.parametrize("rows", [0, 1, 60])
def test_tiny_samples_still_have_text_columns(rows: int):
    frame = pp.sample_events(rows, now=NOW)
    assert len(frame) == rows
    assert (frame.dtypes == "str").all()


def test_the_csv_round_trip_gives_back_the_generated_frame(tmp_path: Path):
    path = script.write_sample(tmp_path / "export.csv", now=NOW, n=3_000)
    assert path == tmp_path / "export.csv"
    assert sorted(tmp_path.iterdir()) == [path]  # the scratch file was moved into place
    read = pd.read_csv(path, dtype="str")
    pd.testing.assert_frame_equal(read, pp.sample_events(3_000, now=NOW))


def test_time_formats_are_mixed(sample: pd.DataFrame):
    times = sample["occurred_at"]
    naive = times.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    offset = times.str.fullmatch(r".*T.*[+-]\d\d:\d\d")
    zulu = times.str.endswith("Z")
    epoch = times.str.fullmatch(r"\d{10}")
    assert (naive | offset | zulu | epoch).all()
    assert between(naive.sum(), ms.RATES["naive_local"])
    assert between(offset.sum(), ms.RATES["local_offset"])
    assert between(epoch.sum(), ms.RATES["epoch_seconds"])


def test_status_mix(report: pd.DataFrame):
    counts = report["status"].value_counts()
    duplicates = sum(ms.RATES[k] for k in ms.RATES if k.endswith("duplicate"))
    assert between(counts["duplicate"], duplicates, slack=0.1)
    row_defects = ms.RATES["bad_email"] + ms.RATES["epoch_seconds"] + ms.RATES["typo"]
    assert between(counts["invalid"], row_defects + 0.1 * ms.RATES["login_without_target"], slack=0.3)
    assert counts["valid"] / ROWS > 0.95
    assert counts["valid"] + counts["duplicate"] + counts["invalid"] == ROWS
    assert between(report["stale"].sum(), ms.RATES["stale"])


@pytest.mark.parametrize(
    ("pattern", "share"),
    [
        (r"^email '[^']*' has no domain$", ms.RATES["bad_email"] / 4),
        (r"^email '[^']*' has no '@'$", ms.RATES["bad_email"] / 4),
        (r"^email '[^']*' contains whitespace$", ms.RATES["bad_email"] / 4),
        (r"^email '[^']*' has no dot in its domain '[^']*'$", ms.RATES["bad_email"] / 4),
        (r"^timestamp \d{10} read as milliseconds .* pass unit='s'$", ms.RATES["epoch_seconds"]),
        (r"^eventName '[^']*' is not in the app's event mapping; did you mean '\w+'\?$", ms.RATES["typo"]),
        (r"^eventName 'sso_login' is a Login event and needs a targetApp$", 0.1 * 0.05),
        (r"^duplicate of row \d+$", 0.022),
    ],
)
def test_every_defect_shows_with_its_reason(report: pd.DataFrame, pattern: str, share: float):
    assert between(report["reason"].str.contains(pattern, regex=True).sum(), share, slack=0.5)


def test_typos_are_matched_to_the_intended_name(sample: pd.DataFrame, report: pd.DataFrame):
    typo = report["reason"].str.contains("did you mean", na=False)
    suggested = report.loc[typo, "reason"].str.extract(r"did you mean '([a-z_]+)'")[0]
    intended = sample.loc[typo, "action"].map({t: name for name, ts in ms.TYPOS.items() for t in ts})
    assert (suggested == intended).all()


def test_case_and_whitespace_variants_are_duplicates_of_the_clean_row(sample, report):
    duplicate = report["status"] == "duplicate"
    kept = report.loc[duplicate, "reason"].str.extract(r"row (\d+)")[0].astype(int)
    theirs = sample.loc[kept.to_numpy(), "user_email"].to_numpy()
    ours = sample.loc[duplicate, "user_email"].to_numpy()
    differs = ours != theirs
    assert between(differs.sum(), ms.RATES["email_variant_duplicate"], slack=0.1)
    assert all(
        a.strip().lower() == b.strip().lower() for a, b in zip(ours[differs], theirs[differs], strict=True)
    )
    assert (report.loc[kept.to_numpy(), "status"] == "valid").all()


def test_mixed_case_emails_are_valid_once_lower_cased(sample, report):
    mixed = sample["user_email"].str.contains("[A-Z]") & ~sample["user_email"].str.contains(" ")
    assert mixed.sum() > 300
    assert not report.loc[mixed, "reason"].str.contains("email", na=False).any()
    assert report.loc[mixed, "email"].str.islower().all()


def test_local_times_need_the_zone(sample):
    without_tz = {k: v for k, v in pp.SAMPLE_OPTIONS.items() if k != "tz"}
    with pytest.warns(pp.NaiveTimestampWarning):
        utc = pp.validate(sample, **without_tz, now=NOW, on_stale="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error", pp.NaiveTimestampWarning)
        local = pp.validate(sample, **pp.SAMPLE_OPTIONS, now=NOW, on_stale="ignore")
    naive = sample["occurred_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    shift = (local.loc[naive, "timestamp"] - utc.loc[naive, "timestamp"]).unique()
    assert set(shift) == {4 * 3_600_000}  # New York is UTC-4 in June


def test_fresh_rows_are_within_the_window_and_stale_ones_skipped(sample):
    report = pp.validate(sample, **pp.SAMPLE_OPTIONS, now=NOW, on_stale="skip")
    # A timestamp that failed its checks (seconds read as ms, a future clock) is never stale.
    sound = report["timestamp"].notna() & ~report["problem"].astype("string").str.startswith(
        "timestamp."
    ).fillna(False)
    age = (NOW.value // 1_000_000 - report.loc[sound, "timestamp"]) / 3_600_000
    age = age[~report.loc[sound, "stale"]]
    assert age.between(0, 11).all()  # an hour's margin for a reused file
    misread = report["problem"] == "timestamp.unit"
    assert misread.sum() == 88
    assert not report.loc[misread, "stale"].any()
    skipped = report["status"] == "skipped"
    assert between(skipped.sum(), ms.RATES["stale"], slack=0.3)
    assert report.loc[skipped, "reason"].str.startswith("stale: ").all()


@pytest.mark.slow
def test_script_writes_the_requested_rows(tmp_path: Path):
    out = tmp_path / "export.csv"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "700", "--out", str(out), "--now", "2025-06-10T15:00Z"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.fullmatch(r"wrote 700 rows to .*export\.csv\n", done.stdout)
    written = pd.read_csv(out, dtype="str")
    pd.testing.assert_frame_equal(written, pp.sample_events(700, now="2025-06-10T15:00Z"))
