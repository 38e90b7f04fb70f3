"""The settings of sending: one frozen value, checked once when it is built, before anything is
read or sent.

:func:`productiv_pandas.publish`, :func:`productiv_pandas.publish_file`, the Dask publish and
the ``publish`` command keep their friendly keyword arguments (``client=``, ``batch_size=``,
...); each builds one :class:`SendSettings` from them, and that value, not the knobs, travels
down to :func:`~productiv_pandas.sending.deliver_prepared`, the chunks of a file, the
partitions of a Dask frame and :class:`~productiv_pandas.sending._delivery.Run`. A bad value
raises a :class:`ConfigurationError` naming the argument when the value is built, instead of
reaching the workers, where it would cost every row an "internal error" and log a traceback
per batch.

A string passed as ``client`` is most likely an access token: it is never quoted, only its type
is named. Other values are quoted only when they are numbers (or None, or a bool), for the same
reason: a message must not carry whatever a caller happened to pass.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_SPLIT_REQUESTS",
    "DEFAULT_MAX_WORKERS",
    "MAX_BATCH_SIZE",
    "SendSettings",
    "check_batch_size",
    "check_client",
]

#: The API's limit on events per request.
MAX_BATCH_SIZE = 1000
#: Requests in flight at once, by default.
DEFAULT_MAX_WORKERS = 4
#: Extra requests a batch may spend isolating rows the API refused (one bad row in 1000 costs 20).
DEFAULT_MAX_SPLIT_REQUESTS = 64


#: What :meth:`SendSettings.replace` may change.
_REPLACEABLE = frozenset({"client", "journal", "progress"})


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


def _check_app_id(app_id: object) -> str:
    if not isinstance(app_id, str) or not app_id.strip():
        raise ConfigurationError(f"app_id must be a non-empty string, got {app_id!r}")
    if app_id in (".", ".."):
        # Quoting leaves dots alone, and a URL resolves ".." as a step up: the events would be
        # posted to another path than the app's.
        raise ConfigurationError(f"app_id {app_id!r} is not an app id: a URL reads it as a path step")
    return app_id


@dataclass(frozen=True)
class SendSettings:
    """How to send: to which app, with which client and journal, in which batches, how hard.

    Built once by each way of sending from its keyword arguments, and checked when built: the
    first value that cannot work raises a :class:`ConfigurationError` naming its argument
    (``app_id``, ``max_workers``, ``batch_size``, ``max_retries``, ``max_split_requests``,
    ``client``, in that order). Integers of numpy pass and are kept as ``int``; bools, floats
    and strings do not.

    Attributes
    ----------
    app_id : str
        The Productiv app the events belong to: non-empty, not ``.`` or ``..``.
    client : ProductivClient or None
        Anything with a callable ``post_events`` that is not closed; None: the default client,
        ``ProductivClient.from_env()``, made when sending starts.
    journal : str, PathLike, Journal or None
        Checked when it is opened (a :class:`JournalError`), as sending starts.
    batch_size : int
        Events per request, 1 to 1000 (the API's limit).
    max_workers : int
        Requests in flight at once, >= 1.
    max_retries : int or None
        Overrides the client's retry policy (429, 5xx, timeouts, network errors); >= 0.
    max_split_requests : int
        Extra requests a batch may spend isolating rows the API refused (400/413/422); >= 0.
    progress : bool or None
        A progress bar; None: shown in a notebook or a terminal, hidden in CI.
    """

    app_id: str
    client: Any = None
    journal: Any = None
    batch_size: int = MAX_BATCH_SIZE
    max_workers: int = DEFAULT_MAX_WORKERS
    max_retries: int | None = None
    max_split_requests: int = DEFAULT_MAX_SPLIT_REQUESTS
    progress: bool | None = None

    def __post_init__(self) -> None:
        _check_app_id(self.app_id)
        max_workers = self.max_workers
        if not _is_integer(max_workers) or max_workers < 1:
            raise ConfigurationError(f"max_workers must be a positive integer, got {_shown(max_workers)}")
        batch_size = check_batch_size(self.batch_size)
        max_retries = self.max_retries
        if max_retries is not None and (not _is_integer(max_retries) or max_retries < 0):
            raise ConfigurationError(
                "max_retries must be an integer >= 0, or None for the client's retry policy, "
                f"got {_shown(max_retries)}"
            )
        split = self.max_split_requests
        if not _is_integer(split) or split < 0:
            raise ConfigurationError(
                "max_split_requests must be an integer >= 0 (extra requests a batch may spend isolating "
                f"refused rows; 0 never splits), got {_shown(split)}"
            )
        check_client(self.client)
        # numpy's integers become ints: the client, the pool and the workers take them as they are.
        object.__setattr__(self, "max_workers", int(max_workers))
        object.__setattr__(self, "batch_size", batch_size)
        object.__setattr__(self, "max_retries", None if max_retries is None else int(max_retries))
        object.__setattr__(self, "max_split_requests", int(split))

    def replace(self, **changes: Any) -> SendSettings:
        """These settings with another ``client``, ``journal`` or ``progress``: what the layers
        below change as they go (the default client once made, the journal once opened, no bar
        of a chunk's own). The other values were checked when these settings were built and are
        not checked again; a new client is (:func:`check_client`)."""
        if unknown := sorted(set(changes) - _REPLACEABLE):
            raise TypeError(f"only {sorted(_REPLACEABLE)} can be replaced, not {unknown}")
        if "client" in changes:
            check_client(changes["client"])
        new = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(new, name, value)
        return new

    def __repr__(self) -> str:
        # A client or journal of another make could show a secret in its repr: name their types.
        fields = [f"app_id={self.app_id!r}"]
        for name in ("client", "journal"):
            value = getattr(self, name)
            fields.append(f"{name}={'None' if value is None else type(value).__name__}")
        fields += [
            f"{name}={getattr(self, name)!r}"
            for name in ("batch_size", "max_workers", "max_retries", "max_split_requests", "progress")
        ]
        return f"{type(self).__name__}({', '.join(fields)})"
