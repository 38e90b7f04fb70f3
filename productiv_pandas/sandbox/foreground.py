"""``productiv-pandas sandbox``: run a sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TextIO

from .api import EVENTS_PATH
from .core import Sandbox

__all__ = ["serve_in_foreground"]


def _describe_app(sandbox: Sandbox, app_id: str) -> str:
    app = sandbox.apps[app_id]
    names = "any event name" if app.events is None else f"events {sorted(app.events)}"
    logins = f"Login events: {', '.join(sorted(app.login_events))}" if app.login_events else "no Login events"
    return f"{app_id} ({names}; {logins})"


def _banner(sandbox: Sandbox) -> str:
    exports = {
        "PRODUCTIV_API_URL": sandbox.url,
        "PRODUCTIV_TOKEN_URL": sandbox.token_url,
        "PRODUCTIV_CLIENT_ID": sandbox.client_id,
        "PRODUCTIV_CLIENT_SECRET": sandbox.client_secret,
    }
    apps = "\n".join(f"  app            {_describe_app(sandbox, app_id)}" for app_id in sandbox.apps)
    return "\n".join(
        [
            f"Productiv sandbox listening on {sandbox.url}  (Ctrl-C to stop)",
            "",
            f"  events         POST {sandbox.url}{EVENTS_PATH}",
            f"  token URL      POST {sandbox.token_url}",
            f"  client id      {sandbox.client_id}",
            f"  client secret  {sandbox.client_secret}",
            apps,
            "",
            "Point productiv_pandas (ProductivClient.from_env()) or any other tool at it:",
            "",
            *(f"  export {name}={shlex.quote(value)}" for name, value in exports.items()),
            "",
        ]
    )


@contextlib.contextmanager
def _request_log() -> Iterator[None]:
    """Every request once on stderr while serving; the logger as it was afterwards.

    The line goes through our handler alone: with ``propagate`` left on, a handler on the
    root logger (the CLI's ``logging.basicConfig``, an application's) wrote it a second time.
    Restored on the way out, since the server also runs in-process (tests, notebooks).
    """
    logger = logging.getLogger("productiv_pandas.sandbox")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    previous = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]


def serve_in_foreground(port: int = 0, apps: Sequence[str] = (), *, out: TextIO | None = None) -> int:
    """Serve a sandbox on 127.0.0.1 until Ctrl-C (or SIGTERM); return the exit code.

    Prints the URLs, a ready-made set of credentials and the ``export`` lines that point the
    toolkit at it; every request is logged to stderr. Returns 0 after a clean stop, 2 when the
    port cannot be used.

    Parameters
    ----------
    port : int
        Port to listen on; 0 picks a free one.
    apps : sequence of str
        App ids to register (any event name accepted); empty: the demo app.
    """
    out = sys.stdout if out is None else out
    try:
        sandbox = Sandbox(apps=list(apps) or None, port=port).start()
    except (OSError, ValueError, TypeError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"productiv-pandas sandbox: cannot serve on 127.0.0.1:{port}: {reason}", file=sys.stderr)
        return 2

    stop = threading.Event()
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous_term = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if on_main_thread else None
    with _request_log():  # until the server has stopped: the last requests are logged too
        try:
            print(_banner(sandbox), file=out, flush=True)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
    stats = sandbox.stats()
    print(
        f"\nSandbox stopped: {stats['requests']} requests {stats['by_status']}, "
        f"{stats['events_stored']} events stored, {stats['duplicates_received']} duplicates received.",
        file=out,
        flush=True,
    )
    return 0
