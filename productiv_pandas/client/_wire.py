"""Sending a request through ``requests``' adapter at a fraction of ``Session.request``'s CPU.

At no added latency the client's CPU per request bounds how fast publish goes (the client and
the server share the cores), and ``Session.request`` spends about as much on bookkeeping that
does nothing here as urllib3 spends on the exchange itself:

- :class:`Templates` prepares what the session adds to a request (its headers; the URL's checks
  and normalizing) once per method and URL, and copies it with the headers and body of each
  request. What the session would also consult adds nothing: it reads no environment
  (``trust_env`` is False: no proxy, .netrc or CA bundle variable), its cookie policy refuses
  every cookie (its jar stays empty), it has no auth and no hooks, and redirects are not
  followed.
- :meth:`LeanAdapter.open` is ``HTTPAdapter.send`` with no proxy, with verified TLS and a
  streamed body, handing back urllib3's response instead of building a ``requests.Response``
  (whose cookie jar, encoding guess and history nobody reads). Its errors are ``requests``'
  own, raised exactly as ``HTTPAdapter.send`` raises them, so the transport translates them as
  before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests
import urllib3.exceptions as u3
from requests import exceptions as rq
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity
from urllib3.util import Timeout as TimeoutSauce

from ._inflight import WatchedAdapter

if TYPE_CHECKING:  # urllib3 2's name (annotations only)
    from urllib3.response import BaseHTTPResponse

__all__ = ["LeanAdapter", "Templates", "headers_of", "timeout_of"]

#: Prepared requests kept, at most: one per (method, URL), an app sent to or the token endpoint.
MAX_TEMPLATES = 64


class Templates:
    """Requests prepared by ``session`` as ``Session.request`` would, from a template per URL."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._templates: dict[tuple[str, str], requests.PreparedRequest] = {}

    def prepare(
        self,
        method: str,
        url: str,
        data: bytes | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.PreparedRequest:
        """The request ``session.request(method, url, data=data, headers=headers)`` would send.

        The session's headers first, then ``headers`` (replacing any of the same name, whatever
        its case), then the body's (``Content-Length``; ``Content-Type`` for a form); a value
        with a line break raises ``requests.exceptions.InvalidHeader`` as the session would.
        """
        key = (method, url)
        template = self._templates.get(key)
        if template is None:
            template = self._session.prepare_request(requests.Request(method, url))
            # A bodiless POST got "Content-Length: 0": the body sets it again, last, as before.
            template.headers.pop("Content-Length", None)
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()  # a client sending to very many apps: start afresh
            self._templates[key] = template
        # PreparedRequest.copy less its cookie jar's copy: the jar served prepare_cookies only.
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url, prepared.hooks = template.method, template.url, template.hooks
        prepared.headers = template.headers.copy()
        for header in (headers or {}).items():
            if header[1] is None:  # as the session merges them: None removes the header
                prepared.headers.pop(header[0], None)
                continue
            check_header_validity(header)
            prepared.headers[header[0]] = header[1]
        prepared.prepare_body(data, None)
        return prepared


class LeanAdapter(WatchedAdapter):
    """The watched adapter, with :meth:`open`: a send that hands back urllib3's response."""

    def open(self, request: requests.PreparedRequest, timeout: TimeoutSauce) -> BaseHTTPResponse:
        """Send ``request`` (no proxy, TLS verified, redirects not followed); its body unread.

        What ``self.send(request, stream=True, timeout=..., verify=True, proxies={})`` does up to
        the urllib3 response, with the same exceptions.
        """
        url, method = request.url, request.method
        assert url is not None
        assert method is not None
        try:  # requests' own public way to the pool (2.32.2 on), as send does
            conn = self.get_connection_with_tls_context(request, True, proxies=None, cert=None)
        except u3.LocationValueError as e:
            raise rq.InvalidURL(e, request=request) from e
        self.cert_verify(conn, url, True, None)
        try:
            return conn.urlopen(
                method=method,
                url=request.path_url,
                body=request.body,  # type: ignore[arg-type, unused-ignore]
                headers=request.headers,  # type: ignore[arg-type, unused-ignore]
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=self.max_retries,
                timeout=timeout,
                chunked=not (request.body is None or "Content-Length" in request.headers),
            )
        # As HTTPAdapter.send translates them (requests 2.32.2 to 2.34), in its order.
        except (u3.ProtocolError, OSError) as err:
            raise rq.ConnectionError(err, request=request) from err
        except u3.MaxRetryError as e:
            if isinstance(e.reason, u3.ConnectTimeoutError) and not isinstance(
                e.reason, u3.NewConnectionError
            ):
                raise rq.ConnectTimeout(e, request=request) from e
            if isinstance(e.reason, u3.ResponseError):
                raise rq.RetryError(e, request=request) from e
            if isinstance(e.reason, u3.ProxyError):
                raise rq.ProxyError(e, request=request) from e
            if isinstance(e.reason, u3.SSLError):
                raise rq.SSLError(e, request=request) from e
            raise rq.ConnectionError(e, request=request) from e
        except u3.ClosedPoolError as e:
            raise rq.ConnectionError(e, request=request) from e
        except (u3.SSLError, u3.HTTPError) as e:
            if isinstance(e, u3.SSLError):
                raise rq.SSLError(e, request=request) from e
            if isinstance(e, u3.ReadTimeoutError):
                raise rq.ReadTimeout(e, request=request) from e
            if isinstance(e, u3.InvalidHeader):
                raise rq.InvalidHeader(e, request=request) from e
            raise


def headers_of(response: BaseHTTPResponse) -> CaseInsensitiveDict[str]:
    """The answer's headers as ``requests.Response.headers`` holds them (repeated ones joined)."""
    return CaseInsensitiveDict(response.headers)


def timeout_of(timeout: float | tuple[float, float]) -> TimeoutSauce:
    """urllib3's timeout for a number (connect and read) or a (connect, read) pair."""
    if isinstance(timeout, tuple):
        return TimeoutSauce(connect=timeout[0], read=timeout[1])
    return TimeoutSauce(connect=timeout, read=timeout)
