"""Fixtures of the client's tests: the scripted server and clients of it, closed after the test;
``serve``, raw-socket servers (tests/helpers/raw_server.py) closed after the test."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from productiv_pandas.client._client import ProductivClient
from tests.helpers.fake_productiv import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, FAST, MARK, FakeProductiv
from tests.helpers.raw_server import Handler, RawServer


@pytest.fixture
def fake() -> Iterator[FakeProductiv]:
    with FakeProductiv() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test also checks that no log line, of ours or of requests/urllib3, holds a secret."""
    caplog.set_level(logging.DEBUG)
    yield
    assert MARK not in caplog.text


@pytest.fixture
def clients() -> Iterator[list[ProductivClient]]:
    made: list[ProductivClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def make(fake: FakeProductiv, clients: list[ProductivClient]) -> Callable[..., ProductivClient]:
    """A client-credentials client of ``fake`` with fast retries; keyword arguments override."""

    def make_client(**kwargs: object) -> ProductivClient:
        kwargs.setdefault("retry", FAST)
        client = ProductivClient.from_client_credentials(
            CLIENT_ID, CLIENT_SECRET, token_url=fake.token_url, base_url=fake.url, **kwargs
        )
        clients.append(client)
        return client

    return make_client


@pytest.fixture
def make_fixed(fake: FakeProductiv, clients: list[ProductivClient]) -> Callable[..., ProductivClient]:
    def make_client(**kwargs: object) -> ProductivClient:
        kwargs.setdefault("retry", FAST)
        client = ProductivClient(ACCESS_TOKEN, base_url=fake.url, **kwargs)
        clients.append(client)
        return client

    return make_client


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
