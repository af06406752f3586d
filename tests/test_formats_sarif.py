import json

from auditor.formats import sarif
from tests.ci_support import assert_valid_sarif, handmade_report


def render(report):
    return json.loads(sarif.render(report))


def test_sarif_validates_against_the_official_schema(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    document = render(handmade_report(tmp_path / "project"))
    assert_valid_sarif(document)
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1


def test_sarif_meets_github_requirements(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "project")
    run = render(report)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ca-audit" and driver["version"]
    rules = driver["rules"]
    assert {r["id"] for r in rules} == {f.rule_id for f in report.findings}
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert isinstance(rule["properties"]["security-severity"], str)
        assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    by_id = {r["id"]: r for r in rules}
    assert by_id["CA-01"]["properties"]["security-severity"] == "7.5"
    assert by_id["CA-30"]["properties"]["security-severity"] == "9.5"
    assert by_id["CA-07"]["properties"]["security-severity"] == "5.0"
    assert by_id["CA-20"]["properties"]["security-severity"] == "3.0"
    assert by_id["CA-01"]["helpUri"].startswith("https://")
    assert "RefreshToken" in by_id["CA-01"]["help"]["markdown"]
    assert "bearer" in by_id["CA-01"]["properties"]["tags"]

    assert len(run["results"]) == len(report.findings)
    levels = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and ".." not in uri
        assert uri.startswith("project/force-app/main/default/connectedApps/")
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region["endLine"] >= region["startLine"]
        assert region["endColumn"] > region["startColumn"] or region["endLine"] > region["startLine"]
        assert result["partialFingerprints"]["primaryLocationLineHash"]
        levels[result["ruleId"]] = result["level"]
    assert levels == {"CA-01": "error", "CA-30": "error", "CA-07": "warning", "CA-20": "note"}


def test_region_points_at_the_element_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "project")
    results = {r["ruleId"]: r for r in render(report)["runs"][0]["results"]}
    region = results["CA-01"]["locations"][0]["physicalLocation"]["region"]
    path = tmp_path / "project" / report.apps[0].path
    line = path.read_text().splitlines()[region["startLine"] - 1]
    assert line.strip() == "<scopes>Api</scopes>"
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "<scopes>Api</scopes>"
    # a finding without a line points at line 1 of the app's metadata file
    no_line = results["CA-07"]["locations"][0]["physicalLocation"]
    assert no_line["region"]["startLine"] == 1
    assert no_line["artifactLocation"]["uri"].endswith("Integration_App.connectedApp-meta.xml")


def test_waived_finding_is_an_external_suppression(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = {r["ruleId"]: r for r in render(handmade_report(tmp_path / "p"))["runs"][0]["results"]}
    suppression = results["CA-30"]["suppressions"]
    assert suppression[0]["kind"] == "external"
    assert "vendor cannot rotate" in suppression[0]["justification"]
    assert suppression[0]["properties"]["ticket"] == "SEC-42"
    assert "suppressions" not in results["CA-01"]


def test_fingerprints_ignore_lines_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = render(handmade_report(tmp_path / "a"))
    report = handmade_report(tmp_path / "moved" / "b")
    for finding in report.findings:
        object.__setattr__(finding.location, "line", (finding.location.line or 0) + 5)
    second = render(report)

    def prints(doc):
        return sorted(r["partialFingerprints"]["primaryLocationLineHash"] for r in doc["runs"][0]["results"])

    assert prints(first) == prints(second)


def test_org_app_without_folder_keeps_sfdx_path_and_input_errors_are_notifications(tmp_path, monkeypatch):
    from auditor.model import InputError

    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "p")
    for app in report.apps:
        app.root = "org:prod"  # not a folder: a live org
    report.input_errors.append(InputError("force-app/x.connectedApp-meta.xml", 0, "bad XML"))
    report.messages.append("waiver for CA-99 matched nothing")
    document = render(report)
    assert_valid_sarif(document)
    run = document["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert all(u.startswith("force-app/main/default/connectedApps/") for u in uris)
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert "bad XML" in texts and "waiver for CA-99 matched nothing" in texts


def test_empty_report_is_valid(tmp_path):
    from auditor.model import Report

    document = render(Report(apps=[], findings=[], input_errors=[]))
    assert_valid_sarif(document)
    assert document["runs"][0]["results"] == []
