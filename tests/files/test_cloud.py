"""Event files and status files in object storage (issue 13, point 4): s3:// against moto's
S3 server and http:// against a plain http.server, both on 127.0.0.1 only.

A run from a URL must give exactly what the same run from the local file gives: the same
statuses, reasons and stored events; its status file is uploaded where ``status_out`` says.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import logging
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas import cli
from productiv_pandas.errors import ConfigurationError
from productiv_pandas.files._formats import StatusWriter

s3fs = pytest.importorskip("s3fs", reason="the cloud extra (s3fs) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] (dev extra) is not installed")

APP = "acme"
NOW = pd.Timestamp.now(tz="UTC").floor("s")
OPTIONS = {**pp.SAMPLE_OPTIONS, "now": NOW, "on_stale": "ignore"}
SECRET = "Zq7s3cretACCESSkeyValue"
CSV = "events.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line a request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """s3fs pointed at moto through the environment only (as a user's credentials come), and a
    fresh bucket; returns (filesystem, bucket)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    bucket = f"exports-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    yield fs, bucket
    s3fs.S3FileSystem.clear_instance_cache()


def write_sample(path: Path, n: int = 600) -> Path:
    """The messy sample export in the format ``path``'s name says."""
    frame = pp.sample_events(n, seed=13, now=NOW)
    name = path.name
    if name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(frame.to_csv(index=False).encode("utf-8")))
    elif name.endswith(".csv"):
        frame.to_csv(path, index=False)
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


def read_status(data: bytes, name: str) -> pd.DataFrame:
    if name.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), index_col=0, compression="gzip" if name.endswith(".gz") else None)


def triples(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["timestamp"].astype("int64"), frame["email"], frame["eventName"], strict=True))


@pytest.mark.parametrize(
    ("name", "status_name"),
    [
        ("events.csv", "run.parquet"),
        ("events.csv.gz", "run.csv"),
        ("events.parquet", "run.csv.gz"),
        ("events.jsonl", "run.parquet"),
    ],
)
def test_validate_file_from_s3_is_the_local_run(s3, tmp_path: Path, name: str, status_name: str):
    fs, bucket = s3
    local = write_sample(tmp_path / name)
    fs.put_file(str(local), f"{bucket}/exports/{name}")
    url, status_url = f"s3://{bucket}/exports/{name}", f"s3://{bucket}/status/{status_name}"

    here = pp.validate_file(local, status_out=tmp_path / status_name, chunksize=250, **OPTIONS)
    there = pp.validate_file(url, status_out=status_url, chunksize=250, **OPTIONS)

    assert there.path == url
    assert there.status_out == status_url
    assert there.rows == here.rows == 600
    pd.testing.assert_series_equal(there.counts, here.counts)
    pd.testing.assert_frame_equal(there.problems, here.problems)
    uploaded = read_status(fs.cat_file(f"{bucket}/status/{status_name}"), status_name)
    local_status = read_status((tmp_path / status_name).read_bytes(), status_name)
    pd.testing.assert_frame_equal(uploaded, local_status)
    assert list(uploaded.index) == list(range(600))
    assert repr(there).startswith(f"<RunReport '{url}': 600 rows: valid ")
    assert repr(there).endswith(f"; status in '{status_url}'>")


def test_publish_file_from_s3_stores_what_the_local_run_stores(s3, sandbox_with, tmp_path: Path):
    fs, bucket = s3
    local = write_sample(tmp_path / "events.parquet")
    fs.put_file(str(local), f"{bucket}/events.parquet")
    options = {**OPTIONS, "on_stale": "skip"}
    runs = {}
    for where, status_out in (
        (local, tmp_path / "status.parquet"),
        (f"s3://{bucket}/events.parquet", f"s3://{bucket}/status.parquet"),
    ):
        sb = sandbox_with(APP, events=pp.SAMPLE_OPTIONS["allowed_events"], login_events={"sso_login"})
        with sb.client() as client:
            report = pp.publish_file(
                where, APP, client=client, status_out=status_out, chunksize=200, progress=False, **options
            )
        runs[str(where)[:2]] = (report, triples(sb.events(APP)))
    here, there = runs[str(local)[:2]], runs["s3"]

    pd.testing.assert_series_equal(there[0].counts, here[0].counts)
    assert there[0].counts["sent"] == len(there[1]) > 0
    assert there[1] == here[1]
    uploaded = pd.read_parquet(io.BytesIO(fs.cat_file(f"{bucket}/status.parquet")))
    local_status = pd.read_parquet(tmp_path / "status.parquet")
    keep = ["status", "reason", "problem", "timestamp", "email", "eventName", "targetApp"]
    pd.testing.assert_frame_equal(uploaded[keep], local_status[keep])


def test_the_cli_reads_and_writes_s3_urls(s3, tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    # (its summary goes to the sys.stdout of import time, which no capture fixture sees)
    fs, bucket = s3
    fs.put_file(str(write_sample(tmp_path / CSV, n=300)), f"{bucket}/{CSV}")
    columns = [f"--column={src}={api}" for src, api in pp.SAMPLE_OPTIONS["columns"].items()]
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("\n".join(sorted(pp.SAMPLE_OPTIONS["allowed_events"])) + "\n", encoding="utf-8")
    status_url = f"s3://{bucket}/status/cli.csv"

    code = cli.main(
        ["validate", f"s3://{bucket}/{CSV}", "--status-out", status_url, "--tz", pp.SAMPLE_OPTIONS["tz"],
         "--login-event", "sso_login", "--allowed-events", str(catalog), "--on-stale", "ignore", *columns]
    )  # fmt: skip

    err = capfd.readouterr().err
    status = read_status(fs.cat_file(f"{bucket}/status/cli.csv"), "cli.csv")
    local = pp.validate_file(tmp_path / CSV, status_out=tmp_path / "local.csv", **OPTIONS)
    assert code == 1  # the sample has invalid rows
    assert err == f"status written to {status_url}\n"
    assert len(status) == 300
    assert status["status"].value_counts().to_dict() == local.counts[local.counts > 0].to_dict()
    same = pd.read_csv(tmp_path / "local.csv", index_col=0)
    # the reasons name --unit, --column where Python's name unit=, columns=: the rest is the same
    pd.testing.assert_frame_equal(status.drop(columns="reason"), same.drop(columns="reason"))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("s3://{bucket}/missing.csv", "no such file: 's3://{bucket}/missing.csv'"),
        (
            "s3://no-such-bucket-13/x.csv",
            "no such file: 's3://no-such-bucket-13/x.csv' (the specified bucket does not exist)",
        ),
    ],
)
def test_a_missing_key_or_bucket_is_one_configuration_error(
    s3, capsys: pytest.CaptureFixture[str], key: str, message: str
):
    _, bucket = s3
    url, expected = key.format(bucket=bucket), message.format(bucket=bucket)

    with pytest.raises(ConfigurationError) as raised:
        pp.validate_file(url, **OPTIONS)
    code = cli.main(["validate", url])

    assert str(raised.value) == expected
    assert code == 2
    assert capsys.readouterr().err == f"productiv-pandas: error: {expected}\n"


def test_a_status_url_that_cannot_be_written_is_refused_before_any_row(s3, tmp_path: Path):
    fs, bucket = s3
    fs.put_file(str(write_sample(tmp_path / CSV, n=20)), f"{bucket}/{CSV}")
    fs.pipe_file(f"{bucket}/status.csv/old.csv", b"x")  # makes s3://bucket/status.csv a folder

    nobucket, https, folder = (
        "s3://no-such-bucket-13/s.csv",
        "https://127.0.0.1:9/s.csv",
        f"s3://{bucket}/status.csv",
    )
    refused = {}
    events = f"s3://{bucket}/{CSV}"
    for status_out in (nobucket, https, folder, events):
        with pytest.raises(ConfigurationError) as raised:
            pp.validate_file(events, status_out=status_out, **OPTIONS)
        refused[status_out] = str(raised.value)

    assert refused == {
        nobucket: f"cannot write the status to '{nobucket}': the bucket 'no-such-bucket-13' does not exist; "
        "create it first",
        https: f"cannot write the status to '{https}': https:// URLs are read-only; write the status to a "
        "file or an s3://, gs:// or az:// URL",
        folder: f"cannot write the status to '{folder}': it is a directory",
        events: f"the status file '{events}' is the events file itself: write the status elsewhere",
    }
    assert fs.ls(f"{bucket}/status.csv") == [f"{bucket}/status.csv/old.csv"]


def test_a_failed_upload_keeps_the_status_locally_and_says_where(s3):
    fs, bucket = s3
    writer = StatusWriter(f"s3://{bucket}/status.csv")
    status = pp.validate(pp.sample_events(5, seed=1, now=NOW), **OPTIONS)
    writer.write(status)
    fs.rmdir(bucket)  # gone between the check and the upload

    with pytest.raises(ConfigurationError) as raised:
        writer.close()

    local = writer.path
    assert str(raised.value) == (
        f"cannot upload the status to 's3://{bucket}/status.csv': The specified bucket does not exist; "
        f"the status of all 5 rows is in '{local}': upload it from there"
    )
    assert pd.read_csv(local, index_col=0)["status"].tolist() == status["status"].astype(str).tolist()
    local.unlink()


def test_an_empty_run_uploads_nothing_when_it_fails_before_any_row(s3, tmp_path: Path):
    fs, bucket = s3
    pd.DataFrame({"when": ["2024-01-01"], "user": ["a@x.io"]}).to_csv(tmp_path / CSV, index=False)
    fs.put_file(str(tmp_path / CSV), f"{bucket}/{CSV}")

    with pytest.raises(ConfigurationError, match="missing"):
        pp.validate_file(f"s3://{bucket}/{CSV}", status_out=f"s3://{bucket}/status.csv", now=NOW)

    assert fs.ls(bucket) == [f"{bucket}/{CSV}"]


def test_the_secret_never_reaches_an_error_or_the_log(
    s3, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # Nothing listens on this port: botocore's own error, in its words, once (no retries).
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3fs.S3FileSystem.clear_instance_cache()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ConfigurationError) as raised:
        pp.validate_file("s3://exports/events.csv", **OPTIONS)

    chain, error = [], raised.value
    while error is not None:
        chain.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    assert str(raised.value).startswith("cannot read 's3://exports/events.csv' as csv: ")
    assert SECRET not in "\n".join(chain)
    assert SECRET not in caplog.text


# -- http(s):// ----------------------------------------------------------------------------


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served by http.server on 127.0.0.1: (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", ["events.csv.gz", "events.parquet"])
def test_validate_file_from_http_is_the_local_run(http_folder, tmp_path: Path, name: str):
    folder, base = http_folder
    local = write_sample(folder / name, n=400)

    here = pp.validate_file(local, status_out=tmp_path / "here.csv", chunksize=150, **OPTIONS)
    there = pp.validate_file(f"{base}/{name}", status_out=tmp_path / "there.csv", chunksize=150, **OPTIONS)

    pd.testing.assert_series_equal(there.counts, here.counts)
    assert there.rows == 400
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "there.csv", index_col=0), pd.read_csv(tmp_path / "here.csv", index_col=0)
    )


def test_a_url_password_and_query_stay_out_of_the_message(http_folder):
    _, base = http_folder
    host = base.removeprefix("http://")
    url = f"http://etl:hunter2pass@{host}/missing.csv?X-Amz-Signature=abc123sig"

    with pytest.raises(ConfigurationError) as raised:
        pp.validate_file(url, **OPTIONS)

    assert str(raised.value) == f"no such file: 'http://etl:***@{host}/missing.csv?...'"


# -- without the packages -----------------------------------------------------------------


def test_a_url_without_its_package_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec -> ImportError

    with pytest.raises(ConfigurationError) as raised:
        pp.validate_file("s3://bucket/events.csv")

    assert str(raised.value) == (
        "cannot open 's3://bucket/events.csv': s3:// URLs need fsspec and s3fs: "
        "pip install 'productiv-pandas[cloud]'"
    )


def test_a_gs_url_without_gcsfs_names_its_package(monkeypatch: pytest.MonkeyPatch):
    import fsspec

    def no_gcsfs(url: str, **kwargs: object) -> object:
        raise ImportError("Please install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec.core, "url_to_fs", no_gcsfs)
    with pytest.raises(ConfigurationError) as raised:
        pp.validate_file("gs://bucket/events.parquet", status_out="gs://bucket/status.csv")

    assert str(raised.value) == (
        "cannot open 'gs://bucket/status.csv': gs:// URLs need fsspec and gcsfs: "
        "pip install 'productiv-pandas[cloud]' gcsfs"
    )


def test_a_local_path_that_looks_odd_is_still_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # local paths never need fsspec
    folder = tmp_path / "s3:"
    folder.mkdir()
    local = write_sample(folder / CSV, n=30)

    report = pp.validate_file(local, status_out=folder / "status.csv", **OPTIONS)

    assert report.rows == 30
    assert report.path == local
    assert report.status_out == folder / "status.csv"


def test_the_cli_publishes_from_s3_with_its_status_in_s3(
    s3, tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    fs, bucket = s3
    fs.put_file(str(write_sample(tmp_path / "events.parquet", n=300)), f"{bucket}/in/events.parquet")
    columns = [f"--column={src}={api}" for src, api in pp.SAMPLE_OPTIONS["columns"].items()]
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("\n".join(sorted(pp.SAMPLE_OPTIONS["allowed_events"])) + "\n", encoding="utf-8")
    status_url = f"s3://{bucket}/out/status.parquet"

    code = cli.main(
        ["publish", f"s3://{bucket}/in/events.parquet", "--app-id", APP, "--sandbox", "--no-progress",
         "--status-out", status_url, "--tz", pp.SAMPLE_OPTIONS["tz"], "--login-event", "sso_login",
         "--allowed-events", str(catalog), "--on-stale", "ignore", *columns]
    )  # fmt: skip

    capfd.readouterr()
    status = pd.read_parquet(io.BytesIO(fs.cat_file(f"{bucket}/out/status.parquet")))
    local = pp.validate_file(tmp_path / "events.parquet", **OPTIONS)
    expected = local.counts[local.counts > 0].rename({"valid": "sent"})
    assert code == 1  # the sample's invalid rows
    assert status["status"].value_counts().sort_index().to_dict() == expected.sort_index().to_dict()
    assert list(status.index) == list(range(300))
