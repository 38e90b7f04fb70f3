"""The :class:`Sandbox` object: one local Productiv, started, inspected and scripted from Python."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .api import EVENTS_PATH, TOKEN_PATH, Endpoints
from .auth import KNOWN_SCOPES, READ_SCOPE, WRITE_SCOPE, RateLimiter, TokenStore
from .contract import App
from .faults import FaultPlan
from .server import SandboxHTTPServer
from .state import RequestRecord, SandboxState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Sandbox"]

AppsSpec = Mapping[str, Mapping[str, Any] | None] | Iterable[str] | None


class Sandbox:
    """A local, Productiv-compatible token and Publish Usage Events server on loopback.

    Parameters
    ----------
    apps : mapping or iterable of str, optional
        The apps to register: ``{app_id: {"events": names or None, "login_events": names}}``
        or just app ids (any event name accepted). Default: one app, :attr:`DEMO_APP`, that
        accepts any event name and whose Login event is ``"sso_login"``.
    token_lifetime : float
        Seconds an access token stays valid (``expires_in``); make it small to test expiry.
    rate_limit : (rate_per_second, burst) or None
        The token bucket each access token gets; None disables rate limiting.
    host, port : str, int
        Where to listen; port 0 picks a free port.

    Examples
    --------
    >>> import requests
    >>> with Sandbox() as sb:
    ...     token = sb.issue_token()
    ...     answer = requests.post(
    ...         sb.events_url(),
    ...         json={"events": [{"timestamp": 1566340678676, "email": "a@b.com", "eventName": "opened"}]},
    ...         headers={"Authorization": f"Bearer {token}"},
    ...         timeout=5,
    ...     )
    ...     answer.json(), len(sb.events())
    ({'success': True}, 1)
    """

    DEMO_APP = "demo-app"
    DEMO_LOGIN_EVENTS = ("sso_login",)
    WRITE_SCOPE = WRITE_SCOPE
    READ_SCOPE = READ_SCOPE

    def __init__(
        self,
        *,
        apps: AppsSpec = None,
        token_lifetime: float = 3600,
        rate_limit: tuple[float, int] | None = (20.0, 40),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not token_lifetime > 0:
            raise ValueError(f"token_lifetime must be > 0 seconds, got {token_lifetime!r}")
        self._host = host
        self._port = port
        self._token_lifetime = token_lifetime
        self._rate_limit = rate_limit
        self.client_id = f"sandbox-{secrets.token_hex(4)}"
        self.client_secret = secrets.token_urlsafe(24)
        self._state = SandboxState()
        self._tokens = TokenStore(token_lifetime)
        self._limiter = RateLimiter(rate_limit)
        self._faults = FaultPlan()
        self._endpoints = Endpoints(
            self._state, self._tokens, self._limiter, self._faults, (self.client_id, self.client_secret)
        )
        self._lock = threading.Lock()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._register(apps)

    def _register(self, apps: AppsSpec) -> None:
        if apps is None:
            self.add_app(self.DEMO_APP, login_events=self.DEMO_LOGIN_EVENTS)
        elif isinstance(apps, str):
            raise TypeError(f"apps must be a mapping or a list of app ids, not the string {apps!r}")
        elif isinstance(apps, Mapping):
            for app_id, spec in apps.items():
                self.add_app(app_id, **dict(spec or {}))
        else:
            for app_id in apps:
                logins = self.DEMO_LOGIN_EVENTS if app_id == self.DEMO_APP else ()
                self.add_app(app_id, login_events=logins)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a background thread; ready to answer when this returns."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError(f"this sandbox is already running at {self._url}")
            server = SandboxHTTPServer((self._host, self._port), self._endpoints, self._state)
            host, port = server.server_address[:2]
            self._url = f"http://{host!s}:{port}"
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
                name=f"productiv-sandbox-{port}",
                daemon=True,
            )
            self._server = server
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and free the port; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Sandbox:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __repr__(self) -> str:
        where = self._url or "not started"
        state = "running" if self.running else "stopped"
        return f"<Sandbox {where} {state}, apps={self._state.app_ids}>"

    # -- addresses and credentials ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT`` (the last one, once stopped)."""
        if self._url is None:
            raise RuntimeError("the sandbox has not been started: call start() or use it in a with block")
        return self._url

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def events_url(self, app_id: str = DEMO_APP) -> str:
        """The URL events of ``app_id`` are POSTed to."""
        return self.url + EVENTS_PATH.replace("{appId}", quote(app_id, safe=""))

    def issue_token(self, scopes: Iterable[str] = (WRITE_SCOPE,), *, lifetime: float | None = None) -> str:
        """An access token with ``scopes``, without a round trip to the token endpoint.

        Only the scopes the token endpoint issues (:data:`WRITE_SCOPE`, :data:`READ_SCOPE`):
        a token the real service could never hold would rehearse nothing.
        """
        if isinstance(scopes, str):
            scopes = scopes.split()
        scopes = list(scopes)
        unknown = sorted(set(scopes) - KNOWN_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; the sandbox issues {sorted(KNOWN_SCOPES)}")
        return self._tokens.issue(scopes, lifetime).value

    @property
    def token_lifetime(self) -> float:
        return self._tokens.lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"token_lifetime must be > 0 seconds, got {seconds!r}")
        self._tokens.lifetime = seconds

    def client(self, **kwargs: Any):
        """A ``ProductivClient`` pointed at this sandbox with valid credentials."""
        from ..client._client import ProductivClient

        return ProductivClient.from_client_credentials(
            self.client_id, self.client_secret, token_url=self.token_url, base_url=self.url, **kwargs
        )

    # -- configuration ---------------------------------------------------------------------------

    def add_app(
        self, app_id: str, events: Iterable[str] | None = None, login_events: Iterable[str] = ()
    ) -> None:
        """Register (or replace) an app; ``events=None`` accepts any event name."""
        self._state.add_app(App.build(app_id, events, login_events))

    @property
    def apps(self) -> dict[str, App]:
        # An app removed between the two calls is left out.
        return {app_id: app for app_id in self._state.app_ids if (app := self._state.app(app_id)) is not None}

    def set_rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Give every token a bucket of ``burst`` requests refilled at ``rate`` a second; None disables."""
        if rate is None:
            self._limiter.configure(None)
        else:
            self._limiter.configure((rate, max(1, int(rate)) if burst is None else burst))

    def reset(self) -> None:
        """Forget events, stats, the request log, faults and rate-limit buckets.

        Apps, credentials and issued tokens are kept; the rate limit and the token lifetime go
        back to the constructor's values, so a session-wide sandbox starts each test the same.
        """
        self._state.reset()
        self._faults.clear()
        self._limiter.configure(self._rate_limit)
        self._tokens.lifetime = self._token_lifetime

    # -- fault injection -------------------------------------------------------------------------

    def fail_next(
        self, n: int = 1, status: int = 503, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """Answer the next ``n`` events POSTs with ``status`` (300-599) and the documented error
        body; a redirect (3xx) carries a ``Location`` elsewhere.

        ``retry_after`` (seconds) adds a ``Retry-After`` header; fractions are sent as written
        (e.g. ``0.2``) so tests need not wait whole seconds. A 429 carries ``Retry-After: 1``
        when ``retry_after`` is not given, as the sandbox's own rate limiter and real APIs
        send one with every 429; other statuses carry none unless asked.
        """
        self._faults.fail_next(n, status, retry_after, message)

    def answer_next(self, n: int = 1, status: int = 200, body: bytes = b'{"success": false}') -> None:
        """Answer the next ``n`` events POSTs with ``status`` and ``body`` as they are, nothing
        stored: a 2xx without ``{"success": true}`` (the default), a proxy's HTML page, a status
        no API sends."""
        self._faults.answer_next(n, status, body)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Handle the next ``n`` events POSTs as usual, but only after ``seconds``: a client with
        a shorter timeout times out (while the sandbox may still store the events)."""
        self._faults.delay_next(n, seconds)

    def drop_next(self, n: int = 1, after_store: bool = False) -> None:
        """Close the connection of the next ``n`` events POSTs without answering.

        With ``after_store=True`` the request is handled first (events stored when valid):
        the client cannot tell whether its batch landed.
        """
        self._faults.drop_next(n, after_store)

    def clear_faults(self) -> None:
        """Forget the faults still queued (``fail_next`` and the like): the end of an outage
        scripted as ``fail_next(10**6)``, and the delay (back to 0). Events and stats are kept."""
        self._faults.clear()

    def set_delay(self, seconds: float) -> None:
        """Wait ``seconds`` before answering every events POST (0 to stop)."""
        self._faults.delay = seconds

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on (401); new ones are valid."""
        self._tokens.expire_all()

    # -- inspection ------------------------------------------------------------------------------

    def events(self, app_id: str = DEMO_APP) -> pd.DataFrame:
        """The stored events of ``app_id``: timestamp (int64), email, eventName, targetApp."""
        return self._state.events_frame(app_id)

    def stats(self) -> dict[str, Any]:
        """Counters: requests, by_status, events_received, events_stored, duplicates_received, ..."""
        return self._state.stats()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received since the start or the last reset, in arrival order."""
        return self._state.requests

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected errors in the server (each also logged and answered 500)."""
        return self._state.errors
