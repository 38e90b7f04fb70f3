"""publish(client=None) sends with ``ProductivClient.from_env()`` and closes that client when
done, whether the run ends well or raises: a client the caller never saw is the call's to close.
"""

from __future__ import annotations

import pytest

import productiv_pandas as pp
from productiv_pandas.client import ProductivClient
from tests.helpers.publishing import APP, assert_stored_is_sent, events


@pytest.fixture
def made(sb, monkeypatch) -> list[ProductivClient]:
    """The environment points at the sandbox; every client from_env makes is recorded."""
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", sb.client_id)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", sb.client_secret)
    monkeypatch.setenv("PRODUCTIV_API_URL", sb.url)
    monkeypatch.setenv("PRODUCTIV_TOKEN_URL", sb.token_url)
    clients: list[ProductivClient] = []
    from_env = ProductivClient.from_env

    def recording(**kwargs):
        client = from_env(**kwargs)
        clients.append(client)
        return client

    monkeypatch.setattr(ProductivClient, "from_env", recording)
    return clients


def test_publish_closes_the_client_it_made_from_the_environment(sb, made):
    status = pp.publish(events(3), APP, progress=False)
    assert status["status"].tolist() == ["sent", "sent", "sent"]
    assert_stored_is_sent(sb, status)
    assert len(made) == 1
    assert made[0].closed is True


def test_publish_closes_it_when_the_run_raises(sb, made, tmp_path):
    journal = tmp_path / "other.journal"
    pp.Journal.open(journal, "another-app").close()
    with pytest.raises(pp.JournalError, match="another-app"):
        pp.publish(events(3), APP, progress=False, journal=journal)
    assert len(made) == 1
    assert made[0].closed is True
    assert sb.events(APP).empty


def test_a_client_passed_in_stays_open(sb, client):
    pp.publish(events(2), APP, client=client, progress=False)
    assert client.closed is False
