"""The wire: one pooled ``requests`` session, and the one place its exceptions become ours.

Knows nothing of the API's rules (what to retry, what a 404 means): it sends, and either hands
back the HTTP answer or raises :class:`TransportError` with a message free of secrets.
"""

from __future__ import annotations

import http.client
import http.cookiejar
from collections.abc import Callable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from .errors import ConfigurationError, ProductivError

__all__ = ["Timeout", "Transport", "TransportError", "error_text", "excerpt", "json_body"]

#: Seconds for the whole exchange, or (connect, read).
Timeout = float | tuple[float, float]


class TransportError(ProductivError):
    """No HTTP answer: a timeout, a refused or dropped connection, a TLS failure.

    ``retryable`` is False where trying again cannot help (TLS errors, malformed requests).
    ``unanswered`` is True when the server closed or reset the connection before any byte of
    an answer: mostly a pooled keep-alive connection that the server had just closed, which a
    fresh connection sends over at once (the pool already discarded the dead one).
    """

    def __init__(self, message: str, retryable: bool, unanswered: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unanswered = unanswered


class Transport:
    """A pooled session, safe to share between threads, that never retries on its own.

    Parameters
    ----------
    pool_size : int
        Connections kept open per host: at least the number of threads sending at once.
    timeout : float or (float, float)
        Always set, so that a silent server cannot hang a run.
    redact : callable
        Applied to every message this module writes, to take secrets out.
    """

    def __init__(self, pool_size: int, timeout: Timeout, redact: Callable[[str], str]) -> None:
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ConfigurationError(f"pool_size must be a positive integer, got {pool_size!r}")
        self.timeout = check_timeout(timeout)
        self._redact = redact
        session = requests.Session()
        # Read no environment (proxies, .netrc, CA bundle variables): configuration comes from
        # ProductivClient.from_env() alone, and a .netrc entry would replace our Authorization.
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # No urllib3 retries: the client retries itself, with backoff, Retry-After and cancel.
        adapter = HTTPAdapter(
            pool_connections=2, pool_maxsize=pool_size, max_retries=Retry(total=0, read=False)
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = f"productiv-pandas {requests.utils.default_user_agent()}"
        session.headers["Accept"] = "application/json"
        self._session = session

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request, follow no redirect; raise TransportError when no answer came."""
        try:
            return self._session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            what = "connecting" if isinstance(exc, requests.ConnectTimeout) else "waiting for the answer"
            message, retryable = f"timed out {what} (timeout={self.timeout} s)", True
        except requests.exceptions.SSLError as exc:
            message, retryable = f"TLS error: {_root_cause(exc)}", False
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            if any(isinstance(cause, ReadTimeoutError) for cause in _causes(exc)):
                # requests reports a read timeout in the body as a ConnectionError.
                message = f"timed out waiting for the answer (timeout={self.timeout} s)"
            else:
                message = f"connection failed: {_root_cause(exc)}"
            unanswered = not isinstance(exc, requests.exceptions.ChunkedEncodingError) and any(
                isinstance(cause, _UNANSWERED) for cause in _causes(exc)
            )
            raise TransportError(self._redact(f"{message} ({method} {url})"), True, unanswered) from None
        except requests.RequestException as exc:
            message, retryable = f"request failed: {_root_cause(exc)}", False
        # The exception of requests is not chained: it holds the request, headers included.
        raise TransportError(self._redact(f"{message} ({method} {url})"), retryable) from None

    def close(self) -> None:
        self._session.close()


def check_timeout(timeout: object) -> Timeout:
    values = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) != (2 if isinstance(timeout, tuple) else 1) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ConfigurationError(
            f"timeout must be seconds > 0, or a (connect, read) pair of them; got {timeout!r} "
            "(a timeout is always set, so that a silent server cannot hang a run)"
        )
    return timeout  # type: ignore[return-value]


def json_body(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unchanged(text: str) -> str:
    return text


def excerpt(response: requests.Response, redact: Callable[[str], str] = _unchanged) -> str:
    """The start of the body on one line, to quote in a message, with ``redact`` applied.

    Redacted before it is cut, so that a secret the cut would split (and ``redact`` no longer
    recognise) cannot show in part.
    """
    text = redact(response.content[:8192].decode("utf-8", "replace"))
    return " ".join(text.split())[:200]


def error_text(
    response: requests.Response, redact: Callable[[str], str] = _unchanged
) -> tuple[str | None, str]:
    """``code`` and ``message`` of an error answer: Productiv's or OAuth's JSON, else the reason.

    ``redact`` is applied to everything taken from the answer, before any of it is shortened.
    A redirect (3xx) says where to: redirects are never followed, so that the token or the
    client secret cannot be carried to another address, and the fix is the configured URL.
    """
    if 300 <= response.status_code < 400:
        location = " ".join(redact(response.headers.get("Location") or "nowhere given").split())[:200]
        return None, (
            f"redirected to {location}, not followed so that no credentials go to another address; "
            "set base_url (or token_url) to the address that answers"
        )
    body = json_body(response)
    code = body.get("code", body.get("error"))
    text = body.get("message") or body.get("error_description") or body.get("error")
    if isinstance(text, str) and text.strip():
        message = " ".join(redact(text).split())[:500]
    else:
        quoted = excerpt(response, redact)
        reason = redact(response.reason or f"HTTP {response.status_code}")
        message = f"{reason}: {quoted}" if quoted else reason
    return (None if code is None else redact(str(code))), message


#: The server hung up before answering (as a stale keep-alive connection does), not a refusal.
_UNANSWERED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, through ``__context__`` and exceptions held in its ``args``."""
    todo, seen = [exc], set()
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo.extend(arg for arg in exc.args if isinstance(arg, BaseException))
        todo.extend(
            e for e in (exc.__context__, getattr(exc, "reason", None)) if isinstance(e, BaseException)
        )


def _root_cause(exc: BaseException) -> str:
    """The innermost reason (e.g. "Connection refused"), without urllib3's pool wrapping."""
    seen = {id(exc)}
    while exc.__context__ is not None and id(exc.__context__) not in seen:
        exc = exc.__context__
        seen.add(id(exc))
    while exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    reason = getattr(exc, "reason", None)
    text = str(reason if isinstance(reason, BaseException) else exc) or type(exc).__name__
    return " ".join(text.split())[:200]
