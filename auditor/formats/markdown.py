"""Markdown for a pull-request comment (or $GITHUB_STEP_SUMMARY).

A reviewer reads it top-down: verdict, a table by rule (what fails, in how many apps), a table by
severity, then the failing apps grouped, each finding with the fix for that app's kind (a connected
app's fix never shows the External Client App steps), then apps with findings below fail_on.
Passing apps are only counted. Long reports collapse each app into <details>.

GitHub rejects a comment over 65,536 characters. The report keeps under MAX_CHARS by giving up
detail in steps, never failing apps: fixes once per rule instead of per finding, then one line per
app, then the failing apps' names grouped by their worst severity. Only when even the names do not
fit is the list cut, and it says how many more there are and where the full report is.
"""

from __future__ import annotations

import re

from auditor.fixtext import fix_for_kind
from auditor.formats._ci import (
    Placement,
    apps_by_finding,
    counts_by_severity,
    finding_repo_path,
    placements,
    repo_path,
    rule_attr,
    severity_word,
    sort_key,
    waiver_text,
)
from auditor.formats._safe import no_commands, visible
from auditor.model import KIND_WORDS, SEVERITY_WORDS, App, Finding, Report

COLLAPSE_AFTER = 8  # findings; beyond this each app's section is collapsible
LONG_FIX = 300  # characters; a longer fix goes in its own <details>
MAX_CHARS = 64000  # GitHub rejects comments over 65,536 characters; room for a marker line
FULL, FIX_PER_RULE, LINE_PER_APP, NAMES = range(4)  # levels of detail, most first


# A URL in the data (a callback URL, or a link someone put in a profile name) is shown in a code
# span: GitHub would otherwise make it a live link. `@name` and `#123` get a zero-width space
# after the sign (as Dependabot does): GitHub finds mentions and issue references in the rendered
# text, where a backslash escape is already gone.
_URL = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s`<>()\[\]|\"']*")
# `_` inside a word (`Legacy_Reporting`, `refresh_token`) is never emphasis and stays as written.
_MARKUP = re.compile(r"([\\\[\]*~]|(?<![^\W_])_|_(?![^\W_]))")
_MENTION = re.compile(r"(?<![\w&])([@#])(?=\w)")


def _inert(part: str) -> str:
    part = _MARKUP.sub(r"\\\1", part)  # links, images, emphasis, strikethrough; the backslash first
    part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    part = _MENTION.sub(lambda m: m.group(1) + "&#8203;", part)
    return part.replace("|", "\\|").replace("`", "\\`")


def escape(text: str) -> str:
    """Text from rules and metadata, made safe for a comment: `<scopes>` must show, not vanish as
    an HTML tag, and must not break a table; a link, an image, an @mention or emphasis written in
    the data stays text. Code spans are kept as they are (nothing is live inside them, and entities
    are not decoded there, so escaping would show `&lt;`); URLs become code spans."""
    text = visible(" ".join(str(text).split()))
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(part)
            continue
        last = 0
        for url in _URL.finditer(part):
            out.append(_inert(part[last:url.start()]))
            out.append(_code(url.group(0)))
            last = url.end()
        out.append(_inert(part[last:]))
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


def _finding_lines(finding: Finding, place: Placement, with_fix: bool) -> list[str]:
    head = (
        f"- **{severity_word(finding.severity)}** {_code(finding.rule_id)} {escape(finding.message)} "
        f"— {_code(f'{place.path}:{place.location.line}') if place.org is None else 'org ' + _code(place.org)}"
    )
    out = [head]
    if finding.waived:
        out.append(f"  - Waived: {escape(waiver_text(finding.waived_by))}")
    for note in finding.notes:
        out.append(f"  - Note: {escape(note)}")
    fix = fix_for_kind(finding.fix or "", finding.kind)
    if fix and with_fix:
        if len(fix) > LONG_FIX:
            out.append(f"  <details><summary>Fix</summary>\n\n  {escape(fix)}\n\n  </details>")
        else:
            out.append(f"  - Fix: {escape(fix)}")
    return out


def _app_file(finding: Finding, owners: dict[int, App]) -> str:
    app = owners.get(id(finding))
    return repo_path(app.root, app.path) if app else finding_repo_path(finding, None)


Group = tuple[tuple[str, str, str], list[Finding]]


def _group(findings: list[Finding], owners: dict[int, App]) -> list[Group]:
    """By app — and by its file, since two projects in one scan may hold apps of the same name."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in sorted(findings, key=sort_key):
        groups.setdefault((finding.app, finding.kind, _app_file(finding, owners)), []).append(finding)
    return sorted(groups.items(), key=lambda item: (min(sort_key(f) for f in item[1]), item[0]))


def _severities(found: list[Finding]) -> str:
    """The severities a rule's findings have (`severity_if` can lower some): `high` when all are high,
    `high (1), medium (2)` when they differ, worst first."""
    counts = counts_by_severity(found)
    words = [word for word in SEVERITY_WORDS if counts[word]]
    return words[0] if len(words) == 1 else ", ".join(f"{word} ({counts[word]})" for word in words)


def _rule_table(report: Report, active: list[Finding]) -> list[str]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in active:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    lines = ["| Rule | Severity | Title | Failing apps | Findings |", "|---|---|---|---:|---:|"]
    for rule_id, found in sorted(by_rule.items(), key=lambda item: (-int(max(f.severity for f in item[1])),
                                                                      item[0])):
        failing_apps = {(f.app, f.kind) for f in found if report.is_failing(f)}
        title = rule_attr(report, rule_id, "title", found[0].title or "")
        lines.append(f"| {_code(rule_id)} | {_severities(found)} | {escape(title)} | "
                     f"{len(failing_apps)} | {len(found)} |")
    return lines


class _Parts:
    """What every level of detail shares, computed once."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.owners = apps_by_finding(report)
        self.placed = placements(report)
        self.active = [f for f in report.findings if not f.waived]
        self.waived = [f for f in report.findings if f.waived]
        self.failing = [f for f in self.active if report.is_failing(f)]
        groups = _group(self.active, self.owners)
        self.failing_groups = [g for g in groups if any(report.is_failing(f) for f in g[1])]
        self.other_groups = [g for g in groups if not any(report.is_failing(f) for f in g[1])]
        with_findings = {(f.app, f.kind) for f in self.active}
        self.passing = [a for a in report.apps if (a.name, a.kind) not in with_findings]


def _head(parts: _Parts) -> list[str]:
    report = parts.report
    if report.input_errors:
        verdict = "⚠️ **ca-audit could not read every input** — the result cannot be trusted."
    elif parts.failing:
        verdict = (f"❌ **ca-audit: {len(parts.failing)} finding(s) at or above {severity_word(report.fail_on)}** "
                   f"in {len(parts.failing_groups)} app(s) fail this check.")
    elif parts.active:
        verdict = f"✅ **ca-audit passed** (nothing at or above {severity_word(report.fail_on)})."
    else:
        verdict = "✅ **ca-audit passed**: no findings."
    out = ["## ca-audit", "", verdict, ""]
    if parts.active:
        out += _rule_table(report, parts.active) + [""]
    out += _summary_table(parts.active, parts.waived, report)
    out += ["", f"{len(report.apps)} app(s) scanned; {len(parts.passing)} passing app(s) not shown.", ""]
    return out


def _app_sections(parts: _Parts, groups: list[Group], level: int, collapse: bool) -> list[str]:
    out: list[str] = []
    for (app_name, kind, path), group in groups:
        title = f"{escape(app_name)} ({KIND_WORDS.get(kind, kind)}, {len(group)} finding(s))"
        if level == LINE_PER_APP:
            rules = ", ".join(sorted({_code(f.rule_id) for f in group}))
            out.append(f"- **{escape(app_name)}** ({KIND_WORDS.get(kind, kind)}): {rules} — {_code(path)}")
            continue
        body: list[str] = []
        for finding in group:
            body += _finding_lines(finding, parts.placed[id(finding)], with_fix=level == FULL)
        if collapse:
            out += [f"<details><summary><b>{title}</b></summary>", "", _code(path), "", *body, "", "</details>", ""]
        else:
            out += [f"#### {title}", "", _code(path), "", *body, ""]
    return out


def _fixes_by_rule(parts: _Parts) -> list[str]:
    seen: dict[tuple[str, str], Finding] = {}
    for finding in sorted(parts.active, key=sort_key):
        seen.setdefault((finding.rule_id, finding.kind), finding)
    out = ["### How to fix", ""]
    for (rule_id, kind), finding in seen.items():
        fix = fix_for_kind(finding.fix or "", kind)
        if fix:
            out += [f"<details><summary>{_code(rule_id)} on a {KIND_WORDS.get(kind, kind)}</summary>", "",
                    escape(fix), "", "</details>", ""]
    return out


def _names(parts: _Parts, budget: int) -> list[str]:
    """Failing apps by name, grouped by their worst failing severity; cut only past `budget`."""
    worst: dict[str, list[str]] = {}
    for (app_name, _kind, _path), group in parts.failing_groups:
        word = severity_word(max(f.severity for f in group if parts.report.is_failing(f)))
        worst.setdefault(word, []).append(escape(app_name))
    out: list[str] = []
    used = 0
    shown = 0
    total = len(parts.failing_groups)
    for word in SEVERITY_WORDS:
        names = worst.get(word, [])
        if not names:
            continue
        line = f"- **{word}** ({len(names)}): "
        kept = []
        for name in names:
            if used + len(line) + len(name) + 2 > budget:
                break
            kept.append(name)
            used += len(name) + 2
        shown += len(kept)
        used += len(line)
        out.append(line + ", ".join(kept))
        if len(kept) < len(names):
            break
    if shown < total:
        out.append(f"- …and {total - shown} more failing app(s); the full list is in the JSON, SARIF or "
                   "Code Quality report of this run.")
    return out


def _compose(parts: _Parts, level: int) -> str:
    report = parts.report
    out = _head(parts)
    collapse = len(parts.active) > COLLAPSE_AFTER
    if parts.failing_groups:
        out += [f"### Failing apps ({len(parts.failing_groups)})", ""]
        if level == NAMES:
            out += _names(parts, MAX_CHARS - 4000 - sum(len(line) + 1 for line in out)) + [""]
        else:
            out += _app_sections(parts, parts.failing_groups, level, collapse) + [""]
    if parts.other_groups:
        heading = f"### Other findings, below {severity_word(report.fail_on)} ({len(parts.other_groups)} app(s))"
        if level >= LINE_PER_APP:
            out += [heading, "", f"{sum(len(g[1]) for g in parts.other_groups)} finding(s); listed in the JSON, "
                    "SARIF or Code Quality report of this run.", ""]
        else:
            out += [heading, ""] + _app_sections(parts, parts.other_groups, level, collapse) + [""]
    if level == FIX_PER_RULE:
        out += _fixes_by_rule(parts)
    if parts.waived:
        if level >= LINE_PER_APP:
            out += ["", f"{len(parts.waived)} waived finding(s), listed in the JSON or SARIF report."]
        else:
            out += ["", f"<details><summary>Waived findings ({len(parts.waived)})</summary>", ""]
            for finding in sorted(parts.waived, key=sort_key):
                out.append(
                    f"- **{severity_word(finding.severity)}** {_code(finding.rule_id)} {escape(finding.app)}: "
                    f"{escape(finding.message)} — waived: {escape(waiver_text(finding.waived_by))}"
                )
            out += ["", "</details>"]
    if report.input_errors:
        out += ["", "### Input errors", ""]
        for error in report.input_errors[:50]:
            where = f"{error.path}:{error.line}" if error.line else error.path
            out.append(f"- {_code(where)} {escape(error.message)}")
        if len(report.input_errors) > 50:
            out.append(f"- …and {len(report.input_errors) - 50} more input error(s)")
    if report.messages:
        out += ["", "### Notes", ""]
        out += [f"- {escape(message)}" for message in report.messages[:20]]
        if len(report.messages) > 20:
            out.append(f"- …and {len(report.messages) - 20} more note(s)")
    return "\n".join(out).rstrip() + "\n"


def render(report: Report) -> str:
    parts = _Parts(report)
    # no_commands: printed in a CI step, no line from the input may run as a workflow command
    for level in (FULL, FIX_PER_RULE, LINE_PER_APP):
        text = no_commands(_compose(parts, level))
        if len(text) <= MAX_CHARS:
            return text
    return no_commands(_compose(parts, NAMES))
