"""Facts about an app's signing certificate, for CA-05.

`cryptography` costs ~30-60 ms to import, so it is imported only when a certificate has not
been seen before: what it tells us about a certificate is cached by the certificate's hash
(auditor.cache), and only the days to expiry are computed on each run. A certificate that
cannot be parsed is a fact (``parseable: False``), never a crash.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

from auditor import __version__, cache
from auditor.digest import sha256_hex

_BEGIN, _END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CertificateFacts:
    """What CA-05 needs to know about a certificate."""

    parseable: bool
    expires_in_days: int | None = None
    key_bits: int | None = None
    key_type: str | None = None
    signature_hash: str | None = None

    @property
    def problems(self) -> list[str]:
        """What is wrong, in words an admin reads in a finding (CA-05)."""
        if not self.parseable:
            return ["not a readable X.509 certificate (PEM or base64 DER expected)"]
        found = []
        days = self.expires_in_days
        if days is not None and days < 0:
            found.append(f"expired {-days} day{'s' if days != -1 else ''} ago")
        elif days is not None and days < 30:
            found.append(f"expires in {days} day{'s' if days != 1 else ''}")
        if self.key_type == "RSA" and self.key_bits is not None and self.key_bits < 2048:
            found.append(f"{self.key_bits}-bit RSA key (2048 or more expected)")
        if self.signature_hash == "sha1":
            found.append("SHA-1 signature")
        return found

    def as_fields(self) -> dict[str, object]:
        prefix = "oauth.certificate."
        return {
            prefix + "problems": self.problems,
            prefix + "parseable": self.parseable,
            prefix + "expires_in_days": self.expires_in_days,
            prefix + "key_bits": self.key_bits,
            prefix + "key_type": self.key_type,
            prefix + "signature_hash": self.signature_hash,
        }


def certificate_der(text: str) -> bytes | None:
    """Salesforce stores a full PEM, the bare base64 body, or, after a PEM file upload, the base64
    of the whole PEM text (which may begin with OpenSSL's "Bag Attributes" lines); accept all three."""
    der = _decoded_body(text)
    if der is not None and _BEGIN.encode() in der:  # base64 of a PEM text: one level down, no further
        return _decoded_body(der.decode("latin-1"))
    return der


def _decoded_body(text: str) -> bytes | None:
    # Plain string searches, not a lazy regex: `BEGIN(.*?)END` rescans the rest of the text from every
    # BEGIN without an END, quadratic on a value of repeated BEGIN lines. The body is the text
    # between the first END and the last BEGIN before it.
    start, end = text.find(_BEGIN), text.find(_END)
    if start != -1 and end != -1 and start < end:
        body = text[text.rfind(_BEGIN, 0, end) + len(_BEGIN):end]
    elif start != -1 and end != -1:  # an END before the first BEGIN: look for one after it
        later = text.find(_END, start)
        body = text[start + len(_BEGIN):later] if later != -1 else text
    else:
        body = text
    body = _WHITESPACE.sub("", body)
    if not body or not _BASE64.fullmatch(body):
        return None
    try:
        # What base64.b64decode(body, validate=True) does, without importing base64 (and struct) on every run.
        if sys.version_info >= (3, 11):
            return binascii.a2b_base64(body, strict_mode=True)
        import base64

        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=1024)
def inspect_certificate(text: str, today: dt.datetime | None = None) -> CertificateFacts:
    """Cached: one certificate is often shared by several apps (and their sandboxes' copies)."""
    der = certificate_der(text)
    if der is None:
        return CertificateFacts(parseable=False)
    key = f"cert-{__version__}-{sha256_hex(der)}"
    facts = _facts(cache.read(key), today)
    if facts is None:  # not cached, or a cache entry of the wrong shape: never trust it, parse again
        parsed = _parse_der(der)
        cache.write(key, parsed)
        facts = _facts(parsed, today) or CertificateFacts(parseable=False)
    return facts


def _facts(parsed: object, today: dt.datetime | None) -> CertificateFacts | None:
    """Facts from parsed (or cached) data, or None when the data does not have the expected shape."""
    if not isinstance(parsed, dict):
        return None
    if parsed.get("parseable") is False:
        return CertificateFacts(parseable=False)
    not_after, bits = parsed.get("not_after"), parsed.get("key_bits")
    key_type, signature_hash = parsed.get("key_type"), parsed.get("signature_hash")
    if parsed.get("parseable") is not True or not isinstance(not_after, str) or \
            not (bits is None or type(bits) is int) or not all(v is None or isinstance(v, str)
                                                              for v in (key_type, signature_hash)):
        return None
    try:
        expires = dt.datetime.fromisoformat(not_after)
    except ValueError:
        return None
    now = today or dt.datetime.now(dt.timezone.utc)
    return CertificateFacts(parseable=True, expires_in_days=(expires - now).days, key_bits=bits,
                            key_type=key_type, signature_hash=signature_hash)


def _parse_der(der: bytes) -> dict[str, object]:
    """The date-independent facts of a DER certificate, as JSON-ready data."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        cert = x509.load_der_x509_certificate(der)
        not_after = cert.not_valid_after_utc
        key = cert.public_key()
    except Exception:  # malformed DER, or a key type cryptography does not support
        return {"parseable": False}
    key_types = {rsa.RSAPublicKey: "RSA", ec.EllipticCurvePublicKey: "EC", dsa.DSAPublicKey: "DSA",
                 ed25519.Ed25519PublicKey: "Ed25519", ed448.Ed448PublicKey: "Ed448"}
    key_type = next((name for cls, name in key_types.items() if isinstance(key, cls)), None)
    try:
        hash_name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None
    except Exception:  # unsupported algorithm OIDs raise here; the rest is still useful
        hash_name = None
    return {"parseable": True, "not_after": not_after.isoformat(), "key_bits": getattr(key, "key_size", None),
            "key_type": key_type, "signature_hash": hash_name}
