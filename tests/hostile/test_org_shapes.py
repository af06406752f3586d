"""Org answers of the wrong shape or content type: each is an error naming what was not read
(exit 2), never a crash and never read as "empty" or "no metadata"."""

from __future__ import annotations

import pytest

from tests.fakeorg.fixtures import fake_org_fixture, project_fixture  # noqa: F401 - fixtures
from tests.fakeorg.hostile import (
    CONNECTED_APPLICATION,
    OAUTH_TOKEN,
    SOAP,
    TOKEN,
    assert_fails_closed,
    key_file,
    scan_with_jwt,
    scan_with_token,
)
from tests.fakeorg.server import MD_NS, SOAP_NS

ROW = {"attributes": {"type": "ConnectedApplication"}, "Id": "0H45e000000AbcDEAA", "Name": "Integration App",
       "CreatedDate": "2024-01-01T00:00:00.000+0000", "LastModifiedDate": "2024-01-01T00:00:00.000+0000",
       "OptionsAllowAdminApprovedUsersOnly": True, "OptionsRefreshTokenValidityMetric": False,
       "OptionsHasSessionLevelPolicy": False, "RefreshTokenValidityPeriod": None}


@pytest.mark.parametrize("body", [
    pytest.param([{"totalSize": 1, "done": True, "records": [ROW]}], id="list-instead-of-object"),
    pytest.param({"totalSize": 1, "done": True, "records": "Integration App"}, id="records-a-string"),
    pytest.param({"totalSize": 1, "done": True, "records": {"0": ROW}}, id="records-an-object"),
    pytest.param({"totalSize": "1", "done": True, "records": [ROW]}, id="totalSize-a-string"),
    pytest.param({"totalSize": 1, "done": "yes", "records": [ROW]}, id="done-a-string"),
    pytest.param({"totalSize": 2, "done": True, "records": [ROW, "Legacy"]}, id="row-not-an-object"),
])
def test_crash_query_answer_of_the_wrong_shape(fake_org, project, body):
    fake_org.inject("GET", CONNECTED_APPLICATION, 200, body, times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))


def test_false_pass_rows_missing_fields(fake_org, project):
    rows = [{"attributes": {"type": "ConnectedApplication"}, "Id": f"0H45e00000000{i}DEAA"} for i in range(7)]
    fake_org.inject("GET", CONNECTED_APPLICATION, 200, {"totalSize": 7, "done": True, "records": rows}, times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "Name" in outcome.report()["input_errors"][0]["message"]


def test_false_pass_rows_missing_a_relationship_field(fake_org, project):
    rows = [{"attributes": {"type": "OauthToken"}, "AppName": "Integration App", "UserId": "0055e000001AbcDAAS",
             "User": {"attributes": {"type": "User"}}, "CreatedDate": "2024-01-01T00:00:00.000+0000",
             "LastUsedDate": "2024-01-01T00:00:00.000+0000", "UseCount": 3}]
    fake_org.inject("GET", OAUTH_TOKEN, 200, {"totalSize": 1, "done": True, "records": rows}, times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="User.Username", secrets=(fake_org.token,))


def test_false_pass_rest_answer_is_html_with_200(fake_org, project):
    fake_org.inject("GET", CONNECTED_APPLICATION, 200, "<html><body>Service Unavailable</body></html>",
                    content_type="text/html", times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="SOQL ConnectedApplication", secrets=(fake_org.token,))
    assert "text/html" in outcome.output


XHTML = ('<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Maintenance</title></head>'
         "<body><p>This site is down for maintenance.</p></body></html>")


def test_false_pass_metadata_answer_is_html_with_200(fake_org, project):
    # Well-formed XHTML: an XML parser takes it, and it holds no listMetadata results.
    fake_org.inject("POST", SOAP, 200, XHTML, content_type="text/html;charset=UTF-8", times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))
    assert "text/html" in outcome.output


def test_false_pass_metadata_answer_is_json_with_200(fake_org, project):
    fake_org.inject("POST", SOAP, 200, {"result": []}, times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))


def test_false_pass_metadata_envelope_without_a_result(fake_org, project):
    empty = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
             f'xmlns="{MD_NS}"><soapenv:Body/></soapenv:Envelope>')
    fake_org.inject("POST", SOAP, 200, empty, body_regex="listMetadata", times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))
    assert "listMetadataResponse" in outcome.output


def test_false_pass_metadata_result_without_a_name(fake_org, project):
    nameless = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
                f'xmlns="{MD_NS}"><soapenv:Body><listMetadataResponse><result><type>ConnectedApp</type>'
                "<id>0H45e000000AbcDEAA</id></result></listMetadataResponse></soapenv:Body></soapenv:Envelope>")
    fake_org.inject("POST", SOAP, 200, nameless, body_regex="listMetadata", times=None)
    outcome = scan_with_token(fake_org, project)
    assert_fails_closed(outcome, names="listMetadata", secrets=(fake_org.token,))
    assert "fullName" in outcome.output


@pytest.mark.parametrize("body", [
    pytest.param({"access_token": 12345, "instance_url": "https://127.0.0.1:1"}, id="token-a-number"),
    pytest.param({"access_token": "00D5e000000Fake!AQ4AQ.x", "instance_url": ["https://x"]}, id="url-a-list"),
    pytest.param(["access_token"], id="list-instead-of-object"),
])
def test_crash_token_answer_of_the_wrong_shape(fake_org, project, tmp_path, body):
    fake_org.inject("POST", TOKEN, 200, body, times=None)
    outcome = scan_with_jwt(fake_org, project, key_file(tmp_path))
    assert_fails_closed(outcome, names="token endpoint", secrets=("00D5e000000Fake!AQ4AQ.x",))


def test_false_pass_token_answer_gives_a_plain_http_instance(fake_org, project, tmp_path):
    body = {"access_token": fake_org.token, "instance_url": fake_org.url.replace("https://", "http://"),
            "token_type": "Bearer"}
    fake_org.inject("POST", TOKEN, 200, body, times=None)
    outcome = scan_with_jwt(fake_org, project, key_file(tmp_path))
    assert_fails_closed(outcome, names="https", secrets=(fake_org.token,))
    assert [r for r in fake_org.requests if r.path != "/services/oauth2/token"] == []
