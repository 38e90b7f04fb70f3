"""Problem codes: one short, stable name per kind of problem a row can have, and what it means.

A row that is not ``valid`` or ``sent`` has at least one problem. The status frame's ``problem``
column holds the code of its first; :func:`problems` lists all of them, one row per (input row,
problem). The ``reason`` column is the same problems in sentences, with the values, for people:
charts, summaries and reports count codes and never read a sentence.

A code is ``<field>.<what>`` for a problem of one field of the event, and a bare name for a
problem of the row (``duplicate``, ``stale``) or of its delivery (``http.503``, ``timeout``).
Codes hold no values: the value is in :func:`problems`' ``value`` column and in the reason.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["FIELD_OF", "PROBLEMS", "PROBLEM_CODES", "http_problem"]

_VOCABULARY: dict[str, str] = {
    # --- timestamp ------------------------------------------------------------------------
    "timestamp.missing": "The timestamp is missing or empty: fill it in, or drop the row.",
    "timestamp.unreadable": (
        "The timestamp could not be read as a date-time: give ISO-8601 text (with an offset), "
        "a datetime, or an epoch number."
    ),
    "timestamp.invalid_unicode": (
        "The timestamp text holds bytes that are not valid Unicode: re-read the file with its real encoding."
    ),
    "timestamp.not_finite": "The timestamp is an infinite or NaN number: fix or drop the row.",
    "timestamp.out_of_range": (
        "The timestamp is a number too large for a date in the given unit: check the unit and the value."
    ),
    "timestamp.date_only": (
        "The timestamp is a date without a time of day: give the time the event happened, with its zone."
    ),
    "timestamp.nonexistent_local_time": (
        "The local time does not exist or is ambiguous in the zone (a daylight-saving change): "
        "give times with an offset, or in UTC."
    ),
    "timestamp.unit": (
        "The timestamp looks like another unit (seconds passed as milliseconds?): pass the unit it is in."
    ),
    "timestamp.before_2000": (
        "The timestamp is before 2000-01-01: probably a wrong unit or a placeholder date."
    ),
    "timestamp.future": (
        "The timestamp is later than now plus the future tolerance: check the clock or the time zone."
    ),
    # --- email ----------------------------------------------------------------------------
    "email.missing": "The email is missing or empty: fill it in, or drop the row.",
    "email.not_text": "The email is not text (a number, a list, ...): map the column that holds addresses.",
    "email.invalid_unicode": (
        "The email holds bytes that are not valid Unicode: re-read the file with its real encoding."
    ),
    "email.whitespace": "The email contains whitespace: remove it.",
    "email.no_at": "The email has no '@': map the column that holds addresses, not user names.",
    "email.several_at": "The email has more than one '@': keep one address per row.",
    "email.no_local_part": "The email has nothing before the '@'.",
    "email.no_domain": "The email has nothing after the '@'.",
    "email.bad_domain": "The email's domain has no dot, or an empty part (as in 'a@b' or 'a@b..com').",
    "email.implausible": "The email is not a plausible address.",
    "email.too_long": "The email is longer than 254 characters, the most an address can have (RFC 5321).",
    "email.control_character": (
        "The email holds an invisible control or format character (a zero-width space, a BOM): remove it."
    ),
    # --- eventName ------------------------------------------------------------------------
    "eventName.missing": "The event name is missing or empty: fill it in, or drop the row.",
    "eventName.not_text": "The event name is not text: map the column that holds event names.",
    "eventName.invalid_unicode": (
        "The event name holds bytes that are not valid Unicode: re-read the file with its real encoding."
    ),
    "eventName.too_long": "The event name is longer than 1,000 characters.",
    "eventName.control_character": (
        "The event name holds an invisible control or format character: remove it."
    ),
    "eventName.not_in_mapping": (
        "The event name is not in the app's event mapping (allowed_events): fix the name or the mapping."
    ),
    # --- targetApp ------------------------------------------------------------------------
    "targetApp.not_text": "The targetApp is not text: map the column that holds app names.",
    "targetApp.invalid_unicode": (
        "The targetApp holds bytes that are not valid Unicode: re-read the file with its real encoding."
    ),
    "targetApp.too_long": "The targetApp is longer than 1,000 characters.",
    "targetApp.control_character": "The targetApp holds an invisible control or format character: remove it.",
    "targetApp.missing_for_login": (
        "The event is a Login event (login_events) and has no targetApp, which the API requires for it."
    ),
    # --- the row --------------------------------------------------------------------------
    "duplicate": (
        "Same (timestamp, email, eventName) as an earlier row, which is sent instead: nothing to do."
    ),
    "stale": (
        "Older than 12 hours and left out (on_stale='skip'): Productiv only guarantees to aggregate "
        "events pushed within 12 hours."
    ),
    "already_sent": "The journal says the API already accepted this event: not sent again.",
    # --- delivery -------------------------------------------------------------------------
    "http.400": "The API refused the row as a bad request (HTTP 400): the reason quotes its message.",
    "http.403": "The token lacks the connector.write scope for this app (HTTP 403): check the API client.",
    "http.404": "The customer or app does not exist (HTTP 404): check the app id and the base URL.",
    "http.408": "The server timed out waiting for the request (HTTP 408), until the retries ran out.",
    "http.409": "The API reported a conflict (HTTP 409).",
    "http.413": "The request was too large for the server (HTTP 413), even for this row alone.",
    "http.422": "The API refused the row's values (HTTP 422): the reason quotes its message.",
    "http.429": (
        "Rate limited (HTTP 429) until the retries ran out, or asked to wait too long: run again later."
    ),
    "http.500": "The API failed (HTTP 500) until the retries ran out: run again later.",
    "http.502": "A gateway in front of the API failed (HTTP 502) until the retries ran out: run again later.",
    "http.503": "The API was unavailable (HTTP 503) until the retries ran out: run again later.",
    "http.504": "A gateway timed out (HTTP 504) until the retries ran out: run again later.",
    "http.4xx": "The API refused the request with another 4xx status: the reason quotes the answer.",
    "http.5xx": "The API failed with another 5xx status until the retries ran out: run again later.",
    "http.redirect": (
        "The API answered with a redirect, which is never followed (the token would go along): "
        "fix the base URL."
    ),
    "http.unexpected_answer": (
        'The API answered without {"success": true} (or an answer too large to read): '
        "whether it stored the events is unknown; sending them again is harmless."
    ),
    "timeout": "The request timed out until the retries ran out: run again later, or raise the timeout.",
    "network": "The API could not be reached (connection, DNS or TLS error): check the network and the URL.",
    "credentials_refused": (
        "The credentials were refused (the token endpoint, or a 401 after renewing the token): "
        "check the client id and secret or the access token."
    ),
    "interrupted": "The run was interrupted (Ctrl-C) before this row was delivered: run again to send it.",
    "not_attempted": (
        "Not sent because the run stopped earlier (the reason says why): fix that and run again."
    ),
    "internal_error": "A bug in productiv_pandas cost this row its delivery: please report it.",
    # --- scheduled runs (sync) ------------------------------------------------------------
    "outbox.given_up": (
        "Failed in every sync run until its event was older than max_outbox_age (12 hours by "
        "default): dropped from the outbox, never delivered."
    ),
}

#: Every problem code, mapped to a one-line description in plain words (read-only).
PROBLEMS = MappingProxyType(_VOCABULARY)
#: The codes in a fixed order: the categories of the status frame's ``problem`` column.
PROBLEM_CODES: tuple[str, ...] = tuple(_VOCABULARY)
#: The API field a code concerns (``None`` for a problem of the row or of its delivery).
FIELD_OF = MappingProxyType(
    {code: (code.split(".")[0] if code.split(".")[0] in ("timestamp", "email", "eventName", "targetApp")
            else None) for code in PROBLEM_CODES}
)  # fmt: skip

_NAMED_STATUSES = frozenset(int(code[5:]) for code in PROBLEM_CODES if code[5:].isdigit())


def http_problem(status: int) -> str:
    """The code of an HTTP answer's status: its own for the statuses the API documents and the
    usual gateway errors, else its family (``http.4xx``, ``http.5xx``, ``http.redirect``)."""
    if status in _NAMED_STATUSES:
        return f"http.{status}"
    if 300 <= status < 400:
        return "http.redirect"
    if 400 <= status < 500:
        return "http.4xx"
    if 500 <= status < 600:
        return "http.5xx"
    return "http.unexpected_answer"
