"""auditor.digest: SHA-256 without hashlib gives hashlib's digests (cache keys and fingerprints stay the same)."""

from __future__ import annotations

import hashlib

from auditor.digest import sha256, sha256_hex


def test_digests_are_hashlibs():
    for data in (b"", b"abc", "Connected App \u2192 CA-01".encode(), bytes(range(256)) * 300):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    digest = sha256()
    for part in (b"rule", b"\0", b"pack"):
        digest.update(part)
    assert digest.hexdigest() == hashlib.sha256(b"rule\0pack").hexdigest()
