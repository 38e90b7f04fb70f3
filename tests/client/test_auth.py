"""The client's access token against a scripted server: fetched with client credentials, renewed on
401 and before it expires, shared by threads, refused by the token endpoint, from a provider.
"""

from __future__ import annotations

import threading

import pytest

from productiv_pandas.client._client import Delivery, ProductivClient
from productiv_pandas.errors import APIError, AuthenticationError
from tests.helpers.fake_productiv import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST,
    MARK,
    PAYLOAD,
    Reply,
    Seen,
    clean,
    free_port,
    productiv_error,
)

#: every test also checks that no log line, of ours or of requests/urllib3, holds a secret
pytestmark = pytest.mark.usefixtures("no_secret_in_logs")


# --- tokens ------------------------------------------------------------------------------


def test_401_renews_the_token_once_then_succeeds(fake, make):
    fake.events.append(Reply(401, productiv_error(401, "token expired")))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.token_requests()) == 2
    refused, accepted = fake.event_requests()
    assert (refused.bearer, accepted.bearer) == (f"issued-1-{MARK}", f"issued-2-{MARK}")


def test_401_after_renewal_is_auth(fake, make):
    fake.on_events = lambda seen: Reply(401, productiv_error(401, "token invalid"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 401
    assert delivery.attempts == 2
    assert delivery.message == "a renewed access token was refused: token invalid"
    assert len(fake.token_requests()) == 2
    assert len(fake.event_requests()) == 2


def test_401_with_a_fixed_token_is_final(fake, make_fixed):
    fake.events.append(Reply(401, productiv_error(401, "token expired")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.attempts == 1
    assert "cannot be renewed" in delivery.message
    assert fake.token_requests() == []


def test_a_server_quoting_the_token_is_redacted(fake, make):
    fake.on_events = lambda seen: Reply(401, productiv_error(401, f"bad token {seen.bearer}"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.message == "a renewed access token was refused: bad token ***"


def test_token_endpoint_refusal_is_auth(fake, make):
    refusal = {"error": "invalid_client", "error_description": f"wrong secret {CLIENT_SECRET}"}
    fake.tokens.extend([Reply(401, refusal), Reply(401, refusal)])
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 401
    assert delivery.attempts == 0
    assert delivery.code == "invalid_client"
    assert (
        delivery.message == "the token endpoint refused the client credentials (HTTP 401): wrong secret ***"
    )
    assert fake.event_requests() == []
    with pytest.raises(AuthenticationError) as info:
        make().authenticate()
    assert isinstance(info.value, APIError)
    assert info.value.status == 401
    assert MARK not in str(info.value)
    assert MARK not in repr(info.value)


def test_token_endpoint_503_is_retried(fake, make):
    fake.tokens.append(Reply(503, b"busy"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    assert len(fake.token_requests()) == 2


def test_token_endpoint_522_is_retried(fake, make):
    fake.tokens.append(Reply(522, b"Connection timed out"))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    assert len(fake.token_requests()) == 2


@pytest.mark.parametrize(
    "body", [{"token_type": "Bearer"}, b"not json", {"access_token": "x", "token_type": "mac"}]
)
def test_token_endpoint_answer_without_a_bearer_token_is_auth(fake, make, body):
    fake.tokens.append(Reply(200, body))
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.status == 200
    assert "token" in delivery.message


def test_unreachable_token_endpoint_is_retried_then_reported(fake, clients):
    client = ProductivClient.from_client_credentials(
        CLIENT_ID,
        CLIENT_SECRET,
        token_url=f"http://127.0.0.1:{free_port()}/token",
        base_url=fake.url,
        retry=FAST,
    )
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD, max_retries=1))
    assert delivery.kind == "retry_exhausted"
    assert delivery.attempts == 0
    assert delivery.status is None
    assert delivery.message.startswith("token request: connection failed")
    with pytest.raises(AuthenticationError, match="connection failed") as info:
        client.authenticate()
    assert info.value.status is None
    assert info.value.retryable
    assert MARK not in str(info.value)


@pytest.mark.parametrize(("expires_in", "still_fresh", "renewed"), [(1000, 899.0, 901.0), (100, 49.0, 51.0)])
def test_token_is_renewed_before_it_expires(fake, make, expires_in, still_fresh, renewed):
    fake.expires_in = expires_in
    now = [0.0]
    client = make(clock=lambda: now[0])
    for moment in (0.0, still_fresh, renewed):
        now[0] = moment
        assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.bearer for s in fake.event_requests()] == [
        f"issued-1-{MARK}",
        f"issued-1-{MARK}",
        f"issued-2-{MARK}",
    ]


def test_token_without_expires_in_is_kept_until_a_401(fake, make):
    fake.expires_in = None
    now = [0.0]
    client = make(clock=lambda: now[0])
    client.post_events("app-1", PAYLOAD)
    now[0] = 1e9
    client.post_events("app-1", PAYLOAD)
    assert len(fake.token_requests()) == 1


def test_concurrent_401s_share_one_renewal(fake, make):
    def answer(seen: Seen) -> Reply:
        if fake.issued >= 2 and seen.bearer == fake.latest_token:
            return Reply()
        return Reply(401, productiv_error(401, "token expired"), delay=0.05)

    fake.on_events = answer
    client = make(pool_size=8)
    client.authenticate()  # token 1, which the server now refuses
    start = threading.Barrier(8)
    results: list[Delivery] = []

    def send() -> None:
        start.wait()
        results.append(client.post_events("app-1", PAYLOAD))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [clean(d).kind for d in results] == ["sent"] * 8
    assert len(fake.token_requests()) == 2  # eight refusals, one renewal
    assert all(d.attempts <= 2 for d in results)


def test_token_provider_callable(fake, clients):
    calls: list[int] = []

    def provider() -> tuple[str, float]:
        calls.append(1)
        return f"provided-{len(calls)}-{MARK}", 3600.0

    client = ProductivClient(token_provider=provider, base_url=fake.url, retry=FAST)
    clients.append(client)
    assert repr(client) == f"ProductivClient(base_url='{fake.url}', auth='token_provider')"
    fake.events.append(Reply(401, productiv_error(401, "expired")))
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.bearer for s in fake.event_requests()] == [f"provided-1-{MARK}", f"provided-2-{MARK}"]


def test_a_failing_token_provider_is_auth_and_redacted(fake, clients):
    def provider() -> str:
        raise RuntimeError(f"vault said no to {CLIENT_SECRET}")

    client = ProductivClient(token_provider=provider, base_url=fake.url)
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery.kind == "auth"
    assert delivery.message.startswith("token_provider raised RuntimeError")
    with pytest.raises(AuthenticationError) as info:
        client.authenticate()
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert MARK not in str(info.value)
    assert fake.event_requests() == []
