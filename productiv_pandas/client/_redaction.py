"""Keeping secrets out of every text: :class:`Secret`, :class:`Redactor`, :func:`header_problem`.

A server or proxy that echoes a request quotes a secret in whatever escaping its output uses,
so the redactor matches a secret spelled in any mixture of these forms, character by character:

- as is, or percent-encoded as in a form body or a URL (``%2B`` or ``%2b``, ``+`` for a space);
- Python-escaped as ``repr``/``ascii`` write it (``\\\\``, ``\\'``, ``\\n``, ``\\xe9``, ``\\u00e9``),
  also as the repr of its UTF-8 bytes (``\\xc3\\xa9``);
- JSON-escaped (``\\"``, ``\\/``, ``\\u002b`` or ``\\u002B`` for any character, surrogate pairs);
- HTML-escaped (``&amp;``, ``&quot;``, ``&#43;``, ``&#x2b;``, ``&#X2B;``, with leading zeros);
- and, added with :meth:`Redactor.add_basic`, as the base64 of ``client_id:secret`` (HTTP Basic).

Secrets of any length are redacted. One shorter than 8 characters (a test token such as "t")
is redacted only where it stands alone, not inside a longer run of letters and digits: "Bearer
t" becomes "Bearer ***", but "token expired" stays readable.
"""

from __future__ import annotations

import base64
import re
import unicodedata

__all__ = ["Redactor", "Secret", "header_problem", "invisible_problem"]

#: Secrets shorter than this are redacted only as whole words (see the module doc).
SHORT = 8


class Secret:
    """A string that shows as ``'***'`` in reprs, tracebacks' locals and debuggers."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def header_problem(value: str) -> str | None:
    """Why ``value`` cannot go into an HTTP header as is, without quoting it; None when it can.

    A header value is Latin-1 text without control characters (RFC 9110): a line break would
    end the header (or smuggle another), and requests refuses the rest with an error quoting
    the whole value. Leading and trailing whitespace is stripped by the callers before this.
    The character itself is never named (not even its code point): it is part of the secret.

    >>> header_problem("abc") is None
    True
    >>> header_problem("ab\\ncd")
    'it contains a line break (CR or LF) at position 3'
    >>> header_problem("ab\\u200bcd")
    'it contains a character outside Latin-1 at position 3'
    """
    for at, char in enumerate(value, 1):
        if char in "\r\n":
            return f"it contains a line break (CR or LF) at position {at}"
        if char == "\0":
            return f"it contains a NUL character at position {at}"
        if unicodedata.category(char) == "Cc":
            return f"it contains a control character at position {at}"
        if ord(char) > 0xFF:
            return f"it contains a character outside Latin-1 at position {at}"
    return None


def invisible_problem(value: str) -> str | None:
    """Why ``value`` (a client id or secret) holds what no one types, without quoting it; or None.

    Form-encoding could carry any character, but RFC 6749 (appendix A) allows printable ones
    only, and a control or invisible character (a line break of a multi-line variable, a
    zero-width space pasted along) is a mistake the token endpoint would answer with a refusal.

    >>> invisible_problem("s3cr3t\\nsecond line")
    'it contains a control or invisible character at position 7'
    """
    for at, char in enumerate(value, 1):
        if not char.isprintable():
            return f"it contains a control or invisible character at position {at}"
    return None


class Redactor:
    """Replaces the secrets it was told about with ``***`` in any text (server answers, errors).

    Every form of :mod:`this module's doc <productiv_pandas.redaction>` is matched, mixed too.

    Examples
    --------
    >>> redact = Redactor()
    >>> redact.add("p@ss+w/rd=xyz!long", keep=True)
    >>> redact("secret=p%40ss%2Bw%2Frd%3Dxyz%21long&next=p%40ss%2bw/rd%3dxyz%21long")
    'secret=***&next=***'
    >>> redact('{"echo": "p@ss\\\\u002bw\\\\/rd=xyz!long"} &lt;p&#64;ss&#x2B;w/rd&#61;xyz!long&gt;')
    '{"echo": "***"} &lt;***&gt;'
    >>> redact.add("t")
    >>> redact("Bearer t: token expired")
    'Bearer ***: token expired'
    """

    def __init__(self) -> None:
        # Tuples replaced whole, never mutated, so threads may read them without a lock; the
        # pattern is rebuilt from them by the thread that adds a secret, and swapped in whole.
        self._kept: tuple[str, ...] = ()
        self._recent: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str, *, keep: bool = False) -> None:
        """Hide ``secret`` from now on: for ever with ``keep``, else while it is among the newest 8."""
        if not secret.strip() or secret in self._kept or secret in self._recent:
            return  # blank: never a credential (they are stripped, and empty ones refused)
        if keep:
            self._kept = (*self._kept, secret)
        else:  # tokens: a long run renews many, and only the last few can still come back
            self._recent = (secret, *self._recent[:7])
        self._pattern = _pattern_of(self._kept + self._recent)

    def add_basic(self, client_id: str, secret: str) -> None:
        """Hide ``base64(client_id:secret)``, the credentials of HTTP Basic auth, for ever."""
        self.add(base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii"), keep=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._kept) + len(self._recent)} secrets)"

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub("***", text)


def _pattern_of(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching every form of every secret, longest first."""
    alternatives = []
    for secret in sorted(set(secrets), key=len, reverse=True):
        spelled = "".join(_char_pattern(char) for char in secret)
        if len(secret) < SHORT:
            spelled = rf"(?<![^\W_]){spelled}(?![^\W_])"  # alone, not inside a word
        alternatives.append(spelled)
    return re.compile("|".join(alternatives))


_SHORT_ESCAPES = {
    "\\": [r"\\\\"],
    "/": [r"\\/"],
    '"': [r"\\\"", "&quot;"],
    "'": [r"\\'", "&apos;"],
    "\n": [r"\\n"],
    "\r": [r"\\r"],
    "\t": [r"\\t"],
    "\b": [r"\\b"],
    "\f": [r"\\f"],
    "&": ["&amp;"],
    "<": ["&lt;"],
    ">": ["&gt;"],
    " ": [r"\+"],
}


def _hex(number: int, digits: int) -> str:
    """``number`` in hex with ``digits`` digits, matching either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{digits}x}")


def _char_pattern(char: str) -> str:
    """Every spelling of one character in the forms listed in the module doc."""
    code = ord(char)
    forms = list(_SHORT_ESCAPES.get(char, []))
    utf8 = char.encode("utf-8", "surrogatepass")
    forms.append("".join("%" + _hex(byte, 2) for byte in utf8))
    if code >= 0x80:  # the repr of the UTF-8 bytes
        forms.append("".join(r"\\x" + _hex(byte, 2) for byte in utf8))
    if code < 0x100:
        forms.append(r"\\x" + _hex(code, 2))
    if code < 0x10000:
        forms.append(r"\\u" + _hex(code, 4))
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(r"\\u" + _hex(high, 4) + r"\\u" + _hex(low, 4))
        forms.append(r"\\U" + _hex(code, 8))
    forms.append(f"&#0*{code};")
    forms.append("&#[xX]0*" + _hex(code, 1) + ";")
    # The character itself last: a match prefers the longer escape ("&#38;" whole, not its "&").
    forms.append(re.escape(char))
    return "(?:" + "|".join(forms) + ")"
