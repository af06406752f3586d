"""`ca-audit access` on the generated enterprise org: every answer is computed here from the scenario's
plain data (who holds which profile, assignment, token and login), never from ca-audit's code."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest

from auditor.sources.snapshot import write
from tests.fakeorg.fixtures import invoke, trust
from tests.fakeorg.large import BIG_APP, OAUTH_LOGIN, UNINSTALLED_APP, large_org, large_scenario
from tests.fakeorg.server import UNKNOWN_EXCEPTION, FakeSalesforce

SAMPLE = Path(__file__).resolve().parents[2] / "sample_configs"


@pytest.fixture(scope="module")
def scenario():
    # Smaller than the bench's 300 apps / 20,000 users / 30,000 tokens so the suite stays quick; one app
    # still holds more than 2,500 tokens and the whole table is over the cap.
    return large_scenario(apps=60, users=4_000, tokens=6_000, big_app_tokens=2_800, logins=800)


@pytest.fixture(scope="module")
def pulled(scenario, tmp_path_factory):
    """One pull of the large org into a snapshot file (the fake is stopped afterwards)."""
    monkeypatch = pytest.MonkeyPatch()
    fake = FakeSalesforce(large_org(scenario)).start()
    trust(monkeypatch, fake)
    folder = tmp_path_factory.mktemp("large")
    try:
        result = invoke("pull", "--instance-url", fake.url, "--access-token", fake.token, "-o",
                        str(folder / "org.snapshot.json"), cwd=folder)
        assert result.exit_code == 0, result.stderr
        requests = len(fake.requests)
        assert fake.writes() == []
    finally:
        fake.stop()
        monkeypatch.undo()
    return folder / "org.snapshot.json", requests


def iso(when: dt.datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def expected(scenario, pulled_at: dt.datetime) -> dict[str, dict]:
    users = {u.username: u for u in scenario.users}
    today = pulled_at.date()
    valid = [a for a in scenario.assignments if a.expires is None or a.expires > today]
    lapsed = [a for a in scenario.assignments if a.expires is not None and a.expires <= today]

    def routes(spec, assignments) -> dict[str, set[str]]:
        via: dict[str, set[str]] = defaultdict(set)
        for a in assignments:
            if a.permission_set in spec.permission_sets:
                via[a.username].add(f"permission_set:{a.permission_set}")
            if a.group and (a.group in spec.groups or set(scenario.groups[a.group]) & set(spec.permission_sets)):
                via[a.username].add(f"permission_set_group:{a.group}")
        return via

    out = {}
    for spec in scenario.apps:
        if spec.admin_approved:
            via = routes(spec, valid)
            for user in scenario.users:
                if user.profile in spec.profiles:
                    via[user.username].add(f"profile:{user.profile}")
            holders = [{"username": name, "via": sorted(how), "active": users[name].active,
                        "frozen": users[name].frozen} for name, how in sorted(via.items())]
            # Users reached only through assignments that expired: shown, not counted.
            gone = [{"username": name, "via": sorted(how), "active": users[name].active,
                     "frozen": users[name].frozen, "expired_on": max(
                         a.expires for a in lapsed if a.username == name and routes(spec, [a])).isoformat()}
                    for name, how in sorted(routes(spec, lapsed).items()) if name not in via]
            can_use = {"scope": "assigned", "count": sum(1 for h in holders if h["active"] and not h["frozen"]),
                       "users": holders, "expired": gone}
        else:
            can_use = {"scope": "all_users", "count": sum(1 for u in scenario.users if u.active and not u.frozen),
                       "users": [], "expired": []}
        out[spec.name] = {"permitted_users": "admin_approved" if spec.admin_approved else "self_authorized",
                          "can_use": can_use, "uses": uses(scenario, spec.label, pulled_at)}
    return out


def uses(scenario, label: str, pulled_at: dt.datetime) -> dict:
    tokens = [t for t in scenario.tokens if t.app_label == label]
    people = {u.username: u for u in scenario.users}
    per_user: dict[str, dict] = {}
    for t in tokens:
        entry = per_user.setdefault(t.username, {"username": t.username, "tokens": 0, "last_used": None,
                                                 "active": people[t.username].active,
                                                 "frozen": people[t.username].frozen})
        entry["tokens"] += 1
        if t.last_used and (entry["last_used"] is None or iso(t.last_used) > entry["last_used"]):
            entry["last_used"] = iso(t.last_used)
    logins = [x.time for x in scenario.logins if x.app_label == label and x.login_type == OAUTH_LOGIN
              and x.status == "Success" and x.time >= pulled_at - dt.timedelta(days=90)]
    used = [t.last_used for t in tokens if t.last_used]
    return {"token_count": len(tokens), "token_users": len(per_user), "last_used": iso(max(used)) if used else None,
            "last_login": iso(max(logins)) if logins else None,
            "users": sorted(per_user.values(), key=lambda u: u["username"])}


def pulled_at(snapshot: Path) -> dt.datetime:
    data = json.loads(snapshot.read_text())
    return dt.datetime.strptime(data["provenance"]["pulled_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)


def test_access_json_matches_the_scenario_for_every_app_and_user(scenario, pulled):
    snapshot, _ = pulled
    result = invoke("access", str(snapshot), "--format", "json", cwd=snapshot.parent)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"tool", "org", "apps"}
    apps = {a["name"]: a for a in answer["apps"]}
    want = expected(scenario, pulled_at(snapshot))
    assert set(apps) == set(want) | {"Shadow_Export_Tool"}
    for name, expect in want.items():
        got = apps[name]
        assert got["kind"] == "connected_app"
        assert got["permitted_users"] == expect["permitted_users"], name
        assert got["can_use"] == expect["can_use"], name
        assert got["uses"] == expect["uses"], name
    big = apps[scenario.apps[BIG_APP].name]["uses"]
    assert big["token_count"] == 2_800  # more than the 2,500 one query returns
    assert sum(a["uses"]["token_count"] for a in answer["apps"]) == len(scenario.tokens)
    shadow = apps["Shadow_Export_Tool"]
    assert shadow["can_use"]["scope"] == "unknown"
    assert shadow["uses"] == uses(scenario, UNINSTALLED_APP, pulled_at(snapshot))
    # Frozen holders, expired assignments and group-granted access are all in play.
    holders = [u for a in answer["apps"] for u in a["can_use"]["users"]]
    assert any(u["frozen"] for u in holders) and any(not u["active"] for u in holders)
    assert any(a["can_use"]["expired"] for a in answer["apps"])
    assert any(v.startswith("permission_set_group:") for u in holders for v in u["via"])
    assert any(v.startswith("profile:") for u in holders for v in u["via"])


def test_access_table_csv_and_app_selection(scenario, pulled):
    snapshot, _ = pulled
    table = invoke("access", str(snapshot), cwd=snapshot.parent)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["APP", "PERMITTED", "USERS"]
    assert lines[1].split()[1] == "self_authorized"  # every active user: the widest exposure first
    spec = next(s for s in scenario.apps if s.admin_approved and s.groups)
    one = invoke("access", str(snapshot), spec.label, "--format", "csv", cwd=snapshot.parent)
    assert one.exit_code == 0, one.stderr
    rows = list(csv.DictReader(io.StringIO(one.stdout)))
    want = expected(scenario, pulled_at(snapshot))[spec.name]
    assert {r["app"] for r in rows} == {spec.name}
    usable = {r["username"] for r in rows if r["can_use"] == "yes"}
    assert usable == {u["username"] for u in want["can_use"]["users"] if u["active"] and not u["frozen"]}
    assert {r["username"] for r in rows} == {u["username"] for u in want["can_use"]["users"]} | \
        {u["username"] for u in want["can_use"]["expired"]} | {u["username"] for u in want["uses"]["users"]}
    assert {r["username"]: r["assignment_expired"] for r in rows if r["assignment_expired"]} == \
        {u["username"]: u["expired_on"] for u in want["can_use"]["expired"]}
    missing = invoke("access", str(snapshot), "No Such App", cwd=snapshot.parent)
    assert missing.exit_code == 2 and "no app named 'No Such App'" in missing.stderr


def test_dormant_means_no_token_use_and_no_oauth_login(scenario, pulled):
    snapshot, _ = pulled
    result = invoke("scan", str(snapshot), "--only", "CA-30", "--format", "json", cwd=snapshot.parent)
    report = json.loads(result.stdout)
    flagged = {f["app"] for f in report["findings"]}
    when = pulled_at(snapshot)
    dormant = set()
    for spec in scenario.apps:
        used = [t.last_used for t in scenario.tokens if t.app_label == spec.label and t.last_used]
        logged = [x for x in scenario.logins if x.app_label == spec.label and x.login_type == OAUTH_LOGIN
                  and x.status == "Success" and (when - x.time).days < 90]
        if not (used and (when - max(used)).days < 90) and not logged:
            dormant.add(spec.name)
    assert flagged == dormant
    # Apps whose tokens went stale but that had OAuth logins lately are not called dormant.
    assert any(not [t for t in scenario.tokens if t.app_label == s.label and t.last_used
                    and (when - t.last_used).days < 90] for s in scenario.apps if s.name not in flagged)


def test_within_the_read_budget(scenario, pulled):
    from auditor.sources.org.pull import request_budget

    _, requests = pulled
    data = json.loads(pulled[0].read_text())["soql"]
    budget = request_budget(apps=len(scenario.apps), users=len(data["AccessUsers"]), tokens=len(scenario.tokens),
                            apps_over_cap=1, tokens_over_cap=2_800, login_rows=len(scenario.logins),
                            grants=len(data["SetupEntityAccess"]), assignment_rows=len(data["AccessAssignments"]),
                            profile_users=len(data["AccessUsers"]))
    assert requests <= budget, (requests, budget)


def test_a_fault_mid_paging_names_the_unread_slice(scenario, monkeypatch, tmp_path):
    fake = FakeSalesforce(large_org(large_scenario(apps=20, users=3_000, tokens=3_000, big_app_tokens=2_600,
                                                   logins=50))).start()
    trust(monkeypatch, fake)
    try:
        # Every second page of the big app's token windows fails: the slice stays unread.
        fake.inject("GET", r"/query/01g5e", 500, UNKNOWN_EXCEPTION, times=None)
        result = invoke("pull", "--instance-url", fake.url, "--access-token", fake.token, "-o",
                        str(tmp_path / "s.json"), cwd=tmp_path)
    finally:
        fake.stop()
    assert result.exit_code == 2
    assert "not read: SOQL OauthToken: tokens of app 'Big App 007', created " in result.stderr
    assert "the snapshot is incomplete" in result.stderr


def test_old_snapshots_still_answer_and_say_what_is_unknown(tmp_path):
    data = json.loads((SAMPLE / "org.snapshot.json").read_text())
    data.pop("inventory")
    for key in ("AccessUsers", "AccessAssignments", "FrozenUsers", "OAuthLogins"):
        data["soql"].pop(key)
    write(data, tmp_path / "old.json")
    result = invoke("access", str(tmp_path / "old.json"), "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    apps = json.loads(result.stdout)["apps"]
    assert {a["can_use"]["scope"] for a in apps} == {"unknown"}
    assert next(a for a in apps if a["name"] == "Integration_App")["uses"]["token_count"] == 1


def test_sample_snapshot_frozen_and_integration_users():
    result = invoke("access", str(SAMPLE / "org.snapshot.json"), "Finance_Batch_Loader", "--format", "json",
                    cwd=SAMPLE)
    assert result.exit_code == 0, result.stderr
    (app,) = json.loads(result.stdout)["apps"]
    # The declared user's permission set assignment expired: nobody holds the app's permission set.
    assert (app["can_use"]["scope"], app["can_use"]["count"], app["can_use"]["users"]) == ("assigned", 0, [])
    assert app["integration_users"] == [{"username": "finance.batch@northwind.example.com", "status": "not covered"}]
