"""SARIF 2.1.0 as GitHub code scanning accepts it.

What GitHub needs (reference/anchors.md §12.1): one run, a driver with a `rules` entry for every
rule a result names, string `security-severity`, repository-relative URIs and 1-based regions on
every result — a result without a physical location makes the whole upload fail — and
`partialFingerprints`. Ours carry `Finding.fingerprint` (rule, app kind, app name, field) under a
key of our own, `caAuditFingerprint/v1`, so an alert survives reindenting or reordering the XML;
`primaryLocationLineHash` is left to the upload action, which computes it from the source line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor import __version__
from auditor.formats._ci import (
    Placement,
    placements,
    repo_path,
    rule_attr,
    severity_word,
    sort_key,
    waiver_text,
)
from auditor.formats._safe import inert_json
from auditor.model import Finding, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "3.0", "info": "1.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# Rules judge metadata, not heuristics over code: a finding is the configuration as written.
PRECISION = "high"
FINGERPRINT_KEY = "caAuditFingerprint/v1"  # rule, app kind, app name, field: survives reformatting
MAX_DESCRIPTION = 1024  # GitHub truncates longer descriptions


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _uri(path: str) -> str:
    """Relative paths stay relative references; a root outside the working folder is a file URI
    (GitHub relativizes those against the checkout)."""
    if os.path.isabs(path):
        return Path(path).resolve().as_uri()
    return quote(path, safe="/")


class _Lines:
    """Reads source lines once per file, to give regions a real end column."""

    def __init__(self) -> None:
        self._cache: dict[str, list[str] | None] = {}

    def line(self, path: str, number: int) -> str | None:
        if path not in self._cache:
            try:
                with open(path, encoding="utf-8", errors="replace", newline=None) as handle:
                    self._cache[path] = handle.read().split("\n")
            except OSError:
                self._cache[path] = None
        lines = self._cache[path]
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1].rstrip("\r")


def _region(place: Placement, lines: _Lines) -> dict[str, int]:
    loc = place.location
    start_line = loc.line or 1
    text = None
    if place.root is not None:
        text = lines.line(os.path.join(place.root, loc.path), start_line)
    if text is not None:
        first = len(text) - len(text.lstrip()) + 1
        start_column = loc.column or first
        end_column = loc.end_column or max(len(text.rstrip()) + 1, start_column + 1)
    else:
        start_column = loc.column or 1
        end_column = loc.end_column or start_column + 1
    end_line = loc.end_line or start_line
    if end_line == start_line and end_column <= start_column:
        end_column = start_column + 1
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _descriptor(report: Report, finding: Finding) -> dict[str, Any]:
    rule_id = finding.rule_id
    severity = severity_word(rule_attr(report, rule_id, "severity", finding.severity))
    title = rule_attr(report, rule_id, "title", finding.title or rule_id)
    why = rule_attr(report, rule_id, "why", "")
    fix = rule_attr(report, rule_id, "fix", finding.fix or "")
    references = [r for r in rule_attr(report, rule_id, "references", []) if isinstance(r, str)]
    tags = list(rule_attr(report, rule_id, "tags", []))

    help_text = f"Fix: {fix.strip()}" if fix else title
    help_markdown = f"**Fix.** {fix.strip()}" if fix else f"**{title}**"
    if why:
        help_text += f"\n\nWhy: {why.strip()}"
        help_markdown += f"\n\n**Why.** {why.strip()}"
    if references:
        help_text += "\n\nReferences:\n" + "\n".join(f"- {r}" for r in references)
        help_markdown += "\n\n**References.**\n" + "\n".join(f"- <{r}>" for r in references)

    descriptor: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": _clip(title)},
        "fullDescription": {"text": _clip(why or title)},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVEL.get(severity, "warning")},
        "properties": {
            "tags": sorted(set(["security", "salesforce", *tags])),
            "precision": PRECISION,
            "security-severity": SECURITY_SEVERITY.get(severity, "5.0"),
            "severity": severity,
        },
    }
    http_refs = [r for r in references if r.startswith(("http://", "https://"))]
    if http_refs:
        descriptor["helpUri"] = http_refs[0]
    return descriptor


def _physical(uri_path: str, region: dict[str, int]) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(uri_path)}, "region": region}}


def _location(finding: Finding, place: Placement, lines: _Lines) -> dict[str, Any]:
    """A repository file and region; for a finding only an org has, a logical location naming the
    org and the app, on the snapshot file it was read from (line 1). A live org has no file: its
    results carry the logical location only (valid SARIF; GitHub code scanning needs a file, so
    upload scans of a pulled snapshot)."""
    if place.org is None:
        return _physical(place.path, _region(place, lines))
    location: dict[str, Any] = {"logicalLocations": [{
        "name": finding.app, "kind": "resource", "fullyQualifiedName": f"{place.org}/{finding.kind}/{finding.app}"}]}
    if place.path:
        location.update(_physical(place.path, {"startLine": 1}))
    return location


def _result(finding: Finding, index: int, place: Placement, lines: _Lines) -> dict[str, Any]:
    severity = severity_word(finding.severity)
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": LEVEL.get(severity, "warning"),
        "message": {"text": finding.message},
        "locations": [_location(finding, place, lines)],
        # Our own key only: github/codeql-action/upload-sarif computes primaryLocationLineHash
        # from the source line itself and warns on every result that brings a different value.
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"severity": severity, "app": finding.app, "kind": finding.kind},
    }
    if finding.field:
        result["properties"]["field"] = finding.field
    if finding.notes:
        result["properties"]["notes"] = list(finding.notes)
    if finding.waived:
        suppression: dict[str, Any] = {
            "kind": "external",
            "status": "accepted",
            "justification": waiver_text(finding.waived_by),
        }
        waiver = finding.waived_by or {}
        extra = {k: str(waiver[k]) for k in ("owner", "ticket", "expires") if waiver.get(k)}
        if extra:
            suppression["properties"] = extra
        result["suppressions"] = [suppression]
    return result


def _notifications(report: Report) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    root = report.roots[0] if len(report.roots) == 1 else None
    for error in report.input_errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": error.message}}
        if error.path:
            region = {"startLine": error.line if error.line and error.line > 0 else 1}
            note["locations"] = [_physical(repo_path(root, error.path), region)]
        notes.append(note)
    for message in report.messages:
        notes.append({"level": "note", "message": {"text": str(message)}})
    return notes


def build(report: Report) -> dict[str, Any]:
    placed = placements(report)
    lines = _Lines()
    findings = sorted(report.findings, key=sort_key)
    rule_index: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    for finding in sorted(findings, key=lambda f: f.rule_id):
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(descriptors)
            descriptors.append(_descriptor(report, finding))
    results = [_result(f, rule_index[f.rule_id], placed[id(f)], lines) for f in findings]
    invocation: dict[str, Any] = {"executionSuccessful": not report.input_errors}
    notifications = _notifications(report)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "ca-audit",
                "fullName": "ca-audit (connected-app-auditor)",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    # `##[` inside a string would run as a legacy CI workflow command; \u005b reads back as `[`
    return inert_json(build(report), indent=2) + "\n"
