"""The error policy of sending, as one table: for each answer of the API, what becomes of its rows.

The client (:mod:`productiv_pandas.client`) has already done its part when an answer gets
here: it retried what ``retried`` says (with backoff, ``Retry-After`` and the shared pause
after a 429: its :class:`~productiv_pandas.client.RetryPolicy`'s default ``retry_statuses``
are exactly the statuses retried here, which a test checks) and renewed the token once on a
401. :class:`~._delivery.Run` looks the answer's row up (:func:`rule_for`) and applies it:

- ``status``: what the batch's rows become (``sent``, ``rejected``: the API refused them,
  ``failed``: they may pass another time);
- ``problem``: their problem code (:data:`productiv_pandas.PROBLEMS`); :data:`BY_STATUS`: the
  HTTP status's own (``http.429``, ``http.503``, ...);
- ``split``: the API refused something in the batch, not the batch as such: send each half
  again, recursively, so the refused rows are isolated and the rest still land (up to
  ``max_split_requests`` extra requests per batch);
- ``stops``: every other batch would fail the same way, so the run stops: rows not yet tried
  are ``failed``, ``not_attempted``, their reason this template's cause;
- ``reason``: the template of the rows' reason (``{status}``: the HTTP status, ``{message}``:
  what the API or the network said).

The answers, in words:

- ``2xx``: a 2xx with ``{"success": true}``; ``unexpected``: a 2xx without it (whether the
  events were stored is unknown), or a status outside 200-599.
- ``3xx``: a redirect, never followed (the token would go along): the base URL is wrong.
- ``401``: a 401 again after renewing the token once, a fixed token refused, or the token
  endpoint refusing the client credentials (then the status is the token endpoint's).
- ``4xx``/``5xx``: a status of that family without a row of its own.
- ``wait longer``: a 429 or 5xx whose ``Retry-After`` asks for longer than
  ``RetryPolicy.max_retry_after``: not waited for, and the same for every batch.
- ``timeout``: no complete answer within the client's timeout (or a request's deadline);
  ``network``: no answer at all (a refused, reset or dropped connection, DNS, TLS).
- ``interrupted``: Ctrl-C (the request was cancelled or abandoned).

Adding an error code is one line in :data:`POLICY` (and its description in
:mod:`productiv_pandas.problem_codes`; the sandbox's faults, :mod:`productiv_pandas.sandbox.faults`,
produce every HTTP status, redirects and answers without ``{"success": true}`` included).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ..problem_codes import http_problem

__all__ = ["BY_STATUS", "POLICY", "Rule", "rule_for"]

#: The problem code is the HTTP status's own: ``http_problem(status)``.
BY_STATUS = "http.<status>"

_HTTP = "HTTP {status}: {message}"
_SAID = "{message}"
_AUTH = "credentials refused: {message}"
_STOP_HTTP = "the API answered HTTP {status} ({message}) to an earlier batch"
_INTERRUPTED = "interrupted"
_STOP_AUTH = "the credentials were refused ({message})"


@dataclass(frozen=True)
class Rule:
    """One row of :data:`POLICY`: what becomes of the rows of a batch given this answer."""

    status: str
    problem: str | None
    retried: bool
    split: bool
    stops: str | None
    reason: str | None

    def code(self, status: int | None) -> str | None:
        """The problem code of an answer with HTTP ``status`` under this rule."""
        return http_problem(status) if self.problem == BY_STATUS and status is not None else self.problem


# fmt: off
#: Each answer of the API, and what it does to the rows of the batch that got it.
POLICY: MappingProxyType[str, Rule] = MappingProxyType({
    # answer            rows        problem                   retried split  stops        reason
    "2xx":            Rule("sent",     None,                     False,  False, None,        None),
    "unexpected":     Rule("failed",   "http.unexpected_answer", False,  False, None,        _SAID),
    "3xx":            Rule("failed",   "http.redirect",          False,  False, _STOP_HTTP,  _HTTP),
    "400":            Rule("rejected", "http.400",               False,  True,  None,        _HTTP),
    "401":            Rule("failed",   "credentials_refused",    False,  False, _STOP_AUTH,  _AUTH),
    "403":            Rule("rejected", "http.403",               False,  False, _STOP_HTTP,  _HTTP),
    "404":            Rule("rejected", "http.404",               False,  False, _STOP_HTTP,  _HTTP),
    "408":            Rule("failed",   "http.408",               False,  False, None,        _SAID),
    "409":            Rule("failed",   "http.409",               False,  False, None,        _SAID),
    "413":            Rule("rejected", "http.413",               False,  True,  None,        _HTTP),
    "422":            Rule("rejected", "http.422",               False,  True,  None,        _HTTP),
    "429":            Rule("failed",   "http.429",               True,   False, None,        _SAID),
    "4xx":            Rule("failed",   "http.4xx",               False,  False, None,        _SAID),
    "500":            Rule("failed",   "http.500",               True,   False, None,        _SAID),
    "502":            Rule("failed",   "http.502",               True,   False, None,        _SAID),
    "503":            Rule("failed",   "http.503",               True,   False, None,        _SAID),
    "504":            Rule("failed",   "http.504",               True,   False, None,        _SAID),
    "5xx":            Rule("failed",   "http.5xx",               True,   False, None,        _SAID),
    "wait longer":    Rule("failed",   BY_STATUS,                False,  False, _STOP_HTTP,  _HTTP),
    "timeout":        Rule("failed",   "timeout",                True,   False, None,        _SAID),
    "network":        Rule("failed",   "network",                True,   False, None,        _SAID),
    "interrupted":    Rule("failed",   "interrupted",            False,  False, None,        _INTERRUPTED),
})
# fmt: on

#: The HTTP statuses with a row of their own.
_OWN_ROWS = frozenset(int(answer) for answer in POLICY if answer.isdigit())


def answer_of(kind: str, status: int | None, no_answer: str | None) -> str:
    """The row of :data:`POLICY` for a :class:`~productiv_pandas.client.Delivery`'s ``kind``,
    ``status`` and ``no_answer``."""
    if kind == "sent":
        return "2xx"
    if kind == "cancelled":
        return "interrupted"
    if kind == "auth":
        return "401"
    if kind == "retry_later":
        return "wait longer"
    if status is None:
        return "timeout" if no_answer == "timeout" else "network"
    if status in _OWN_ROWS:
        return str(status)
    if 300 <= status < 600:
        return f"{status // 100}xx"
    return "unexpected"


def rule_for(delivery) -> Rule:
    """The rule for one answer of the client (a :class:`~productiv_pandas.client.Delivery`)."""
    return POLICY[answer_of(delivery.kind, delivery.status, getattr(delivery, "no_answer", None))]
