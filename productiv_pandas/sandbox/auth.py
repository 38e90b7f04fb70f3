"""Access tokens, the OAuth2 client-credentials token endpoint and the per-token rate limit.

The token endpoint follows RFC 6749 section 4.4: a form-encoded ``grant_type=client_credentials``
with the client's id and secret either in the body or as HTTP Basic (Productiv documents both),
an optional space-separated ``scope``, and errors as ``{"error": ..., "error_description": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

__all__ = ["KNOWN_SCOPES", "READ_SCOPE", "WRITE_SCOPE", "RateLimiter", "TokenStore", "token_answer"]

# The two scopes Productiv documents for client-credential tokens: writing usage data (what
# publishing needs) and querying reports. A token for reports is issued, and the events endpoint
# refuses it with 403; any other scope is refused by the token endpoint (400 invalid_scope).
WRITE_SCOPE = "https://api.productiv.com/connector.write"
READ_SCOPE = "https://api.productiv.com/report.read"
KNOWN_SCOPES = frozenset({WRITE_SCOPE, READ_SCOPE})


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str]
    expires_at: float  # time.monotonic()


class TokenStore:
    """Issue and look up bearer tokens; thread-safe."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}

    def issue(self, scopes: Iterable[str], lifetime: float | None = None) -> Token:
        lifetime = self.lifetime if lifetime is None else lifetime
        token = Token(secrets.token_urlsafe(32), frozenset(scopes), time.monotonic() + lifetime)
        with self._lock:
            self._tokens[token.value] = token
        return token

    def lookup(self, value: str) -> tuple[Token | None, str]:
        """Return (token, "") when valid, else (None, why) for the 401 message."""
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            return None, "the access token is not valid (unknown token)"
        if time.monotonic() >= token.expires_at:
            return None, "the access token has expired; request a new one from the token endpoint"
        return token, ""

    def expire_all(self) -> None:
        with self._lock:
            self._tokens = {value: Token(value, t.scopes, 0.0) for value, t in self._tokens.items()}


class RateLimiter:
    """A token bucket per access token: ``rate`` requests a second, bursts of up to ``burst``."""

    def __init__(self, limit: tuple[float, int] | None) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, list[float]] = {}
        self.configure(limit)

    def configure(self, limit: tuple[float, int] | None) -> None:
        if limit is not None:
            rate, burst = limit
            if not rate > 0 or int(burst) < 1:
                raise ValueError(f"rate limit needs rate > 0 and burst >= 1, got {limit!r}")
            limit = (float(rate), int(burst))
        with self._lock:
            self._limit = limit
            self._buckets.clear()

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s bucket: 0.0 when allowed, else seconds until allowed."""
        with self._lock:
            if self._limit is None:
                return 0.0
            rate, burst = self._limit
            now = time.monotonic()
            bucket = self._buckets.setdefault(key, [float(burst), now])
            bucket[0] = min(float(burst), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return 0.0
            return (1.0 - bucket[0]) / rate


def retry_after_header(seconds: float) -> str:
    """HTTP's Retry-After is whole seconds: round up so a client that obeys it is let in."""
    return str(max(1, math.ceil(seconds)))


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _oauth_error(status: int, error: str, description: str, headers=()) -> tuple[int, dict, tuple]:
    return status, {"error": error, "error_description": description}, tuple(headers)


def token_answer(
    body: bytes,
    content_type: str,
    authorization: str | None,
    credentials: tuple[str, str],
    tokens: TokenStore,
) -> tuple[int, dict, tuple[tuple[str, str], ...]]:
    """Answer one token request: (status, JSON body, extra headers)."""
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return _oauth_error(
            400,
            "invalid_request",
            f"Content-Type must be application/x-www-form-urlencoded, got {content_type!r}",
        )
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "the form body is not valid UTF-8 form encoding")
    repeated = sorted(name for name, values in form.items() if len(values) > 1)
    if repeated:
        return _oauth_error(400, "invalid_request", f"parameters given more than once: {repeated}")
    params = {name: values[0] for name, values in form.items()}

    basic = _basic_credentials(authorization)
    client_id, secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
    if basic is not None and params.get("client_id", client_id) != client_id:
        client_id = None  # the body names another client than the Authorization header
    challenge = [("WWW-Authenticate", 'Basic realm="productiv-sandbox"')] if basic is not None else []
    if client_id is None or secret is None:
        return _oauth_error(
            401, "invalid_client", "no client credentials: send client_id and client_secret", challenge
        )
    if not (
        hmac.compare_digest(client_id.encode(), credentials[0].encode())
        and hmac.compare_digest(secret.encode(), credentials[1].encode())
    ):
        return _oauth_error(401, "invalid_client", "client authentication failed", challenge)

    grant = params.get("grant_type")
    if grant is None:
        return _oauth_error(400, "invalid_request", "grant_type is missing; use client_credentials")
    if grant != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", f"grant_type {grant!r} is not supported; use client_credentials"
        )
    scopes = params.get("scope", "").split() or [WRITE_SCOPE]
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        return _oauth_error(400, "invalid_scope", f"unknown scopes {unknown}; known: {sorted(KNOWN_SCOPES)}")
    lifetime = tokens.lifetime
    token = tokens.issue(scopes, lifetime)
    answer = {
        "access_token": token.value,
        "token_type": "Bearer",
        "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
        "scope": " ".join(dict.fromkeys(scopes)),
    }
    return 200, answer, (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
