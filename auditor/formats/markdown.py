"""Markdown for a pull-request comment (or $GITHUB_STEP_SUMMARY).

A reviewer reads it top-down: verdict, a table by severity, then the findings grouped by app with
the fix for each. Passing apps are only counted. Long reports collapse each app into <details> so
the comment stays scannable, and the whole text stays under GitHub's comment size limit.
"""

from __future__ import annotations

import re

from auditor.formats._ci import (
    Placement,
    apps_by_finding,
    counts_by_severity,
    finding_repo_path,
    placements,
    repo_path,
    severity_word,
    sort_key,
    waiver_text,
)
from auditor.formats._safe import visible
from auditor.model import KIND_WORDS, SEVERITY_WORDS, App, Finding, Report

COLLAPSE_AFTER = 8  # findings; beyond this each app's section is collapsible
LONG_FIX = 300  # characters; a longer fix goes in its own <details>
MAX_CHARS = 60000  # GitHub rejects comments over 65536 characters


def escape(text: str) -> str:
    """Text from rules and metadata, made safe for a comment: `<scopes>` must show, not vanish as
    an HTML tag, and must not break a table. Code spans are kept as they are (entities are not
    decoded inside them, so escaping there would show `&lt;`)."""
    text = visible(" ".join(str(text).split()))
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(part)
        else:
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(part.replace("|", "\\|").replace("`", "\\`"))
    return "".join(out)


def _code(text: str) -> str:
    # A code span cannot hold a newline (it would end the span) nor a backtick.
    text = visible(text).replace("`", "'")
    return f"`{text}`"


def _summary_table(active: list[Finding], waived: list[Finding], report: Report) -> list[str]:
    active_counts = counts_by_severity(active)
    waived_counts = counts_by_severity(waived)
    failing_counts = counts_by_severity([f for f in active if report.is_failing(f)])
    lines = ["| Severity | Findings | Failing | Waived |", "|---|---:|---:|---:|"]
    for word in SEVERITY_WORDS:
        lines.append(f"| {word} | {active_counts[word]} | {failing_counts[word]} | {waived_counts[word]} |")
    lines.append(f"| **total** | **{len(active)}** | **{sum(failing_counts.values())}** | **{len(waived)}** |")
    return lines


def _finding_lines(finding: Finding, place: Placement) -> list[str]:
    where = place.path
    line = place.location.line
    head = (
        f"- **{severity_word(finding.severity)}** {_code(finding.rule_id)} {escape(finding.message)} "
        f"— {_code(f'{where}:{line}')}"
    )
    out = [head]
    if finding.waived:
        out.append(f"  - Waived: {escape(waiver_text(finding.waived_by))}")
    for note in finding.notes:
        out.append(f"  - Note: {escape(note)}")
    fix = (finding.fix or "").strip()
    if fix:
        if len(fix) > LONG_FIX:
            out.append(f"  <details><summary>Fix</summary>\n\n  {escape(fix)}\n\n  </details>")
        else:
            out.append(f"  - Fix: {escape(fix)}")
    return out


def _app_file(finding: Finding, owners: dict[int, App]) -> str:
    app = owners.get(id(finding))
    return repo_path(app.root, app.path) if app else finding_repo_path(finding, None)


def _group(findings: list[Finding], owners: dict[int, App]) -> list[tuple[tuple[str, str, str], list[Finding]]]:
    """By app — and by its file, since two projects in one scan may hold apps of the same name."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in sorted(findings, key=sort_key):
        groups.setdefault((finding.app, finding.kind, _app_file(finding, owners)), []).append(finding)
    return sorted(groups.items(), key=lambda item: (min(sort_key(f) for f in item[1]), item[0]))


def render(report: Report) -> str:
    owners = apps_by_finding(report)
    placed = placements(report)
    active = [f for f in report.findings if not f.waived]
    waived = [f for f in report.findings if f.waived]
    failing = [f for f in active if report.is_failing(f)]
    apps_with_findings = {(f.app, f.kind) for f in active}
    passing = [a for a in report.apps if (a.name, a.kind) not in apps_with_findings]

    if report.input_errors:
        verdict = "⚠️ **ca-audit could not read every input** — the result cannot be trusted."
    elif failing:
        verdict = (
            f"❌ **ca-audit: {len(failing)} finding(s) at or above {severity_word(report.fail_on)}** fail this check."
        )
    elif active:
        verdict = f"✅ **ca-audit passed** (nothing at or above {severity_word(report.fail_on)})."
    else:
        verdict = "✅ **ca-audit passed**: no findings."

    out = ["## ca-audit", "", verdict, ""]
    out += _summary_table(active, waived, report)
    out += [
        "",
        f"{len(report.apps)} app(s) scanned; {len(passing)} passing app(s) not shown.",
        "",
    ]

    collapse = len(active) > COLLAPSE_AFTER
    if active:
        out += ["### Findings", ""]
    for (app_name, kind, path), group in _group(active, owners):
        title = f"{escape(app_name)} ({KIND_WORDS.get(kind, kind)}, {len(group)} finding(s))"
        body: list[str] = []
        for finding in group:
            body += _finding_lines(finding, placed[id(finding)])
        if collapse:
            out += [
                f"<details><summary><b>{title}</b></summary>",
                "",
                f"{_code(path)}",
                "",
                *body,
                "",
                "</details>",
                "",
            ]
        else:
            out += [f"#### {title}", "", _code(path), "", *body, ""]
    if waived:
        out += ["", f"<details><summary>Waived findings ({len(waived)})</summary>", ""]
        for finding in sorted(waived, key=sort_key):
            out.append(
                f"- **{severity_word(finding.severity)}** {_code(finding.rule_id)} {escape(finding.app)}: "
                f"{escape(finding.message)} — waived: {escape(waiver_text(finding.waived_by))}"
            )
        out += ["", "</details>"]
    if report.input_errors:
        out += ["", "### Input errors", ""]
        for error in report.input_errors:
            where = f"{error.path}:{error.line}" if error.line else error.path
            out.append(f"- {_code(where)} {escape(error.message)}")
    if report.messages:
        out += ["", "### Notes", ""]
        out += [f"- {escape(message)}" for message in report.messages]

    text = "\n".join(out).rstrip() + "\n"
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS)
        text = text[:cut] + "\n\n_…truncated: the full report is in the SARIF / JSON output._\n"
        if text.count("<details>") > text.count("</details>"):
            text += "\n</details>\n" * (text.count("<details>") - text.count("</details>"))
    return text
