"""Arguments of sending refused up front, on every path that sends (publish, publish_file, Dask).

Each bad value raises a ConfigurationError naming the argument before any request is made
(the sandbox saw none, not even a token request), logs no traceback, and never quotes a string
passed as ``client``: it is most likely an access token.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sending._settings import SendSettings
from tests.helpers.raw_server import events

APP = "acme"
TOKEN = "my-access-token-0123456789"


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=None)


class _NoPost:
    post_events = "not callable"


BAD = [
    ({"max_retries": -1}, "max_retries must be an integer >= 0, or None for the client's retry .*got -1"),
    ({"max_retries": 2.5}, "max_retries must be an integer >= 0, or None .*, got 2.5"),
    ({"max_retries": "3"}, "max_retries must be an integer >= 0, or None .*, got a str"),
    ({"max_retries": True}, "max_retries must be an integer >= 0, or None .*, got True"),
    ({"max_split_requests": "many"}, "max_split_requests must be an integer >= 0 .*got a str"),
    ({"max_split_requests": -1}, "max_split_requests must be an integer >= 0 .*got -1"),
    ({"max_split_requests": True}, "max_split_requests must be an integer >= 0 .*got True"),
    ({"max_split_requests": 2.5}, "max_split_requests must be an integer >= 0 .*got 2.5"),
    ({"max_split_requests": None}, "max_split_requests must be an integer >= 0 .*got None"),
    ({"batch_size": 0}, "batch_size must be from 1 to 1000 .*got 0"),
    ({"batch_size": 1001}, "batch_size must be from 1 to 1000 .*got 1001"),
    ({"batch_size": 2.5}, "batch_size must be an integer from 1 to 1000, got 2.5"),
    ({"batch_size": "10"}, "batch_size must be an integer from 1 to 1000, got a str"),
    ({"batch_size": True}, "batch_size must be an integer from 1 to 1000, got True"),
    ({"max_workers": 0}, "max_workers must be a positive integer, got 0"),
    ({"client": TOKEN}, r"client must be a ProductivClient \(got a str; to use an access token, pass "
                        r"client=pp.ProductivClient\(access_token=...\) or set PRODUCTIV_ACCESS_TOKEN\)"),
    ({"client": TOKEN.encode()}, r"client must be a ProductivClient \(got a bytes; to use an access token"),
    ({"client": 42}, r"client must be a ProductivClient \(got 42, which has no post_events method\)"),
    ({"client": _NoPost()}, r"client must be a ProductivClient \(got a _NoPost, which has no post_events"),
]  # fmt: skip
IDS = [f"{next(iter(kwargs))}={next(iter(kwargs.values()))!r}"[:40] for kwargs, _ in BAD]


def assert_refused(call, sb, caplog, message: str) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="productiv_pandas"),
        pytest.raises(pp.ConfigurationError, match=message) as caught,
    ):
        call()
    assert TOKEN not in str(caught.value)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sb.stats()["requests"] == 0  # no event request, not even a token request


def kwargs_with_client(sb, kwargs: dict) -> dict:
    return kwargs if "client" in kwargs else {"client": sb.client(), **kwargs}


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=IDS)
def test_publish_refuses_before_sending(sb, caplog, kwargs, message):
    kwargs = kwargs_with_client(sb, kwargs)
    assert_refused(lambda: pp.publish(events(5), APP, progress=False, **kwargs), sb, caplog, message)


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=IDS)
def test_publish_file_refuses_before_reading_or_sending(sb, caplog, tmp_path, kwargs, message):
    path = tmp_path / "events.csv"
    events(5).to_csv(path, index=False)
    out = tmp_path / "status.csv"
    kwargs = kwargs_with_client(sb, kwargs)
    call = lambda: pp.publish_file(path, APP, status_out=out, progress=False, **kwargs)  # noqa: E731
    assert_refused(call, sb, caplog, message)
    assert not out.exists()


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=IDS)
def test_dask_publish_refuses_on_the_client_before_computing(sb, caplog, kwargs, message):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(events(6), npartitions=2)
    kwargs = kwargs_with_client(sb, kwargs)
    assert_refused(lambda: ddf.productiv.publish(APP, **kwargs), sb, caplog, message)


def test_a_closed_client_is_refused_on_every_path(sb, caplog, tmp_path):
    client = sb.client()
    client.close()
    assert client.closed is True
    path = tmp_path / "events.csv"
    events(5).to_csv(path, index=False)
    message = r"client is closed .*create a new ProductivClient"
    assert_refused(lambda: pp.publish(events(5), APP, client=client, progress=False), sb, caplog, message)
    assert_refused(lambda: pp.publish_file(path, APP, client=client, progress=False), sb, caplog, message)
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(events(6), npartitions=2)
    assert_refused(lambda: ddf.productiv.publish(APP, client=client), sb, caplog, message)


def test_a_client_of_another_make_is_used_as_it_is(sb):
    # Duck typing: anything with a callable post_events sends; without a ``closed`` attribute
    # the closed check is skipped. Dask needs a ProductivClient (its workers build their own).
    class Wrapper:
        def __init__(self, client) -> None:
            self.client = client

        def post_events(self, *args, **kwargs):
            return self.client.post_events(*args, **kwargs)

    with sb.client() as client:
        status = pp.publish(events(5), APP, client=Wrapper(client), progress=False)
        assert (status["status"] == "sent").all()
        dd = pytest.importorskip("dask.dataframe")
        ddf = dd.from_pandas(events(6), npartitions=2)
        with pytest.raises(
            pp.ConfigurationError, match="client must be a ProductivClient for a Dask DataFrame"
        ):
            ddf.productiv.publish(APP, client=Wrapper(client))
    assert len(sb.events(APP)) == 5


def test_numpy_integers_are_integers():
    np = pytest.importorskip("numpy")
    settings = SendSettings(
        APP, batch_size=np.int64(10), max_workers=np.int32(2), max_retries=np.int8(0),
        max_split_requests=np.uint16(4),
    )  # fmt: skip
    assert (settings.batch_size, settings.max_workers, settings.max_retries, settings.max_split_requests) == (
        10, 2, 0, 4,
    )  # fmt: skip


@pytest.mark.parametrize("app_id", [".", ".."])
def test_a_dot_app_id_is_refused_on_the_frame_and_file_paths(sb, tmp_path, app_id):
    # URL quoting leaves dots alone: ".." would post the events to another path than the app's.
    path = tmp_path / "events.csv"
    events(3).to_csv(path, index=False)
    with sb.client() as client:
        with pytest.raises(pp.ConfigurationError, match="is not an app id"):
            pp.publish(events(3), app_id, client=client, progress=False)
        with pytest.raises(pp.ConfigurationError, match="is not an app id"):
            pp.publish_file(path, app_id, client=client, progress=False)
    assert sb.stats()["event_requests"] == 0


NUMPY_KNOBS = {
    "batch_size": "int64",
    "max_workers": "int64",
    "max_retries": "int32",
    "max_split_requests": "uint16",
}


@pytest.mark.parametrize("path", ["frame", "file", pytest.param("dask", marks=pytest.mark.slow)])
def test_numpy_integers_send_every_row_on_every_path(sb, caplog, tmp_path, path):
    # They pass the checks up front; the client (and a Dask worker's client, sized by
    # max_workers) must take them too, not turn every row into "internal error".
    np = pytest.importorskip("numpy")
    knobs = {name: getattr(np, kind)(2) for name, kind in NUMPY_KNOBS.items()}
    with caplog.at_level(logging.DEBUG, logger="productiv_pandas"):
        if path == "frame":
            status = pp.publish(events(5), APP, client=sb.client(), progress=False, **knobs)
        elif path == "file":
            events(5).to_csv(tmp_path / "events.csv", index=False)
            out = tmp_path / "status.csv"
            pp.publish_file(
                tmp_path / "events.csv", APP, client=sb.client(), status_out=out, progress=False, **knobs
            )
            status = pd.read_csv(out)
        else:
            dd = pytest.importorskip("dask.dataframe")
            ddf = dd.from_pandas(events(6).iloc[:5], npartitions=2)
            status = ddf.productiv.publish(APP, client=sb.client(), **knobs).compute()
    assert status["status"].tolist() == ["sent"] * 5
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(sb.events(APP)) == 5
