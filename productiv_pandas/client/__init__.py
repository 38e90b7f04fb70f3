"""The HTTP client of the Publish Usage Events API: auth, transport, retries. No pandas here.

_client (ProductivClient, Delivery) -> _auth (tokens) -> _transport (requests, deadlines:
_inflight) -> _answer (bounded reads); _retry (the policy), _redaction (secrets out of text)
"""

from ._client import DEFAULT_BASE_URL, DELIVERY_KINDS, Delivery, DeliveryKind, ProductivClient
from ._factory import ClientFactory
from ._retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DELIVERY_KINDS",
    "ClientFactory",
    "Delivery",
    "DeliveryKind",
    "ProductivClient",
    "RetryPolicy",
]
