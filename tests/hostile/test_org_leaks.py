"""Hostile org answers aimed at secrets: redirects to another host (a session id in a SOAP body, a
JWT assertion in a token request, replayed there), secrets echoed back in error messages, a
nextRecordsUrl that points elsewhere, clear-text login URLs and passwords in URLs. The secret must
never reach another host, the terminal or a snapshot; each case ends in exit 2."""

from __future__ import annotations

import pytest

from tests.fakeorg.fixtures import fake_org_fixture, project_fixture  # noqa: F401 - fixtures
from tests.fakeorg.hostile import (
    CONNECTED_APPLICATION,
    OAUTH_TOKEN,
    QUERY,
    SOAP,
    TOKEN,
    assert_fails_closed,
    key_file,
    localhost_url,
    other_host,
    run,
    scan_with_jwt,
    scan_with_token,
)
from tests.fakeorg.server import ClearTextTrap

USER = "order.integration@northwind.example.com"


@pytest.mark.parametrize("status", [302, 307])
def test_false_pass_query_redirected_to_another_host(fake_org, project, tmp_path, monkeypatch, status):
    other = other_host(fake_org, monkeypatch, tmp_path)
    try:
        other.inject("GET", r".*", 200, {"totalSize": 0, "done": True, "records": []}, times=None)
        fake_org.redirect("GET", CONNECTED_APPLICATION, localhost_url(other) + "/services/data/v66.0/query/?q=x",
                          status=status)
        outcome = scan_with_token(fake_org, project)
        assert_fails_closed(outcome, names=f"localhost:{other.port}", secrets=(fake_org.token,))
        assert other.requests == []
    finally:
        other.stop()


def test_leak_metadata_call_redirected_307_would_replay_the_session_id(fake_org, project, tmp_path, monkeypatch):
    other = other_host(fake_org, monkeypatch, tmp_path)
    try:
        fake_org.redirect("POST", SOAP, localhost_url(other) + "/services/Soap/m/66.0", status=307)
        outcome = scan_with_token(fake_org, project)
        assert_fails_closed(outcome, names=f"localhost:{other.port}", secrets=(fake_org.token,))
        assert other.requests == []  # the SOAP body holds the session id
    finally:
        other.stop()


def test_leak_token_request_redirected_307_would_replay_the_assertion(fake_org, project, tmp_path, monkeypatch):
    other = other_host(fake_org, monkeypatch, tmp_path, username=USER)
    try:
        fake_org.redirect("POST", TOKEN, localhost_url(other) + "/services/oauth2/token", status=307)
        outcome = scan_with_jwt(fake_org, project, key_file(tmp_path))
        assert_fails_closed(outcome, names=f"localhost:{other.port}")
        assert other.requests == []  # the POST body holds the signed assertion
    finally:
        other.stop()


def test_leak_next_records_url_pointing_at_another_host(fake_org, project, tmp_path, monkeypatch):
    other = other_host(fake_org, monkeypatch, tmp_path)
    try:
        other.inject("GET", r".*", 200, {"totalSize": 0, "done": True, "records": []}, times=None)
        # simple-salesforce builds https://{instance}{nextRecordsUrl}: an "@" turns the instance into userinfo.
        page = {"totalSize": 9, "done": False, "records": [],
                "nextRecordsUrl": f"@localhost:{other.port}/services/data/v66.0/query/01g5eX-2"}
        fake_org.inject("GET", CONNECTED_APPLICATION, 200, page, times=None)
        outcome = scan_with_token(fake_org, project)
        assert_fails_closed(outcome, names="nextRecordsUrl", secrets=(fake_org.token,))
        assert other.requests == []
    finally:
        other.stop()


def test_leak_rest_error_echoes_the_token(fake_org, project):
    fake_org.echo_secret("GET", OAUTH_TOKEN)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL OauthToken", secrets=(fake_org.token,))
    assert "MALFORMED_QUERY" in outcome.output and "[REDACTED]" in outcome.output


def test_leak_soap_fault_echoes_the_session_id(fake_org, project):
    fake_org.echo_secret("POST", SOAP)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))
    assert "[REDACTED]" in outcome.output


def test_leak_token_endpoint_echoes_the_assertion(fake_org, project, tmp_path):
    fake_org.echo_secret("POST", TOKEN)
    outcome = scan_with_jwt(fake_org, project, key_file(tmp_path))
    sent = [r for r in fake_org.requests if r.path == "/services/oauth2/token"]
    assertion = sent[0].body.decode().split("assertion=")[1].split("&")[0]
    signature = assertion.rsplit(".", 1)[-1]
    assert_fails_closed(outcome, names="invalid_grant", secrets=(assertion, signature))


def test_leak_plain_http_login_url_would_send_the_assertion_in_clear(fake_org, project, tmp_path):
    trap = ClearTextTrap()
    try:
        outcome = scan_with_jwt(fake_org, project, key_file(tmp_path), login_url=trap.url)
        assert_fails_closed(outcome, names="https")
        assert trap.received == b""
    finally:
        trap.stop()


def test_leak_plain_http_instance_url(fake_org, project):
    trap = ClearTextTrap()
    try:
        outcome = scan_with_token(fake_org, project, instance_url=trap.url)
        assert_fails_closed(outcome, names="https", secrets=(fake_org.token,))
        assert trap.received == b""
    finally:
        trap.stop()


def test_leak_password_in_the_instance_url_is_never_stored(fake_org, project):
    url = fake_org.url.replace("https://", "https://admin:Hunter2Secret@")
    outcome = run("pull", "--instance-url", url, "-o", "org.snapshot.json", cwd=project,
                  env={"SF_ACCESS_TOKEN": fake_org.token})
    snapshot = project / "org.snapshot.json"
    stored = snapshot.read_text() if snapshot.exists() else ""
    assert "Hunter2Secret" not in stored
    assert_fails_closed(outcome, names="--instance-url", secrets=("Hunter2Secret", fake_org.token))


def test_leak_password_in_the_login_url_is_never_printed(fake_org, project, tmp_path):
    fake_org.delay("POST", TOKEN, 3.0)
    url = fake_org.url.replace("https://", "https://admin:Hunter2Secret@")
    outcome = scan_with_jwt(fake_org, project, key_file(tmp_path), login_url=url)
    assert_fails_closed(outcome, names="--login-url", secrets=("Hunter2Secret",))


def test_leak_token_in_a_query_error_of_a_later_page(fake_org, project):
    fake_org.echo_secret("GET", QUERY.replace(r"/\?q=", "") + r"/01g5e")
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, secrets=(fake_org.token,))
