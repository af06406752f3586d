"""Helpers shared by the CI formats (sarif, junit, markdown, github).

Standard library only: these formats are imported on every CI run and must stay cheap.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import Any

from auditor.model import ORG, SEVERITY_WORDS, App, Finding, Location, Report


def severity_word(severity: Any) -> str:
    return str(severity).lower()


def sort_key(finding: Finding) -> tuple:
    return (-int(finding.severity), finding.app, finding.rule_id, finding.field or "")


def apps_by_finding(report: Report) -> dict[int, App]:
    """Which App each finding belongs to (checks know it exactly; names are the fallback)."""
    by_name: dict[tuple[str, str], App] = {}
    for app in report.apps:
        by_name.setdefault((app.kind, app.name), app)
    owners: dict[int, App] = {}
    for check in report.checks:
        if check.finding is not None:
            owners[id(check.finding)] = check.app
    for finding in report.findings:
        if id(finding) not in owners and (finding.kind, finding.app) in by_name:
            owners[id(finding)] = by_name[(finding.kind, finding.app)]
    return owners


def repo_path(root: str | None, path: str) -> str:
    """A path as the repository sees it: the scan root joined to the root-relative path.

    CI systems (GitHub code scanning, GitLab, annotations) resolve paths against the checkout,
    and the action runs from there, so `ca-audit scan sample_configs` reports
    `sample_configs/force-app/…`. A root that is not a folder on disk (a live org) keeps the
    app's SFDX-style path so the upload always has an artifact to point at.
    """
    path = (path or "").replace("\\", "/")
    if not root or root in (".", "./") or not os.path.isdir(root):
        return posixpath.normpath(path) if path else path
    root_posix = root.replace("\\", "/")
    if os.path.isabs(root):
        try:
            rel = os.path.relpath(root, os.getcwd()).replace("\\", "/")
        except ValueError:  # another drive on Windows
            rel = root_posix
        root_posix = root_posix if rel.startswith("../") or rel == ".." else rel
    return posixpath.normpath(posixpath.join(root_posix, path))


def finding_location(finding: Finding, app: App | None) -> Location:
    """The finding's location, falling back to line 1 of the app's metadata file."""
    loc = finding.location
    path = loc.path if loc and loc.path else (app.path if app else "")
    line = loc.line if loc and loc.line and loc.line > 0 else 1
    column = loc.column if loc and loc.column and loc.column > 0 else None
    end_line = loc.end_line if loc and loc.end_line and loc.end_line >= line else None
    end_column = loc.end_column if loc and loc.end_column and loc.end_column > 0 else None
    return Location(path, line, column, end_line, end_column)


def finding_repo_path(finding: Finding, app: App | None) -> str:
    return repo_path(app.root if app else None, finding_location(finding, app).path)


@dataclass(frozen=True)
class Placement:
    """Where CI systems should show a finding."""

    path: str  # repository-relative (absolute when the root lies outside the working folder); for a
    # finding only an org has: the snapshot file it was read from, or "" for a live org
    location: Location  # 1-based line always set; its path is relative to `root`
    root: str | None  # the folder `location.path` is relative to; None when it is not on disk
    org: str | None = None  # the org (or snapshot) when the finding has no repository file


def _on_disk(root: str | None) -> bool:
    return root is not None and bool(root) and os.path.isdir(root)


def placements(report: Report, findings: list[Finding] | None = None) -> dict[int, Placement]:
    """A placement for every finding of the report (or those given), by id(finding).

    A finding from a live org or a snapshot has no file of its own. When the same run scanned the
    repository's copy of that app, it is placed on the repository file, on the element its field
    came from (the "mapped metadata path"). Otherwise it names no repository file (the app's SFDX
    path does not exist in the checkout): `org` names the org, and `path` is the snapshot file
    (line 1) when it was read from one, else "".
    """
    owners = apps_by_finding(report)
    in_repo = {(a.kind, a.name): a for a in report.apps if _on_disk(a.root)}
    placed: dict[int, Placement] = {}
    for finding in report.findings if findings is None else findings:
        app = owners.get(id(finding))
        loc = finding_location(finding, app)
        root = app.root if app else None
        twin = in_repo.get((finding.kind, finding.app)) if app is not None and not _on_disk(root) else None
        if twin is not None:
            at = twin.location_of(finding.field)
            loc = Location(at.path or twin.path, at.line or 1, at.column, at.end_line, at.end_column)
            root = twin.root
        elif app is not None and app.origin == ORG and not _on_disk(root):
            shown = app.root or "org"
            snapshot = posixpath.normpath(shown.replace("\\", "/")) if os.path.isfile(shown) else ""
            placed[id(finding)] = Placement(snapshot, Location(snapshot, 1), None, shown)
            continue
        placed[id(finding)] = Placement(repo_path(root, loc.path), loc, root if _on_disk(root) else None)
    return placed


def waiver_text(waiver: dict[str, Any] | None) -> str:
    """One line describing a waiver: reason, then owner / ticket / expiry when given."""
    if not waiver:
        return ""
    parts = [str(waiver.get("reason") or "waived")]
    extras = []
    for key in ("owner", "ticket"):
        if waiver.get(key):
            extras.append(f"{key} {waiver[key]}")
    if waiver.get("expires"):
        extras.append(f"until {waiver['expires']}")
    if extras:
        parts.append("(" + ", ".join(extras) + ")")
    return " ".join(parts)


def rule_attr(report: Report, rule_id: str, name: str, default: Any = None) -> Any:
    rule = report.rules.get(rule_id) if report.rules else None
    value = getattr(rule, name, None) if rule is not None else None
    return default if value in (None, "", [], ()) else value


def counts_by_severity(findings: list[Finding]) -> dict[str, int]:
    counts = {word: 0 for word in SEVERITY_WORDS}
    for finding in findings:
        counts[severity_word(finding.severity)] = counts.get(severity_word(finding.severity), 0) + 1
    return counts



