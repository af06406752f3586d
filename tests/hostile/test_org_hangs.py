"""Hostile org answers that used to hang a scan: a body or headers trickled one byte per second,
a query whose nextRecordsUrl never ends or loops, a huge body. Each must end in exit 2 within
seconds, naming what was not read."""

from __future__ import annotations

from tests.fakeorg.fixtures import fake_org_fixture, project_fixture  # noqa: F401 - fixtures
from tests.fakeorg.hostile import (
    CONNECTED_APPLICATION,
    ORGANIZATION,
    SOAP,
    TOKEN,
    assert_fails_closed,
    key_file,
    scan_with_jwt,
    scan_with_token,
)


def test_hang_rest_body_trickles_one_byte_per_second(fake_org, project):
    fake_org.trickle("GET", CONNECTED_APPLICATION)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "3 s" in outcome.output


def test_hang_rest_headers_trickle_one_byte_per_second(fake_org, project):
    fake_org.trickle("GET", ORGANIZATION, headers_too=True)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL Organization", secrets=(fake_org.token,))


def test_hang_metadata_answer_trickles(fake_org, project):
    fake_org.trickle("POST", SOAP)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))


def test_hang_token_endpoint_trickles(fake_org, project, tmp_path):
    fake_org.trickle("POST", TOKEN)
    outcome = scan_with_jwt(fake_org, project, key_file(tmp_path))
    assert_fails_closed(outcome, names="token request")


def test_hang_next_records_url_never_ends(fake_org, project):
    fake_org.endless_paging(CONNECTED_APPLICATION)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "20 pages" in outcome.output
    assert sum("/query/01gEND" in r.path for r in fake_org.requests) <= 20


def test_hang_next_records_url_loops(fake_org, project):
    fake_org.endless_paging(CONNECTED_APPLICATION, loop=True)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "repeated" in outcome.output
    assert sum("/query/01gEND" in r.path for r in fake_org.requests) <= 2


def test_hang_huge_body(fake_org, project):
    # A well-formed answer padded to 64 MB: read whole, it would be accepted; the cap is 1 MB.
    fake_org.huge("GET", CONNECTED_APPLICATION, 64 * 2**20, prefix=b'{"totalSize": 0, "done": true, "records": []}')
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "1000000 bytes" in outcome.output


def test_hang_jwt_key_file_is_a_fifo(fake_org, project, tmp_path):
    import os

    fifo = tmp_path / "server.key"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    outcome = scan_with_jwt(fake_org, project, fifo)
    assert_fails_closed(outcome, names="not a regular file")
    assert fake_org.requests == []
