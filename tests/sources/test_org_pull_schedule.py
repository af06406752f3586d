"""How the large pull is scheduled: never more than `concurrency` requests in flight, the app holding
most tokens found in a few rounds of label splits, and user lookups going out while tokens are read."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from auditor.sources.org.auth import from_access_token
from auditor.sources.org.pull import PullSettings, pull
from auditor.sources.org.workpool import LATER, NORMAL, URGENT, PriorityPool
from tests.fakeorg.fixtures import trust
from tests.fakeorg.large import BIG_APP, large_org, large_scenario
from tests.fakeorg.server import FakeSalesforce


def test_the_pool_runs_the_most_urgent_first_and_never_more_than_its_workers():
    pool = PriorityPool(2)
    gate, order, running, most = threading.Event(), [], [0], [0]
    lock = threading.Lock()

    def work(name: str) -> str:
        with lock:
            order.append(name)  # the order work starts in
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(5)
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return name

    blockers = [pool.submit(work, f"first{i}") for i in range(2)]
    time.sleep(0.05)  # both workers busy: what follows queues
    later = [pool.submit_at(LATER, work, "later1"), pool.submit_at(LATER, work, "later2")]
    normal = pool.submit_at(NORMAL, work, "normal")
    urgent = [pool.submit_at(URGENT, work, "urgent1"), pool.submit_at(URGENT, work, "urgent2")]
    gate.set()
    assert [f.result(5) for f in blockers + urgent + [normal] + later]
    assert most[0] == 2
    assert order[2:] == ["urgent1", "urgent2", "normal", "later1", "later2"]
    pool.shutdown()


def test_shutdown_cancels_what_has_not_started():
    pool = PriorityPool(1)
    gate = threading.Event()
    first = pool.submit(gate.wait, 5)
    time.sleep(0.05)
    queued = pool.submit(lambda: "never")
    gate.set()
    pool.shutdown(wait=True, cancel_futures=True)
    assert first.result() is True
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


@pytest.fixture(scope="module")
def scenario():
    return large_scenario(apps=120, users=3_000, tokens=6_000, big_app_tokens=2_700, logins=50)


def test_big_app_found_in_few_splits_and_user_lookups_overlap_the_token_read(scenario, monkeypatch):
    fake = FakeSalesforce(large_org(scenario), latency=0.01).start()
    trust(monkeypatch, fake)
    try:
        snap = pull(from_access_token(fake.url, fake.token), PullSettings(integration_users=[], concurrency=4))
    finally:
        fake.stop()
    assert snap["errors"] == []
    assert fake.max_in_flight <= 4
    key = ("AppName", "UserId", "CreatedDate", "LastUsedDate")
    assert Counter(tuple(r[k] for k in key) for r in snap["soql"]["OauthToken"]) == \
        Counter(tuple(r[k] for k in key) for r in fake.data.tables["OauthToken"])  # every token once
    label = scenario.apps[BIG_APP].label
    soqls = [r.soql or "" for r in fake.requests]
    # Counted in a slice of 40 labels, then a group sized by the count, then a group of 8 ways or
    # fewer: at most three slices of several labels name it (halving took six).
    groups = [q for q in soqls if q.startswith("SELECT COUNT() FROM OauthToken WHERE AppName IN (")
              and f"'{label}'" in q]
    assert 1 <= len(groups) <= 3, groups
    lookups = [i for i, q in enumerate(soqls) if q.startswith("SELECT Id, Username") and " WHERE Id IN (" in q]
    tokens = [i for i, r in enumerate(fake.requests) if " FROM OauthToken" in (r.soql or "")
              or r.path.startswith("/services/data/v66.0/query/01g")]
    assert len(lookups) >= 2
    assert lookups[0] < tokens[-1]  # the first lookup went out before the last token page
    ids = [i.strip("' ") for q in soqls if " WHERE Id IN (" in q for i in q.split(" WHERE Id IN (")[1][:-1].split(",")]
    assert len(ids) == len(set(ids))  # each user asked once
