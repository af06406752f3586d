"""Baselines: adopt ca-audit on a big repository without fixing everything on day one.

`--write-baseline FILE` records the current findings; `--baseline FILE` then reports only
findings that are not in it, and lists entries that no longer occur so the file can be pruned.

Identity is semantic — rule id, app kind, app name and the field the rule looks at — the same
identity as `Finding.fingerprint`, never a path or a line: reindenting, reordering elements,
CRLF line endings or moving the project folder do not make an old finding new again.
Waived findings are not recorded: a waiver that expires must surface its finding again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import safeio
from auditor.model import Finding, Report

FORMAT_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be read or is not a ca-audit baseline (exit code 2)."""


Identity = tuple[str, str, str, str]  # rule id, app kind, app name, field


def identity_of(finding: Finding) -> Identity:
    return (finding.rule_id, finding.kind, finding.app, finding.field or "")


@dataclass
class Baseline:
    entries: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""

    def identities(self) -> dict[Identity, dict[str, Any]]:
        return {_entry_identity(e): e for e in self.entries}


@dataclass
class BaselineOutcome:
    new: list[Finding]
    known: list[Finding]
    gone: list[dict[str, Any]]  # entries that no longer occur: prune them


def _entry_identity(entry: dict[str, Any]) -> Identity:
    return (
        str(entry.get("rule_id", "")),
        str(entry.get("kind", "")),
        str(entry.get("app", "")),
        str(entry.get("field") or ""),
    )


def entry_for(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "kind": finding.kind,
        "app": finding.app,
        "field": finding.field or "",
        "fingerprint": finding.fingerprint,
        # for the reader of the file; never used for matching
        "severity": str(finding.severity),
        "message": finding.message,
    }


def build(report: Report) -> dict[str, Any]:
    entries = {identity_of(f): entry_for(f) for f in report.findings if not f.waived}
    from auditor import __version__

    return {
        "tool": "ca-audit",
        "tool_version": __version__,
        "baseline_version": FORMAT_VERSION,
        "findings": [entries[key] for key in sorted(entries)],
    }


def write(report: Report, path: str | Path) -> int:
    """Write the baseline for the report's current (unwaived) findings; returns how many."""
    document = build(report)
    target = Path(path)
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(document["findings"])


def load(path: str | Path) -> Baseline:
    source = Path(path)
    if not os.path.lexists(source):
        raise BaselineError(f"{path}: baseline file not found")
    try:
        document = safeio.json_loads(safeio.read_text(source))
    except safeio.Refused as refused:
        raise BaselineError(f"{path}: cannot read the baseline: {refused.message}") from None
    except ValueError as error:
        problem = getattr(error, "msg", None) or str(error)
        raise BaselineError(f"{path}: not a JSON baseline file ({problem})") from None
    if not isinstance(document, dict) or document.get("tool") != "ca-audit":
        raise BaselineError(f'{path}: not a ca-audit baseline (expected an object with "tool": "ca-audit")')
    version = document.get("baseline_version")
    if version != FORMAT_VERSION:
        raise BaselineError(f"{path}: unsupported baseline_version {version!r} (this ca-audit reads 1)")
    entries = document.get("findings")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BaselineError(f'{path}: "findings" must be a list of objects')
    for index, entry in enumerate(entries):
        wrong = [key for key in ("rule_id", "kind", "app", "field")
                 if not isinstance(entry.get(key, ""), (str, type(None)))]
        if wrong:
            raise BaselineError(f"{path}: findings[{index}].{wrong[0]} is not a string")
        missing = [key for key in ("rule_id", "kind", "app") if not entry.get(key)]
        if missing:
            raise BaselineError(f"{path}: findings[{index}] lacks {', '.join(missing)}")
    return Baseline(entries=entries, path=str(path))


def apply(report: Report, baseline: Baseline, partial: bool = False) -> BaselineOutcome:
    """Keep only new findings in the report; say what the baseline hid and what is gone.

    Known findings leave `report.findings` (formats show only what is new; JUnit marks their
    checks skipped). Waived findings stay: they are shown as waived. An entry counts as gone
    only if this run could have seen it again: its rule ran, and — when the run looked at only
    some apps (`partial`, changed-only mode) — its app was among them. In a full run an entry
    for an app that no longer exists is gone too.
    """
    known_ids = baseline.identities()
    new: list[Finding] = []
    known: list[Finding] = []
    kept: list[Finding] = []
    current: set[Identity] = set()
    for finding in report.findings:
        identity = identity_of(finding)
        current.add(identity)
        if not finding.waived and identity in known_ids:
            known.append(finding)
            continue
        if not finding.waived:
            new.append(finding)
        kept.append(finding)
    report.findings = kept

    scanned_apps = {(app.kind, app.name) for app in report.apps}
    rules_run = set(report.rules) if report.rules else None
    gone = [
        entry
        for key, entry in sorted(known_ids.items())
        if key not in current
        and (not partial or (key[1], key[2]) in scanned_apps)
        and (rules_run is None or key[0] in rules_run)
    ]

    name = baseline.path or "the baseline"
    if known:
        report.messages.append(f"baseline {name}: {len(known)} known finding(s) not shown")
    if gone:
        listed = "; ".join(f"{e['rule_id']} {e['app']}" + (f" ({e['field']})" if e.get("field") else "") for e in gone)
        report.messages.append(f"baseline {name}: {len(gone)} entry(ies) no longer occur and can be removed: {listed}")
    return BaselineOutcome(new=new, known=known, gone=gone)
