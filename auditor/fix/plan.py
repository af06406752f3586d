"""Findings → a patch, and the proof: the patched bytes are audited again, in memory, through the
same sources and pipeline as `scan`, and each app shows which findings the patch clears and which
remain. Nothing here talks to an org or deploys; `apply` writes the files only when asked to."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine.rule import Rule
from auditor.fix import patches as patch_data
from auditor.fix.diff import SecretLineChanged, unified_diff
from auditor.fix.writer import Written, file_reader, write
from auditor.fixtext import kind_part
from auditor.model import FILES, KIND_WORDS, App, Finding, InputError, Report, display_path
from auditor.pipeline import AuditOptions, apps_of, audit, prepare, read_sources
from auditor.sources import SourceResult
from auditor.sources.documents import apps_from_documents

# Why a finding is not cleared by the patch.
NEEDS_CHOICE = "needs a choice"
SETUP_ONLY = "not expressible in metadata"  # org-only: users, tokens, usage, what the org holds
NO_PATCH = "no patch yet"  # a metadata edit ca-audit does not write: the detail says it, to do by hand
NO_EDIT = "no safe edit"
NOT_CLEARED = "not cleared by the edit"
NOT_SELECTED = "not selected"


@dataclass
class FixRequest:
    paths: list[str]
    config_path: Path | None = None
    only: set[str] = field(default_factory=set)  # rule ids whose findings are patched (empty: all)
    apps: set[str] = field(default_factory=set)  # app names or labels (empty: all)
    declared_flows: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)  # choice name → value (permission_set → NAME)
    today: dt.date | None = None


@dataclass
class Remaining:
    app: str
    kind: str
    rule_id: str
    severity: str
    message: str
    reason: str
    detail: str  # the Setup path, the option that gives the choice, or why no edit applies

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "kind": self.kind, "rule_id": self.rule_id, "severity": self.severity,
                "message": self.message, "reason": self.reason, "detail": self.detail}


@dataclass
class FilePatch:
    app: str
    kind: str
    path: str  # as shown in the diff: relative to the working folder, forward slashes
    file: Path
    before: bytes
    after: bytes
    rules: list[str]  # rules whose edits are in this file
    clears: list[str] = field(default_factory=list)
    needs_choice: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diff: str = ""  # secrets masked (auditor/fix/diff.py)
    unidiff_zero: bool = False  # a secret line right after a change: `git apply --unidiff-zero` applies the diff

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "app": self.app, "kind": self.kind, "diff": self.diff,
                "unidiff_zero": self.unidiff_zero, "clears": self.clears, "needs_choice": self.needs_choice,
                "notes": self.notes}


@dataclass
class AppOutcome:
    name: str
    kind: str
    cleared: list[str] = field(default_factory=list)
    remaining: list[Remaining] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)  # raised by the patched content (a patch with --only)


@dataclass
class FixPlan:
    patches: list[FilePatch] = field(default_factory=list)
    apps: list[AppOutcome] = field(default_factory=list)
    input_errors: list[InputError] = field(default_factory=list)
    patched_apps: dict[str, App] = field(default_factory=dict)  # app name → the app read from the patched bytes
    rules: list[Rule] = field(default_factory=list)
    config: Any = None
    usage: str = ""  # a usage problem (an --app that names no app): the CLI reports it as one, exit 2

    @property
    def remaining(self) -> list[Remaining]:
        return [r for outcome in self.apps for r in outcome.remaining]

    def exit_code(self) -> int:
        return 2 if self.input_errors or self.usage else 0

    def as_dict(self) -> dict[str, Any]:
        from auditor import __version__

        data: dict[str, Any] = {
            "tool": {"name": "ca-audit", "version": __version__},
            "patches": [p.as_dict() for p in self.patches],
            "remaining": [r.as_dict() for r in self.remaining],
            "apps": [{"name": o.name, "kind": o.kind, "clears": o.cleared,
                      "remaining": [r.rule_id for r in o.remaining],
                      "new": [f.rule_id for f in o.new]} for o in self.apps],
        }
        data["input_errors"] = [e.as_dict() for e in self.input_errors]
        return data


def _key(finding: Finding) -> tuple[str, str, str, str]:
    return finding.app, finding.kind, finding.rule_id, finding.field or ""


def _selected(app: App, wanted: set[str]) -> bool:
    if not wanted:
        return True
    keys = {app.name.lower(), str(app.get("label") or "").lower()}
    return bool(keys & {w.lower() for w in wanted})


def setup_path(fix: str, kind: str) -> str:
    """The part of a rule's fix text for this kind of app, up to where the source change begins."""
    before_source = kind_part(fix, kind).split("; in source", 1)[0].split(" in source ", 1)[0]
    text = re.split(r"\.\s+(?=[A-Z])", before_source, maxsplit=1)[0]
    return text.strip().rstrip(".;,").strip()


def source_change(fix: str, kind: str) -> str:
    """The metadata change a rule's fix text names for this kind of app (`in source …`), or ``."""
    text = re.split(r";\s*(?:external client app|connected app):", kind_part(fix, kind), maxsplit=1,
                    flags=re.I)[0]
    found = re.search(r"\bin source\b(.*?)(?:\.\s+(?=[A-Z])|\.?$)", text)
    return f"in source{found.group(1)}".rstrip(".;, ") if found else ""


def _org_only(rule: Rule) -> bool:
    """A fix that no metadata file can carry: the rule reads org data, or its fix names no source change."""
    return "org" in rule.tags or "in source" not in " ".join(rule.fix.split())


def plan(request: FixRequest) -> FixPlan:
    options = AuditOptions(paths=request.paths, config_path=request.config_path,
                           declared_flows=request.declared_flows, today=request.today)
    setup = prepare(options)
    result = FixPlan(rules=setup.rules, config=setup.config)
    if setup.errors:
        result.input_errors = setup.errors
        return result
    source = apps_of(read_sources(options, setup.config), setup.config.integration_users)
    before = audit(options, source)
    if before.input_errors:
        result.input_errors = before.input_errors
        return result
    chosen = [a for a in source.apps if a.origin == FILES and _selected(a, request.apps)]
    if request.apps and not chosen:
        names = ", ".join(sorted({a.name for a in source.apps})) or "none"
        wanted = ", ".join(sorted(request.apps))
        result.usage = f"--app: no app named {wanted} in the source (apps found: {names})"
        return result
    rebuilt: dict[int, App] = {}
    written: dict[int, Written] = {}
    report, original = before, {_key(f) for f in before.active_findings}
    # A fix can raise another rule (the refresh_token scope wakes the rotation rule): later rounds
    # patch what the earlier ones raised, unless --only narrowed the run.
    for round_number in range(3):
        changed = False
        for app in chosen:
            done = written.setdefault(id(app), Written())
            current = rebuilt.get(id(app), app)
            new_only = round_number > 0
            step = _patch_app(current, report, request, original if new_only else None, _overlay(app, done))
            if step is None:
                continue
            _merge(done, step)
            if not step.files:
                continue
            new_app, errors = _reread(app, done)
            if errors:
                result.input_errors.extend(errors)
                return result
            rebuilt[id(app)] = new_app
            changed = True
        if not changed:
            break
        report = audit(options, SourceResult([rebuilt.get(id(a), a) for a in source.apps], []))
        if request.only:
            break
    after = report
    result.patched_apps = {a.name: a for a in rebuilt.values()}
    for app in chosen:
        _outcome(result, app, before, after, request, written.get(id(app)))
    return result


def _overlay(app: App, done: Written) -> Callable[[str], bytes]:
    """Read an app's files as patched so far."""
    read = file_reader(app.root)
    return lambda path: done.files[path][1] if path in done.files else read(path)


def _merge(done: Written, step: Written) -> None:
    for path, (old, new) in step.files.items():
        done.files[path] = (done.files[path][0] if path in done.files else old, new)
    for path, rules in step.rules_by_file.items():
        done.rules_by_file[path] = list(dict.fromkeys([*done.rules_by_file.get(path, []), *rules]))
    done.unwritable.extend(step.unwritable)


def _patch_app(app: App, report: Report, request: FixRequest, known: set[tuple[str, str, str, str]] | None,
               read: Callable[[str], bytes]) -> Written | None:
    """Patch the app's findings in `report` (with `known`: only those not among them)."""
    findings = [f for f in report.active_findings if f.app == app.name and f.kind == app.kind and f.origin == FILES]
    rule_patches = []
    for finding in findings:
        rule = report.rules.get(finding.rule_id)
        if known is not None and _key(finding) in known:
            continue
        if rule is None or rule.patch is None:
            continue
        if known is None and request.only and finding.rule_id not in request.only:
            continue
        rule_patches.append(patch_data.for_app(rule, app, request.choices))
    changes = patch_data.changes(rule_patches, app)
    if not changes:
        return None
    return write(app, changes, read)


def _reread(app: App, done: Written) -> tuple[App, list[InputError]]:
    """The app read again by the sources from its patched bytes (its other files as on disk)."""
    read = file_reader(app.root)
    paths = dict.fromkeys([app.path, *(loc.path for loc in app.locations.values())])
    documents = []
    for path in paths:
        if path in done.files:
            documents.append((path, done.files[path][1]))
        else:
            try:
                documents.append((path, read(path)))
            except OSError:
                continue
    again = apps_from_documents(documents)
    errors = [InputError(e.path, e.line, f"the patched file does not parse ({e.message}); nothing written")
              for e in again.errors]
    match = [a for a in again.apps if a.name == app.name and a.kind == app.kind]
    if not match and not errors:
        errors.append(InputError(app.path, None, "the patched files no longer yield the app; nothing written"))
    if errors:
        return app, errors
    new_app = match[0]
    new_app.root = app.root
    for name, value in app.values.items():
        new_app.values.setdefault(name, value)
    return new_app, []


def _outcome(result: FixPlan, app: App, before: Report, after: Report, request: FixRequest,
             done: Written | None) -> None:
    def mine(report: Report) -> dict[tuple[str, str, str, str], Finding]:
        return {_key(f): f for f in report.active_findings
                if f.app == app.name and f.kind == app.kind and f.origin == FILES}

    old, new = mine(before), mine(after)
    outcome = AppOutcome(app.name, app.kind)
    outcome.cleared = list(dict.fromkeys(key[2] for key in old if key not in new))
    outcome.new = [f for key, f in new.items() if key not in old]
    unwritable = dict(done.unwritable) if done else {}
    edited = {rule for rules in (done.rules_by_file.values() if done else []) for rule in rules}
    choice_notes: dict[str, list[dict[str, str]]] = {}
    for key, finding in new.items():
        if key not in old:
            continue
        rule = before.rules.get(finding.rule_id)
        reason, detail = _why_remaining(rule, app, finding, request, unwritable, edited, choice_notes)
        outcome.remaining.append(Remaining(app.name, app.kind, finding.rule_id, str(finding.severity),
                                           finding.message, reason, detail))
    if outcome.cleared or outcome.remaining or outcome.new:
        result.apps.append(outcome)
    if done is None or not done.files:
        return
    read_root = Path(app.root)
    for path, (old_bytes, new_bytes) in done.files.items():
        rules = done.rules_by_file.get(path, [])
        file = read_root / path
        patch = FilePatch(app.name, app.kind, display_path(file), file, old_bytes, new_bytes, rules)
        patch.clears = [r for r in outcome.cleared if r in rules or _located_in(before, app, r, path)]
        patch.notes = list(dict.fromkeys(note for r in rules if (note := _note(before.rules.get(r)))))
        try:
            shown = unified_diff(patch.path, old_bytes, new_bytes)
        except SecretLineChanged as error:  # no rule edits secrets; if one would, nothing is written
            result.input_errors.append(InputError(patch.path, None, f"{error}; nothing written"))
            continue
        patch.diff, patch.unidiff_zero = shown.text, shown.unidiff_zero
        result.patches.append(patch)
    if result.patches and choice_notes:
        own = [p for p in result.patches if p.app == app.name] or result.patches
        for entries in choice_notes.values():
            own[0].needs_choice.extend(entries)


def _note(rule: Rule | None) -> str:
    return str((rule.patch or {}).get("note", "")) if rule else ""


def _located_in(report: Report, app: App, rule_id: str, path: str) -> bool:
    return any(f.rule_id == rule_id and f.app == app.name and f.location.path == path for f in report.findings)


def _why_remaining(rule: Rule | None, app: App, finding: Finding, request: FixRequest,
                   unwritable: dict[str, str], edited: set[str],
                   choice_notes: dict[str, list[dict[str, str]]]) -> tuple[str, str]:
    setup = setup_path(finding.fix, app.kind) if finding.fix else ""
    if request.only and finding.rule_id not in request.only:
        return NOT_SELECTED, "not in --only"
    if rule is None or rule.patch is None:
        if rule is not None and _org_only(rule):
            return SETUP_ONLY, setup
        change = source_change(finding.fix, app.kind) if finding.fix else ""
        by_hand = "; ".join(part for part in (setup, change) if part)
        return NO_PATCH, f"edit by hand: {by_hand}" if by_hand else "edit by hand"
    patch = patch_data.for_app(rule, app, request.choices)
    if patch.missing:
        options = ", ".join(patch_data.CHOICES[name] for name in patch.missing)
        choice_notes.setdefault(rule.id, []).append({"rule_id": rule.id, "app": app.name, "option": options,
                                                     "setup": setup})
        return NEEDS_CHOICE, f"give {options}; or {setup}" if setup else f"give {options}"
    if rule.id in unwritable:
        return NO_EDIT, f"{unwritable[rule.id]}; {setup}" if setup else unwritable[rule.id]
    if not patch.edits:
        return NO_EDIT, f"no edit applies to this app's values; {setup}" if setup else \
            "no edit applies to this app's values"
    if rule.id in edited:
        return NOT_CLEARED, setup
    return NO_EDIT, setup


def apply(result: FixPlan, writer: Callable[[Path, bytes], None] | None = None) -> list[str]:
    """Write every patched file (only files whose bytes change); the paths written."""
    written = []
    for patch in result.patches:
        if patch.file.read_bytes() == patch.after:
            continue
        (writer or _write_bytes)(patch.file, patch.after)
        written.append(patch.path)
    return written


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def kind_word(kind: str) -> str:
    return KIND_WORDS.get(kind, kind)
