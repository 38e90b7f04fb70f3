"""Secrets kept out of every text: a server echoing the token or the client secret back, in every
form it travels in (escaped, percent-encoded, Basic), leaks none of them; the Redactor's repr.
"""

from __future__ import annotations

import base64
import re
import time
import warnings
from collections.abc import Callable
from urllib.parse import parse_qs, quote, quote_plus

import pandas as pd
import pytest

import productiv_pandas
from productiv_pandas.client._auth import Redactor
from productiv_pandas.client._client import ProductivClient
from productiv_pandas.errors import AuthenticationError
from tests.helpers.fake_productiv import CLIENT_ID, CLIENT_SECRET, FAST, MARK, Reply, Seen, productiv_error

#: every test also checks that no log line, of ours or of requests/urllib3, holds a secret
pytestmark = pytest.mark.usefixtures("no_secret_in_logs")


# --- secrets echoed back in the forms they travel in -------------------------------------

ODD_SECRET = f"p@ss+w/rd=xyz!{MARK}"  # every character URL encoding changes
ODD_TOKEN = f"tok+en/{MARK}=a!b"


def lower_escapes(text: str) -> str:
    """``%2B`` as ``%2b``: how some servers write the percent escapes they echo."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def forms_of(secret: str) -> list[str]:
    """The forms a secret travels in, as a server or proxy echoing a request would quote it."""
    encoded = [quote_plus(secret), quote(secret, safe=""), quote(secret)]
    return [secret, *encoded, *map(lower_escapes, encoded)]


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


SECRET_FORMS = [*forms_of(ODD_SECRET), *forms_of(basic(CLIENT_ID, ODD_SECRET)), *forms_of(ODD_TOKEN)]


def echo_token_request(status: int, as_json: bool) -> Callable[[Seen], Reply]:
    """A token endpoint (or a proxy before it) that quotes the request in its error page."""

    def answer(seen: Seen) -> Reply:
        form = seen.body.decode()
        sent = parse_qs(form)
        credentials = basic(sent["client_id"][0], sent["client_secret"][0])
        text = f"while handling {form} ({lower_escapes(form)}) as Basic {credentials}"
        if as_json:
            return Reply(status, {"error": "server_error", "error_description": text})
        return Reply(status, f"<html>{credentials} {text}</html>".encode())

    return answer


def events_frame(rows: int = 3) -> pd.DataFrame:
    now = int(time.time() * 1000)
    return pd.DataFrame(
        {
            "timestamp": [now - 60_000 - i for i in range(rows)],
            "email": [f"user{i}@example.com" for i in range(rows)],
            "eventName": ["opened_file"] * rows,
        }
    )


def assert_no_secret_form(*texts: str) -> None:
    for text in texts:
        shown = [form for form in SECRET_FORMS if form in text]
        assert shown == [], f"{shown} in {text!r}"


@pytest.mark.parametrize(
    ("status", "as_json", "prefix", "message"),
    [
        (  # retried, then given up: the whole JSON description, redacted, then cut at 500
            500,
            True,
            "",
            "the token endpoint failed (HTTP 500): while handling grant_type=client_credentials&"
            "client_id=client-id-42&client_secret=***&scope=https%3A%2F%2Fapi.productiv.com%2F"
            "connector.write (grant_type=client_credentials&client_id=client-id-42&client_secret=***&"
            "scope=https%3a%2f%2fapi.productiv.com%2fconnector.write) as Basic ***",
        ),
        (  # final: an HTML page, redacted, then cut at 200 characters
            401,
            False,
            "credentials refused: ",
            "the token endpoint refused the client credentials (HTTP 401): Unauthorized: <html>*** "
            "while handling grant_type=client_credentials&client_id=client-id-42&client_secret=***&"
            "scope=https%3A%2F%2Fapi.productiv.com%2Fconnector.write (grant_type=client_credentials&"
            "client_id=client-",
        ),
    ],
)
def test_a_token_endpoint_echoing_the_form_leaks_no_form_of_the_secret(
    fake, clients, caplog, status, as_json, prefix, message
):
    fake.on_tokens = echo_token_request(status, as_json)
    client = ProductivClient.from_client_credentials(
        CLIENT_ID, ODD_SECRET, token_url=fake.token_url, base_url=fake.url, retry=FAST
    )
    clients.append(client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = productiv_pandas.publish(
            events_frame(), "app-1", client=client, max_retries=1, progress=False
        )
        with pytest.raises(AuthenticationError) as info:
            client.authenticate()
    assert result["status"].tolist() == ["failed"] * 3
    assert result["reason"].tolist() == [prefix + message] * 3
    assert fake.event_requests() == []
    assert (info.value.status, info.value.message) == (status, message)
    assert_no_secret_form(
        result.to_csv(), caplog.text, str(info.value), repr(info.value), *(str(w.message) for w in caught)
    )


def test_an_events_endpoint_echoing_the_token_leaks_no_form_of_it(fake, clients, caplog):
    fake.on_tokens = lambda seen: Reply(200, {"access_token": ODD_TOKEN, "token_type": "Bearer"})
    echoed = f"{quote_plus(ODD_TOKEN)} {lower_escapes(quote(ODD_TOKEN, safe=''))} {quote(ODD_TOKEN)}"
    fake.on_events = lambda seen: Reply(
        503, productiv_error(503, f"busy; you sent {seen.headers['Authorization']} ({echoed})")
    )
    client = ProductivClient.from_client_credentials(
        CLIENT_ID, ODD_SECRET, token_url=fake.token_url, base_url=fake.url, retry=FAST
    )
    clients.append(client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = productiv_pandas.publish(
            events_frame(), "app-1", client=client, max_retries=1, progress=False
        )
    assert result["status"].tolist() == ["failed"] * 3
    assert result["reason"].tolist() == ["busy; you sent Bearer *** (*** *** ***)"] * 3
    assert result["attempts"].tolist() == [2] * 3
    assert [seen.bearer for seen in fake.event_requests()] == [ODD_TOKEN] * 2
    assert_no_secret_form(result.to_csv(), caplog.text, *(str(w.message) for w in caught))


def test_the_redactor_hides_every_form_and_shows_none_in_its_repr():
    redact = Redactor()
    redact.add(ODD_SECRET, keep=True)
    redact.add_basic(CLIENT_ID, ODD_SECRET)
    redact.add(ODD_TOKEN)
    assert redact(" | ".join(SECRET_FORMS)) == " | ".join(["***"] * len(SECRET_FORMS))
    assert repr(redact) == "Redactor(3 secrets)"


def test_redactor_keeps_the_client_secret_however_many_tokens_come():
    redact = Redactor()
    redact.add(CLIENT_SECRET, keep=True)
    for n in range(20):
        redact.add(f"issued-{n}-{MARK}")
    assert redact(f"{CLIENT_SECRET} issued-19-{MARK} issued-12-{MARK}") == "*** *** ***"
    redact.add("t")  # too short to be a secret; redacting it would garble every message
    assert redact("token expired") == "token expired"
