"""JUnit XML for CI test-report tabs (GitLab, Jenkins, Azure, GitHub test reporters).

Shape (reference/anchors.md §12.2, conftest's mapping): one <testsuite> per scanned root, one
<testcase> per app × rule that applied, named "<App> :: <rule id>" with the rule id as classname
and the metadata path as file. A finding at or above fail_on is a <failure>; a waived finding or
one below fail_on is <skipped> (so it is visible but never red); a pass is an empty test case.
GitLab drops duplicate test names, so a name that would repeat gets the app kind appended.
Input errors are <error> test cases: the audit could not be trusted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from auditor.formats._ci import (
    apps_by_finding,
    placements,
    repo_path,
    severity_word,
    waiver_text,
)
from auditor.formats._safe import no_commands, xml_text
from auditor.formats._safe import visible as shown_inert
from auditor.model import KIND_WORDS, App, Finding, Report


@dataclass
class _Case:
    root: str
    app: App | None
    app_name: str
    kind: str
    rule_id: str
    finding: Finding | None
    hidden: bool = False  # the report no longer lists the finding: a baseline knows it


def _cases(report: Report) -> list[_Case]:
    cases: list[_Case] = []
    seen: set[int] = set()
    visible = {id(f) for f in report.findings}
    for check in report.checks:
        finding = check.finding
        if finding is not None:
            seen.add(id(finding))
        cases.append(_Case(check.app.root, check.app, check.app.name, check.app.kind, check.rule_id, finding))
    owners = apps_by_finding(report)
    for finding in report.findings:
        if id(finding) in seen:
            continue
        app = owners.get(id(finding))
        root = app.root if app else (report.roots[0] if report.roots else ".")
        cases.append(_Case(root, app, finding.app, finding.kind, finding.rule_id, finding))
    for case in cases:
        case.hidden = case.finding is not None and id(case.finding) not in visible
    return cases


def _suite_names(report: Report, cases: list[_Case]) -> list[str]:
    names: list[str] = []
    for root in [*report.roots, *(app.root for app in report.apps), *(c.root for c in cases)]:
        if root not in names:
            names.append(root)
    return names or ["."]


def _counts(element: ET.Element, tests: int, failures: int, errors: int, skipped: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))
    element.set("time", "0")


def build(report: Report) -> ET.Element:
    cases = _cases(report)
    placed = placements(report, [c.finding for c in cases if c.finding is not None])
    suites_el = ET.Element("testsuites", name="ca-audit")
    totals = [0, 0, 0, 0]
    suite_names = _suite_names(report, cases)
    # Input errors carry paths relative to a scan root; with one root they belong to its suite.
    error_suite = suite_names[0] if len(suite_names) == 1 else "ca-audit input"
    if report.input_errors and error_suite not in suite_names:
        suite_names.append(error_suite)

    for suite_name in suite_names:
        suite_cases = sorted(
            (c for c in cases if c.root == suite_name),
            key=lambda c: (c.app_name, c.kind, c.rule_id, c.finding.field if c.finding else ""),
        )
        suite_el = ET.SubElement(suites_el, "testsuite", name=suite_name)
        counts = [0, 0, 0, 0]  # tests, failures, errors, skipped
        names: dict[str, int] = {}
        for case in suite_cases:
            base = f"{case.app_name} :: {case.rule_id}"
            names[base] = names.get(base, 0) + 1
        used: set[str] = set()
        for case in suite_cases:
            name = f"{case.app_name} :: {case.rule_id}"
            if names[name] > 1:
                name = f"{case.app_name} ({KIND_WORDS.get(case.kind, case.kind)}) :: {case.rule_id}"
                if case.finding is not None and case.finding.field and name in used:
                    name += f" [{case.finding.field}]"
            n = 2
            unique = name
            while unique in used:
                unique = f"{name} #{n}"
                n += 1
            used.add(unique)
            attrs = {"classname": case.rule_id, "name": unique, "time": "0"}
            finding = case.finding
            if finding is not None:
                place = placed[id(finding)]
                attrs["file"] = place.path
                attrs["line"] = str(place.location.line or 1)
            elif case.app is not None:
                attrs["file"] = repo_path(case.app.root, case.app.path)
            case_el = ET.SubElement(suite_el, "testcase", attrs)
            counts[0] += 1
            if finding is None:
                continue
            severity = severity_word(finding.severity)
            where = placed[id(finding)].location
            # Lines are ours; each value from the input stays on its line (its newlines shown as \n).
            notes = "".join(f"\nNote: {shown_inert(note)}" for note in finding.notes)
            detail = (f"{shown_inert(finding.message)}\n{shown_inert(attrs['file'])}:{where.line}{notes}\n"
                      f"Fix: {finding.fix}").rstrip()
            if case.hidden:
                counts[3] += 1
                ET.SubElement(case_el, "skipped", message=f"known {severity} finding (in the baseline)")
            elif finding.waived:
                counts[3] += 1
                reason = waiver_text(finding.waived_by)
                skipped = ET.SubElement(case_el, "skipped", message=f"waived: {reason}")
                skipped.text = detail
            elif report.is_failing(finding):
                counts[1] += 1
                failure = ET.SubElement(case_el, "failure", message=finding.message, type=severity)
                failure.text = detail
            else:
                counts[3] += 1
                skipped = ET.SubElement(
                    case_el,
                    "skipped",
                    message=f"{severity} finding below fail_on ({severity_word(report.fail_on)}): {finding.message}",
                )
                skipped.text = detail
        if suite_name == error_suite:
            for error in report.input_errors:
                shown = f"{error.path}:{error.line}" if error.line else error.path
                attrs = {"classname": "ca-audit.input", "name": f"input :: {shown}", "time": "0"}
                if error.path:
                    error_root = suite_name if suite_name != "ca-audit input" else None
                    attrs["file"] = repo_path(error_root, error.path)
                case_el = ET.SubElement(suite_el, "testcase", attrs)
                err = ET.SubElement(case_el, "error", message=error.message, type="input-error")
                err.text = shown_inert(f"{shown}: {error.message}")
                counts[0] += 1
                counts[2] += 1
        _counts(suite_el, *counts)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    _counts(suites_el, *totals)
    return suites_el


def render(report: Report) -> str:
    root = build(report)
    ET.indent(root, space="  ")
    for element in root.iter():  # values from the input may hold characters XML 1.0 forbids
        element.text = xml_text(element.text) if element.text else element.text
        element.tail = xml_text(element.tail) if element.tail else element.tail
        for name, value in element.attrib.items():
            element.attrib[name] = shown_inert(value)
    # Failure texts keep their newlines, so a value can start a line: character references keep
    # any line from running as a CI workflow command, and read back as the same text.
    text = no_commands(ET.tostring(root, encoding="unicode"), colon="&#58;", bracket="&#91;")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
