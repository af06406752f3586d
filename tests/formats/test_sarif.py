"""SARIF on the real pipeline over a copy of sample_configs/: the official schema and GitHub's rules."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from auditor.formats import render
from auditor.model import InputError, Location
from tests.ci_support import (
    ODD_NAME,
    SARIF_SCHEMA,
    add_waiver,
    assert_valid_sarif,
    reformat,
    sample_copy,
    sarif_validator,
    scan,
)
from tests.conftest import run_cli

SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "3.0", "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the scan names "project", as a CI job names a repo folder
    return sample_copy(tmp_path / "project")


def sarif(report) -> dict:
    return json.loads(render("sarif", report))


def test_validates_against_the_official_schema(project):
    report = scan(Path("project"))
    assert report.findings and not report.input_errors
    document = sarif(report)
    assert_valid_sarif(document)
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1


def test_vendored_schema_is_the_unmodified_official_one():
    # tests/data/README.md records the checksum; the OASIS licence forbids editing the file.
    notice = (SARIF_SCHEMA.parent / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"SHA-256\s+`([0-9a-f]{64})`", notice).group(1)
    assert hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() == recorded
    assert "Copyright (c) OASIS Open" in notice
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")


def test_the_schema_check_can_fail(project):
    document = sarif(scan(Path("project")))
    document["runs"][0]["results"][0]["level"] = "fatal"  # not one of SARIF's levels
    del document["runs"][0]["tool"]["driver"]["name"]  # required
    paths = {tuple(e.path) for e in sarif_validator().iter_errors(document)}
    assert ("runs", 0, "results", 0, "level") in paths
    with pytest.raises(AssertionError):
        assert_valid_sarif(document)


def test_driver_lists_every_rule_that_fired(project):
    report = scan(Path("project"))
    driver = sarif(report)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "ca-audit" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in report.findings})
    for descriptor in rules:
        rule = report.rules[descriptor["id"]]
        severity = str(rule.severity)
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"]
        assert len(descriptor["fullDescription"]["text"]) <= 1024
        assert descriptor["help"]["text"].startswith("Fix: ") and descriptor["help"]["markdown"]
        assert " ".join(rule.fix.split())[:40] in " ".join(descriptor["help"]["markdown"].split())
        assert descriptor["defaultConfiguration"]["level"] == LEVEL[severity]
        properties = descriptor["properties"]
        assert properties["security-severity"] == SECURITY_SEVERITY[severity]  # a string, not a number
        assert properties["precision"] in {"very-high", "high", "medium", "low"}
        assert set(rule.tags) <= set(properties["tags"])
        http = [r for r in rule.references if r.startswith("http")]
        assert descriptor.get("helpUri") == (http[0] if http else None)


def test_results_have_relative_uris_and_one_based_regions_on_the_element(project):
    report = scan(Path("project"))
    run = sarif(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report.findings)
    by_identity = {f.fingerprint: f for f in report.findings}
    for result in run["results"]:
        # Only our key: the upload action computes primaryLocationLineHash and warns on a different one.
        assert set(result["partialFingerprints"]) == {"caAuditFingerprint/v1"}
        finding = by_identity[result["partialFingerprints"]["caAuditFingerprint/v1"]]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule_id
        assert result["level"] == LEVEL[str(finding.severity)]
        assert result["message"]["text"] == finding.message
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and ".." not in uri.split("/")
        # repository-relative: it resolves from the folder the scan ran in (the checkout)
        path = Path(unquote(uri))
        assert path.is_file(), uri
        region = location["physicalLocation"]["region"]
        assert region["startLine"] == finding.location.line >= 1
        assert region["startColumn"] >= 1 and region["endLine"] >= region["startLine"]
        assert region["endColumn"] > region["startColumn"]
        line = path.read_text(encoding="utf-8").splitlines()[region["startLine"] - 1]
        assert line[region["startColumn"] - 1] == "<", (uri, line)  # the element the rule points at
        assert len(line.rstrip()) + 1 == region["endColumn"]


def test_odd_names_are_uri_encoded(project):
    results = sarif(scan(Path("project")))["runs"][0]["results"]
    odd = [r for r in results if r["properties"]["app"] == ODD_NAME]
    assert odd
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
            "Odd%2C%20Name%3A%20100%25.connectedApp-meta.xml"
        )
        for r in odd
    )


def test_waived_findings_are_external_suppressions(project):
    first = scan(Path("project"))
    target = next(f for f in first.active_findings if f.app != ODD_NAME)
    add_waiver(
        project, target.rule_id, target.app, reason="accepted risk", owner="sec", ticket="SEC-1", expires="2027-01-31"
    )
    report = scan(Path("project"))
    document = sarif(report)
    assert_valid_sarif(document)
    suppressed = [r for r in document["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == sum(f.waived for f in report.findings)
    mine = [r for r in suppressed if (r["ruleId"], r["properties"]["app"]) == (target.rule_id, target.app)]
    assert len(mine) == 1
    (suppression,) = mine[0]["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["justification"].startswith("accepted risk")
    assert suppression["properties"] == {"owner": "sec", "ticket": "SEC-1", "expires": "2027-01-31"}


def test_fingerprints_survive_reformatting_and_moving(project, tmp_path):
    before = sarif(scan(Path("project")))
    reformat(project)
    shutil.move(str(project), str(tmp_path / "moved"))
    after = sarif(scan(Path("moved")))

    def prints(document):
        return sorted(
            (r["ruleId"], r["partialFingerprints"]["caAuditFingerprint/v1"]) for r in document["runs"][0]["results"]
        )

    def lines(document):
        return sorted(
            r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in document["runs"][0]["results"]
        )

    assert prints(before) == prints(after)
    assert lines(before) != lines(after)


def test_org_findings_without_a_file_or_line_still_upload(project):
    report = scan(Path("project"))
    for app in report.apps:
        app.root = "org:production"  # a live org: no folder to resolve against
    finding = report.findings[0]
    finding.location = Location(finding.location.path)  # no line known
    report.input_errors.append(
        InputError("force-app/main/default/connectedApps/X.connectedApp-meta.xml", 0, "the org did not return this app")
    )
    document = sarif(report)
    assert_valid_sarif(document)
    run = document["runs"][0]
    first = next(
        r for r in run["results"] if r["partialFingerprints"]["caAuditFingerprint/v1"] == finding.fingerprint
    )
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"].startswith("force-app/main/default/")
    assert physical["region"]["startLine"] == 1 and physical["region"]["startColumn"] == 1
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "the org did not return this app" in [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]


def test_cli_format_sarif_on_the_sample(tmp_path):
    done = run_cli("scan", "sample_configs", "--format", "sarif")
    assert done.returncode in (0, 1), done.stderr
    document = json.loads(done.stdout)
    assert_valid_sarif(document)
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("sample_configs/")
        for r in document["runs"][0]["results"]
    )


def test_clean_project_is_valid_and_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    document = sarif(scan(Path("empty")))
    assert_valid_sarif(document)
    assert document["runs"][0]["results"] == [] and document["runs"][0]["tool"]["driver"]["rules"] == []


def test_root_outside_the_working_folder_gives_file_uris(tmp_path, monkeypatch):
    project = sample_copy(tmp_path / "elsewhere" / "project", odd_app=False)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    document = sarif(scan(project))
    assert_valid_sarif(document)
    for result in document["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("file:///") and Path(unquote(uri[len("file://") :])).is_file()


def test_org_findings_land_on_the_repository_copy_of_the_app(project):
    snapshot = Path("project") / "org.snapshot.json"
    if not snapshot.is_file():
        pytest.skip("sample_configs has no org snapshot")
    report = scan(Path("project"), snapshot)
    document = sarif(report)
    assert_valid_sarif(document)
    repo_apps = {(a.kind, a.name) for a in report.apps if a.root == "project"}
    org_root = str(snapshot)
    owners = {id(c.finding): c.app for c in report.checks if c.finding is not None}
    from_org = [f for f in report.findings if owners[id(f)].root == org_root]
    assert any((f.kind, f.app) in repo_apps for f in from_org)
    assert any((f.kind, f.app) not in repo_apps for f in from_org)
    results = {
        (r["ruleId"], r["properties"]["app"], r["partialFingerprints"]["caAuditFingerprint/v1"]): r
        for r in document["runs"][0]["results"]
    }
    for finding in from_org:
        result = results[(finding.rule_id, finding.app, finding.fingerprint)]
        physical = result["locations"][0]["physicalLocation"]
        uri = unquote(physical["artifactLocation"]["uri"])
        if (finding.kind, finding.app) in repo_apps:  # the mapped metadata file in the repository
            assert uri.startswith("project/force-app/") and Path(uri).is_file()
            line = Path(uri).read_text(encoding="utf-8").splitlines()[physical["region"]["startLine"] - 1]
            assert line[physical["region"]["startColumn"] - 1] == "<"
        else:  # org-only: no repository file; the snapshot it was read from, and the app as a logical location
            assert uri == snapshot.as_posix() and physical["region"] == {"startLine": 1}
            (logical,) = result["locations"][0]["logicalLocations"]
            assert logical["fullyQualifiedName"] == f"{snapshot.as_posix()}/{finding.kind}/{finding.app}"
