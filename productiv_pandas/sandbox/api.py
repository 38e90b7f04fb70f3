"""The two endpoints, as plain functions of (method, target, headers, body) -> Response.

The events endpoint checks a request in the documented order, answering the first failure
with ``{"code": "<status>", "message": "...", "success": false}``:

1. 401 missing, unknown or expired token; 403 token without ``connector.write``;
2. 404 unknown app;
3. 400 query parameters, a Content-Type other than JSON, a body that is not UTF-8 JSON;
4. 422 a payload that breaks the contract (see :mod:`.contract`);
5. 429 over the per-token rate limit, with ``Retry-After``;
6. 200 ``{"success": true}``, the events stored de-duplicated.

Scripted faults (:mod:`.faults`) come before all of it, as a failing gateway would.
Nothing here touches sockets: the HTTP layer (:mod:`.server`) reads and writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from .auth import WRITE_SCOPE, RateLimiter, TokenStore, retry_after_header, token_answer
from .contract import ContractError, check_payload
from .faults import FaultPlan, format_retry_after
from .state import SandboxState

__all__ = ["EVENTS_PATH", "TOKEN_PATH", "Endpoints", "Response", "error_response"]

TOKEN_PATH = "/oauth2/token"
EVENTS_PATH = "/services/push/v1/customer/apps/{appId}/events"
_EVENTS_RE = re.compile(r"^/services/push/v1/customer/apps/([^/]+)/events$")
_SUCCESS = b'{"success": true}'
#: Where a scripted redirect points: another address, which the client must not follow.
_REDIRECTED_TO = "https://elsewhere.example/services/push/v1/"


@dataclass
class Response:
    """What to answer; ``drop`` closes the connection without answering."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False
    drop: bool = False
    delay: float = 0.0
    events: int = 0
    app_id: str | None = None


def error_response(status: int, message: str, headers=(), *, close: bool = False) -> Response:
    """The documented error body ``{"code": "<status>", "message": ..., "success": false}``."""
    body = json.dumps({"code": str(status), "message": message, "success": False}).encode()
    return Response(status, body, tuple(headers), close=close)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON (serialize missing values as absent fields)")


def _parse_json(body: bytes) -> tuple[object, str | None]:
    """(value, None) or (None, why the body is not JSON)."""
    if not body:
        return None, 'the body is empty; expected JSON {"events": [...]}'
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"the body is not valid UTF-8 (bad byte at offset {exc.start})"
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "the body is nested too deeply to parse"
    except ValueError as exc:
        return None, f"the body is not valid JSON: {exc}"


class Endpoints:
    """The token and events endpoints over the sandbox's state."""

    def __init__(
        self,
        state: SandboxState,
        tokens: TokenStore,
        limiter: RateLimiter,
        faults: FaultPlan,
        credentials: tuple[str, str],
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.limiter = limiter
        self.faults = faults
        self.credentials = credentials

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        split = urlsplit(target)
        if split.path == TOKEN_PATH:
            if method != "POST":
                return error_response(
                    405, f"{method} is not allowed here; POST the token request", [("Allow", "POST")]
                )
            self.state.count("token_requests")
            status, answer, extra = token_answer(
                body,
                headers.get("Content-Type", ""),
                headers.get("Authorization"),
                self.credentials,
                self.tokens,
            )
            return Response(status, json.dumps(answer).encode(), extra)
        match = _EVENTS_RE.match(split.path)
        if match is None:
            return error_response(
                404, f"no such endpoint: {split.path!r}; events are POSTed to {EVENTS_PATH}"
            )
        if method != "POST":
            return error_response(405, f"{method} is not allowed here; POST the events", [("Allow", "POST")])
        return self._events(unquote(match.group(1)), split.query, headers, body)

    def _events(self, app_id: str, query: str, headers: Mapping[str, str], body: bytes) -> Response:
        payload, not_json = _parse_json(body)
        count = 0
        if type(payload) is dict and type(payload.get("events")) is list:
            count = len(payload["events"])
        fault = self.faults.take()
        if fault is not None and fault.kind == "fail":
            extra = (
                [] if fault.retry_after is None else [("Retry-After", format_retry_after(fault.retry_after))]
            )
            if 300 <= fault.status < 400:
                extra.append(("Location", _REDIRECTED_TO))
            response = error_response(fault.status, fault.describe(), extra)
        elif fault is not None and fault.kind == "answer":
            response = Response(fault.status, fault.body)
        elif fault is not None and fault.kind == "drop" and not fault.after_store:
            response = Response(0, b"", drop=True)
        else:
            response = self._check_and_store(app_id, query, headers, payload, not_json)
            response.drop = fault is not None and fault.kind == "drop"
        response.delay = fault.seconds if fault is not None and fault.kind == "delay" else self.faults.delay
        response.events = count
        response.app_id = app_id
        return response

    def _check_and_store(
        self, app_id: str, query: str, headers: Mapping[str, str], payload: object, not_json: str | None
    ) -> Response:
        authorization = headers.get("Authorization")
        if not authorization:
            return error_response(
                401, "missing Authorization header; send 'Authorization: Bearer <access_token>'", _BEARER
            )
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return error_response(401, "the Authorization header must be 'Bearer <access_token>'", _BEARER)
        token, why = self.tokens.lookup(value.strip())
        if token is None:
            return error_response(401, why, _INVALID_TOKEN)
        if WRITE_SCOPE not in token.scopes:
            held = " ".join(sorted(token.scopes)) or "no scope"
            return error_response(
                403,
                f"the access token has {held} but publishing usage events needs the scope "
                f"{WRITE_SCOPE}; request it from the token endpoint",
            )
        app = self.state.app(app_id)
        if app is None:
            return error_response(404, f"app {app_id!r} does not exist for this customer")
        if query:
            names = sorted(parse_qs(query, keep_blank_values=True)) or [query]
            return error_response(400, f"unexpected query parameters {names}; this endpoint takes none")
        content_type = headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return error_response(400, f"Content-Type must be application/json, got {content_type!r}")
        if not_json is not None:
            return error_response(400, not_json)
        try:
            rows = check_payload(payload, app)
        except ContractError as exc:
            return error_response(422, str(exc))
        wait = self.limiter.take(token.value)
        if wait:
            return error_response(
                429,
                f"rate limit exceeded for this access token; retry after {wait:.2f} s",
                [("Retry-After", retry_after_header(wait))],
            )
        self.state.store(app_id, rows)
        return Response(200, _SUCCESS)


_BEARER = [("WWW-Authenticate", 'Bearer realm="productiv-sandbox"')]
_INVALID_TOKEN = [("WWW-Authenticate", 'Bearer realm="productiv-sandbox", error="invalid_token"')]
