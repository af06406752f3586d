"""The redaction every org message passes through: what it masks, and that it stays linear on
hostile 1 MB messages (an org chooses what its errors say)."""

from __future__ import annotations

import time

import pytest

from auditor.sources.org.redact import MASK, redact, redact_url

TOKEN = "00D5e000000FakeEAA!AQ4AQFakeSessionToken.Not.A.Real.One"


def test_masks_known_secrets_session_ids_url_passwords_and_keys():
    assert redact(f"Malformed query for session {TOKEN}") == f"Malformed query for session {MASK}"
    assert redact("invalid assertion eyJhbGciOi.eyJpc3Mi.c2lnbmF0dXJl", ["eyJhbGciOi.eyJpc3Mi.c2lnbmF0dXJl"]) == \
        f"invalid assertion {MASK}"
    # A session id we were not told about still has the org-id!opaque shape.
    assert "AQ4AQ" not in redact("other 00D000000000001AAA!AQcAQH0dMHZfz9 here")
    assert redact_url("https://admin:Hunter2@acme.my.salesforce.com/x") == f"https://{MASK}@acme.my.salesforce.com/x"
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    assert "MIIEvQ" not in redact(f"cannot use {key} here")
    assert redact("nothing secret: 00D is an org prefix") == "nothing secret: 00D is an org prefix"


@pytest.mark.parametrize("hostile", [
    pytest.param("00D" * 350_000, id="org-prefixes"),
    pytest.param("00D5e000000FakeE" * 65_000, id="session-ids-without-bang"),
    pytest.param("//" * 500_000 + "@", id="url-starts"),
    pytest.param("-----BEGIN " * 95_000 + "PRIVATE KEY-----", id="pem-begins"),
    pytest.param("a" * 1_000_000, id="plain"),
])
def test_linear_on_a_megabyte(hostile):
    started = time.perf_counter()
    redact(hostile, [TOKEN])
    assert time.perf_counter() - started < 1.0
