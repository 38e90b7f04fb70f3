"""ProductivClient against a scripted HTTP server on 127.0.0.1: the request on the wire, final
answers, cancellation, configuration and secrecy, from_env, and the module graph.

The server is tests/helpers/fake_productiv.py; tokens are tested in test_auth.py, retries in
test_retry.py, secrets echoed back in test_redaction.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest

import productiv_pandas
from productiv_pandas.client._auth import ClientCredentials
from productiv_pandas.client._client import Delivery, ProductivClient
from productiv_pandas.client._retry import RetryPolicy
from productiv_pandas.errors import ConfigurationError, ProductivError
from tests.helpers.fake_productiv import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    EVENTS_PATH,
    FAST,
    MARK,
    PAYLOAD,
    TOKEN_PATH,
    Reply,
    clean,
    productiv_error,
)

#: every test also checks that no log line, of ours or of requests/urllib3, holds a secret
pytestmark = pytest.mark.usefixtures("no_secret_in_logs")


# --- success and the request on the wire -------------------------------------------------


def test_success_with_client_credentials(fake, make):
    delivery = clean(make().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 1, None, None, "sent")
    token_request, events_request = fake.seen
    assert token_request.path == TOKEN_PATH
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": ["https://api.productiv.com/connector.write"],
    }
    assert events_request.path == EVENTS_PATH
    assert events_request.headers["Content-Type"] == "application/json"
    assert events_request.headers["Authorization"] == f"Bearer {fake.latest_token}"
    assert events_request.body == PAYLOAD


def test_success_with_a_fixed_token_and_app_id_quoted(fake, make_fixed):
    delivery = clean(make_fixed().post_events("app/1 ü?", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.ok
    (request,) = fake.seen  # no token request
    assert request.path == "/services/push/v1/customer/apps/app%2F1%20%C3%BC%3F/events"
    assert request.bearer == ACCESS_TOKEN


def test_the_token_is_reused_across_requests(fake, make):
    client = make()
    for _ in range(3):
        assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert len(fake.token_requests()) == 1


# --- final answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid"), (422, "invalid"), (403, "forbidden"), (404, "not_found"), (409, "other")],
)
def test_final_statuses_are_not_retried(fake, make_fixed, status, kind):
    fake.events.append(Reply(status, productiv_error(status, f"refused with {status}")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, status, 1, str(status), f"refused with {status}", kind)
    assert len(fake.event_requests()) == 1


def test_error_without_a_json_body_uses_the_reason_and_an_excerpt(fake, make_fixed):
    fake.events.append(Reply(422, b"  payload\n  is   not valid  " + b"x" * 500))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "invalid"
    assert delivery.code is None
    assert delivery.message.startswith("Unprocessable Entity: payload is not valid xxx")
    assert len(delivery.message) < 250


@pytest.mark.parametrize("body", [{"success": False}, b"OK", b"", {"ok": True}])
def test_2xx_without_success_true_is_other(fake, make_fixed, body):
    fake.events.append(Reply(200, body))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "other"
    assert not delivery.ok
    assert delivery.status == 200
    assert '"success": true' in delivery.message
    assert len(fake.event_requests()) == 1


def test_redirects_are_not_followed(fake, make_fixed):
    fake.events.append(Reply(307, b"", {"Location": "http://127.0.0.1:1/elsewhere"}))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "redirected"
    assert delivery.status == 307
    assert delivery.message == (
        "redirected to http://127.0.0.1:1/elsewhere, not followed so that no credentials go to "
        "another address; set base_url (or token_url) to the address that answers"
    )
    assert len(fake.event_requests()) == 1


# --- cancellation ------------------------------------------------------------------------


def test_cancel_before_sending(fake, make_fixed):
    cancel = threading.Event()
    cancel.set()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery == Delivery(False, None, 0, None, "cancelled", "cancelled")
    assert fake.seen == []


def test_cancel_while_waiting_to_retry_returns_promptly(fake, make_fixed):
    fake.on_events = lambda seen: Reply(503, productiv_error(503, "busy"), {"Retry-After": "30"})
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert time.monotonic() - started < 2.0
    assert delivery.kind == "cancelled"
    assert delivery.attempts == 1
    assert delivery.status == 503
    assert "busy" in delivery.message
    assert len(fake.event_requests()) == 1


def test_cancel_during_a_request_keeps_its_success(fake, make_fixed):
    fake.events.append(Reply(delay=0.3))
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery.kind == "sent"  # the server stored the events: say so


# --- configuration, URLs, secrecy --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8000",
        "http://127.example.com",
        "ftp://127.0.0.1",
        "127.0.0.1:80",
        "",
        "https://",
        "https://host?x=1",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8000",
        "http://evil.com\\@127.0.0.1",
        "http://127.0.0.1:8000/\nHost: evil.com",
        "https://host/a path",
    ],
)
def test_unsafe_or_malformed_urls_are_refused(url):
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, base_url=url)
    if url:  # an empty token_url means the default one
        with pytest.raises(ConfigurationError):
            ProductivClient.from_client_credentials(CLIENT_ID, CLIENT_SECRET, token_url=url)


def test_plain_http_to_another_machine_says_why():
    with pytest.raises(ConfigurationError, match=r"clear text.*https://") as info:
        ProductivClient(ACCESS_TOKEN, base_url="http://api.example.com")
    assert MARK not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.1.2.3",
        "http://[::1]:8000",
        "http://localhost:1/",
        "http://LOCALHOST",
        "https://public-api.productiv.com",
        "https://gateway.example.com/productiv/",
    ],
)
def test_loopback_http_and_any_https_are_accepted(url, clients):
    client = ProductivClient(ACCESS_TOKEN, base_url=url)
    clients.append(client)
    assert client.base_url == url.rstrip("/")


def test_credentials_in_a_url_are_refused_without_repeating_them():
    with pytest.raises(ConfigurationError) as info:
        ProductivClient(ACCESS_TOKEN, base_url=f"https://user:{MARK}@api.example.com")
    assert MARK not in str(info.value)


def test_repr_and_str_hide_secrets(clients):
    fixed = ProductivClient(ACCESS_TOKEN, base_url="http://127.0.0.1:8000")
    oauth = ProductivClient.from_client_credentials(
        CLIENT_ID, CLIENT_SECRET, base_url="http://127.0.0.1:8000"
    )
    clients.extend([fixed, oauth])
    assert repr(fixed) == "ProductivClient(base_url='http://127.0.0.1:8000', auth='access_token')"
    assert repr(oauth) == "ProductivClient(base_url='http://127.0.0.1:8000', auth='client_credentials')"
    credentials = ClientCredentials(CLIENT_ID, CLIENT_SECRET)
    for thing in (fixed, oauth, credentials):
        assert MARK not in repr(thing)
        assert MARK not in str(thing)
        assert MARK not in repr(vars(thing))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": None},
        {"timeout": 0},
        {"timeout": (1.0,)},
        {"timeout": (1, -1)},
        {"pool_size": 0},
        {"retry": {"max_retries": 1}},
    ],
)
def test_bad_options_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, base_url="http://127.0.0.1:8000", **kwargs)


def test_exactly_one_way_to_authenticate():
    with pytest.raises(ConfigurationError, match="from_env"):
        ProductivClient(base_url="http://127.0.0.1:8000")
    with pytest.raises(ConfigurationError):
        ProductivClient(ACCESS_TOKEN, token_provider=lambda: "x")
    with pytest.raises(ConfigurationError, match="access_token"):
        ProductivClient("  ")
    with pytest.raises(ConfigurationError, match="client_secret") as info:
        ProductivClient.from_client_credentials(CLIENT_ID, "")
    with pytest.raises(ConfigurationError, match="client_id"):
        ProductivClient.from_client_credentials("", CLIENT_SECRET)
    assert MARK not in str(info.value)


def test_defaults_timeout_pool_and_no_urllib3_retries(clients):
    client = ProductivClient(ACCESS_TOKEN, pool_size=5)
    clients.append(client)
    assert client.base_url == "https://public-api.productiv.com"
    assert client.timeout == (5.0, 30.0)
    assert client.retry == RetryPolicy()
    session = client._transport._session
    adapter = session.get_adapter(client.base_url)
    assert adapter._pool_maxsize == 5
    assert adapter.max_retries.total == 0
    assert session.trust_env is False


def test_netrc_does_not_replace_the_bearer_token(fake, make_fixed, monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    make_fixed().post_events("app-1", PAYLOAD)
    assert fake.seen[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_payload_and_app_id_are_checked(make_fixed):
    client = make_fixed()
    with pytest.raises(TypeError, match="bytes"):
        client.post_events("app-1", {"events": []})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="app_id"):
        client.post_events(" ", PAYLOAD)


def test_close_and_context_manager(fake):
    with ProductivClient(ACCESS_TOKEN, base_url=fake.url) as client:
        assert client.post_events("app-1", PAYLOAD).kind == "sent"
    with pytest.raises(ProductivError, match="closed"):
        client.post_events("app-1", PAYLOAD)


# --- from_env ----------------------------------------------------------------------------


def test_from_env_with_an_access_token(fake, monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("PRODUCTIV_API_URL", fake.url)
    client = ProductivClient.from_env(retry=FAST)
    clients.append(client)
    assert repr(client) == f"ProductivClient(base_url='{fake.url}', auth='access_token')"
    assert client.retry == FAST
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert fake.seen[0].bearer == ACCESS_TOKEN


def test_from_env_with_client_credentials(fake, monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("PRODUCTIV_API_URL", fake.url)
    monkeypatch.setenv("PRODUCTIV_TOKEN_URL", fake.token_url)
    client = ProductivClient.from_env()
    clients.append(client)
    assert client.auth == "client_credentials"
    assert clean(client.post_events("app-1", PAYLOAD)).kind == "sent"
    assert [s.path for s in fake.seen] == [TOKEN_PATH, EVENTS_PATH]


def test_from_env_defaults_and_keyword_arguments_win(monkeypatch, clients):
    monkeypatch.setenv("PRODUCTIV_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PRODUCTIV_CLIENT_SECRET", CLIENT_SECRET)
    default = ProductivClient.from_env()
    chosen = ProductivClient.from_env(base_url="http://127.0.0.1:9", token_url="http://127.0.0.1:9/t")
    clients.extend([default, chosen])
    assert default.base_url == "https://public-api.productiv.com"
    assert default._tokens.provider.token_url == "https://login.api.productiv.com/oauth2/token"
    assert chosen.base_url == "http://127.0.0.1:9"
    assert chosen._tokens.provider.token_url == "http://127.0.0.1:9/t"


def test_from_env_prefers_the_access_token(monkeypatch, clients):
    for name, value in [
        ("ACCESS_TOKEN", ACCESS_TOKEN),
        ("CLIENT_ID", CLIENT_ID),
        ("CLIENT_SECRET", CLIENT_SECRET),
    ]:
        monkeypatch.setenv(f"PRODUCTIV_{name}", value)
    client = ProductivClient.from_env()
    clients.append(client)
    assert client.auth == "access_token"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "set PRODUCTIV_ACCESS_TOKEN, or both PRODUCTIV_CLIENT_ID and PRODUCTIV_CLIENT_SECRET;"),
        ({"PRODUCTIV_CLIENT_ID": CLIENT_ID}, "(PRODUCTIV_CLIENT_SECRET not set)"),
        ({"PRODUCTIV_CLIENT_SECRET": CLIENT_SECRET}, "(PRODUCTIV_CLIENT_ID not set)"),
        ({"PRODUCTIV_ACCESS_TOKEN": "  "}, "set PRODUCTIV_ACCESS_TOKEN"),
    ],
)
def test_from_env_without_credentials_says_what_to_set(monkeypatch, env, missing):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        ProductivClient.from_env()
    assert missing in str(info.value)
    assert MARK not in str(info.value)


def test_from_env_refuses_plain_http_api_url(monkeypatch):
    monkeypatch.setenv("PRODUCTIV_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("PRODUCTIV_API_URL", "http://api.example.com")
    with pytest.raises(ConfigurationError, match="http://"):
        ProductivClient.from_env()


# --- the module graph --------------------------------------------------------------------


def test_the_client_imports_nothing_of_pandas():
    """The client (and the modules it imports) works where pandas cannot even be imported.

    The package's ``__init__`` registers the DataFrame accessor, so it is replaced by a bare
    package object here: what is checked is the client's own import graph.
    """
    package_dir = Path(productiv_pandas.__file__).parent
    code = textwrap.dedent(
        f"""
        import sys, types
        for name in ("pandas", "numpy", "pandera"):
            sys.modules[name] = None  # any import of them raises ImportError
        package = types.ModuleType("productiv_pandas")
        package.__path__ = [{str(package_dir)!r}]
        sys.modules["productiv_pandas"] = package
        import productiv_pandas.client._client as client
        with client.ProductivClient("t", base_url="http://127.0.0.1:9") as c:
            print(repr(c))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ProductivClient(base_url='http://127.0.0.1:9', auth='access_token')" in result.stdout


def test_docstring_examples_run():
    import doctest

    import productiv_pandas.client._auth
    import productiv_pandas.client._client

    for module in (productiv_pandas.client._client, productiv_pandas.client._auth):
        result = doctest.testmod(module)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
