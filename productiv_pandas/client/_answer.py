"""An HTTP answer read with bounds: at most :data:`BODY_CAP` bytes of body, decompressed with a limit.

What a server sends cannot exhaust the client's memory: the body is streamed off the socket in
small reads, a ``gzip`` or ``deflate`` body is inflated only up to the cap (a 0.5 MB answer
inflating to 512 MiB costs at most the cap), and the rest is left unread (the connection is
then closed rather than pooled). The cap holds any JSON answer of the API or of a token
endpoint with room to spare, and far more than a message ever quotes.

A body cut at the cap is ``truncated``: its JSON is not read at all (:func:`json_body` gives
``{}``), so ``{"success": true}`` beyond the cap (or followed by more than the cap of padding)
is not a success, and a token in such an answer is not taken.

Also how an answer is quoted (:func:`excerpt`, :func:`error_text`): always through the
``redact`` callable, applied before anything is shortened.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BODY_CAP", "Answer", "error_text", "excerpt", "json_body", "read_body"]

#: Bytes of (decompressed) body read at most.
BODY_CAP = 64 * 1024
_READ = 16 * 1024  # bytes per read off the socket
_RAW_CAP = 4 * BODY_CAP  # compressed bytes read at most, whatever they inflate to


@dataclass(frozen=True)
class Answer:
    """What the transport hands back: status, reason, headers, and the body up to :data:`BODY_CAP`.

    ``note`` says why the body is not (all) there when it could not be read as sent: an encoding
    this client does not decode, or a compressed stream that is corrupt.
    """

    status_code: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False
    note: str | None = None


def read_body(raw: Any, encoding: str) -> tuple[bytes, bool, str | None]:
    """Read ``raw`` (a urllib3 response, not decoding) up to the cap: (body, truncated, note).

    ``encoding`` is the Content-Encoding header. Raises what reading the socket raises.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        inflate = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else zlib.MAX_WBITS)
    else:
        return b"", True, f"a body in the {encoding[:40]!r} encoding, which this client does not decode"
    body = bytearray()
    read = 0
    first = True
    while len(body) <= BODY_CAP:
        data = raw.read(_READ, decode_content=False)
        if not data:
            return bytes(body), False, None
        read += len(data)
        if inflate is None:
            body += data
            if getattr(raw, "length_remaining", None) == 0 and len(body) <= BODY_CAP:
                # All that Content-Length announced: no read (a tenth of a request's CPU) for the
                # end, which http.client saw already (it let go of the socket at the last byte).
                return bytes(body), False, None
        else:
            try:
                if first and encoding == "deflate" and data[:1] != b"\x78":
                    inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
                body += inflate.decompress(data, BODY_CAP + 1 - len(body))
            except zlib.error:
                return bytes(body[:BODY_CAP]), True, f"a corrupt {encoding} body"
            if inflate.eof:
                return bytes(body[:BODY_CAP]), len(body) > BODY_CAP, None
        first = False
        if read >= _RAW_CAP and len(body) <= BODY_CAP:
            break  # compressed data that inflates to almost nothing: not an answer worth more reads
    return bytes(body[:BODY_CAP]), True, None


def json_body(answer: Answer) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not one (or was cut at the cap)."""
    if answer.truncated or answer.note is not None:
        return {}
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _unchanged(text: str) -> str:
    return text


def excerpt(answer: Answer, redact: Callable[[str], str] = _unchanged) -> str:
    """The start of the body on one line, to quote in a message, with ``redact`` applied.

    Redacted before it is cut, so that a secret the cut would split (and ``redact`` no longer
    recognise) cannot show in part.
    """
    text = redact(answer.body[:8192].decode("utf-8", "replace"))
    # Control characters (NUL, escape sequences of a terminal) are shown as spaces.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())[:200]
    note = answer.note
    if note is None and answer.truncated:
        note = f"longer than {BODY_CAP // 1024} KiB, not read further"
    if note is not None:
        return f"{text} ({note})" if text else f"({note})"
    return text


def error_text(answer: Answer, redact: Callable[[str], str] = _unchanged) -> tuple[str | None, str]:
    """``code`` and ``message`` of an error answer: Productiv's or OAuth's JSON, else the reason.

    ``redact`` is applied to everything taken from the answer, before any of it is shortened.
    A redirect (3xx) says where to: redirects are never followed, so that the token or the
    client secret cannot be carried to another address, and the fix is the configured URL.
    """
    status = answer.status_code
    if 300 <= status < 400:
        location = " ".join(redact(answer.headers.get("Location") or "nowhere given").split())[:200]
        return None, (
            f"redirected to {location}, not followed so that no credentials go to another address; "
            "set base_url (or token_url) to the address that answers"
        )
    body = json_body(answer)
    code = body.get("code", body.get("error"))
    text = body.get("message") or body.get("error_description") or body.get("error")
    if isinstance(text, str) and text.strip():
        message = " ".join(redact(text).split())[:500]
    else:
        quoted = excerpt(answer, redact)
        reason = " ".join(redact(answer.reason or f"HTTP {status}").split())[:200]
        message = f"{reason}: {quoted}" if quoted else reason
    return (None if code is None else " ".join(redact(str(code)).split())[:100]), message
