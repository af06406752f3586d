"""Markdown for a PR comment, on the real pipeline: the table parses, findings are grouped by app
with their fix, passing apps are only counted, long reports collapse."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from auditor.fixtext import fix_for_kind
from auditor.formats import render
from auditor.formats.markdown import escape
from auditor.model import SEVERITY_WORDS
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
    table = parse_tables(text)[1]
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
        assert escape(fix_for_kind(finding.fix, finding.kind)) in text
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
    (table,) = parse_tables(text)  # no rule table when nothing fired
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


def test_rule_table_comes_first_and_counts_failing_apps(project):
    report = scan(Path("project"))
    text = render("markdown", report)
    assert text.index("| Rule |") < text.index("| Severity |") < text.index("### Failing apps")
    rules = {row["Rule"].strip("`"): row for row in parse_tables(text)[0]}
    for rule_id, row in rules.items():
        found = [f for f in report.active_findings if f.rule_id == rule_id]
        assert row["Findings"] == str(len(found))
        assert row["Failing apps"] == str(len({(f.app, f.kind) for f in found if f in report.failing_findings}))
        # the severities actually found (severity_if can lower some), with counts when they differ
        severities = Counter(str(f.severity).lower() for f in found)
        expected = ", ".join(f"{word} ({severities[word]})" for word in SEVERITY_WORDS if severities[word])
        assert row["Severity"] == (next(iter(severities)) if len(severities) == 1 else expected)
    assert set(rules) == {f.rule_id for f in report.active_findings}
    mixed = [rule_id for rule_id in rules if len({f.severity for f in report.active_findings
                                                  if f.rule_id == rule_id}) > 1]
    assert mixed, "the sample project has a rule whose findings differ in severity (CA-05)"


def test_fix_text_only_for_the_apps_kind(project):
    text = render("markdown", scan(Path("project")))
    legacy = text.split("Legacy_Reporting (connected app", 1)[1].split("</details>\n\n<details><summary><b>", 1)[0]
    assert "Connected app: Setup → App Manager" in legacy and "External client app:" not in legacy
    erp = text.split("ERP_Connector (external client app", 1)[1].split("<summary><b>", 1)[0]
    assert "External client app: External Client App Manager" in erp and "Connected app:" not in erp


def test_fix_for_kind_keeps_shared_sentences():
    fix = ("Rotate it. Connected app: Setup → App Manager → edit `<a>`. External client app: Setup → "
           "External Client App Manager → edit `b. C`. Allow a few minutes.")
    assert fix_for_kind(fix, "connected_app") == "Rotate it. Connected app: Setup → App Manager → edit `<a>`. " \
        "Allow a few minutes."
    assert fix_for_kind(fix, "external_client_app") == "Rotate it. External client app: Setup → External Client " \
        "App Manager → edit `b. C`. Allow a few minutes."
    assert fix_for_kind("Just do it.", "connected_app") == "Just do it."


def generate_apps(folder: Path, count: int) -> None:
    """`count` apps made from the sample project's connected apps and External Client Apps, renamed."""
    import shutil

    from tests.conftest import SAMPLE

    default = SAMPLE / "force-app" / "main" / "default"
    ca_shapes = sorted((default / "connectedApps").glob("*.connectedApp-meta.xml"))
    eca_names = sorted(p.name.split(".")[0] for p in (default / "externalClientApps").glob("*.eca-meta.xml"))
    target = folder / "force-app" / "main" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE / "sfdx-project.json", folder / "sfdx-project.json")
    for index in range(count):
        if index % 5 == 4:  # every fifth app an External Client App, all four of its parts
            name = eca_names[index % len(eca_names)]
            new = f"{name}_{index:04d}"
            for part in default.rglob(f"{name}*"):
                relative = part.relative_to(default)
                out = target / relative.parent / part.name.replace(name, new, 1)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(part.read_text(encoding="utf-8").replace(name, new), encoding="utf-8")
        else:
            shape = ca_shapes[index % len(ca_shapes)]
            out = target / "connectedApps" / shape.name.replace(shape.name.split(".")[0], f"App_{index:05d}")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(shape.read_text(encoding="utf-8"), encoding="utf-8")


@pytest.fixture(scope="module")
def big_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    generate_apps(folder, 3000)
    return scan(folder)


def test_three_thousand_apps_stay_under_the_comment_limit_and_name_every_failing_app(big_report):
    report = big_report
    assert len(report.apps) == 3000 and not report.input_errors
    text = render("markdown", report)
    failing_apps = {f.app for f in report.failing_findings}
    assert len(failing_apps) > 1500
    assert len(text) < 65536
    missing = [name for name in failing_apps if escape(name) not in text]
    assert not missing, f"{len(missing)} failing apps not named, e.g. {missing[:3]}"
    assert "…and" not in text  # nothing was cut
    assert text.index("| Rule |") < text.index("### Failing apps")
    assert text.count("<details") == text.count("</details>")


def test_names_that_cannot_fit_are_cut_with_a_count_and_a_pointer(big_report, monkeypatch):
    from auditor.formats import markdown

    monkeypatch.setattr(markdown, "MAX_CHARS", 20000)
    text = render("markdown", big_report)
    assert len(text) <= 20000
    failing = {f.app for f in big_report.failing_findings}
    named = sum(escape(name) in text for name in failing)
    assert 0 < named < len(failing)
    assert f"…and {len(failing) - named} more failing app(s)" in text and "JSON, SARIF" in text


PHISH = "[Approve here](https://evil.example/phish) ![t](https://evil.example/t.png) @octocat **now** ~~x~~ _y_"


def test_links_images_mentions_and_emphasis_in_the_data_stay_text(tmp_path, monkeypatch):
    project = sample_copy(tmp_path / "project", odd_app=False)
    legacy = next((project / "force-app/main/default/connectedApps").glob("Legacy_Reporting.*"))
    legacy.write_text(legacy.read_text(encoding="utf-8").replace(
        "<profileName>Sales Manager</profileName>", f"<profileName>{PHISH}</profileName>"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    text = render("markdown", scan(Path("project")))
    assert "@octocat" in " ".join(line for line in text.splitlines() if "octocat" in line).replace("&#8203;", "") \
        and "@octocat" not in text  # shown, with a zero-width space GitHub does not read as a mention
    assert "](http" not in text and "![" not in text and "**now**" not in text and "~~x~~" not in text
    # every URL sits in a code span, where GitHub makes no link
    for line in text.splitlines():
        outside = re.sub(r"`[^`]*`", "", line)
        assert "://" not in outside, line
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    assert "evil.example" in html and "<img" not in html and 'href="https://evil' not in html
    assert "<strong>now</strong>" not in html and "<s>x</s>" not in html and "<em>y</em>" not in html
