"""sample_configs/org.snapshot.json: a newcomer sees every org rule fire without an org, and the
committed snapshot stays what a pull of the sample org gives today."""

from __future__ import annotations

import json

from auditor.sources.org.auth import from_access_token
from auditor.sources.org.pull import PullSettings, pull
from tests.cli.test_org_cli import EXPECTED_COMPARE_FINDINGS, EXPECTED_ORG_FINDINGS, ORG_RULES
from tests.conftest import REPO, SAMPLE, run_cli
from tests.fakeorg.fixtures import fake_org_fixture  # noqa: F401 - the fake_org fixture
from tests.fakeorg.make_snapshot import SAMPLE_INSTANCE_URL
from tests.fakeorg.sample import INTEGRATION_USERS

SNAPSHOT = SAMPLE / "org.snapshot.json"
VOLATILE = ("CreatedDate", "LastModifiedDate", "LastUsedDate", "ExpirationDate")


def org_findings(report: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["app"]) for f in report["findings"] if f["rule_id"] in ORG_RULES}


def test_sample_snapshot_shows_every_org_rule():
    done = run_cli("scan", str(SNAPSHOT.relative_to(REPO)), "--format", "json")
    report = json.loads(done.stdout)
    assert report["input_errors"] == [] and done.returncode == 1
    assert org_findings(report) == EXPECTED_ORG_FINDINGS


def test_sample_project_against_its_snapshot():
    done = run_cli("scan", "sample_configs", "sample_configs/org.snapshot.json", "--format", "json")
    report = json.loads(done.stdout)
    assert report["input_errors"] == [] and done.returncode == 1
    assert org_findings(report) == EXPECTED_COMPARE_FINDINGS
    assert {rule for rule, _ in org_findings(report)} == ORG_RULES


def test_sample_snapshot_is_current(fake_org):
    fresh = pull(from_access_token(fake_org.url, fake_org.token), PullSettings(integration_users=INTEGRATION_USERS))
    fresh["provenance"]["instance_url"] = fresh["provenance"]["target"] = SAMPLE_INSTANCE_URL
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert _stable(fresh) == _stable(committed), \
        "sample_configs/org.snapshot.json is stale: run `python -m tests.fakeorg.make_snapshot`"


def _stable(value):
    """The snapshot without the values that depend on when it was pulled."""
    if isinstance(value, dict):
        return {k: ("<time>" if k in VOLATILE or k == "pulled_at" else _stable(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value
