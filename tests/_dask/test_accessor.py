"""ddf.productiv on Dask's local schedulers: the same statuses as pandas, sent once, against the sandbox.

The reference is always the pandas validate of the same rows concatenated (``ddf.compute()``),
compared exactly: status, reason, stale, timestamp, email, every column and dtype.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
import dask  # noqa: E402  (after the skip: without dask there is nothing to test here)

import productiv_pandas as pp  # noqa: E402
from productiv_pandas._dask import frames as dask_frames  # noqa: E402
from productiv_pandas.preparation._prepare import prepare_events  # noqa: E402
from productiv_pandas.status import STATUS_COLUMNS  # noqa: E402

pytestmark = pytest.mark.slow  # Dask's schedulers cost seconds a test; some tests start subprocesses

APP = "acme"
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05)
NOW = pd.Timestamp.now(tz="UTC").floor("s")
MS = int(NOW.value // 1_000_000)
HOUR = 3_600_000


def row(minutes_ago: float, email: str, event: str = "opened_file", target=None) -> dict:
    return {"when": MS - int(minutes_ago * 60_000), "user": email, "action": event, "target": target}


def pieces() -> list[pd.DataFrame]:
    """Four partitions (one empty) with duplicates within and across them, in every combination."""
    a, b = row(10, "a@x.com"), row(20, "b@x.com", "sso_login")
    stale, e = row(20 * 60, "c@x.com"), row(30, "e@x.com")
    parts = [
        [a, b, stale, row(40, "d@x.com"), a],  # b lacks its targetApp: invalid, shadows nothing
        [{**b, "target": "okta"}, a, stale, e],  # b valid here; a and stale repeat partition 0's
        [],
        [e, e, row(50, "f@x.com"), row(5, "not an email"), a, row(-60, "g@x.com")],
    ]
    columns = ["when", "user", "action", "target"]
    return [
        pd.DataFrame(rows, columns=columns, index=[f"p{n}-{i}" for i in range(len(rows))]).astype(
            {"when": "int64", "user": "str", "action": "str", "target": "str"}
        )
        for n, rows in enumerate(parts)
    ]


COLUMNS = {"when": "timestamp", "user": "email", "action": "eventName", "target": "targetApp"}
OPTIONS = {"columns": COLUMNS, "now": NOW, "login_events": ["sso_login"]}


def as_dask(frames: list[pd.DataFrame]) -> dd.DataFrame:
    return dd.concat([dd.from_pandas(frame, npartitions=1, sort=False) for frame in frames])


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=None, login_events={"sso_login"})


def pandas_validate(ddf, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pp.StaleEventWarning)
        return ddf.compute().productiv.validate(**options)


@pytest.mark.parametrize("on_stale", ["warn", "skip", "ignore"])
def test_validate_equals_pandas_on_the_whole_frame(on_stale):
    ddf = as_dask(pieces())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # partitions never warn (see dask_frames)
        got = ddf.productiv.validate(on_stale=on_stale, **OPTIONS).compute()
    expected = pandas_validate(ddf, on_stale=on_stale, **OPTIONS)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    reasons = got["reason"].to_dict()
    assert reasons["p0-4"] == "duplicate of row 'p0-0'"
    assert reasons["p1-1"] == "duplicate of row 'p0-0'"
    assert reasons["p1-2"] == "duplicate of row 'p0-2'"  # a stale row's copy: duplicate, not skipped
    assert reasons["p3-0"] == "duplicate of row 'p1-3'"
    assert reasons["p3-1"] == "duplicate of row 'p1-3'"  # not of p3-0, its partition's first
    assert reasons["p3-4"] == "duplicate of row 'p0-0'"
    assert got.loc["p0-1", "status"] == "invalid"
    assert got.loc["p1-0", "status"] == "valid"
    assert got.loc["p0-2", "status"] == ("skipped" if on_stale == "skip" else "valid")
    assert got["stale"].sum() == 2


def test_a_misread_timestamp_is_invalid_and_not_stale_in_dask():
    seconds = row(60, "a@x.com")
    seconds["when"] //= 1000  # seconds read as milliseconds: January 1970
    parts = [
        pd.DataFrame([seconds, row(20 * 60, "b@x.com")]).astype({"target": "str"}),
        pd.DataFrame([row(30 * 60, "not an email")]).astype({"target": "str"}),
    ]
    got = as_dask(parts).productiv.validate(on_stale="ignore", **OPTIONS).compute()
    assert got["status"].tolist() == ["invalid", "valid", "invalid"]
    assert got["problem"].astype(object).fillna("-").tolist() == ["timestamp.unit", "-", "email.whitespace"]
    assert got["stale"].tolist() == [False, True, True]


def pandas_prepare(ddf, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pp.StaleEventWarning)
        return ddf.compute().productiv.prepare(**options)


@pytest.mark.parametrize("on_stale", ["warn", "skip"])
def test_prepare_equals_pandas_prepare_on_the_whole_frame(on_stale):
    ddf = as_dask(pieces())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lazy, like validate: no warning
        lazy = ddf.productiv.prepare(on_stale=on_stale, **OPTIONS)
        got = lazy.compute()
    expected = pandas_prepare(ddf, on_stale=on_stale, **OPTIONS)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert lazy._meta.dtypes.to_dict() == got.dtypes.to_dict()
    assert list(got.columns) == ["timestamp", "email", "eventName", "targetApp"]
    assert got["timestamp"].dtype == np.int64
    # First occurrences kept across partitions (p0-0, p1-3), their later copies gone.
    stale = [] if on_stale == "skip" else ["p0-2"]
    assert got.index.tolist() == ["p0-0", *stale, "p0-3", "p1-0", "p1-3", "p3-2"]
    assert got.loc["p1-0", "targetApp"] == "okta"


def test_prepare_is_lazy_and_matches_pandas_with_repeated_labels():
    def no_compute(*args, **kwargs):
        raise AssertionError("prepare computed something")

    frames = [frame.reset_index(drop=True) for frame in pieces()]
    ddf = as_dask(frames)
    with dask.config.set(scheduler=no_compute):
        lazy = ddf.productiv.prepare(on_stale="ignore", **OPTIONS)
    assert lazy.npartitions == ddf.npartitions
    got = lazy.compute()
    pd.testing.assert_frame_equal(got, pandas_prepare(ddf, on_stale="ignore", **OPTIONS), check_exact=True)
    assert got.index.tolist() == [0, 2, 3, 0, 3, 2]


def test_prepare_of_an_empty_frame_has_the_wire_columns():
    got = dd.from_pandas(pieces()[2], npartitions=1).productiv.prepare(**OPTIONS).compute()
    pd.testing.assert_frame_equal(got, pieces()[2].productiv.prepare(**OPTIONS), check_index_type=False)
    assert len(got) == 0


def test_validate_matches_pandas_with_repeated_labels_and_naive_text_times():
    """Partitions as read_csv makes them: each indexed from 0, times as text without an offset."""
    frames = [frame.reset_index(drop=True) for frame in pieces()]
    for frame in frames:
        frame["when"] = pd.to_datetime(frame["when"], unit="ms").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    ddf = as_dask(frames)
    got = ddf.productiv.validate(**OPTIONS).compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pp.NaiveTimestampWarning)
        expected = pandas_validate(ddf, **OPTIONS)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["reason"].iloc[-2] == "duplicate of row 0"


def test_publish_warns_once_about_naive_times_in_every_partition(sb):
    frames = pieces()
    for frame in frames:
        frame["when"] = pd.to_datetime(frame["when"], unit="ms").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    ddf = as_dask(frames)
    with sb.client(retry=FAST) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = ddf.productiv.publish(APP, client=client, on_stale="ignore", **OPTIONS).compute()
    assert [str(w.message).split(";")[0] for w in caught] == [
        "15 timestamp(s) had no timezone and were read as UTC"
    ]
    assert (status["status"] == "sent").sum() == 6


def test_validate_is_lazy_and_its_meta_is_the_status_frame():
    def no_compute(*args, **kwargs):
        raise AssertionError("validate computed something")

    ddf = as_dask(pieces())
    with dask.config.set(scheduler=no_compute):
        lazy = ddf.productiv.validate(**OPTIONS)
    assert lazy.npartitions == ddf.npartitions
    assert list(lazy.columns) == list(STATUS_COLUMNS)
    computed = lazy.compute()
    assert lazy._meta.dtypes.to_dict() == computed.dtypes.to_dict()
    assert computed["status"].dtype == pd.CategoricalDtype(list(pp.STATUSES))


def test_each_partition_is_prepared_once_a_compute(monkeypatch):
    """Three steps read the prepared partitions; Dask must not fuse prepare into each of them."""
    calls = []

    def counted(frame, options):
        calls.append(len(frame))
        return prepare_events(frame, options)

    monkeypatch.setattr(dask_frames, "prepare_events", counted)
    lazy = as_dask(pieces()).productiv.validate(**OPTIONS)
    assert calls == [0]  # the meta, at call time
    lazy.compute()
    assert sorted(calls) == [0, 0, 4, 5, 6]


def test_publish_prepares_each_partition_once(sb, monkeypatch):
    calls = []

    def counted(frame, options):
        calls.append(len(frame))
        return prepare_events(frame, options)

    monkeypatch.setattr(dask_frames, "prepare_events", counted)
    with sb.client(retry=FAST) as client:
        as_dask(pieces()).productiv.publish(APP, client=client, on_stale="ignore", **OPTIONS)
    assert sorted(calls) == [0, 0, 4, 5, 6]


def test_the_input_is_never_modified(sb):
    frames = pieces()
    copies = [frame.copy(deep=True) for frame in frames]
    ddf = as_dask(frames)
    before = ddf.compute()
    ddf.productiv.validate(**OPTIONS).compute()
    with sb.client(retry=FAST) as client:
        ddf.productiv.publish(APP, client=client, on_stale="ignore", **OPTIONS).compute()
    for frame, copy in zip(frames, copies, strict=True):
        pd.testing.assert_frame_equal(frame, copy)
    pd.testing.assert_frame_equal(ddf.compute(), before)


def assert_stored_exactly_the_sent_rows(sb, status: pd.DataFrame) -> None:
    sent = status[status["status"] == "sent"]
    stored = sb.events(APP)
    key = ["timestamp", "email", "eventName"]
    got = sorted(map(tuple, stored[key].astype(object).to_numpy().tolist()))
    assert got == sorted(map(tuple, sent[key].astype(object).to_numpy().tolist()))
    assert sb.stats()["duplicates_received"] == 0


def test_publish_sends_every_valid_row_once_and_computing_again_sends_nothing(sb):
    ddf = as_dask(pieces())
    with sb.client(retry=FAST) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ddf.productiv.publish(APP, client=client, batch_size=2, **OPTIONS)
    stale_warnings = [w for w in caught if issubclass(w.category, pp.StaleEventWarning)]
    assert len(stale_warnings) == 1  # once for the whole frame, on the client
    assert str(stale_warnings[0].message).startswith("1 event(s) are older than 12 hours (the oldest by 20.0")
    assert stale_warnings[0].filename == __file__  # it points at the caller's line
    assert [w for w in caught if issubclass(w.category, pp.NaiveTimestampWarning)] == []
    status = result.compute()
    assert result._meta.dtypes.to_dict() == status.dtypes.to_dict()
    expected = pandas_validate(ddf, **OPTIONS)
    valid = expected["status"] == "valid"
    assert (
        status["status"].astype(str).tolist()
        == expected["status"].astype(str).replace("valid", "sent").tolist()
    )
    pd.testing.assert_frame_equal(status.loc[~valid], expected.loc[~valid])
    assert (status.loc[valid, "http_status"] == 200).all()
    assert (status.loc[valid, "attempts"] == 1).all()
    assert_stored_exactly_the_sent_rows(sb, status)
    requests = sb.stats()["requests"]
    result.compute()
    result["status"].value_counts().compute()
    assert sb.stats()["requests"] == requests


def test_publish_skips_stale_rows_when_asked(sb):
    ddf = as_dask(pieces())
    with sb.client(retry=FAST) as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        status = ddf.productiv.publish(APP, client=client, on_stale="skip", **OPTIONS).compute()
    assert status.loc["p0-2", "status"] == "skipped"
    assert status.loc["p1-2", "status"] == "duplicate"
    assert status.loc["p0-2", "reason"].startswith("stale: 20.0 hours old")
    assert_stored_exactly_the_sent_rows(sb, status)
    assert ("c@x.com" in set(sb.events(APP)["email"])) is False


def test_a_fault_in_one_partition_fails_only_its_rows(sb):
    ddf = as_dask(pieces())
    expected = pandas_validate(ddf, on_stale="ignore", **OPTIONS)
    valid = expected.index[expected["status"] == "valid"]
    sb.fail_next(1, status=503)  # the first request of whichever partition sends first
    with sb.client(retry=FAST) as client:
        status = ddf.productiv.publish(
            APP, client=client, batch_size=2, max_workers=1, max_retries=0, on_stale="ignore", **OPTIONS
        ).compute()
    failed = status[status["status"] == "failed"]
    partition = failed.index[0].split("-")[0]
    first_batch = [label for label in valid if label.startswith(partition + "-")][:2]
    assert failed.index.tolist() == first_batch  # that partition's first batch, nothing else
    assert set(failed["reason"]) == {"Service Unavailable (fault injected by the sandbox)"}
    assert (failed["http_status"] == 503).all()
    others = valid.difference(failed.index)
    assert len(others) == 6 - len(first_batch)
    assert (status.loc[others, "status"] == "sent").all()
    assert_stored_exactly_the_sent_rows(sb, status)


def test_publish_with_the_worker_environment_on_threads(sb, monkeypatch):
    """No client given: each partition reads PRODUCTIV_* where it runs (here, this process)."""
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", sb.client_id)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", sb.client_secret)
    monkeypatch.setenv("PRODUCTIV_API_URL", sb.url)
    monkeypatch.setenv("PRODUCTIV_TOKEN_URL", sb.token_url)
    ddf = as_dask(pieces() * 3).repartition(npartitions=5)
    with dask.config.set(scheduler="threads", num_workers=3):
        status = ddf.productiv.publish(APP, batch_size=1, on_stale="ignore", **OPTIONS).compute()
    assert status["status"].value_counts()[["sent", "duplicate", "invalid"]].tolist() == [6, 30, 9]
    assert_stored_exactly_the_sent_rows(sb, status)


def test_publish_from_other_processes_pickles_the_client_settings(sb):
    """The processes scheduler pickles each task, as a cluster does: the client goes as a recipe."""
    ddf = as_dask(pieces())
    with sb.client(retry=FAST) as client, dask.config.set(scheduler="processes", num_workers=2):
        status = ddf.productiv.publish(APP, client=client, on_stale="ignore", **OPTIONS).compute()
    assert (status["status"] == "sent").sum() == 6
    assert_stored_exactly_the_sent_rows(sb, status)


def test_a_client_factory_that_fails_leaves_every_row_a_status(sb):
    def broken():
        raise RuntimeError("the secret s3cr3t-value is not shown")

    ddf = as_dask(pieces())
    status = ddf.productiv.publish(APP, client_factory=broken, on_stale="ignore", **OPTIONS).compute()
    expected = pandas_validate(ddf, on_stale="ignore", **OPTIONS)
    valid = expected["status"] == "valid"
    assert (status.loc[valid, "status"] == "failed").all()
    assert set(status.loc[valid, "reason"]) == {
        "not attempted: the worker could not build a client (RuntimeError)"
    }
    assert not status["reason"].str.contains("s3cr3t", na=False).any()
    assert sb.stats()["requests"] == 0


def test_an_empty_frame_validates_and_publishes_to_nothing(sb):
    empty = pieces()[2]
    ddf = dd.from_pandas(empty, npartitions=1)
    status = ddf.productiv.validate(**OPTIONS).compute()
    assert len(status) == 0
    assert list(status.columns) == list(STATUS_COLUMNS)
    with sb.client(retry=FAST) as client:
        published = ddf.productiv.publish(APP, client=client, **OPTIONS).compute()
    assert len(published) == 0
    assert sb.stats()["requests"] == 0


def test_bad_arguments_are_refused_before_any_work(sb):
    ddf = as_dask(pieces())
    with pytest.raises(pp.ConfigurationError, match=r"missing required column\(s\)"):
        ddf.productiv.validate()
    with pytest.raises(pp.ConfigurationError, match="on_stale must be one of"):
        ddf.productiv.validate(on_stale="sometimes", **{k: v for k, v in OPTIONS.items()})
    with sb.client() as client, pytest.raises(pp.ConfigurationError, match="not both"):
        ddf.productiv.publish(APP, client=client, client_factory=sb.client, **OPTIONS)
    with pytest.raises(pp.ConfigurationError, match="app_id must be a non-empty string"):
        ddf.productiv.publish("", client_factory=sb.client, **OPTIONS)
    with pytest.raises(TypeError, match="expected a Dask DataFrame"):
        dask_frames.validate(pd.DataFrame())
    assert sb.stats()["requests"] == 0


def test_a_journal_is_refused_with_why_and_what_to_do(sb, tmp_path):
    ddf = as_dask(pieces())
    path = tmp_path / "backfill.journal"
    with sb.client() as client, pytest.raises(pp.ConfigurationError) as raised:
        ddf.productiv.publish(APP, client=client, journal=str(path), **OPTIONS)
    assert str(raised.value) == (
        f"journal={str(path)!r} is not supported for Dask DataFrames: a journal is a SQLite file on one "
        "machine, and partitions run on workers that do not share it. To resume a backfill, write the "
        "frame to files (ddf.to_parquet(...)) and publish each with pp.publish_file(path, app_id, "
        "journal=...), or pp.publish(ddf.compute(), app_id, journal=...) if it fits in memory. "
        "Publishing again without a journal resends rows the API already has: harmless (it "
        "de-duplicates them) but it spends rate limit."
    )
    assert not path.exists()  # refused before anything was opened, computed or sent
    assert sb.stats()["requests"] == 0


def test_unknown_options_name_publishs_own_arguments_too(sb):
    ddf = as_dask(pieces())
    with pytest.raises(pp.ConfigurationError) as raised:
        ddf.productiv.publish(APP, client_factory=sb.client, batch_sise=10, **OPTIONS)
    assert str(raised.value) == (
        "unknown option 'batch_sise' (did you mean 'batch_size'?); the options are ['columns', 'unit', "
        "'tz', 'login_events', 'allowed_events', 'on_stale', 'now', 'future_tolerance', 'client', "
        "'client_factory', 'batch_size', 'max_workers', 'max_retries', 'max_split_requests', 'journal']"
    )
    for call in (ddf.productiv.validate, ddf.productiv.prepare):
        with pytest.raises(pp.ConfigurationError, match=r"^unknown option 'login_event' \(did you mean"):
            call(login_event=["sso_login"])
    assert sb.stats()["requests"] == 0


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_without_dask_nothing_imports_it():
    code = (
        "import sys\n"
        "sys.modules['dask'] = None  # as if dask were not installed\n"
        "import pandas as pd, productiv_pandas as pp\n"
        "frame = pd.DataFrame({'timestamp': [1_700_000_000_000], 'email': ['a@x.com'], 'eventName': ['e']})\n"
        "print(frame.productiv.validate(now='2023-11-14T23:00Z')['status'].iat[0])\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'dask' and sys.modules[name]))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["valid", "[]"]


def test_a_broken_dask_costs_a_warning_not_the_package():
    code = (
        "import sys, warnings\n"
        "sys.modules['dask.dataframe'] = None  # dask present, its dataframe part unusable\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import productiv_pandas as pp\n"
        "print([str(w.message).split(' (')[0] for w in caught if 'dask' in str(w.message)])\n"
        "print(hasattr(pp, 'validate'))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [
        "['dask is installed but dask.dataframe cannot be imported']",
        "True",
    ]


def test_the_accessor_is_there_whichever_package_comes_first():
    code = (
        "import dask.dataframe as dd, pandas as pd\n"
        "import productiv_pandas\n"
        "frame = dd.from_pandas(pd.DataFrame({'timestamp': [1], 'email': ['a@x.com'], 'eventName': ['e']}))\n"
        "print(type(frame.productiv).__name__)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "DaskProductivAccessor"
    assert np.all(hasattr(dd.DataFrame, "productiv"))  # and in this process, registered at import
