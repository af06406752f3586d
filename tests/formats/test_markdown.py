"""Markdown for a PR comment, on the real pipeline: the table parses, findings are grouped by app
with their fix, passing apps are only counted, long reports collapse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.formats import render
from auditor.formats.markdown import escape
from tests.ci_support import add_waiver, sample_copy, scan
from tests.conftest import ECA_APPS, run_cli

SEVERITIES = ["critical", "high", "medium", "low", "info"]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return sample_copy(tmp_path / "project")


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """GitHub-flavoured Markdown tables: header row, delimiter row, body rows of the same width."""
    tables, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[i + 1]):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1

            def cells(line):
                return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]

            header, _delimiter, *rows = [cells(line) for line in block]
            assert all(len(row) == len(header) for row in rows), block
            tables.append([dict(zip(header, row, strict=True)) for row in rows])
        i += 1
    return tables


def test_summary_table_by_severity(project):
    report = scan(Path("project"))
    text = render("markdown", report)
    (table,) = parse_tables(text)
    rows = {row["Severity"]: row for row in table}
    assert list(rows)[:5] == SEVERITIES
    for word in SEVERITIES:
        active = [f for f in report.active_findings if str(f.severity) == word]
        assert rows[word]["Findings"] == str(len(active))
        assert rows[word]["Failing"] == str(sum(f in report.failing_findings for f in active))
        assert rows[word]["Waived"] == str(sum(f.waived and str(f.severity) == word for f in report.findings))
    assert rows["**total**"]["Findings"] == f"**{len(report.active_findings)}**"


def test_findings_grouped_by_app_with_fix_and_passing_apps_only_counted(project):
    report = scan(Path("project"))
    text = render("markdown", report)
    with_findings = {f.app for f in report.active_findings}
    passing = [a.name for a in report.apps if a.name not in with_findings]
    assert passing, "the sample project has clean apps"
    assert f"{len(passing)} passing app(s) not shown" in text
    for name in passing:
        assert name not in text
    for finding in report.active_findings:
        assert escape(finding.message) in text
        assert escape(finding.fix.strip()) in text
        group = (
            f"{escape(finding.app)} ({'connected app' if finding.kind == 'connected_app' else 'external client app'}"
        )
        assert group in text
    # fixes quote metadata in code spans: they must show as written, not as &lt;entities&gt;
    assert "`<scopes>" in text or "`<isAdminApproved>" in text or "`<consumerSecret>" in text


def test_long_reports_collapse_and_details_balance(project):
    report = scan(Path("project"))
    assert len(report.active_findings) > 8
    text = render("markdown", report)
    assert text.count("<details") == text.count("</details>")
    assert "<details><summary><b>" in text  # one collapsible section per app


def test_short_report_uses_headings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = scan(ECA_APPS)
    assert 0 < len(report.active_findings) <= 8
    text = render("markdown", report)
    assert "#### Assessment_Portal (external client app" in text
    assert "<details><summary><b>" not in text


def test_waived_findings_are_listed_as_waived(project):
    first = scan(Path("project"))
    target = first.active_findings[-1]
    add_waiver(project, target.rule_id, target.app, reason="tracked | in JIRA", ticket="OPS-9")
    text = render("markdown", scan(Path("project")))
    waived_section = text.split("Waived findings", 1)[1]
    assert f"`{target.rule_id}` {escape(target.app)}" in waived_section
    assert "tracked \\| in JIRA (ticket OPS-9)" in waived_section


def test_clean_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    text = render("markdown", scan(Path("empty")))
    assert "no findings" in text
    (table,) = parse_tables(text)
    assert [row["Findings"] for row in table[:5]] == ["0"] * 5


def test_escape_keeps_code_spans_and_breaks_no_table():
    assert escape("add `<scopes>Api</scopes>` to <oauthConfig>") == "add `<scopes>Api</scopes>` to &lt;oauthConfig&gt;"
    assert escape("a | b\nc") == "a \\| b c"


def test_done_means_three_outputs_in_one_run(tmp_path):
    from tests.ci_support import assert_valid_sarif

    sarif, junit, md = tmp_path / "out.sarif", tmp_path / "out.xml", tmp_path / "out.md"
    done = run_cli(
        "scan",
        "sample_configs",
        "--output",
        f"sarif={sarif}",
        "--output",
        f"junit={junit}",
        "--output",
        f"markdown={md}",
    )
    assert done.returncode == 1, done.stderr  # the sample has findings at or above high
    import json
    import xml.etree.ElementTree as ET

    assert_valid_sarif(json.loads(sarif.read_text(encoding="utf-8")))
    assert ET.parse(junit).getroot().tag == "testsuites"
    assert parse_tables(md.read_text(encoding="utf-8"))
    assert "FAILED" in done.stdout  # and the terminal table
