"""SHA-256 for cache keys and finding fingerprints, without importing `hashlib`.

`hashlib` loads OpenSSL (`_hashlib`, ~3 ms), and the pre-commit path hashes on every run (the rule
pack's cache key, a certificate's, each finding's fingerprint). CPython ships its own SHA-256 as a
small module (`_sha2` from 3.12, `_sha256` before); the digests are the same. A build without it
(some FIPS builds) falls back to hashlib.
"""

from __future__ import annotations

from typing import Any

try:
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found]
except ImportError:
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256 as _sha256


def sha256(data: bytes = b"") -> Any:
    """A SHA-256 hash object (`update`, `digest`, `hexdigest`), as `hashlib.sha256(data)` returns."""
    return _sha256(data)


def sha256_hex(data: bytes) -> str:
    return str(_sha256(data).hexdigest())
