"""The HTTP client of Productiv's Publish Usage Events API: auth, transport, retries, error policy.

It knows nothing of pandas: it sends bytes that the batching stage serialized and answers with a
:class:`Delivery`, a plain value saying what became of them. Errors of ``requests`` are
translated in one place (:meth:`.transport.Transport.send`); environment variables are read in one
place (:meth:`ProductivClient.from_env`). The access token and the client secret never appear in
a repr, a log line, an exception or a delivery message.
"""

from __future__ import annotations

import logging
import numbers
import os
import random as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from ..errors import AuthenticationError, ConfigurationError, ProductivError
from ._answer import error_text, excerpt, json_body
from ._auth import ClientCredentials, TokenProvider, Tokens, check_url
from ._redaction import Redactor, Secret, header_problem, invisible_problem
from ._retry import RetryPolicy, parse_retry_after
from ._transport import Abandoned, Timeout, Transport, TransportError

__all__ = ["DEFAULT_BASE_URL", "DELIVERY_KINDS", "Delivery", "DeliveryKind", "NoAnswer", "ProductivClient"]

logger = logging.getLogger("productiv_pandas")

DEFAULT_BASE_URL = "https://public-api.productiv.com"
EVENTS_PATH = "/services/push/v1/customer/apps/{app_id}/events"

DeliveryKind = Literal[
    "sent", "retry_exhausted", "retry_later", "auth", "forbidden", "not_found", "invalid", "too_large",
    "redirected", "cancelled", "other"
]  # fmt: skip
DELIVERY_KINDS: tuple[str, ...] = DeliveryKind.__args__  # type: ignore[attr-defined]
#: Why a request got no HTTP answer: it timed out, or the connection failed.
NoAnswer = Literal["timeout", "network"]
_FINAL_KINDS: dict[int, DeliveryKind] = {
    403: "forbidden",
    404: "not_found",
    400: "invalid",
    422: "invalid",
    413: "too_large",
}


@dataclass(frozen=True)
class Delivery:
    """What became of one request's events.

    ``kind`` is one of: ``sent`` (2xx with ``{"success": true}``); ``retry_exhausted`` (429,
    5xx, timeouts or connection errors until the retries ran out; ``message`` is the last
    error); ``retry_later`` (a 429 or 5xx whose ``Retry-After`` asks for longer than
    ``RetryPolicy.max_retry_after``: not waited for, and not worth asking again soon);
    ``auth`` (401 again after renewing the token, a fixed token refused, or the token
    endpoint refused the credentials); ``forbidden`` (403); ``not_found`` (404); ``invalid``
    (400 or 422: something in the batch was refused); ``too_large`` (413: the body is larger
    than the server takes; not retried: a smaller batch may pass); ``redirected`` (3xx: never followed, so
    that the token goes nowhere else; the base URL is wrong); ``cancelled`` (the cancel event
    was set; or the ``abandon`` event, and then ``message`` starts with "interrupted");
    ``other`` (any other answer, final, including a 2xx without ``{"success": true}``).

    ``attempts`` counts the requests sent to the events endpoint (0 when none was), an
    abandoned one included. A request
    the server hung up on without answering (typically a pooled keep-alive connection it had
    just closed) is sent again at once, once a call, without counting as a retry.

    ``no_answer`` says why no HTTP answer came, when none did (``status`` None, the request
    not cancelled): ``"timeout"`` (no complete answer in time) or ``"network"`` (the
    connection failed: refused, reset, DNS, TLS); None when there was an answer.
    """

    ok: bool
    status: int | None
    attempts: int
    code: str | None
    message: str | None
    kind: DeliveryKind
    no_answer: NoAnswer | None = None


@dataclass(frozen=True)
class _Failure:
    """A try that may be repeated."""

    status: int | None
    code: str | None
    message: str
    retry_after: float | None = None
    unanswered: bool = False  # the connection closed before any answer (a stale pooled one?)
    no_answer: NoAnswer | None = None  # no HTTP answer: "timeout" or "network"


class ProductivClient:
    """A client of the Publish Usage Events API, safe to share between threads.

    Parameters
    ----------
    access_token : str, optional
        A fixed bearer token. It cannot be renewed, so a 401 is final.
    base_url : str
        Where the API lives; ``http://`` only for loopback hosts (a local sandbox).
    timeout : float or (float, float)
        Seconds to connect and to wait for each read; always set. A whole request (connect,
        send, headers and body) also ends when ``connect + read`` seconds have passed (twice a
        single number): a server trickling its answer cannot hold it longer; that is a timeout,
        retried like one.
    retry : RetryPolicy
        Retries of 429, 5xx, timeouts and connection errors.
    pool_size : int
        Connections kept open to the API: at least the number of threads sending at once.
    token_provider : callable, optional
        Instead of ``access_token``: called (one thread at a time) whenever a token is needed;
        returns the token, or ``(token, expires_in_seconds_or_None)``. See also
        :meth:`from_client_credentials`.
    sleep, clock, random
        Injected by tests: the pause without a cancel event, the monotonic clock, and the
        ``[0, 1)`` source of backoff jitter.

    Examples
    --------
    >>> client = ProductivClient("token", base_url="http://127.0.0.1:8000")
    >>> client
    ProductivClient(base_url='http://127.0.0.1:8000', auth='access_token')
    >>> client.close()
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008  (immutable)
        pool_size: int = 8,
        token_provider: TokenProvider | ClientCredentials | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if (access_token is None) == (token_provider is None):
            raise ConfigurationError(
                "give either access_token or token_provider (for OAuth client credentials use "
                "ProductivClient.from_client_credentials(client_id, client_secret), or "
                "ProductivClient.from_env())"
            )
        if access_token is not None and (not isinstance(access_token, str) or not access_token.strip()):
            raise ConfigurationError("access_token must be a non-empty string")
        if access_token is not None and (problem := header_problem(access_token.strip())) is not None:
            raise ConfigurationError(f"access_token cannot be sent in an HTTP header: {problem}")
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        self.base_url = check_url(base_url, "base_url")
        self.retry = retry
        self._sleep, self._clock, self._random = sleep, clock, random
        self._redact = Redactor()
        self._transport = Transport(pool_size, timeout, self._redact)
        token = None if access_token is None else access_token.strip()
        self._tokens = Tokens(token, token_provider, self._transport, retry, clock, self._redact)
        self._pace_lock = threading.Lock()
        self._not_before = float("-inf")  # while the API answers 429, no thread sends before this
        self._closed = False

    @property
    def timeout(self) -> Timeout:
        """Seconds to connect and to read, as given."""
        return self._transport.timeout

    @property
    def auth(self) -> str:
        """How the client authenticates: ``access_token``, ``client_credentials`` or ``token_provider``."""
        provider = self._tokens.provider
        if provider is None:
            return "access_token"
        return "client_credentials" if isinstance(provider, ClientCredentials) else "token_provider"

    @property
    def credentials(self) -> Secret | TokenProvider | ClientCredentials:
        """The credentials the client was given: the fixed access token, as a :class:`Secret`
        (shown as ``'***'``; ``.reveal()`` gives it), or the token provider (client credentials
        or a callable). What :class:`~productiv_pandas.client.ClientFactory` copies."""
        token = self._tokens.fixed_token
        if token is not None:
            return token
        assert self._tokens.provider is not None
        return self._tokens.provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={self.auth!r})"

    @classmethod
    def from_client_credentials(
        cls,
        client_id: str,
        client_secret: str,
        *,
        token_url: str | None = None,
        base_url: str | None = None,
        scope: str = ClientCredentials.DEFAULT_SCOPE,
        **kwargs: Any,
    ) -> ProductivClient:
        """A client that exchanges OAuth2 client credentials for tokens, renewing them as needed.

        The first token is requested with the first request (or :meth:`authenticate`).
        ``token_url`` defaults to ``https://login.api.productiv.com/oauth2/token``; other keyword
        arguments go to the constructor.
        """
        credentials = ClientCredentials(client_id, client_secret, token_url=token_url, scope=scope)
        return cls(token_provider=credentials, base_url=base_url or DEFAULT_BASE_URL, **kwargs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> ProductivClient:
        """A client configured by ``PRODUCTIV_*`` environment variables; the only place they are read.

        ``PRODUCTIV_ACCESS_TOKEN`` (a fixed token; it wins when both ways are set), or
        ``PRODUCTIV_CLIENT_ID`` and ``PRODUCTIV_CLIENT_SECRET``; optionally
        ``PRODUCTIV_API_URL`` and ``PRODUCTIV_TOKEN_URL``. Keyword arguments win over the
        environment and go to the constructor.
        """
        env = {name: os.environ.get(f"PRODUCTIV_{name}", "").strip() or None for name in _ENV_NAMES}
        for name in ("ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET"):
            # Named, never quoted: a value with a line break (a multi-line variable) or any
            # control character cannot be sent as it is. Surrounding whitespace is stripped.
            value, check = env[name], header_problem if name == "ACCESS_TOKEN" else invisible_problem
            if value is not None and (problem := check(value)) is not None:
                raise ConfigurationError(f"PRODUCTIV_{name} cannot be used: {problem}")
        if kwargs.get("base_url") is None:
            kwargs["base_url"] = env["API_URL"] or DEFAULT_BASE_URL
        if env["ACCESS_TOKEN"]:
            kwargs.pop("token_url", None)
            return cls(env["ACCESS_TOKEN"], **kwargs)
        if env["CLIENT_ID"] and env["CLIENT_SECRET"]:
            kwargs["token_url"] = kwargs.get("token_url") or env["TOKEN_URL"]
            return cls.from_client_credentials(env["CLIENT_ID"], env["CLIENT_SECRET"], **kwargs)
        missing = [f"PRODUCTIV_{name}" for name in ("CLIENT_ID", "CLIENT_SECRET") if not env[name]]
        hint = f" ({' and '.join(missing)} not set)" if len(missing) == 1 else ""
        raise ConfigurationError(
            "no Productiv credentials in the environment: set PRODUCTIV_ACCESS_TOKEN, or both "
            f"PRODUCTIV_CLIENT_ID and PRODUCTIV_CLIENT_SECRET{hint}; PRODUCTIV_API_URL and "
            "PRODUCTIV_TOKEN_URL are optional"
        )

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: the client cannot send any more."""
        return self._closed

    def close(self) -> None:
        """Close the pooled connections. The client cannot send afterwards."""
        self._closed = True
        self._transport.close()

    def __enter__(self) -> ProductivClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def authenticate(self) -> None:
        """Get a token now rather than with the first request, so bad credentials show early.

        Raises
        ------
        AuthenticationError
            The token endpoint refused the credentials, failed or could not be reached.
        """
        self._tokens.current()

    def post_events(
        self,
        app_id: str,
        payload: bytes,
        *,
        cancel: threading.Event | None = None,
        abandon: threading.Event | None = None,
        max_retries: int | None = None,
    ) -> Delivery:
        """Send one serialized ``{"events": [...]}`` body to app ``app_id``, retrying as the policy says.

        Never raises for an answer of the API or the network: the :class:`Delivery` says what
        happened. Waits (backoff, ``Retry-After``, a 429 seen by another thread) end at once
        when ``cancel`` is set, and no new request starts; a request in flight is not
        interrupted by ``cancel`` (its deadline bounds it), so its answer still counts.
        ``abandon`` (set from any thread) goes further: the request in flight, to the events or
        the token endpoint, is aborted at once by closing its connection, nothing more is sent,
        and the Delivery is ``cancelled`` with a message starting "interrupted" and no status
        (whether the server stored the events is unknown; sending them again is harmless).
        ``max_retries`` overrides the policy's for this call.
        """
        if not isinstance(app_id, str) or not app_id.strip():
            raise ConfigurationError(f"app_id must be a non-empty string, got {app_id!r}")
        if not isinstance(payload, bytes | bytearray):
            raise TypeError(
                f"payload must be the serialized JSON body as bytes, got {type(payload).__name__}"
            )
        retries = self.retry.max_retries if max_retries is None else max_retries
        # Integers of any make (numpy's too, as publish's checks let through), but not bools.
        if isinstance(retries, bool) or not isinstance(retries, numbers.Integral) or retries < 0:
            raise ConfigurationError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        retries = int(retries)
        if self._closed:
            raise ProductivError("this ProductivClient is closed; create a new one to send")
        url = self.base_url + EVENTS_PATH.format(app_id=quote(app_id, safe=""))
        attempts = retried = 0
        renewed = False
        resent = False  # the one immediate resend of a request the server hung up on unanswered
        stale: int | None = None
        last: _Failure | None = None
        while True:
            if abandon is not None and abandon.is_set():
                return _interrupted(attempts, "before sending")
            if (cancel is not None and cancel.is_set()) or self._wait_turn(cancel, abandon):
                if abandon is not None and abandon.is_set():
                    return _interrupted(attempts, "before sending")
                return _cancelled(attempts, last)
            try:
                token, generation = self._tokens.current(stale, abandon)
            except Abandoned:
                return _interrupted(attempts, "while getting an access token")
            except AuthenticationError as exc:
                if not exc.retryable:
                    return Delivery(False, exc.status, attempts, exc.code, exc.message, "auth")
                no_answer = None if exc.status is not None else _no_answer(exc.timed_out)
                last = _Failure(exc.status, exc.code, exc.message, exc.retry_after, no_answer=no_answer)
            else:
                attempts += 1
                outcome = self._post_once(url, payload, token, app_id, attempts, abandon)
                if isinstance(outcome, Delivery):
                    return outcome
                if outcome.unanswered and not resent:
                    # A keep-alive connection the server closed as we reused it: not a failure of
                    # the API, and the pool has dropped it, so the next try goes out on a new one.
                    resent = True
                    logger.debug("app %s: %s; sending again at once", app_id, outcome.message)
                    continue
                if outcome.status == 401:
                    if self._tokens.renewable and not renewed:
                        renewed, stale = True, generation
                        logger.info("the API refused the access token (HTTP 401); renewing it once")
                        continue
                    why = ("a renewed access token" if renewed else "the access token") + " was refused"
                    if not self._tokens.renewable:
                        why += " (a fixed access token cannot be renewed)"
                    return Delivery(False, 401, attempts, outcome.code, f"{why}: {outcome.message}", "auth")
                last = outcome
            if last.retry_after is not None and last.retry_after > self.retry.max_retry_after:
                # Given up at once, and the other threads are not held back either: pausing them
                # max_retry_after each would stall a run for hours on requests bound to fail.
                message = (
                    f"{last.message} (the server asked to wait {_seconds(last.retry_after)} s, more than "
                    f"RetryPolicy.max_retry_after={self.retry.max_retry_after:g} s)"
                )
                return Delivery(False, last.status, attempts, last.code, message, "retry_later")
            delay = self.retry.delay(retried, last.retry_after, self._random)
            if last.status == 429:
                # Every thread waits (see _wait_turn), not just this one, even if this one gives up.
                self._slow_down(min(delay, self.retry.max_retry_after))
            if retried >= retries:
                return Delivery(
                    False, last.status, attempts, last.code, last.message, "retry_exhausted", last.no_answer
                )
            retried += 1
            logger.info(
                "app %s: %s; retry %d of %d in %.2f s", app_id, _describe(last), retried, retries, delay
            )
            if last.status != 429 and self._pause(delay, cancel, abandon):
                if abandon is not None and abandon.is_set():
                    return _interrupted(attempts, "while waiting to retry")
                return _cancelled(attempts, last)

    def _post_once(
        self, url: str, payload: bytes, token: str, app_id: str, attempt: int, abandon: threading.Event | None
    ) -> Delivery | _Failure:
        """One request; a final answer as a Delivery, or a failure worth retrying (or a 401)."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        started = time.monotonic()
        try:
            response = self._transport.send("POST", url, data=payload, headers=headers, abandon=abandon)
        except Abandoned:
            return _interrupted(attempt, "while the request was in flight")
        except TransportError as exc:
            no_answer = _no_answer(exc.timed_out)
            if exc.retryable:
                return _Failure(None, None, str(exc), unanswered=exc.unanswered, no_answer=no_answer)
            return Delivery(False, None, attempt, None, str(exc), "other", no_answer)
        status = response.status_code
        logger.debug("app %s: POST answered HTTP %d in %.3f s", app_id, status, time.monotonic() - started)
        if 200 <= status < 300:
            if json_body(response).get("success") is True:
                return Delivery(True, status, attempt, None, None, "sent")
            what = excerpt(response, self._redact) or "an empty body"
            message = f'HTTP {status} without {{"success": true}} in the answer: {what}'
            return Delivery(False, status, attempt, None, message, "other")
        code, message = error_text(response, self._redact)
        if status == 401 or status in self.retry.retry_statuses:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return _Failure(status, code, message, retry_after)
        kind: DeliveryKind = "redirected" if 300 <= status < 400 else _FINAL_KINDS.get(status, "other")
        return Delivery(False, status, attempt, code, message, kind)

    def _wait_turn(self, cancel: threading.Event | None, abandon: threading.Event | None) -> bool:
        """Wait until the shared "not before" instant set by a 429; True when cancelled meanwhile."""
        while True:
            with self._pace_lock:
                not_before = self._not_before
            remaining = not_before - self._clock()
            if remaining <= 0:
                return False
            if self._pause(remaining, cancel, abandon):
                return True
            with self._pace_lock:
                if self._not_before <= not_before:  # nobody pushed it later while we waited
                    return False

    def _slow_down(self, seconds: float) -> None:
        with self._pace_lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def _pause(self, seconds: float, cancel: threading.Event | None, abandon: threading.Event | None) -> bool:
        """Sleep ``seconds``; wake up as soon as ``cancel`` or ``abandon`` is set (then True)."""
        if cancel is not None and abandon is not None:
            # Two events cannot be waited on at once: wait on cancel, looking at abandon often.
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                if cancel.wait(min(left, 0.05)) or abandon.is_set():
                    return True
            return cancel.is_set() or abandon.is_set()
        event = cancel if cancel is not None else abandon
        if event is not None:
            return event.wait(seconds)
        if seconds > 0:
            self._sleep(seconds)
        return False


_ENV_NAMES = ("ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "API_URL", "TOKEN_URL")


def _seconds(seconds: float) -> str:
    """Seconds as a message shows them: whole up to a year or so, beyond that in 3 digits.

    >>> _seconds(600.4), _seconds(2.5e11), _seconds(1e308)
    ('600', '2.5e+11', '1e+308')
    """
    return f"{seconds:.0f}" if seconds < 1e8 else f"{seconds:.3g}"


def _no_answer(timed_out: bool) -> NoAnswer:
    return "timeout" if timed_out else "network"


def _describe(failure: _Failure) -> str:
    return failure.message if failure.status is None else f"HTTP {failure.status} ({failure.message})"


def _cancelled(attempts: int, last: _Failure | None) -> Delivery:
    message = "cancelled" if last is None else f"cancelled while waiting to retry after: {_describe(last)}"
    return Delivery(False, None if last is None else last.status, attempts, None, message, "cancelled")


def _interrupted(attempts: int, when: str) -> Delivery:
    message = f"interrupted {when}: abandoned, its connection closed; nothing more was sent"
    if when == "before sending":
        message = "interrupted before sending: abandoned"
    return Delivery(False, None, attempts, None, message, "cancelled")
