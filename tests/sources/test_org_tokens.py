"""OauthToken past the 2,500-row cap with many apps: the query for the tokens of apps that are not
installed (`AppName NOT IN` every installed label) must fit in a GET URL, which Salesforce caps at
16,384 bytes with the headers (414 URI Too Long beyond: Help article 000386264). With more labels
than fit, the whole table is read in CreatedDate windows, every token exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from auditor.sources.org.auth import from_access_token
from auditor.sources.org.client import make_session
from auditor.sources.org.pull import PullSettings, pull, request_budget
from auditor.sources.org.soql import QUERY_URL_BUDGET, url_length
from auditor.sources.org.tokens import LABELS_PER_SLICE, TOKEN_FIELDS, TokenSlice, fits, token_plan
from tests.fakeorg.fixtures import trust
from tests.fakeorg.large import large_org, large_scenario
from tests.fakeorg.server import MAX_URI_AND_HEADERS, FakeSalesforce

APPS = 800


@pytest.fixture(scope="module")
def scenario():
    # 800 apps, few users, 3,000 tokens spread over two years: over the cap, and too many labels for
    # one `AppName NOT IN (…)` query.
    return large_scenario(apps=APPS, users=300, tokens=3_000, big_app_tokens=100, logins=50)


@pytest.fixture()
def fake(scenario, monkeypatch):
    fake = FakeSalesforce(large_org(scenario)).start()
    trust(monkeypatch, fake)
    yield fake
    fake.stop()


def token_key(row: dict) -> tuple:
    return row["AppName"], row["UserId"], row["CreatedDate"], row["LastUsedDate"]


def test_the_fake_refuses_a_query_url_over_salesforce_limit(fake, scenario):
    """What the read used to send with 800 apps: one `AppName NOT IN` query naming every label."""
    labels = sorted(a.label for a in scenario.apps)
    soql = TOKEN_FIELDS + TokenSlice(others=tuple(labels)).where()
    assert url_length(soql) > MAX_URI_AND_HEADERS
    client = Salesforce(instance_url=fake.url, session_id=fake.token, session=make_session(), version="66.0")
    with pytest.raises(SalesforceGeneralError) as refused:
        client.query(soql)
    assert refused.value.status == 414
    short = TOKEN_FIELDS + TokenSlice(others=tuple(labels[:100])).where()
    assert client.query(short)["totalSize"] > 0


def test_every_token_is_read_once_with_800_apps(fake, scenario):
    labels = sorted(a.label for a in scenario.apps)
    assert token_plan(labels) is None  # too many labels for the NOT IN query: CreatedDate windows
    snap = pull(from_access_token(fake.url, fake.token), PullSettings(integration_users=[]))
    assert snap["errors"] == []
    table = fake.data.tables["OauthToken"]
    assert len(table) == len(scenario.tokens) == 3_000
    assert Counter(token_key(r) for r in snap["soql"]["OauthToken"]) == Counter(token_key(r) for r in table)
    assert all(len(r.path) + len(r.query) + 1 <= QUERY_URL_BUDGET + 100 for r in fake.requests)
    token_queries = [r.soql for r in fake.requests if r.soql and " FROM OauthToken" in r.soql]
    assert not any("AppName" in q.split(" FROM ")[1] for q in token_queries)
    windows = [q for q in token_queries if q.startswith("SELECT COUNT()") and "CreatedDate >=" in q]
    assert len(windows) >= 2
    budget = request_budget(apps=APPS, users=len(snap["soql"]["AccessUsers"]), tokens=len(table),
                            login_rows=len(scenario.logins), grants=len(snap["soql"]["SetupEntityAccess"]),
                            assignment_rows=len(snap["soql"]["AccessAssignments"]),
                            profile_users=len(snap["soql"]["AccessUsers"]), token_slices=0)
    assert len(fake.requests) <= budget, (len(fake.requests), budget)


def test_the_windows_must_add_up_to_the_count(fake):
    # The org counts one token more than its windows hold (one created during the read).
    fake.inject("GET", r"/query/?\?q=SELECT\+COUNT%28%29\+FROM\+OauthToken$", 200,
                {"totalSize": 3_001, "done": True, "records": []})
    snap = pull(from_access_token(fake.url, fake.token), PullSettings(integration_users=[]))
    assert snap["errors"] == [{"what": "SOQL OauthToken", "message": (
        "the slices read add up to 3000 tokens but the org counted 3001; tokens were created or revoked during "
        "the read, so pull again")}]


def test_label_slices_stay_within_the_url_budget():
    short = [f"App {i:03d}" for i in range(300)]
    plan = token_plan(short)
    assert plan is not None
    assert [len(p.labels or ()) for p in plan[:-1]] == [LABELS_PER_SLICE] * 7 + [20]
    assert plan[-1].others == tuple(sorted(short))
    # Long labels (non-ASCII: 6 URL characters a letter): 10 fit in one URL, 20 do not.
    long = [f"Ünïcödé {i:03d} " + "é" * 120 for i in range(20)]
    plan = token_plan(long[:10])
    assert plan is not None and len(plan) == 2 and all(fits(p) for p in plan)
    assert url_length(TOKEN_FIELDS + plan[-1].where()) > QUERY_URL_BUDGET // 2
    assert token_plan(long) is None and not fits(TokenSlice(labels=tuple(long)))
