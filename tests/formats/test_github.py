"""GitHub workflow-command annotations: GitHub's escaping, levels, files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.formats import render
from auditor.formats.github import command, escape_data, escape_property
from tests.ci_support import ODD_NAME, add_waiver, sample_copy, scan

COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def unescape_property(text: str) -> str:
    return text.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(",")) if match.group(2) else {}
    return match.group(1), {k: unescape_property(v) for k, v in props.items()}, match.group(3)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return sample_copy(tmp_path / "project")


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("one, two: three", "one, two: three", "one%2C two%3A three"),
        ("%0A literal", "%250A literal", "%250A literal"),  # % first, so escapes are not double-read
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
    ],
)
def test_escaping_matches_the_actions_toolkit(raw, data, prop):
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_command_shape_skips_empty_properties():
    line = command("error", "msg: x, y\nz", file="a,b.xml", line=3, col=None, title="T: 1")
    assert line == "::error file=a%2Cb.xml,line=3,title=T%3A 1::msg: x, y%0Az"


def expected_level(report, finding) -> str:
    if finding.waived:
        return "notice"
    if finding.severity >= report.fail_on:
        return "error"
    return "warning" if str(finding.severity) == "medium" else "notice"


def test_every_finding_is_annotated_or_logged_with_levels_and_real_files(project):
    report = scan(Path("project"))
    lines = render("github", report).splitlines()
    commands = [parse(line) for line in lines if line.startswith("::") and not line.startswith(("::group", "::end"))]
    annotations = [c for c in commands if "file" in c[1]]
    logged = [line for line in lines if re.match(r"^(error|warning|notice): ", line)]
    assert len(annotations) + len(logged) == len(report.findings)
    by_key = {}
    for level, props, message in annotations:
        assert "\n" not in message and "\r" not in message
        assert Path(props["file"]).is_file(), props["file"]
        assert int(props["line"]) >= 1 and int(props["col"]) >= 1
        rule_id = props["title"].split(" ", 1)[0]
        by_key.setdefault((rule_id, props["file"]), []).append(level)
    for line in logged:
        level, path, rule_id = re.match(r"^(\w+): (.+):\d+: (CA-\d+) ", line).groups()
        by_key.setdefault((rule_id, path), []).append(level)
    for finding in report.findings:
        assert expected_level(report, finding) in by_key[(finding.rule_id, "project/" + finding.location.path)]
    assert lines[-1].startswith(f"ca-audit: {len(report.apps)} app(s), {len(report.active_findings)} finding(s)")


def test_annotations_stop_at_githubs_per_step_limits_worst_first_and_say_how_many_more(project):
    report = scan(Path("project"))
    lines = render("github", report).splitlines()
    commands = [parse(line) for line in lines if line.startswith("::") and not line.startswith(("::group", "::end"))]
    counts = {level: sum(c[0] == level for c in commands) for level in ("error", "warning", "notice")}
    assert len(report.failing_findings) > 10  # the sample project alone is past the limit
    assert counts["error"] == 10 and counts["warning"] <= 10 and counts["notice"] <= 10
    # The ten error annotations are the ten worst failing findings.
    errors = [c for c in commands if c[0] == "error"]
    worst = sorted(report.failing_findings, key=lambda f: -int(f.severity))[:10]
    assert {e[1]["title"].split(" ", 1)[0] for e in errors} >= {f.rule_id for f in worst if f.severity == max(
        x.severity for x in report.findings)}
    severities = [e[1]["title"].split("(", 1)[1].split(")", 1)[0] for e in errors]
    assert severities == sorted(severities, key=["critical", "high", "medium", "low", "info"].index)
    (more,) = [c for c in commands if c[1].get("title", "").startswith("ca-audit: ") and "more" in c[1]["title"]]
    hidden = len(report.findings) - sum("file" in c[1] for c in commands)
    assert more[0] == "notice" and more[2].startswith(f"{hidden} more not shown as annotations")
    assert "job summary" in more[2] and "log" in more[2]


def test_a_small_report_has_no_more_notice(tmp_path, monkeypatch):
    from tests.conftest import JENKINS

    monkeypatch.chdir(JENKINS.parent)
    text = render("github", scan(Path(JENKINS.name)))
    assert "more not shown" not in text and "::group::" not in text


def test_odd_app_name_round_trips_through_escaping(project):
    lines = render("github", scan(Path("project"))).splitlines()
    raw = [line for line in lines if "Odd%2C Name%3A 100%25" in line]
    assert raw, "the file property escapes , : and %"
    _level, props, message = parse(raw[0])
    assert props["file"].endswith(f"{ODD_NAME}.connectedApp-meta.xml")
    assert message.startswith("Odd, Name: 100%25")  # data escapes % but keeps , and :


def test_waived_and_messages(project):
    first = scan(Path("project"))
    target = next(f for f in first.failing_findings if f.app != ODD_NAME)
    add_waiver(project, target.rule_id, target.app, reason="vendor fix due in Q3")
    add_waiver(project, "CA-99", "Nobody", reason="stale")
    report = scan(Path("project"))
    text = render("github", report)
    waived = [parse(line) for line in text.splitlines() if line.startswith("::") and "[waived]" in line]
    assert any(
        props["title"].startswith(target.rule_id) and "Waived: vendor fix due in Q3" in msg for _, props, msg in waived
    )
    assert all(level == "notice" for level, _, _ in waived)
    assert "::notice title=ca-audit::waiver for CA-99 on Nobody matches no finding; remove it" in text
