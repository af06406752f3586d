import xml.etree.ElementTree as ET

from auditor.formats import junit
from auditor.model import InputError
from tests.ci_support import handmade_report


def parse(report):
    text = junit.render(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def counts(element):
    return {k: int(element.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def test_one_suite_per_root_one_case_per_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "project")
    root = parse(report)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(tmp_path / "project")]
    cases = suites[0].findall("testcase")
    assert len(cases) == len(report.checks) == 9
    names = [c.get("name") for c in cases]
    assert len(set(names)) == len(names)
    assert "Integration_App :: CA-01" in names
    for case in cases:
        assert case.get("classname") == case.get("name").rsplit(" :: ", 1)[1]
        assert case.get("file").startswith("project/force-app/main/default/connectedApps/")


def test_failures_skips_and_counts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = parse(handmade_report(tmp_path / "project"))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["Integration_App :: CA-01"].find("failure")
    assert failure.get("type") == "high"
    assert "lacks the refresh_token scope" in failure.get("message")
    assert "RefreshToken" in failure.text
    # medium and low are below fail_on=high: skipped, not failed
    assert cases["Integration_App :: CA-07"].find("skipped") is not None
    assert "below fail_on" in cases["Integration_App :: CA-07"].find("skipped").get("message")
    waived = cases["Legacy, App: 100% :: CA-30"].find("skipped")
    assert waived.get("message").startswith("waived: vendor cannot rotate")
    assert list(cases["Clean_App :: CA-01"]) == []  # a pass is an empty test case
    expected = {"tests": 9, "failures": 1, "errors": 0, "skipped": 3}
    assert counts(root) == expected
    assert counts(root.find("testsuite")) == expected


def test_fail_on_lower_turns_skips_into_failures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = parse(handmade_report(tmp_path / "project", fail_on="low"))
    assert counts(root) == {"tests": 9, "failures": 3, "errors": 0, "skipped": 1}


def test_several_roots_and_input_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = handmade_report(tmp_path / "one")
    second = handmade_report(tmp_path / "two")
    first.apps += second.apps
    first.findings += second.findings
    first.checks += second.checks
    first.roots += second.roots
    first.input_errors.append(InputError("force-app/bad.connectedApp-meta.xml", 3, "mismatched tag"))
    root = parse(first)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(tmp_path / "one"), str(tmp_path / "two"), "ca-audit input"]
    assert counts(suites[2]) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    assert counts(root) == {"tests": 19, "failures": 2, "errors": 1, "skipped": 6}


def test_duplicate_names_are_made_unique(tmp_path, monkeypatch):
    from auditor.model import App, Check

    monkeypatch.chdir(tmp_path)
    report = handmade_report(tmp_path / "project")
    twin = App(
        "external_client_app",
        "Clean_App",
        "force-app/main/default/externalClientApps/Clean_App.eca-meta.xml",
        root=str(tmp_path / "project"),
    )
    report.apps.append(twin)
    report.checks.append(Check(twin, "CA-01"))
    names = [c.get("name") for c in parse(report).iter("testcase")]
    assert len(names) == len(set(names))
    assert "Clean_App (external client app) :: CA-01" in names
