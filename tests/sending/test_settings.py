"""SendSettings: the one value that carries publish's knobs down, checked once when built.

Every way of sending (a frame, a file, a Dask frame, the ``publish`` command) builds it once
from its keyword arguments; the layers below take it as it is. A bad value is refused with the
same ConfigurationError on every path, before anything is read or sent.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.cli import main
from productiv_pandas.sending._settings import SendSettings
from tests.helpers.raw_server import events

APP = "settings-app"
TOKEN = "a-token-that-must-never-show-0123"


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=None)


@pytest.fixture
def builds(monkeypatch) -> list[SendSettings]:
    """Every SendSettings built (checked) from now on."""
    built: list[SendSettings] = []
    check = SendSettings.__post_init__

    def counting(self) -> None:
        check(self)
        built.append(self)

    monkeypatch.setattr(SendSettings, "__post_init__", counting)
    return built


def test_the_defaults_are_publishs():
    settings = SendSettings(APP)
    assert dataclasses.astuple(settings) == (APP, None, None, 1000, 4, None, 64, None)


def test_settings_are_frozen_and_keep_numpy_integers_as_ints():
    settings = SendSettings(APP, batch_size=np.int64(10), max_workers=np.int32(2), max_retries=np.int8(0))
    assert [type(v) for v in (settings.batch_size, settings.max_workers, settings.max_retries)] == [int] * 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.batch_size = 5  # type: ignore[misc]


def test_the_repr_names_the_clients_type_never_what_it_holds(sb):
    with pp.ProductivClient(TOKEN, base_url=sb.url) as client:
        settings = SendSettings(APP, client=client, journal="backfill.journal")
    assert repr(settings) == (
        "SendSettings(app_id='settings-app', client=ProductivClient, journal=str, batch_size=1000, "
        "max_workers=4, max_retries=None, max_split_requests=64, progress=None)"
    )


def test_replace_changes_only_what_the_layers_below_fill_in(sb):
    settings = SendSettings(APP, batch_size=10)
    with sb.client() as client:
        filled = settings.replace(client=client, journal=None, progress=False)
    assert (filled.client, filled.progress, filled.batch_size, settings.client) == (client, False, 10, None)
    with pytest.raises(TypeError, match=r"only \['client', 'journal', 'progress'\] can be replaced"):
        settings.replace(batch_size=0)
    with pytest.raises(pp.ConfigurationError, match="client must be a ProductivClient"):
        settings.replace(client=TOKEN)


@pytest.mark.parametrize("path", ["frame", "file", "dask"])
def test_a_bad_value_is_the_same_error_on_every_path_before_anything_is_read_or_sent(sb, tmp_path, path):
    with pytest.raises(pp.ConfigurationError) as built:
        SendSettings(APP, max_split_requests=-1)
    missing = tmp_path / "not-there.csv"  # a file never read: the settings are refused first
    client = sb.client()
    if path == "frame":
        call = lambda: pp.publish(events(3), APP, client=client, max_split_requests=-1, progress=False)  # noqa: E731
    elif path == "file":
        call = lambda: pp.publish_file(missing, APP, client=client, max_split_requests=-1, progress=False)  # noqa: E731
    else:
        dd = pytest.importorskip("dask.dataframe")
        ddf = dd.from_pandas(events(4), npartitions=2)
        call = lambda: ddf.productiv.publish(APP, client=client, max_split_requests=-1)  # noqa: E731
    with client, pytest.raises(pp.ConfigurationError) as caught:
        call()
    assert str(caught.value) == str(built.value)
    assert sb.stats()["requests"] == 0


def test_the_command_refuses_a_bad_number_before_reading_the_file(tmp_path, capsys):
    missing = tmp_path / "not-there.csv"
    with pytest.raises(SystemExit) as exited:  # the parser's exit, as the console script sees it
        main(["publish", str(missing), "--app-id", APP, "--sandbox", "--workers", "0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --workers: expected a whole number >= 1, got 0" in err
    assert "not-there" not in err


@pytest.mark.parametrize("path", ["frame", "file", "dask", "cli"])
def test_each_path_builds_the_settings_once_and_sends(sb, tmp_path, builds, path, capsys):
    frame = events(5)
    csv = tmp_path / "events.csv"
    frame.to_csv(csv, index=False)
    if path == "frame":
        with sb.client() as client:
            status = pp.publish(frame, APP, client=client, batch_size=2, progress=False)
    elif path == "file":
        with sb.client() as client:
            out = tmp_path / "status.csv"
            pp.publish_file(
                csv, APP, client=client, batch_size=2, chunksize=2, status_out=out, progress=False
            )
        status = pd.read_csv(out)
    elif path == "dask":
        dd = pytest.importorskip("dask.dataframe")
        with sb.client() as client:
            status = dd.from_pandas(frame, npartitions=2).productiv.publish(APP, client=client).compute()
    else:
        out = tmp_path / "status.csv"
        args = [
            "publish",
            str(csv),
            "--app-id",
            APP,
            "--sandbox",
            "--batch-size",
            "2",
            "--status-out",
            str(out),
        ]
        assert main(args) == 0
        status = pd.read_csv(out)
    assert status["status"].tolist() == ["sent"] * 5
    assert len(builds) == 1
    assert (builds[0].app_id, builds[0].batch_size) == (APP, 2 if path != "dask" else 1000)
