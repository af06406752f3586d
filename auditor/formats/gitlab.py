"""`--format gitlab`: a GitLab Code Quality report (the Code Climate subset GitLab reads).

GitLab reads a JSON array of issues and documents these fields (docs.gitlab.com,
ci/testing/code_quality, "Code Quality report format"): `description`, `check_name`,
`fingerprint`, `severity` (`info`, `minor`, `major`, `critical`, `blocker`), `location.path`
(relative to the repository) and `location.lines.begin`; it ignores the rest of the Code Climate
spec. It compares the issues of the merge request's pipeline with the target branch's by
fingerprint, so ours is derived from the finding's semantic identity (rule, app kind, app name,
field) and its file, never the line: reformatting the XML does not turn an issue into a new one.

Waived findings are left out (Code Climate has no suppressions; they show in the other formats);
input errors with a file are `blocker` issues, because the audit could not be trusted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from auditor.fixtext import fix_for_kind
from auditor.formats._ci import placements, repo_path, severity_word, sort_key
from auditor.formats._safe import inert_json
from auditor.model import Report

# ca-audit's five severities onto GitLab's five, in order.
SEVERITY = {"critical": "blocker", "high": "critical", "medium": "major", "low": "minor", "info": "info"}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def build(report: Report) -> list[dict[str, Any]]:
    placed = placements(report)
    issues: list[dict[str, Any]] = []
    for finding in sorted(report.findings, key=sort_key):
        if finding.waived:
            continue
        place = placed[id(finding)]
        issue: dict[str, Any] = {
            "type": "issue",
            "check_name": finding.rule_id,
            "description": f"{finding.rule_id} {finding.app}: {finding.message}",
            "categories": ["Security"],
            "severity": SEVERITY.get(severity_word(finding.severity), "major"),
            "fingerprint": _fingerprint(finding.fingerprint, place.path),
            "location": {"path": place.path, "lines": {"begin": place.location.line or 1}},
        }
        if finding.fix:
            issue["content"] = {"body": f"Fix: {fix_for_kind(finding.fix, finding.kind)}"}
        issues.append(issue)
    root = report.roots[0] if len(report.roots) == 1 else None
    for error in report.input_errors:
        if not error.path:
            continue
        path = repo_path(root, error.path)
        issues.append({
            "type": "issue",
            "check_name": "ca-audit/input-error",
            "description": f"ca-audit could not read this input: {error.message}",
            "categories": ["Bug Risk"],
            "severity": "blocker",
            "fingerprint": _fingerprint("input-error", path, error.message),
            "location": {"path": path, "lines": {"begin": error.line if error.line and error.line > 0 else 1}},
        })
    return issues


def render(report: Report) -> str:
    # `##[` inside a string would run as a legacy CI workflow command; \u005b reads back as `[`
    return inert_json(build(report), indent=2) + "\n"
