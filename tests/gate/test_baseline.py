"""Baselines keyed on semantic identity survive reformatting, reordering, CRLF and moving."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.gate import baseline
from auditor.pipeline import AuditOptions, audit
from tests.ci_support import reformat
from tests.conftest import CI_APPS, ECA_APPS, run_cli

PROJECTS = (CI_APPS.name, ECA_APPS.name)


def copy_projects(target: Path) -> list[Path]:
    copies = []
    for name in PROJECTS:
        copies.append(Path(shutil.copytree(CI_APPS.parent / name, target / name)))
    return copies


def scan(paths: list[Path]):
    return audit(AuditOptions(paths=[str(p) for p in paths]))


def test_round_trip_survives_reformat_reorder_crlf_and_move(tmp_path):
    first = copy_projects(tmp_path / "checkout")
    report = scan(first)
    assert not report.input_errors
    assert len(report.active_findings) >= 10
    lines_before = {f.fingerprint: f.location.line for f in report.findings}
    baseline_file = tmp_path / "ca-audit-baseline.json"
    assert baseline.write(report, baseline_file) == len({f.fingerprint for f in report.active_findings})

    reformat(tmp_path / "checkout")
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.move(str(tmp_path / "checkout"), str(moved))
    again = scan([moved / name for name in PROJECTS])
    assert not again.input_errors
    assert len(again.findings) == len(report.findings)
    # the reformatting really moved the findings to other lines
    assert {f.location.line for f in again.findings} != set(lines_before.values())

    outcome = baseline.apply(again, baseline.load(baseline_file))
    assert outcome.new == [] and outcome.gone == []
    assert len(outcome.known) == len(report.findings)
    assert again.findings == [] and again.exit_code() == 0
    assert any("known finding(s) not shown" in m for m in again.messages)


def test_fixed_finding_is_listed_as_gone_and_new_one_is_reported(tmp_path):
    projects = copy_projects(tmp_path)
    baseline_file = tmp_path / "base.json"
    baseline.write(scan(projects), baseline_file)

    app_file = projects[0] / "force-app/main/default/connectedApps/AzureConnectedApp.connectedApp-meta.xml"
    text = app_file.read_text(encoding="utf-8")
    text = text.replace("<isPkceRequired>false</isPkceRequired>", "<isPkceRequired>true</isPkceRequired>")
    text = text.replace("<scopes>Web</scopes>", "<scopes>Web</scopes>\n        <scopes>Full</scopes>")
    app_file.write_text(text, encoding="utf-8")

    report = scan(projects)
    outcome = baseline.apply(report, baseline.load(baseline_file))
    assert [(e["rule_id"], e["app"]) for e in outcome.gone] == [("CA-16", "AzureConnectedApp")]
    assert [(f.rule_id, f.app) for f in outcome.new] == [("CA-14", "AzureConnectedApp")]
    assert [(f.rule_id, f.app) for f in report.findings] == [("CA-14", "AzureConnectedApp")]
    assert any("no longer occur" in m and "CA-16 AzureConnectedApp" in m for m in report.messages)


def test_cli_write_then_baseline(tmp_path):
    projects = copy_projects(tmp_path / "repo")
    baseline_file = tmp_path / "repo" / ".ca-audit-baseline.json"
    done = run_cli("scan", *map(str, projects), "--write-baseline", str(baseline_file), "--format", "json")
    assert done.returncode == 1, done.stderr
    assert "wrote" in done.stderr and baseline_file.is_file()
    data = json.loads(baseline_file.read_text())
    assert data["tool"] == "ca-audit" and all("line" not in e for e in data["findings"])

    reformat(tmp_path / "repo")
    done = run_cli("scan", *map(str, projects), "--baseline", str(baseline_file), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["findings"] == [] and result["summary"]["apps"] == 6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "not a JSON baseline"),
        ('{"tool": "other"}', "not a ca-audit baseline"),
        ('{"tool": "ca-audit", "baseline_version": 1, "findings": [{"rule_id": "CA-01"}]}', "lacks kind, app"),
    ],
)
def test_bad_baseline_is_a_usage_error(tmp_path, content, message):
    project = copy_projects(tmp_path)[0]
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(baseline.BaselineError, match=message):
        baseline.load(path)
    done = run_cli("scan", str(project), "--baseline", str(path))
    assert done.returncode == 2 and message in done.stderr


def test_waived_findings_are_not_recorded(tmp_path):
    project = copy_projects(tmp_path)[0]
    (project / ".ca-audit.yaml").write_text(
        "waivers:\n  - {rule: CA-18, app: AzureConnectedApp, reason: vendor limitation}\n", encoding="utf-8"
    )
    report = scan([project])
    waived = [f for f in report.findings if f.waived]
    assert [(f.rule_id, f.app) for f in waived] == [("CA-18", "AzureConnectedApp")]
    data = baseline.build(report)
    assert ("CA-18", "AzureConnectedApp") not in {(e["rule_id"], e["app"]) for e in data["findings"]}


def test_formats_after_a_baseline(tmp_path, monkeypatch):
    import xml.etree.ElementTree as ET

    from auditor.formats import render

    monkeypatch.chdir(tmp_path)
    projects = copy_projects(tmp_path)
    baseline_file = tmp_path / "base.json"
    baseline.write(scan(projects), baseline_file)
    report = scan(projects)
    outcome = baseline.apply(report, baseline.load(baseline_file))
    junit = ET.fromstring(render("junit", report))
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == len(outcome.known)
    assert all("in the baseline" in c.find("skipped").get("message") for c in skipped)
    assert junit.get("failures") == "0"
    sarif = json.loads(render("sarif", report))
    assert sarif["runs"][0]["results"] == []
    assert any(
        "known finding(s) not shown" in n["message"]["text"]
        for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    )
    assert "known finding(s) not shown" in render("markdown", report)
