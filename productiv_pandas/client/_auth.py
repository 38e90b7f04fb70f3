"""Credentials: the access token, fixed or fetched with OAuth2 client credentials and renewed.

Also where credentials may be sent (:func:`check_url`). How they are kept out of every text
(:class:`Secret`, :class:`Redactor`) and refused when they cannot be sent is in :mod:`.redaction`.
The HTTP exchange goes through :mod:`.transport`, under the same deadline and ``abandon`` event
as the events requests.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..errors import AuthenticationError, ConfigurationError
from ._answer import error_text, excerpt, json_body
from ._redaction import Redactor, Secret, header_problem, invisible_problem
from ._retry import RetryPolicy, parse_retry_after
from ._transport import Abandoned, Transport, TransportError

__all__ = ["ClientCredentials", "Redactor", "Secret", "TokenProvider", "Tokens", "check_url", "refresh_delay"]
# Redactor and Secret live in .redaction; imported from here too.

logger = logging.getLogger("productiv_pandas")

#: Called whenever a token is needed: the token, or (token, seconds it lives or None).
TokenProvider = Callable[[], "str | tuple[str, float | None]"]


class ClientCredentials:
    """An OAuth2 client-credentials grant: what to post to the token endpoint, and how to read it.

    Examples
    --------
    >>> ClientCredentials("my-id", "my-secret")
    ClientCredentials(client_id='my-id', token_url='https://login.api.productiv.com/oauth2/token')
    """

    DEFAULT_TOKEN_URL = "https://login.api.productiv.com/oauth2/token"
    DEFAULT_SCOPE = "https://api.productiv.com/connector.write"

    def __init__(
        self, client_id: str, client_secret: str, *, token_url: str | None = None, scope: str = DEFAULT_SCOPE
    ) -> None:
        for name, value in (("client_id", client_id), ("client_secret", client_secret), ("scope", scope)):
            if not isinstance(value, str) or not value.strip():
                shown = "a secret" if name == "client_secret" else repr(value)
                raise ConfigurationError(f"{name} must be a non-empty string, got {shown}")
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if (problem := invisible_problem(value.strip())) is not None:
                raise ConfigurationError(f"{name} cannot be used: {problem}")  # never quoted
        self.client_id = client_id.strip()
        self.client_secret = Secret(client_secret.strip())
        self.token_url = check_url(token_url or self.DEFAULT_TOKEN_URL, "token_url")
        self.scope = scope

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, token_url={self.token_url!r})"

    def request(self) -> dict[str, Any]:
        """Keyword arguments of the token request (form-encoded, as RFC 6749 section 4.4 says)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.reveal(),
            "scope": self.scope,
        }
        return {"url": self.token_url, "data": form}

    def parse(
        self, body: dict[str, Any], status: int, quoted: str = "", redact: Callable[[str], str] = str
    ) -> tuple[str, float | None]:
        """The token and its lifetime in seconds (None when the answer gives none).

        ``quoted`` is the start of the answer (redacted), shown when it holds no token at all: a
        login page or a proxy's answer there usually means ``token_url`` is not the token endpoint.
        A token that cannot go into an HTTP header is refused, not quoted. ``redact`` is applied
        to anything else of the answer that a message quotes.
        """
        token = body.get("access_token")
        if not isinstance(token, str) or not token.strip():
            said = f": {quoted}" if quoted and "access_token" not in body else ""
            raise AuthenticationError(
                status,
                None,
                f"the token endpoint answered HTTP {status} without an access_token{said} "
                f"(is token_url {self.token_url!r} the OAuth2 token endpoint?)",
            )
        problem = header_problem(token.strip())
        if problem is not None:
            raise AuthenticationError(
                status,
                None,
                f"the token endpoint returned a token that cannot be sent in an HTTP header: {problem}",
            )
        token_type = body.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            shown = " ".join(redact(token_type).split())[:40]
            raise AuthenticationError(
                status, None, f"the token endpoint issued a {shown!r} token; expected a Bearer token"
            )
        try:
            lifetime: float | None = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            lifetime = None
        if lifetime is not None and not lifetime >= 0:  # NaN or negative: unknown, renew on 401
            lifetime = None
        return token.strip(), lifetime

    def refused(
        self, status: int, code: str | None, message: str, policy: RetryPolicy, retry_after: float | None
    ) -> AuthenticationError:
        """The error for a non-2xx answer of the token endpoint; 429 and 5xx may be retried."""
        if 300 <= status < 400:
            return AuthenticationError(status, code, f"the token endpoint answered HTTP {status}: {message}")
        if status in policy.retry_statuses:
            text = f"the token endpoint failed (HTTP {status}): {message}"
            return AuthenticationError(status, code, text, retryable=True, retry_after=retry_after)
        return AuthenticationError(
            status, code, f"the token endpoint refused the client credentials (HTTP {status}): {message}"
        )


class Tokens:
    """The access token of a client: fixed, or fetched and renewed before it expires or on 401.

    Safe to share between threads: one fetch at a time, and a 401 seen by many threads at once
    costs one renewal (each says which ``generation`` of the token was refused).
    """

    def __init__(
        self,
        access_token: str | None,
        provider: TokenProvider | ClientCredentials | None,
        transport: Transport,
        policy: RetryPolicy,
        clock: Callable[[], float],
        redact: Redactor,
    ) -> None:
        self.provider = provider
        self._transport, self._policy, self._clock, self._redact = transport, policy, clock, redact
        self._lock = threading.Lock()
        self._token = None if access_token is None else Secret(access_token)
        self._generation = 0
        self._refresh_at: float | None = None
        if isinstance(provider, ClientCredentials):
            redact.add(provider.client_secret.reveal(), keep=True)
            redact.add_basic(provider.client_id, provider.client_secret.reveal())
        if access_token is not None:
            redact.add(access_token, keep=True)

    @property
    def renewable(self) -> bool:
        return self.provider is not None

    @property
    def fixed_token(self) -> Secret | None:
        """The fixed access token given (a :class:`Secret`), or None when a provider gives them."""
        return self._token if self.provider is None else None

    def current(self, stale: int | None = None, abandon: threading.Event | None = None) -> tuple[str, int]:
        """The token and its generation; fetched when missing or near expiry, or when ``stale``
        is the generation that a 401 answered (unless another thread renewed it meanwhile).

        Raises AuthenticationError when no token can be had, :class:`.transport.Abandoned` when
        ``abandon`` was set during a request to the token endpoint.
        """
        with self._lock:
            expired = self._refresh_at is not None and self._clock() >= self._refresh_at
            refused = stale is not None and stale == self._generation
            if self.provider is not None and (self._token is None or expired or refused):
                self._token = None
                started = self._clock()
                token, lifetime = self._fetch(abandon)
                self._redact.add(token)
                self._token = Secret(token)
                self._generation += 1
                self._refresh_at = None if lifetime is None else started + refresh_delay(lifetime)
                logger.info(
                    "got an access token (%s)",
                    "no expiry given" if lifetime is None else f"expires in {lifetime:g} s",
                )
            assert self._token is not None
            return self._token.reveal(), self._generation

    def _fetch(self, abandon: threading.Event | None) -> tuple[str, float | None]:
        provider = self.provider
        if isinstance(provider, ClientCredentials):
            try:
                response = self._transport.send("POST", abandon=abandon, **provider.request())
            except Abandoned:
                raise
            except TransportError as exc:
                message = f"token request: {exc}"
                raise AuthenticationError(
                    None, None, message, retryable=exc.retryable, timed_out=exc.timed_out
                ) from None
            if 200 <= response.status_code < 300:
                body = json_body(response)
                token = body.get("access_token")
                if isinstance(token, str) and token.strip():
                    # A secret from now on, even if refused below: whatever a message quotes of
                    # this answer (an odd token_type echoing it) or of later ones goes through it.
                    self._redact.add(token.strip())
                quoted = excerpt(response, self._redact) or "an empty body"
                return provider.parse(body, response.status_code, quoted, self._redact)
            code, message = error_text(response, self._redact)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise provider.refused(response.status_code, code, message, self._policy, retry_after)
        try:
            answer = provider()  # type: ignore[misc]
        except AuthenticationError:
            raise
        except Exception as exc:
            # Neither its text nor the exception itself: a provider's own error may quote a
            # secret that this client never saw, so could not redact.
            message = (
                f"token_provider raised {type(exc).__name__} (its message is not shown: it may hold a secret)"
            )
            raise AuthenticationError(None, None, message) from None
        token, lifetime = (answer, None) if isinstance(answer, str) else answer
        if not isinstance(token, str) or not token.strip():
            raise AuthenticationError(None, None, "token_provider returned no token")
        problem = header_problem(token.strip())
        if problem is not None:
            raise AuthenticationError(
                None,
                None,
                f"token_provider returned a token that cannot be sent in an HTTP header: {problem}",
            )
        return token.strip(), lifetime


def refresh_delay(lifetime: float) -> float:
    """Seconds after which a token that lives ``lifetime`` seconds is renewed.

    At 90% of its life or 60 s before it expires, whichever is earlier, so a request never
    leaves with a token about to expire; but not before half its life, so that a short-lived
    token is not fetched again for every request.

    >>> refresh_delay(3600), refresh_delay(300), refresh_delay(100)
    (3240.0, 240.0, 50.0)
    """
    return max(0.5 * lifetime, min(0.9 * lifetime, lifetime - 60.0))


def check_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, if credentials may be sent there; else ConfigurationError.

    https:// anywhere; plain http:// only to this machine (127.0.0.0/8, ::1, localhost), where
    a local sandbox runs: elsewhere the token would cross the network in clear text.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{what} must be a URL such as 'https://host', got {url!r}")
    bad = [(at, char) for at, char in enumerate(url.strip()) if char.isspace() or not char.isprintable()]
    if bad:
        # urlsplit drops tabs and newlines silently, but the URL sent would still hold them. The
        # URL is not quoted: it may hold a password (refused below, had it been readable).
        at, char = bad[0]
        raise ConfigurationError(
            f"{what} must not contain whitespace or control characters; found {char!r} at position {at}"
        )
    try:
        parts = urlsplit(url.strip())
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        # Say nothing of the URL itself: it holds a password.
        raise ConfigurationError(f"{what} must not contain user:password@; pass credentials separately")
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(f"{what} must be an https:// URL with a host, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{what} must not have a query or fragment, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{what} {url!r} uses plain http:// to another machine, which would send the token in "
            "clear text; use https:// (http:// is allowed for 127.0.0.1, ::1 and localhost only)"
        )
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
