"""`--format gitlab`: GitLab's Code Quality report, checked against the fields GitLab documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from auditor.formats import render
from tests.ci_support import ODD_NAME, add_waiver, reformat, sample_copy, scan

# GitLab's "Code Quality report format" (docs.gitlab.com/ci/testing/code_quality, "Implement a
# custom tool"): an array of objects with `description`, `check_name`, `fingerprint`, `severity`
# (info, minor, major, critical, blocker), `location.path` (relative) and `location.lines.begin`
# (or `location.positions.begin.line`). Everything else in the Code Climate spec is ignored.
GITLAB_CODE_QUALITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\./|[A-Za-z]:)"}},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return sample_copy(tmp_path / "project")


def issues_of(report) -> list[dict]:
    document = json.loads(render("gitlab", report))
    errors = list(Draft202012Validator(GITLAB_CODE_QUALITY).iter_errors(document))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return document


def test_every_active_finding_is_an_issue_on_its_file_and_line(project):
    report = scan(Path("project"))
    issues = issues_of(report)
    active = [f for f in report.findings if not f.waived]
    assert len(issues) == len(active) and not report.input_errors
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab matches issues by fingerprint
    by_rule_and_path = {(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues}
    for finding in active:
        assert (finding.rule_id, f"project/{finding.location.path}", finding.location.line) in by_rule_and_path
        assert Path("project", finding.location.path).is_file()
    severities = {i["check_name"]: i["severity"] for i in issues}
    assert severities["CA-23"] == "blocker"  # critical in ca-audit
    assert any(i["location"]["path"].endswith(f"{ODD_NAME}.connectedApp-meta.xml") for i in issues)


def test_fingerprints_survive_reformatting(project, tmp_path):
    first = issues_of(scan(Path("project")))
    reformat(project)
    after = issues_of(scan(Path("project")))
    assert {i["fingerprint"] for i in after} == {i["fingerprint"] for i in first}
    lines = {i["fingerprint"]: i["location"]["lines"]["begin"] for i in first}
    assert any(lines[i["fingerprint"]] != i["location"]["lines"]["begin"] for i in after)  # lines moved


def test_waived_findings_are_left_out_and_input_errors_are_blockers(project):
    first = scan(Path("project"))
    target = first.failing_findings[0]
    add_waiver(project, target.rule_id, target.app, reason="accepted")
    broken = project / "force-app/main/default/connectedApps/Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><label>x</label", encoding="utf-8")
    report = scan(Path("project"))
    issues = issues_of(report)
    assert not any(i["check_name"] == target.rule_id and target.app in i["description"] for i in issues)
    (error,) = [i for i in issues if i["check_name"] == "ca-audit/input-error"]
    assert error["severity"] == "blocker" and error["location"]["path"].endswith("Broken.connectedApp-meta.xml")


def test_empty_report_is_an_empty_array(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(Path(__file__).resolve().parents[2] / "sample_configs", tmp_path / "p")
    for path in (tmp_path / "p" / "force-app").rglob("*-meta.xml"):
        path.unlink()
    assert issues_of(scan(Path("p"))) == []
