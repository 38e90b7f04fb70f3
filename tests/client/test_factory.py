"""ClientFactory: a picklable recipe for clients, whose repr never shows a secret."""

from __future__ import annotations

import pickle

import pytest

import productiv_pandas as pp
from productiv_pandas.client._factory import ClientFactory
from productiv_pandas.sandbox import Sandbox

FAST = pp.RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture(scope="module")
def sb():
    with Sandbox(rate_limit=None) as sandbox:
        yield sandbox


def test_a_copy_of_a_client_credentials_client_keeps_its_settings_and_hides_the_secret(sb):
    with sb.client(retry=FAST, timeout=(2.0, 7.0)) as original:
        factory = ClientFactory.of(original, pool_size=3)
    copy = pickle.loads(pickle.dumps(factory))
    assert repr(copy) == f"ClientFactory(base_url={sb.url!r}, auth='client_credentials')"
    assert sb.client_secret not in repr(copy)
    assert sb.client_secret not in repr(copy.token_provider)
    with copy() as client:
        assert (client.base_url, client.retry, client.timeout, client.auth) == (
            sb.url, FAST, (2.0, 7.0), "client_credentials",
        )  # fmt: skip
        client.authenticate()  # the secret did travel, hidden: the sandbox accepts it


def test_a_copy_of_a_fixed_token_client_sends_with_that_token(sb):
    token = sb.issue_token()
    with pp.ProductivClient(token, base_url=sb.url) as original:
        factory = ClientFactory.of(original)
    copy = pickle.loads(pickle.dumps(factory))
    assert repr(copy) == f"ClientFactory(base_url={sb.url!r}, auth='access_token')"
    assert token not in repr(copy)
    with copy() as client:
        answer = client.post_events(sb.DEMO_APP, b'{"events": [{"timestamp": 1700000000000, '
                                    b'"email": "a@x.com", "eventName": "e"}]}')  # fmt: skip
    assert (answer.kind, answer.status) == ("sent", 200)


def test_only_a_client_can_be_copied_and_only_one_kind_of_credentials_given():
    with pytest.raises(TypeError, match="expected a ProductivClient, got str"):
        ClientFactory.of("token")
    with pytest.raises(pp.ConfigurationError, match="either access_token or token_provider"):
        ClientFactory(base_url="http://127.0.0.1:1")
