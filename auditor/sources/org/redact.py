"""Keeping secrets out of what we print and store: access tokens and session ids, JWT assertions,
passwords in URLs (``https://user:pw@host``) and private keys.

An org can echo a secret back inside an error ("Malformed query for session 00D…!AQ…"), so every
message built from an org's answer passes through `redact` with the secrets of the run. Patterns
catch what we were not told about (a Salesforce session id is the org id, ``!``, then an opaque
part). Every pattern here is linear: no nested or overlapping quantifiers, bounded repeats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[REDACTED]"
# An org id (00D + 12 or 15 characters) then "!" and the opaque part: a session id / access token.
_SESSION_ID = re.compile(r"00D[0-9A-Za-z]{12,15}![0-9A-Za-z._=-]{1,1024}")
# The user-information part of a URL: everything between "//" and "@" in one host name.
_USERINFO = re.compile(r"//[^/\s@?#]{0,512}@")
_MIN_SECRET = 8  # shorter strings would mask ordinary words


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret, session id, URL password and private key masked."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _SESSION_ID.sub(MASK, text)
    text = _USERINFO.sub("//" + MASK + "@", text)
    return _private_keys(text)


def redact_url(url: str) -> str:
    """A URL fit to print: its user name and password masked."""
    return _USERINFO.sub("//" + MASK + "@", url)


def has_userinfo(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.username is not None or parts.password is not None
    except ValueError:
        return "@" in url


def _private_keys(text: str) -> str:
    marker = "PRIVATE KEY-----"
    if marker not in text:
        return text
    start = text.find("-----BEGIN")
    start = start if 0 <= start < text.find(marker) else text.find(marker)
    last_end = text.rfind("-----END")
    found = text.find(marker, last_end) if last_end > start else -1
    end = found + len(marker) if found != -1 else len(text)
    return text[:start] + "[REDACTED PRIVATE KEY]" + text[end:]
