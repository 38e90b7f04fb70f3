"""A local Productiv: the token and Publish Usage Events endpoints on 127.0.0.1.

A real HTTP server, embeddable in a test, a notebook or the demo, that behaves like the API as
documented, errors included; point the toolkit at it to rehearse a backfill::

    from productiv_pandas.sandbox import Sandbox

    with Sandbox() as sb:                      # demo app "demo-app", port chosen by the OS
        client = sb.client()                   # a ProductivClient with valid credentials
        sb.fail_next(2, status=503)            # script faults ...
        ...
        sb.events("demo-app"), sb.stats()      # ... and inspect what arrived

Server stack: the standard library's ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one daemon
thread a connection), chosen deliberately over a WSGI/ASGI framework:

- no dependency and no event loop to host: it starts in a background thread in milliseconds,
  inside pytest, Jupyter (which already runs an asyncio loop) or a plain script, and its
  ``shutdown()`` frees the port synchronously;
- a thread a connection matches the clients: a publisher holds a few pooled keep-alive
  connections, not thousands, and a scripted delay blocks only its own connection;
- it is not the bottleneck: a batch of 1000 events costs about one millisecond of parsing
  (stdlib ``json``), checking (plain loops) and storing (one lock), which
  ``benchmarks/bench_sandbox.py`` measures; the HTTP framing is a small fixed cost a request;
- every byte of framing is in our hands, so malformed, truncated, oversized and abandoned
  requests each get a deliberate answer (see :mod:`.server`).

One module a job: :mod:`.contract` (what a valid payload is), :mod:`.auth` (tokens, the token
endpoint, the rate limit), :mod:`.faults` (scripted failures), :mod:`.state` (stored events,
counters, request log), :mod:`.api` (the endpoints' checks in order), :mod:`.server` (HTTP),
:mod:`.core` (:class:`Sandbox`) and :mod:`.foreground` (the ``sandbox`` command).
"""

from __future__ import annotations

from .contract import MAX_EVENTS, App
from .core import Sandbox
from .foreground import serve_in_foreground
from .state import RequestRecord

__all__ = ["MAX_EVENTS", "App", "RequestRecord", "Sandbox", "serve_in_foreground"]
