"""The arguments of sending, checked once and up front, before anything is read or sent.

:func:`productiv_pandas.publish`, :func:`~productiv_pandas.publish.deliver_prepared` (so
:func:`productiv_pandas.publish_file`, chunk by chunk) and the Dask publish call
:func:`check_send_arguments`. A bad value raises a :class:`ConfigurationError` naming the
argument, instead of reaching the workers, where it would cost every row an "internal error"
and log a traceback per batch.

A string passed as ``client`` is most likely an access token: it is never quoted, only its type
is named. Other values are quoted only when they are numbers (or None, or a bool), for the same
reason: a message must not carry whatever a caller happened to pass.
"""

from __future__ import annotations

import numbers

from ..errors import ConfigurationError

__all__ = ["MAX_BATCH_SIZE", "check_batch_size", "check_client", "check_send_arguments"]

#: The API's limit on events per request.
MAX_BATCH_SIZE = 1000


def _shown(value: object) -> str:
    """The value as a message may show it: numbers, bools and None quoted, anything else by type."""
    if value is None or isinstance(value, numbers.Number):
        return repr(value)
    kind = type(value).__name__
    return f"an {kind}" if kind[:1].lower() in "aeiou" else f"a {kind}"


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_batch_size(batch_size: object) -> int:
    """``batch_size`` as an int from 1 to 1000 (the API's limit), or ConfigurationError."""
    if not _is_integer(batch_size):
        raise ConfigurationError(
            f"batch_size must be an integer from 1 to {MAX_BATCH_SIZE}, got {_shown(batch_size)}"
        )
    if not 1 <= batch_size <= MAX_BATCH_SIZE:  # type: ignore[operator]
        raise ConfigurationError(
            f"batch_size must be from 1 to {MAX_BATCH_SIZE} (the API's limit per request), got {batch_size}"
        )
    return int(batch_size)  # type: ignore[call-overload]


def check_client(client: object) -> None:
    """Refuse what cannot send: a string (likely a token: never quoted), a number, an object
    without a callable ``post_events``, a closed client. None (the default client) passes."""
    if client is None:
        return
    if isinstance(client, str | bytes):
        raise ConfigurationError(
            f"client must be a ProductivClient (got {_shown(client)}; to use an access token, pass "
            "client=pp.ProductivClient(access_token=...) or set PRODUCTIV_ACCESS_TOKEN)"
        )
    if not callable(getattr(client, "post_events", None)):
        raise ConfigurationError(
            f"client must be a ProductivClient (got {_shown(client)}, which has no post_events method)"
        )
    # A client of another make (a test double, a wrapper) may not say; then it is not checked.
    if getattr(client, "closed", False) is True:
        raise ConfigurationError(
            "client is closed (it was used in a `with` block, or close() was called): "
            "create a new ProductivClient to send"
        )


def check_send_arguments(
    app_id: object,
    *,
    client: object = None,
    batch_size: object = MAX_BATCH_SIZE,
    max_workers: object = 4,
    max_retries: object = None,
    max_split_requests: object = 0,
) -> None:
    """Raise a ConfigurationError naming the first argument of sending that cannot work.

    ``app_id`` a non-empty string; ``client`` see :func:`check_client`; ``batch_size`` 1 to
    1000; ``max_workers`` a positive integer; ``max_retries`` None or an integer >= 0;
    ``max_split_requests`` an integer >= 0. Integers of numpy pass; bools, floats and strings
    do not.
    """
    if not isinstance(app_id, str) or not app_id.strip():
        raise ConfigurationError(f"app_id must be a non-empty string, got {app_id!r}")
    if app_id in (".", ".."):
        # Quoting leaves dots alone, and a URL resolves ".." as a step up: the events would be
        # posted to another path than the app's.
        raise ConfigurationError(f"app_id {app_id!r} is not an app id: a URL reads it as a path step")
    if not _is_integer(max_workers) or max_workers < 1:  # type: ignore[operator]
        raise ConfigurationError(f"max_workers must be a positive integer, got {_shown(max_workers)}")
    check_batch_size(batch_size)
    if max_retries is not None and (not _is_integer(max_retries) or max_retries < 0):  # type: ignore[operator]
        raise ConfigurationError(
            "max_retries must be an integer >= 0, or None for the client's retry policy, "
            f"got {_shown(max_retries)}"
        )
    if not _is_integer(max_split_requests) or max_split_requests < 0:  # type: ignore[operator]
        raise ConfigurationError(
            "max_split_requests must be an integer >= 0 (extra requests a batch may spend isolating "
            f"refused rows; 0 never splits), got {_shown(max_split_requests)}"
        )
    check_client(client)
