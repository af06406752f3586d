"""JUnit XML on the real pipeline, parsed with an XML parser: suites, names, counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.formats import render
from tests.ci_support import ODD_NAME, add_waiver, sample_copy, scan
from tests.conftest import CI_APPS, run_cli


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return sample_copy(tmp_path / "project")


def parse(report) -> ET.Element:
    text = render("junit", report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def counts(element) -> dict[str, int]:
    return {k: int(element.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def tally(cases) -> dict[str, int]:
    cases = list(cases)
    return {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }


def test_one_suite_per_root_one_case_per_check(project):
    report = scan(Path("project"))
    root = parse(report)
    assert root.tag == "testsuites" and root.get("name") == "ca-audit"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "project"
    cases = suite.findall("testcase")
    assert len(cases) == len(report.checks)
    names = [c.get("name") for c in cases]
    assert len(set(names)) == len(names)
    expected = {f"{c.app.name} :: {c.rule_id}" for c in report.checks}
    assert set(names) == expected
    for case in cases:
        assert case.get("classname") == case.get("name").rsplit(" :: ", 1)[1]
        assert Path(case.get("file")).is_file()  # the metadata path, from the checkout
    assert any(n.startswith(f"{ODD_NAME} :: ") for n in names)


def test_failures_skips_passes_and_counts(project):
    first = scan(Path("project"))
    target = next(f for f in first.failing_findings if f.app != ODD_NAME)
    add_waiver(project, target.rule_id, target.app, reason="accepted until the vendor upgrade")
    report = scan(Path("project"))
    root = parse(report)
    cases = {c.get("name"): c for c in root.iter("testcase")}

    for finding in report.findings:
        case = cases[f"{finding.app} :: {finding.rule_id}"]
        if finding.waived:
            assert case.find("skipped").get("message").startswith("waived: ")
        elif finding.severity >= report.fail_on:
            failure = case.find("failure")
            assert failure.get("type") == str(finding.severity)
            assert failure.get("message") == finding.message
            assert finding.fix.split()[0] in failure.text
        else:
            assert "below fail_on" in case.find("skipped").get("message")
    assert "waived: accepted until the vendor upgrade" in cases[f"{target.app} :: {target.rule_id}"].find(
        "skipped"
    ).get("message")
    passes = [c for c in report.checks if c.finding is None]
    assert all(list(cases[f"{c.app.name} :: {c.rule_id}"]) == [] for c in passes)

    expected = {
        "tests": len(report.checks),
        "failures": len(report.failing_findings),
        "errors": 0,
        "skipped": len(report.findings) - len(report.failing_findings),
    }
    assert counts(root) == expected == tally(root.iter("testcase"))
    assert counts(root.find("testsuite")) == expected


def test_lower_fail_on_turns_skips_into_failures(project):
    report = scan(Path("project"), fail_on="info")
    root = parse(report)
    assert counts(root)["failures"] == len(report.active_findings)
    assert counts(root)["skipped"] == len(report.findings) - len(report.active_findings)


def test_two_roots_two_suites_and_input_errors(project):
    other = CI_APPS
    broken = project / "force-app/main/default/connectedApps/Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><label>x</label>", encoding="utf-8")
    report = scan(Path("project"), other)
    assert report.input_errors
    root = parse(report)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["project", str(other), "ca-audit input"]
    for suite in suites:
        assert counts(suite) == tally(suite.findall("testcase"))
    assert counts(suites[2])["errors"] == len(report.input_errors)
    assert counts(root) == tally(root.iter("testcase"))
    error = suites[2].find("testcase/error")
    assert "Broken.connectedApp-meta.xml" in error.text


def test_same_name_in_two_kinds_stays_unique(project):
    from auditor.model import App, Check

    report = scan(Path("project"))
    twin = App("external_client_app", report.apps[0].name, report.apps[0].path, root=report.apps[0].root)
    report.apps.append(twin)
    report.checks.append(Check(twin, report.checks[0].rule_id))
    names = [c.get("name") for c in parse(report).iter("testcase")]
    assert len(names) == len(set(names))
    assert f"{twin.name} (external client app) :: {report.checks[0].rule_id}" in names


def test_cli_output_junit_file(tmp_path):
    out = tmp_path / "reports" / "ca-audit.xml"
    done = run_cli("scan", "sample_configs", "--output", f"junit={out}")
    assert done.returncode in (0, 1), done.stderr
    root = ET.parse(out).getroot()
    assert root.findall("testsuite")[0].get("name") == "sample_configs"
    assert counts(root) == tally(root.iter("testcase"))
    assert "audited" in done.stdout  # the terminal table still printed
