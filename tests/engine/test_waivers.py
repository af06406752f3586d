"""Waivers: shown as waived in every format, never failing; expiry on an injected clock;
unmatched waivers reported; a waiver without a reason is a config error."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.formats import render
from auditor.pipeline import AuditOptions, audit
from tests.ci_support import assert_valid_sarif
from tests.conftest import CI_APPS, run_cli

WAIVERS = """\
fail_on: high
waivers:
  - rule: CA-05
    app: Jenkins
    reason: "certificate replaced in prod by the vendor, TICKET-42"
    owner: integrations-team
    ticket: TICKET-42
    expires: 2027-03-31
  - {rule: CA-05, app: PROD_KEY, reason: "rotation scheduled", expires: 2026-06-30}
  - {rule: CA-99, app: Gone_App, reason: "app was deleted"}
"""


@pytest.fixture
def project(tmp_path) -> Path:
    root = Path(shutil.copytree(CI_APPS, tmp_path / "project"))
    (root / ".ca-audit.yaml").write_text(WAIVERS, encoding="utf-8")
    return root


def scan(project: Path, today: dt.date):
    return audit(AuditOptions(paths=[str(project)], today=today))


def findings(report, rule_id, app):
    return [f for f in report.findings if f.rule_id == rule_id and f.app == app]


def test_active_waiver_silences_and_never_fails(project, monkeypatch):
    report = scan(project, dt.date(2026, 1, 15))
    (jenkins,) = findings(report, "CA-05", "Jenkins")
    (prod,) = findings(report, "CA-05", "PROD_KEY")
    assert jenkins.waived and prod.waived
    assert jenkins.waived_by["owner"] == "integrations-team" and jenkins.waived_by["ticket"] == "TICKET-42"
    assert report.failing_findings == [] and report.exit_code() == 0
    assert "waiver for CA-99 on Gone_App matches no finding; remove it" in report.messages


def test_waived_is_visible_in_every_format(project, monkeypatch):
    monkeypatch.chdir(project.parent)
    report = scan(project, dt.date(2026, 1, 15))

    table = render("table", report)
    assert "waived: certificate replaced in prod by the vendor, TICKET-42" in table

    data = json.loads(render("json", report))
    waived = [f for f in data["findings"] if f.get("waived")]
    assert {(f["rule_id"], f["app"]) for f in waived} == {("CA-05", "Jenkins"), ("CA-05", "PROD_KEY")}

    sarif = json.loads(render("sarif", report))
    assert_valid_sarif(sarif)
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert {r["properties"]["app"] for r in suppressed} == {"Jenkins", "PROD_KEY"}
    assert all(r["suppressions"][0]["kind"] == "external" for r in suppressed)
    assert any("TICKET-42" in r["suppressions"][0]["justification"] for r in suppressed)

    junit = ET.fromstring(render("junit", report))
    case = next(c for c in junit.iter("testcase") if c.get("name") == "Jenkins :: CA-05")
    assert case.find("skipped").get("message").startswith("waived: certificate replaced")
    assert junit.get("failures") == "0"

    markdown = render("markdown", report)
    assert "Waived findings (2)" in markdown and "integrations-team" in markdown

    github = render("github", report)
    line = next(x for x in github.splitlines() if x.startswith("::") and "CA-05" in x and "Jenkins" in x)
    assert line.startswith("::notice ") and "[waived]" in line


def test_expired_waiver_stops_waiving_and_says_since_when(project):
    report = scan(project, dt.date(2026, 7, 1))
    (prod,) = findings(report, "CA-05", "PROD_KEY")
    assert not prod.waived
    assert "waiver expired on 2026-06-30 (rotation scheduled)" in prod.notes
    assert any("expired on 2026-06-30" in m for m in report.messages)
    assert prod in report.failing_findings and report.exit_code() == 1
    (jenkins,) = findings(report, "CA-05", "Jenkins")
    assert jenkins.waived  # expires 2027-03-31: still active
    assert "waiver expired on 2026-06-30" in render("github", report)


def test_the_expiry_day_itself_still_waives(project):
    report = scan(project, dt.date(2026, 6, 30))
    assert findings(report, "CA-05", "PROD_KEY")[0].waived


def test_expired_waiver_matching_nothing_is_reported(project):
    config = project / ".ca-audit.yaml"
    config.write_text(WAIVERS + '  - {rule: CA-18, app: Old_App, reason: "legacy", expires: 2025-01-01}\n')
    report = scan(project, dt.date(2026, 1, 15))
    assert "waiver for CA-18 on Old_App expired on 2025-01-01 and matches no finding; remove it" in report.messages


@pytest.mark.parametrize("entry", ["{rule: CA-05, app: Jenkins}", '{rule: CA-05, app: Jenkins, reason: "  "}'])
def test_waiver_without_reason_is_a_config_error(project, entry):
    (project / ".ca-audit.yaml").write_text(f"waivers:\n  - {entry}\n", encoding="utf-8")
    done = run_cli("scan", str(project))
    assert done.returncode == 2
    assert "reason" in done.stdout + done.stderr
