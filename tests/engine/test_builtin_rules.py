"""The built-in rule pack (rules/) and the sample project (sample_configs/) prove each other:
every rule's own fixtures pass, every rule fires on the sample, and the clean apps stay clean."""

from __future__ import annotations

from collections import defaultdict

import pytest

from auditor.engine.loader import load_rules
from auditor.engine.testing import run_rule_tests
from auditor.model import FIELDS, FLOW_NAMES
from tests.conftest import REPO, SAMPLE, SAMPLE_APPS, run_json

RULES_DIR = REPO / "rules"
# The rules that run on metadata alone; the org rules (issue 3) are tested with the fake org.
BUILTIN_IDS = [
    "CA-01", "CA-02", "CA-03", "CA-04", "CA-05", "CA-06", "CA-07", "CA-08", "CA-09", "CA-14", "CA-15",
    "CA-16", "CA-17", "CA-18", "CA-19", "CA-20", "CA-21", "CA-23", "CA-26", "CA-27", "CA-31",
]
CLEAN_APPS = {"Integration_App": "connected_app", "Order_Sync_Service": "external_client_app"}

# What each sample app is there to show. Exact, so that a rule change that adds noise to the
# sample (or silences a rule) is noticed here rather than by a user.
EXPECTED_SAMPLE_FINDINGS = {
    "SAML_Bearer_Integration": {"CA-01", "CA-02"},
    "MuleSoft_Sync": {"CA-09", "CA-21", "CA-26"},  # and CA-16, waived in .ca-audit.yaml
    "Legacy_Reporting": {"CA-07", "CA-14", "CA-16", "CA-17", "CA-18", "CA-23", "CA-27", "CA-31"},
    "Mobile_Field_App": {"CA-15", "CA-16", "CA-17", "CA-20"},
    "Finance_Batch_Loader": {"CA-05", "CA-08"},
    "GitHub_Actions_Deploy": {"CA-05", "CA-19"},
    "ERP_Connector": {"CA-03", "CA-05"},
    "Heroku_Event_Relay": {"CA-04", "CA-06"},
    "Warehouse_Scanner": {"CA-26"},
    "Partner_Portal": {"CA-34", "CA-35", "CA-37"},  # CA-37: the allow-list in .ca-audit.yaml
    "Data_Warehouse_Admin": {"CA-36"},
}


@pytest.fixture(scope="module")
def builtin_rules():
    rules, errors = load_rules([RULES_DIR])
    assert not errors, "\n".join(str(e) for e in errors)
    return {rule.id: rule for rule in rules}


@pytest.fixture(scope="module")
def sample_report():
    code, report = run_json("scan", str(SAMPLE))
    assert report["summary"]["input_errors"] == 0, report["input_errors"]
    assert code == 1  # the sample has findings at or above its fail_on: high
    return report


def _active_by_app(report: dict) -> dict[str, list[dict]]:
    by_app: dict[str, list[dict]] = defaultdict(list)
    for finding in report["findings"]:
        if not finding.get("waived"):
            by_app[finding["app"]].append(finding)
    return by_app


def test_the_pack_holds_every_metadata_rule(builtin_rules):
    assert set(BUILTIN_IDS) <= set(builtin_rules)
    for rule_id, rule in builtin_rules.items():
        assert rule.source_path.endswith(f"{rule_id}.yaml")


@pytest.mark.parametrize("rule_id", BUILTIN_IDS)
def test_rule_fixtures(builtin_rules, rule_id):
    rule = builtin_rules[rule_id]
    outcomes = {next(iter(case)) for case in rule.tests}
    assert outcomes == {"pass", "fail"}, f"{rule_id} needs at least one pass and one fail case"
    kinds = {next(iter(case.values())).get("kind", rule.applies_to[0]) for case in rule.tests}
    assert "external_client_app" in kinds, f"{rule_id} has no External Client App fixture"
    failures = [r for r in run_rule_tests([rule]) if not r.ok]
    assert not failures, [f"tests.{r.index} ({r.expected}): {r.detail}" for r in failures]


@pytest.mark.parametrize("rule_id", BUILTIN_IDS)
def test_rule_documentation(builtin_rules, rule_id):
    rule = builtin_rules[rule_id]
    assert rule.why and rule.fix and rule.title
    assert rule.location in FIELDS
    assert rule.references and all(url.startswith("https://") for url in rule.references)
    assert any(tag in FLOW_NAMES for tag in rule.tags), f"{rule_id} names no flow in its tags"
    # Every rule applies to both kinds, so its fix must say what to change for each.
    assert set(rule.applies_to) == {"connected_app", "external_client_app"}
    assert "App Manager" in rule.fix and "External Client App Manager" in rule.fix


def test_every_builtin_rule_fires_on_the_sample(sample_report):
    fired = {f["rule_id"] for findings in _active_by_app(sample_report).values() for f in findings}
    assert sorted(set(BUILTIN_IDS) - fired) == []


def test_sample_apps_show_what_they_are_there_for(sample_report):
    found = {app: {f["rule_id"] for f in findings} for app, findings in _active_by_app(sample_report).items()}
    assert found == EXPECTED_SAMPLE_FINDINGS


def test_clean_apps_pass_everything(sample_report):
    audited = {app["name"]: app["kind"] for app in sample_report["apps"]}
    for name, kind in CLEAN_APPS.items():
        assert audited.get(name) == kind, f"{name} was not audited as a {kind}"
    noisy = [(f["app"], f["rule_id"]) for f in sample_report["findings"] if f["app"] in CLEAN_APPS]
    assert noisy == []


def test_saml_bearer_integration_is_diagnosed(sample_report):
    findings = {f["rule_id"]: f for f in _active_by_app(sample_report)["SAML_Bearer_Integration"]}
    assert findings["CA-01"]["severity"] == "high"  # self-authorized, so not the admin-approved medium
    assert "CA-02" in findings
    assert all(f["kind"] == "connected_app" for f in findings.values())


def test_certificate_findings_state_their_severity(sample_report):
    severities = {f["app"]: f["severity"] for f in sample_report["findings"] if f["rule_id"] == "CA-05"}
    assert severities == {
        "Finance_Batch_Loader": "high",  # expired; stored as a full PEM with headers
        "ERP_Connector": "medium",  # RSA 1024 with a SHA-1 signature
        "GitHub_Actions_Deploy": "medium",  # a certificate name, not a certificate
    }


def test_sample_config_is_applied(sample_report):
    waived = [(f["app"], f["rule_id"]) for f in sample_report["findings"] if f.get("waived")]
    assert waived == [("MuleSoft_Sync", "CA-16")]
    overridden = [f for f in sample_report["findings"] if f["rule_id"] == "CA-21"]
    assert [f["severity"] for f in overridden] == ["high"]  # raised from medium in .ca-audit.yaml
    # CA-04 fires only because .ca-audit.yaml declares Heroku_Event_Relay a JWT bearer app.
    assert any(f["rule_id"] == "CA-04" and f["app"] == "Heroku_Event_Relay" for f in sample_report["findings"])


def test_the_sample_app_count_the_tests_rely_on(sample_report):
    assert len(sample_report["apps"]) == SAMPLE_APPS
