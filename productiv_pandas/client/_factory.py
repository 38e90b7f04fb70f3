"""A recipe for new clients with the settings of a given one: what a Dask worker needs to send.

A :class:`~productiv_pandas.client.ProductivClient` holds open connections, locks and a token,
so it cannot be pickled and should not be shared between processes or machines. What can be
shipped is how to build one: the base URL, timeout and retry policy, and the credentials.
:class:`ClientFactory` is that recipe. Calling it builds a fresh client, with its own pooled
connections and its own token.

The pickled factory necessarily holds the credentials (a worker cannot authenticate without
them), so secure the link to the workers (Dask's TLS), or let the workers read their own
environment instead: ``client_factory=ProductivClient.from_env``. Its ``repr`` (shown by
Dask's dashboard, logs and error messages) names the base URL and the kind of credentials,
never the token or the client secret.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ._auth import ClientCredentials, Secret, TokenProvider
from ._client import ProductivClient
from ._retry import RetryPolicy
from ._transport import Timeout

__all__ = ["ClientFactory"]


class ClientFactory:
    """A picklable, zero-argument callable that builds a new :class:`ProductivClient`.

    Parameters
    ----------
    base_url, timeout, retry, pool_size
        As for :class:`ProductivClient`.
    access_token : str, optional
        A fixed bearer token (kept as a :class:`~productiv_pandas.auth.Secret`).
    token_provider : ClientCredentials or callable, optional
        Client credentials, or a token provider; a provider must itself be picklable to reach
        the workers of a cluster.

    Examples
    --------
    >>> factory = ClientFactory(access_token="a-long-secret-token", base_url="http://127.0.0.1:8000")
    >>> factory
    ClientFactory(base_url='http://127.0.0.1:8000', auth='access_token')
    >>> with factory() as client:
    ...     client
    ProductivClient(base_url='http://127.0.0.1:8000', auth='access_token')
    """

    __slots__ = ("_access_token", "base_url", "pool_size", "retry", "timeout", "token_provider")

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str | None = None,
        token_provider: TokenProvider | ClientCredentials | None = None,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008  (immutable)
        pool_size: int = 8,
    ) -> None:
        if (access_token is None) == (token_provider is None):
            raise ConfigurationError("a ClientFactory needs either access_token or token_provider")
        self.base_url = base_url
        self._access_token = None if access_token is None else Secret(access_token)
        self.token_provider = token_provider
        self.timeout = timeout
        self.retry = retry
        self.pool_size = pool_size

    @classmethod
    def of(cls, client: ProductivClient, *, pool_size: int = 8) -> ClientFactory:
        """The recipe for clients like ``client``: same URL, timeout, retry policy and credentials.

        ``pool_size`` is the new clients' (the number of threads each will send from). The
        injected ``sleep``, ``clock`` and ``random`` of tests are not carried: a worker uses
        the real ones.
        """
        if not isinstance(client, ProductivClient):
            raise TypeError(
                f"expected a ProductivClient, got {type(client).__name__}; for anything else pass "
                "a zero-argument client_factory"
            )
        credentials = client.credentials
        token = credentials.reveal() if isinstance(credentials, Secret) else None
        provider = None if isinstance(credentials, Secret) else credentials
        return cls(
            base_url=client.base_url,
            access_token=token,
            token_provider=provider,
            timeout=client.timeout,
            retry=client.retry,
            pool_size=pool_size,
        )

    @property
    def auth(self) -> str:
        if self._access_token is not None:
            return "access_token"
        return (
            "client_credentials" if isinstance(self.token_provider, ClientCredentials) else "token_provider"
        )

    def __call__(self) -> ProductivClient:
        """A new client; close it (or use it in a ``with`` block) when done."""
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "retry": self.retry,
            "pool_size": self.pool_size,
        }
        if self._access_token is not None:
            return ProductivClient(self._access_token.reveal(), **options)
        return ProductivClient(token_provider=self.token_provider, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={self.auth!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
