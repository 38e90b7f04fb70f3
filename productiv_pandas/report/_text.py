"""Every text a report shows goes through :func:`page_text`: made printable, emails masked when
asked, then HTML-escaped. One door, so no value (an email, a reason quoting it, a row label, a
file name, an option) can reach the page unescaped or unmasked.
"""

from __future__ import annotations

import html
import re

__all__ = ["mask_emails", "mask_value", "page_text", "printable"]

# Lone surrogates cannot be written as UTF-8; NUL and other C0/C1 controls (but tab and
# newline) are invisible or break the page; both are shown as the replacement character.
_UNPRINTABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Anything with an '@' between delimiters: valid addresses and the broken ones a report lists
# (``b@``, ``a@b@c.com``) alike; quotes and brackets around it are left in place.
_EMAIL = re.compile(r"""[^\s'"<>()\[\],;`]*@[^\s'"<>()\[\],;`]*""")
# A quoted text with an '@' is masked whole: reasons quote values, and a value with a space
# ('chloe d@acme.com') would otherwise leave its first word in the clear.
_QUOTED = re.compile(r"'([^'\n]*@[^'\n]*)'" + r'|"([^"\n]*@[^"\n]*)"')


def printable(text: str) -> str:
    return _UNPRINTABLE.sub("\ufffd", text)


def mask_value(token: str) -> str:
    """One address masked: ``alice@acme.com`` -> ``a***@acme.com`` (the domain follows the last
    '@'); a bare ``@`` is left alone; text without '@' (a user name where an email belongs)
    keeps its first character only."""
    if not token.strip("@"):
        return token
    at = token.rfind("@")
    if at < 0:
        return f"{token[:1]}***"
    return f"{token[:at][:1]}***@{token[at + 1 :]}"


def _quoted(match: re.Match[str]) -> str:
    quote = "'" if match.group(1) is not None else '"'
    return quote + mask_value(match.group(1) if match.group(1) is not None else match.group(2)) + quote


def mask_emails(text: str) -> str:
    """``alice@acme.com`` -> ``a***@acme.com``: the first character and the domain stay, for
    whoever fixes the export to find the pattern, not the person. Quoted texts with an '@' are
    masked whole, then every other token with an '@'."""
    return _EMAIL.sub(lambda match: mask_value(match.group(0)), _QUOTED.sub(_quoted, text))


def page_text(value: object, redact_emails: bool = False) -> str:
    """``value`` as HTML text: printable, masked if asked, escaped (quotes too, for attributes)."""
    text = printable(str(value))
    if redact_emails:
        text = mask_emails(text)
    return html.escape(text, quote=True)
