"""Pulling an org through simple-salesforce against the HTTPS fake org: what is read, how many
calls it takes, that it only reads, and what each fault turns into."""

from __future__ import annotations

import json
import math
import re

import pytest

from auditor.sources.org.auth import from_access_token
from auditor.sources.org.client import OrgReadError, make_session
from auditor.sources.org.convert import apps_from_snapshot
from auditor.sources.org.pull import PullSettings, pull, request_budget
from auditor.sources.snapshot import dumps
from tests.fakeorg.fixtures import fake_org_fixture, trust  # noqa: F401 - the fake_org fixture
from tests.fakeorg.sample import INTEGRATION_USERS, many_apps_org
from tests.fakeorg.server import INVALID_SESSION, REQUEST_LIMIT, SERVER_UNAVAILABLE, UNKNOWN_EXCEPTION, FakeSalesforce

QUERY = r"/services/data/v66\.0/query"


def pull_fake(fake, **settings):
    settings.setdefault("integration_users", INTEGRATION_USERS)
    return pull(from_access_token(fake.url, fake.token), PullSettings(**settings))


def soql_of(fake):
    return [r.soql for r in fake.requests if r.soql]


def test_pull_reads_metadata_soql_and_users(fake_org):
    snap = pull_fake(fake_org)
    assert snap["errors"] == []
    assert snap["format"] == "ca-audit-snapshot"
    assert snap["provenance"]["org_id"] == fake_org.data.org_id
    assert snap["provenance"]["api_version"] == "66.0"
    connected = snap["metadata"]["ConnectedApp"]
    assert sorted(connected["records"]) == ["Finance_Batch_Loader", "Integration_App", "Legacy_Reporting",
                                            "Mobile_Field_App", "MuleSoft_Sync", "SAML_Bearer_Integration",
                                            "psync__Partner_Sync"]
    assert connected["records"]["psync__Partner_Sync"] is None  # installed app: readMetadata gives nil
    assert connected["records"]["Integration_App"].startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ConnectedApp')
    assert sorted(snap["metadata"]["ExtlClntAppOauthConfigurablePolicies"]["records"]) == [
        "ERP_Connector_oauthPlcy", "Heroku_Event_Relay_oauthPlcy", "Order_Sync_Service_oauthPlcy"]
    # Paged through nextRecordsUrl (page size 2): 7 ConnectedApplication rows arrive whole.
    assert len(snap["soql"]["ConnectedApplication"]) == 7
    assert any("/query/01g5e" in r.path for r in fake_org.requests)
    # The run-as user set in the org is read along with the declared integration users.
    assert "mulesoft.integration@northwind.example.com" in snap["integration_users_read"]
    assert {u["Username"] for u in snap["soql"]["User"]} >= set(INTEGRATION_USERS)
    # Every call pinned to the API version.
    assert all("/v66.0/" in r.path or "/Soap/m/66.0" in r.path for r in fake_org.requests)


def test_snapshot_has_no_secrets(fake_org):
    text = dumps(pull_fake(fake_org))
    assert fake_org.token not in text
    assert "consumerKey" not in text and "consumerSecret" not in text and "3MVG9" not in text
    assert "AccessToken" not in text


def test_pull_only_reads_and_batches_ten_names_per_call(monkeypatch):
    count = 95
    fake = FakeSalesforce(many_apps_org(count)).start()
    try:
        trust(monkeypatch, fake)
        snap = pull_fake(fake, integration_users=["integration@acme.example"])
        assert snap["errors"] == []
        assert len(snap["metadata"]["ConnectedApp"]["records"]) == count
        assert fake.writes() == []
        reads = [r for r in fake.requests if r.soap_operation == "readMetadata"]
        assert all(len(re.findall(rb"<fullNames>", r.body)) <= 10 for r in reads)
        assert len(reads) == math.ceil(count / 10) + 1  # and the org's OauthOidc settings, by name
        # Within the documented budget: one permission set granted, one user, 95 tokens.
        budget = request_budget(apps=count, users=1, tokens=count, grants=1, assignment_rows=1, integration_users=1)
        assert len(fake.requests) <= budget <= math.ceil(count / 10) + 25
        assert all(r.method in ("GET", "POST") for r in fake.requests)
    finally:
        fake.stop()


def test_reads_are_concurrent(monkeypatch):
    fake = FakeSalesforce(many_apps_org(40), latency=0.05).start()
    try:
        trust(monkeypatch, fake)
        pull_fake(fake, integration_users=[], concurrency=4)
        assert fake.max_in_flight == 4
    finally:
        fake.stop()


def test_transient_errors_are_retried(fake_org):
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+Id%2C\+Name%2C\+CreatedDate", 500, UNKNOWN_EXCEPTION)
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+AppName", 403, REQUEST_LIMIT)
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+PermissionSetGroupId", 503, SERVER_UNAVAILABLE)
    fake_org.inject("POST", r"/services/Soap/m/", 500, "<html>Bad gateway</html>", body_regex="readMetadata")
    fake_org.inject("POST", r"/services/Soap/m/", 500,
                    '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                    "<soapenv:Body><soapenv:Fault><faultcode>sf:REQUEST_LIMIT_EXCEEDED</faultcode>"
                    "<faultstring>REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgLongTxn Limit exceeded.</faultstring>"
                    "</soapenv:Fault></soapenv:Body></soapenv:Envelope>", body_regex="listMetadata")
    snap = pull_fake(fake_org)
    assert snap["errors"] == []
    assert len(snap["soql"]["OauthToken"]) > 0
    assert len(snap["metadata"]["ConnectedApp"]["records"]) == 7


def test_persistent_failure_is_named_not_lost(fake_org):
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+AppName", 500, UNKNOWN_EXCEPTION, times=None)
    snap = pull_fake(fake_org, attempts=3)
    tries = [q for q in soql_of(fake_org) if q.startswith("SELECT AppName")]
    assert len(tries) == 3  # bounded
    assert [e["what"] for e in snap["errors"]] == ["SOQL OauthToken: tokens of all apps"]
    assert "UNKNOWN_EXCEPTION" in snap["errors"][0]["message"]
    assert len(snap["metadata"]["ConnectedApp"]["records"]) == 7  # everything else still read
    result = apps_from_snapshot(snap, origin="fake")
    assert any("not read from the org: SOQL OauthToken" in e.message for e in result.errors)


def test_timeouts_are_retried_then_reported(fake_org):
    fake_org.delay("GET", QUERY + r"/\?q=SELECT\+Id%2C\+Name%2C\+OrganizationType", 0.6, times=1)
    snap = pull_fake(fake_org, timeout=0.3)
    assert snap["errors"] == []
    fake_org.delay("GET", QUERY + r"/\?q=SELECT\+Id%2C\+Name%2C\+OrganizationType", 0.6, times=None)
    snap = pull_fake(fake_org, timeout=0.3, attempts=2)
    assert snap["errors"] == [{"what": "SOQL Organization", "message": "timed out (gave up after 2 attempts)"}]


def test_truncated_page_is_read_again(fake_org):
    fake_org.truncate("GET", QUERY + r"/01g5e", times=1)
    snap = pull_fake(fake_org)
    assert snap["errors"] == []
    assert len(snap["soql"]["ConnectedApplication"]) == 7


def test_page_without_next_url_is_an_error(fake_org):
    body = {"totalSize": 7, "done": False, "records": []}
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+Id%2C\+Name%2C\+CreatedDate", 200, body)
    snap = pull_fake(fake_org)
    assert snap["errors"][0]["what"] == "SOQL ConnectedApplication"
    assert "no nextRecordsUrl" in snap["errors"][0]["message"]


def token_row(app_name: str) -> dict:
    """An OauthToken row with every field the pull selects (a row lacking one is refused)."""
    return {"attributes": {"type": "OauthToken"}, "AppName": app_name, "UserId": "0055e000001AbcDAAS",
            "User": {"attributes": {"type": "User"}, "Username": "someone@acme.example"},
            "CreatedDate": "2024-01-01T00:00:00.000+0000", "LastUsedDate": None, "UseCount": 1}


def test_short_result_is_an_error(fake_org):
    body = {"totalSize": 2600, "done": True, "records": [token_row("X")]}
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+AppName", 200, body)
    snap = pull_fake(fake_org)
    assert snap["errors"] == [{"what": "SOQL OauthToken: tokens of all apps",
                               "message": "the query returned 1 of 2600 records"}]


def test_token_rows_at_the_documented_cap_are_not_trusted(fake_org):
    rows = [token_row(f"App {i}") for i in range(2500)]
    fake_org.inject("GET", QUERY + r"/\?q=SELECT\+AppName", 200, {"totalSize": 2500, "done": True, "records": rows})
    snap = pull_fake(fake_org)
    assert snap["errors"] == [{"what": "SOQL OauthToken: tokens of all apps",
                               "message": "the query returned 2500 records, the "
                               "documented maximum for this object, so some may be missing"}]


def test_one_unreadable_app_does_not_lose_the_batch(fake_org):
    fake_org.data.poison.add(("ConnectedApp", "Mobile_Field_App"))
    snap = pull_fake(fake_org)
    records = snap["metadata"]["ConnectedApp"]["records"]
    assert "Mobile_Field_App" not in records
    assert len(records) == 6 and records["Integration_App"] and records["MuleSoft_Sync"]
    assert snap["errors"] == [{"what": "readMetadata ConnectedApp Mobile_Field_App",
                               "message": "Metadata API fault UNKNOWN_EXCEPTION: UNKNOWN_EXCEPTION: An unexpected "
                               "error occurred. Please include this ErrorId if you contact support: "
                               "2093713466-46710 (1797926329)"}]


def test_expired_session_is_reported_not_looped(fake_org):
    fake_org.expire_tokens()
    with pytest.raises(OrgReadError, match="expired or invalid"):
        pull_fake(fake_org)
    # No re-login loop: each call was tried once, and the pull stopped.
    assert len(fake_org.requests) <= 10
    assert all(r.path != "/services/oauth2/token" for r in fake_org.requests)


def test_expired_session_on_rest_only(fake_org):
    fake_org.inject("GET", QUERY, 401, INVALID_SESSION, times=None)
    with pytest.raises(OrgReadError, match="INVALID_SESSION_ID"):
        pull_fake(fake_org)


def test_unknown_permission_field_falls_back_with_a_note(fake_org):
    fake_org.data.schema["PermissionSet"].discard("PermissionsCanApproveUninstalledApps")
    snap = pull_fake(fake_org)
    assert snap["errors"] == []
    assert any("PermissionsCanApproveUninstalledApps is not available" in n for n in snap["notes"])
    assert snap["soql"]["BypassPermissions"]  # the Use Any API Client holders are still read


def test_ca_bundle_is_honoured_by_soap_calls_too(fake_org, monkeypatch):
    session = make_session()
    assert session.verify == fake_org.ca_path
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    # Without the CA the TLS handshake fails everywhere: one error naming it, not a crash and not a pass.
    with pytest.raises(OrgReadError, match="TLS certificate verification failed"):
        pull(from_access_token(fake_org.url, fake_org.token), PullSettings(backoff=0), make_session())


def test_snapshot_round_trips_as_json(fake_org):
    snap = pull_fake(fake_org)
    assert json.loads(dumps(snap)) == snap
    assert dumps(json.loads(dumps(snap))) == dumps(snap)


def test_unreachable_org_names_everything_unread(fake_org):
    url, token = fake_org.url, fake_org.token
    fake_org.stop()
    # One error naming the org, not one per query: every call would fail the same way.
    with pytest.raises(OrgReadError, match=f"cannot reach {url}: connection failed"):
        pull(from_access_token(url, token), PullSettings(integration_users=INTEGRATION_USERS, backoff=0))


def test_profile_grant_covers_a_user_without_a_profile_assignment_row(monkeypatch):
    from tests.fakeorg.build import OrgBuilder, connected_app_xml

    b = OrgBuilder()
    b.profile("Integration Profile", ApiEnabled=True, ApiUserOnly=True)
    user = b.user("int@acme.example", "Integration Profile")
    b.connected_app("Profile_App", connected_app_xml("Profile App", scopes=["Api", "RefreshToken"],
                                                     admin_approved=True, certificate=True,
                                                     profiles=["Integration Profile"]))
    # Whether the profile's own permission set shows up in PermissionSetAssignment is not documented:
    # take that row away, and the user must still count as covered through the profile.
    b.data.tables["PermissionSetAssignment"] = [r for r in b.data.tables["PermissionSetAssignment"]
                                                if r["AssigneeId"] != user["Id"]]
    fake = FakeSalesforce(b.data).start()
    try:
        trust(monkeypatch, fake)
        snap = pull_fake(fake, integration_users=["int@acme.example"])
        app = apps_from_snapshot(snap, origin="org", integration_users={"Profile_App": ["int@acme.example"]}).apps[0]
        assert app.get("org.assignments.profiles") == ["Integration Profile"]
        assert app.get("org.uncovered_integration_users") == []
    finally:
        fake.stop()


def test_a_soap_answer_with_a_doctype_is_refused_not_expanded(fake_org):
    bomb = ('<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            "<x>&b;</x></soapenv:Body></soapenv:Envelope>")
    fake_org.inject("POST", r"/services/Soap/m/", 200, bomb, body_regex="listMetadata", times=None)
    snap = pull_fake(fake_org, attempts=1)
    refused = [e for e in snap["errors"] if "DOCTYPE" in e["message"]]
    assert refused, snap["errors"]
    assert "aaaaaaaaaa" not in json.dumps(snap)


def test_a_frozen_integration_user_is_inactive_uncovered_and_said_frozen(monkeypatch):
    from tests.fakeorg.sample import sample_org

    data = sample_org()
    user = data.find("User", Username="order.integration@northwind.example.com")
    data.insert("UserLogin", UserId=user["Id"], IsFrozen=True, IsPasswordLocked=False, LastModifiedDate=None)
    fake = FakeSalesforce(data).start()
    try:
        trust(monkeypatch, fake)
        snap = pull_fake(fake)
    finally:
        fake.stop()
    result = apps_from_snapshot(snap, origin="fake",
                                integration_users={"Integration_App": ["order.integration@northwind.example.com"]})
    app = next(a for a in result.apps if a.name == "Integration_App")
    assert app.get("org.frozen_integration_users") == ["order.integration@northwind.example.com"]
    assert app.get("org.inactive_integration_users") == ["order.integration@northwind.example.com (frozen)"]
    assert app.get("org.uncovered_integration_users") == ["order.integration@northwind.example.com (frozen)"]


def test_the_orgs_oauth_settings_are_read_by_name_and_hold_for_every_org_app(fake_org):
    snap = pull_fake(fake_org)
    document = snap["metadata"]["OauthOidcSettings"]["records"]["OauthOidc"]
    assert "<blockOAuthUnPwFlow>true</blockOAuthUnPwFlow>" in document
    reads = [r.body for r in fake_org.requests if r.soap_operation == "readMetadata"]
    assert any(b"<type>OauthOidcSettings</type><fullNames>OauthOidc</fullNames>" in body for body in reads)
    apps = {a.name: a for a in apps_from_snapshot(snap, origin="org").apps}
    # read from metadata, from SOQL only (an installed package's app), and known only from its tokens
    for name in ("Integration_App", "psync__Partner_Sync", "Data_Loader_Pro", "Order_Sync_Service"):
        assert apps[name].get("org_settings.username_password_blocked") is True, name
        assert apps[name].get("org_settings.user_agent_blocked") is True, name
        assert apps[name].get("org_settings.pkce_required") is False, name


def test_settings_the_org_will_not_give_stay_unknown_without_failing_the_pull(fake_org):
    fault = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
             'envelope/"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_TYPE</faultcode><faultstring>INVALID_TYPE: '
             'This type of metadata is not available for this organization</faultstring></soapenv:Fault></soapenv:Body>'
             '</soapenv:Envelope>')
    fake_org.inject("POST", r"/services/Soap/m/", 500, fault, body_regex="OauthOidcSettings")
    snap = pull_fake(fake_org)
    assert snap["errors"] == []
    assert snap["metadata"]["OauthOidcSettings"]["records"] == {"OauthOidc": None}
    apps = apps_from_snapshot(snap, origin="org").apps
    assert apps and all(a.get("org_settings.username_password_blocked") is None for a in apps)


def test_a_snapshot_from_before_the_settings_were_read_still_loads(fake_org):
    snap = pull_fake(fake_org)
    del snap["metadata"]["OauthOidcSettings"]
    result = apps_from_snapshot(snap, origin="old.json")
    assert result.errors == [] and result.apps
    assert all(a.get("org_settings.username_password_blocked") is None for a in result.apps)
