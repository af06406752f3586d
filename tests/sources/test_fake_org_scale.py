"""The fake org keeps Salesforce's limits at scale, through simple-salesforce over HTTPS: a silent
2,500-row cap and 500-row pages on OauthToken, SELECT COUNT(), the OFFSET limit, LoginHistory's
filterable fields, UserLogin and permission set groups."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from auditor.sources.org.client import make_session
from tests.fakeorg.fixtures import trust
from tests.fakeorg.large import BIG_APP, large_org, large_scenario
from tests.fakeorg.server import FakeSalesforce


@pytest.fixture(scope="module")
def scenario():
    return large_scenario(apps=40, users=3_000, tokens=4_000, big_app_tokens=2_700, logins=300)


@pytest.fixture()
def sf(scenario, monkeypatch):
    fake = FakeSalesforce(large_org(scenario)).start()
    trust(monkeypatch, fake)
    yield Salesforce(instance_url=fake.url, session_id=fake.token, session=make_session(), version="66.0"), fake
    fake.stop()


def test_oauth_token_stops_at_2500_rows_silently_in_pages_of_500(sf, scenario):
    client, fake = sf
    label = scenario.apps[BIG_APP].label
    first = client.query(f"SELECT AppName, UserId FROM OauthToken WHERE AppName = '{label}'")
    assert len(first["records"]) == 500 and not first["done"]
    rows = client.query_all(f"SELECT AppName, UserId FROM OauthToken WHERE AppName = '{label}'")["records"]
    assert len(rows) == 2500  # nothing says 200 more exist
    assert sum(1 for t in scenario.tokens if t.app_label == label) == 2700
    count = client.query(f"SELECT COUNT() FROM OauthToken WHERE AppName = '{label}'")
    assert count["totalSize"] == 2700 and count["records"] == []


def test_offset_above_2000_is_refused(sf):
    client, _ = sf
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.query("SELECT AppName FROM OauthToken LIMIT 10 OFFSET 2001")
    assert refused.value.content[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert len(client.query("SELECT AppName FROM OauthToken LIMIT 10 OFFSET 2000")["records"]) == 10


def test_login_history_filters_only_on_filterable_fields(sf, scenario):
    client, _ = sf
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.query("SELECT Application FROM LoginHistory WHERE Application = 'Big App 001'")
    assert "can not be filtered" in refused.value.content[0]["message"]
    rows = client.query_all("SELECT Application, LoginTime FROM LoginHistory WHERE LoginTime >= LAST_N_DAYS:90 "
                            "AND LoginType = 'Remote Access 2.0'")["records"]
    expected = [x for x in scenario.logins if x.login_type == "Remote Access 2.0"
                and (scenario.now - x.time).days < 90]
    assert len(rows) == len(expected)


def test_user_login_and_permission_set_groups(sf, scenario):
    client, _ = sf
    frozen = client.query_all("SELECT UserId, User.Username FROM UserLogin WHERE IsFrozen = true")["records"]
    assert {r["User"]["Username"] for r in frozen} == {u.username for u in scenario.users if u.frozen}
    components = client.query_all("SELECT PermissionSetGroup.DeveloperName, PermissionSet.Name "
                                  "FROM PermissionSetGroupComponent")["records"]
    assert {(r["PermissionSetGroup"]["DeveloperName"], r["PermissionSet"]["Name"]) for r in components} == \
        {(g, m) for g, members in scenario.groups.items() for m in members}
