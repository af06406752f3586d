"""`ca-audit preflight APP --flow FLOW`: will this token request work, and if not, what to change.

Nothing here decides on its own what `scan` decides: the app is read by the same sources, the
flow is declared for it the way `--flow APP=FLOW` declares it, and every rule whose tags name the
flow is evaluated with the engine's `run_rules` under the same config and waivers. The checklist
only groups those results into prerequisites, in the order their fixes should be applied. A
finding at or above `high` (or the config's lower `fail_on`) is a ✗ that makes the verdict
WILL FAIL when its prerequisite is documented (a flow rule no checklist line owns blocks only through a
catalogued token error; without one it "may fail"), so a flow called READY never has a failing `scan`
finding among its rules, except the checklist's advisory ones (CA-05, CA-23).

Where no rule exists for a prerequisite (OAuth on at all, client credentials switched on, the
named user active), a small condition over the same model fields stands in, and says so. The
checklists and their texts are data: auditor/data/checklists.yaml. Output is auditor/diagnose/render.py.

The evidence rule (DESIGN.md): a line blocks (✗, WILL FAIL) only on a confirmed or practitioner
prerequisite; an unconfirmed one "may fail" (?) and makes the verdict UNKNOWN. What the source
cannot show is unknown (?), never a pass, and an unknown line that could block makes the verdict
UNKNOWN. A ✓ needs something observed: a rule evaluated and passing, or a condition over known
fields. Org data beats inference: `override_if` turns a blocking finding into a warning (an
approval the org records) or an unknown (an approval the files cannot show).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.catalogue import load_catalogue, load_checklists
from auditor.config import Config
from auditor.engine.conditions import fields_named, holds
from auditor.engine.rule import Rule
from auditor.engine.templating import placeholders, render
from auditor.model import (
    CHECK_UNKNOWN,
    CONFIRMED,
    EVIDENCE_LEVELS,
    EVIDENCE_WORDS,
    ORG,
    READY,
    UNCONFIRMED,
    UNKNOWN,
    WILL_FAIL,
    App,
    Finding,
    InputError,
    Severity,
)
from auditor.pipeline import AuditOptions, audit_app

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget

PASS, FAIL, WARN, NOT_NEEDED = "pass", "fail", "warn", "not needed"
UNKNOWN_STATUS = CHECK_UNKNOWN
MAY_FAIL = "may fail"  # a failing check whose evidence is unconfirmed: UNKNOWN, never WILL FAIL


@dataclass(frozen=True)
class Item:
    """One prerequisite of a flow (auditor/data/checklists.yaml), decided by rules and, where no
    rule exists, by `require`."""

    key: str
    label: str
    rules: tuple[str, ...] = ()
    passed: str = ""  # shown on ✓, a template over the app's values
    # (field, condition, why): unknown when the field is null or the condition holds
    unknown_if: tuple[tuple[str | None, dict[str, Any] | None, str], ...] = ()
    applies_if: dict[str, Any] | None = None
    not_needed: str = ""
    require: dict[str, Any] | None = None  # preflight's own condition, only where no rule covers it
    failed: str = ""  # message when `require` does not hold
    error: str | None = None  # catalogue entry id answered when `require` does not hold
    fix: str = ""  # fix when `require` does not hold
    org: str | None = None  # "users", "run_as" or "setting": judged only with org data
    evidence: str | None = None  # confirmed | practitioner | unconfirmed; None: a rule no item groups
    source: str = ""  # where the prerequisite comes from
    kinds: tuple[str, ...] = ()  # shown only for these app kinds (default both)
    override_if: tuple[dict[str, Any], ...] = ()  # {when, status, why}: org data beats inference
    advisory: tuple[str, ...] = ()  # rules whose findings never block this line
    advisory_why: str = ""
    warn_if: dict[str, Any] | None = None  # {when, why}: a passing line that is a warning, never ✓

    @classmethod
    def from_data(cls, item_id: str, data: dict[str, Any]) -> Item:
        advisory = data.get("advisory", {})
        return cls(data.get("key", item_id), data["label"], tuple(data.get("rules", ())), data.get("passed", ""),
                   tuple((u.get("field"), u.get("when"), u["why"]) for u in data.get("unknown_if", ())),
                   data.get("applies_if"), data.get("not_needed", ""), data.get("require"), data.get("failed", ""),
                   data.get("error"), data.get("fix", ""), data.get("org"), data["evidence"], data["source"],
                   tuple(data.get("kinds", ())), tuple(data.get("override_if", ())),
                   tuple(advisory.get("rules", ())), advisory.get("why", ""), data.get("warn_if"))


def checklist(flow: str) -> list[Item]:
    """A flow's prerequisites, in the order their fixes should be applied."""
    data = load_checklists()
    return [Item.from_data(item_id, data["items"][item_id]) for item_id in data["flows"][flow]]


# ------------------------------------------------------------------------------------ results
@dataclass
class Line:
    key: str
    label: str
    status: str  # pass | fail | warn | unknown | may fail | not needed
    reason: str
    rules: list[str] = field(default_factory=list)
    blocking: bool = False
    could_block: bool = False  # a failure here would block the flow: an unknown here makes the verdict UNKNOWN
    evidence: str | None = None
    causes: list[tuple[str, str]] = field(default_factory=list)  # ("error: description", "CA-01 — hedge")
    unmapped: list[str] = field(default_factory=list)  # blocking findings no catalogued error belongs to
    fixes: list[str] = field(default_factory=list)
    org: bool = False

    @property
    def errors(self) -> list[str]:
        return group_errors(self.causes)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "status": self.status, "blocking": self.blocking,
                "could_block": self.could_block, "evidence": self.evidence,
                "reason": self.reason, "rules": self.rules, "errors": self.errors,
                "blocking_without_known_error": self.unmapped, "fixes": self.fixes,
                "needs_org_data": self.org}


@dataclass
class Result:
    app: str
    flow: str
    kind: str | None = None
    path: str | None = None
    user: str | None = None
    lines: list[Line] = field(default_factory=list)
    verdict: str = UNKNOWN
    summary: str = ""
    notes: list[str] = field(default_factory=list)
    input_errors: list[InputError] = field(default_factory=list)
    known_apps: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return group_errors([c for line in self.lines if line.blocking for c in line.causes])

    @property
    def unmapped(self) -> list[str]:
        return list(dict.fromkeys(u for line in self.lines if line.blocking for u in line.unmapped))

    @property
    def fixes(self) -> list[str]:
        return list(dict.fromkeys(f for line in self.lines if line.status == FAIL and line.blocking
                                  for f in line.fixes))

    def exit_code(self) -> int:
        if self.input_errors or self.verdict == UNKNOWN:
            return 2
        return 1 if self.verdict == WILL_FAIL else 0

    def as_dict(self) -> dict[str, Any]:
        from auditor import __version__

        return {"tool": {"name": "ca-audit", "version": __version__}, "app": self.app, "kind": self.kind,
                "path": self.path, "flow": self.flow, "user": self.user, "verdict": self.verdict,
                "summary": self.summary, "checks": [line.as_dict() for line in self.lines],
                "errors": self.errors, "blocking_without_known_error": self.unmapped, "fixes": self.fixes,
                "notes": self.notes,
                "input_errors": [e.as_dict() for e in self.input_errors], "exit_code": self.exit_code()}


# ------------------------------------------------------------------------------------ preflight
def preflight(app_name: str, flow: str, paths: list[str], org: OrgTarget | None = None, user: str | None = None,
              config_path: Path | None = None, today: dt.date | None = None) -> Result:
    today = today or dt.date.today()
    loaded = audit_app(AuditOptions(paths=paths, config_path=config_path, org=org), app_name, [flow], user)
    result = Result(app=app_name, flow=flow, user=user, input_errors=list(loaded.input_errors),
                    known_apps=loaded.known_apps)
    if loaded.app is None:
        if not loaded.input_errors or loaded.known_apps:
            shown = ", ".join(loaded.known_apps) or "none"
            result.summary = f"no app named {app_name!r} in the source (apps found: {shown})"
        else:
            result.summary = "the source could not be read"
        return result
    app = loaded.app
    result.app, result.kind, result.path = app.name, app.kind, app.path
    evaluate(result, app, loaded.rules, loaded.config, today)
    return result


def evaluate(result: Result, app: App, rules: list[Rule], config: Config, today: dt.date) -> None:
    from auditor.engine.evaluate import apply_waivers, run_rules

    flow = result.flow
    flow_rules = [r for r in rules if flow in r.flows]
    by_id = {r.id: r for r in flow_rules}
    checks = {c.rule_id: c for c in run_rules(flow_rules, [app], config)}
    findings = [c.finding for c in checks.values() if c.finding is not None]
    apply_waivers(findings, config.waivers, today)  # marks waived findings; run-level messages belong to scan
    threshold = min(Severity.HIGH, config.fail_on)
    catalogue = load_catalogue()
    data = load_checklists()
    items = checklist(flow)
    grouped = {r for item in items for r in item.rules}
    items += [Item(rule.id, f"{rule.id}: {rule.title}", rules=(rule.id,),
                   passed=data["messages"]["other_rule_passed"])
              for rule in flow_rules
              if rule.id not in grouped]
    for item in items:
        line = _line(item, app, flow, by_id, checks, threshold, catalogue, today, config, data)
        if line is not None:
            result.lines.append(line)
    _verdict(result, app, data["retirement"])
    if flow in data["notes"]:
        result.notes.append(data["notes"][flow])
    result.notes.extend(dict.fromkeys(app.notes))


def _line(item: Item, app: App, flow: str, rules: dict[str, Any], checks: dict[str, Any], threshold: Severity,
          catalogue: list[dict[str, Any]], today: dt.date, config: Config, data: dict[str, Any]) -> Line | None:
    values = app.values
    messages = data["messages"]
    if item.kinds and app.kind not in item.kinds:
        return None
    ids = [r for r in item.rules if r in rules]
    if item.rules and not ids and item.require is None:
        return None  # none of its rules bears on this flow in the loaded pack
    line = Line(item.key, item.label, PASS, "", rules=ids, org=item.org is not None, evidence=item.evidence)
    line.could_block = item.require is not None or any(
        _may_block(rules[r], threshold, config) for r in ids if r not in item.advisory)
    if item.key == "retirement":
        return _retirement(line, today, data["retirement"])
    if item.applies_if is not None and not holds(item.applies_if, values):
        missing = [f for f in fields_named(item.applies_if) if values.get(f) is None]
        if missing:  # "not needed" would claim what the source does not show
            line.status, line.reason = UNKNOWN_STATUS, "unknown — " + _input_unknown(missing, messages)
        else:
            line.status, line.reason = NOT_NEEDED, item.not_needed
        return line
    unknown = _org_unknown(item, values, messages, app.origin)
    if unknown:
        line.status, line.reason = UNKNOWN_STATUS, unknown
        return line
    findings: list[Finding] = [checks[r].finding for r in ids if r in checks and checks[r].finding is not None]
    text = "; ".join(_finding_text(f) for f in findings)
    fixes = [f"{f.rule_id}: {rules[f.rule_id].fix}" for f in sorted(findings, key=lambda f: -f.severity)]
    blocking = [f for f in findings if not f.waived and f.severity >= threshold and f.rule_id not in item.advisory]
    if blocking:
        line.fixes = fixes
        for override in item.override_if:
            if holds(override["when"], values):
                line.status = WARN if override["status"] == "warn" else UNKNOWN_STATUS
                line.reason = f"{text} — {render(override['why'], values)}"
                return line
        causes = [c for f in blocking for c in _errors_for(f.rule_id, flow, app.kind, catalogue)]
        if item.evidence is None:  # a flow rule no checklist line owns: only a catalogued error makes it block
            grades = [g for f in blocking for g in _grades(f.rule_id, flow, app.kind, catalogue)]
            line.evidence = min(grades, key=EVIDENCE_LEVELS.index) if grades else UNCONFIRMED
            if not grades:
                severity = max(f.severity for f in blocking)
                line.status, line.fixes = MAY_FAIL, fixes
                line.reason = f"may fail: {text} — " + messages["no_known_error"].replace("{severity}", str(severity))
                return line
        if line.evidence == UNCONFIRMED:
            line.status, line.causes = MAY_FAIL, causes
            line.reason = f"may fail: {text} — UNCONFIRMED: {item.source}"
            return line
        line.status, line.blocking, line.reason, line.causes = FAIL, True, text, causes
        line.unmapped = [_unmapped(f, rules[f.rule_id], config) for f in blocking
                         if not _errors_for(f.rule_id, flow, app.kind, catalogue)]
        return line
    why = _unknown_input(item, values)
    if not why and values.get("org.unread_integration_users") and any(
            "integration-user" in rules[r].tags for r in ids):  # a rule about users some of whom were not read
        why = render(messages["users_not_read"], values)
    if why:
        line.status, line.reason = UNKNOWN_STATUS, f"unknown — {why}" + (f"; {text}" if text else "")
        return line
    if findings:
        line.status, line.fixes = WARN, fixes
        advised = [f for f in findings if f.rule_id in item.advisory and f.severity >= threshold]
        line.reason = text + (f" — {item.advisory_why}" if advised else "")
        return line
    if item.require is not None and not holds(item.require, values):
        line.reason = _render_parts(item.failed, values)
        entry = next((e for e in catalogue if e["id"] == item.error), None)
        if entry:
            line.causes = [(_error_text(entry), _hedge(c["confidence"] for c in entry["causes"]))]
        line.fixes = [item.fix] if item.fix else []
        if item.evidence == UNCONFIRMED:
            line.status, line.reason = MAY_FAIL, f"may fail: {line.reason} — UNCONFIRMED: {item.source}"
            return line
        line.status, line.blocking = FAIL, True
        if not entry:
            line.unmapped = [f"{item.label}: Salesforce documents no error string for it"]
        return line
    if ids and all(r not in checks for r in ids) and item.require is None:
        # No rule was evaluated: nothing was observed, so never a ✓.
        if any("org" in rules[r].tags for r in ids) and not _has_org(values):
            line.status, line.reason, line.org = UNKNOWN_STATUS, f"unknown — {messages['needs_org']}", True
        elif item.org is not None:
            line.status, line.reason = UNKNOWN_STATUS, "unknown — " + render(messages["not_observed"], values)
        else:
            line.status, line.reason = NOT_NEEDED, "does not apply to this app"
        return line
    shown = {name: ("not set" if value is None else value) for name, value in values.items()}
    if item.warn_if is not None and holds(item.warn_if["when"], values):
        line.status, line.reason = WARN, render(item.warn_if["why"], shown)  # not observed: never ✓
        return line
    line.reason = render(item.passed, shown) if item.passed else "passes"
    return line


def _may_block(rule: Rule, threshold: Severity, config: Config) -> bool:
    """Whether a finding of this rule could reach the blocking threshold (its severity, any severity_if,
    or the config's override)."""
    if rule.id in getattr(config, "severity_overrides", {}):
        return bool(config.severity_overrides[rule.id] >= threshold)
    return max([rule.severity, *(Severity.parse(e["severity"]) for e in rule.severity_if)]) >= threshold


def _unknown_input(item: Item, values: dict[str, Any]) -> str:
    for field_path, condition, why in item.unknown_if:
        if (field_path is not None and values.get(field_path) is None) or \
                (condition is not None and holds(condition, values)):
            return render(why, values)
    return ""


def _input_unknown(fields: list[str], messages: dict[str, str]) -> str:
    return messages["input_unknown"].replace("{fields}", ", ".join(fields))


def _has_org(values: dict[str, Any]) -> bool:
    return values.get("org.integration_users") is not None or values.get("org.installed") is not None


def _org_unknown(item: Item, values: dict[str, Any], messages: dict[str, str], origin: str) -> str:
    why = ""
    if item.org == "setting" and values.get("org_settings.username_password_blocked") is None:
        why = messages["setting_unknown_org" if origin == ORG else "setting_unknown"]
    if item.org == "users":
        users = values.get("org.integration_users")
        if users is None:
            why = messages["needs_org"]
        elif not users:
            why = messages["no_user"]
        elif values.get("org.unread_integration_users"):
            why = render(messages["users_not_read"], values)
    if item.org == "run_as" and values.get("org.run_as.found") is None:
        if values.get("org.integration_users") is None:
            why = messages["needs_org"]
        elif not values.get("oauth.client_credentials.user"):
            why = messages["no_run_as"]
        else:
            why = messages["run_as_not_read"]
    return f"unknown — {why}" if why else ""


def _retirement(line: Line, today: dt.date, retirement: dict[str, str]) -> Line:
    date = retirement["date"]
    days = (dt.date.fromisoformat(date) - today).days
    if days <= 0:
        line.status, line.blocking = FAIL, True
        line.reason = retirement["retired"].format(date=date)
        line.unmapped = [retirement["retired_unmapped"].format(date=date)]
        line.fixes = [retirement["retired_fix"].format(date=date)]
    else:
        line.status = WARN
        line.reason = retirement["upcoming"].format(date=date, days=days)
    return line


def _finding_text(finding: Finding) -> str:
    waived = f" — waived: {finding.waived_by.get('reason')}" if finding.waived_by else ""
    return f"{finding.rule_id} ({finding.severity}): {finding.message}{waived}"


def _render_parts(template: str, values: dict[str, Any]) -> str:
    """A `; `-separated template with the parts left out whose placeholders are all empty (say only what
    applies: "inactive: X", not "not found in the org: none; inactive: X")."""
    parts = [part for part in template.split("; ")
             if not placeholders(part) or any(values.get(name) not in (None, [], "") for name in placeholders(part))]
    return render("; ".join(parts or [template]), values)


def _grades(rule_id: str, flow: str, kind: str, catalogue: list[dict[str, Any]]) -> list[str]:
    """The evidence levels of the catalogued causes of this flow that this rule detects."""
    return [c["confidence"] for entry in catalogue
            if flow in entry["flows"] and kind in entry.get("applies_to", [kind])
            for c in entry["causes"] if rule_id in c["rules"]]


def _errors_for(rule_id: str, flow: str, kind: str, catalogue: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The catalogued errors a finding of this rule leads to in this flow, hedged by the cause's grade."""
    found = []
    for entry in catalogue:
        if flow not in entry["flows"] or kind not in entry.get("applies_to", [kind]):
            continue
        grades = [c["confidence"] for c in entry["causes"] if rule_id in c["rules"]]
        if grades:
            hedge = _hedge(grades)
            found.append((_error_text(entry), f"{rule_id} — {hedge}" if hedge else rule_id))
    return found


def _hedge(levels: Any) -> str:
    """How sure the most certain of these causes is, as a hedge: nothing for a confirmed cause."""
    level = min(levels, key=EVIDENCE_LEVELS.index)
    return "" if level == CONFIRMED else EVIDENCE_WORDS[level]


def _error_text(entry: dict[str, Any]) -> str:
    return f"{entry['error'] or '(error code not reported)'}: {entry['error_description'][0]}"


def group_errors(causes: list[tuple[str, str]]) -> list[str]:
    """One line per error, naming the findings that lead to it and how certain that is."""
    grouped: dict[str, list[str]] = {}
    for error, because in causes:
        reasons = grouped.setdefault(error, [])
        if because and because not in reasons:
            reasons.append(because)
    return [f"{error} ({', '.join(reasons)})" if reasons else error for error, reasons in grouped.items()]


def _unmapped(finding: Finding, rule: Rule, config: Config) -> str:
    if finding.rule_id in getattr(config, "severity_overrides", {}):
        return (f"{finding.rule_id} is rated {finding.severity} by your .ca-audit.yaml: not a token error, but "
                "the flow fails your audit policy")
    return f"{finding.rule_id}: {rule.title} — Salesforce documents no error string for it"


def _verdict(result: Result, app: App, retirement: dict[str, str]) -> None:
    blocking = [line for line in result.lines if line.blocking]
    may_fail = [line for line in result.lines if line.status == MAY_FAIL]
    unknown = [line for line in result.lines if line.status == UNKNOWN_STATUS and line.could_block]
    unknown_other = [line for line in result.lines if line.status == UNKNOWN_STATUS and not line.could_block]
    who = f" as {result.user}" if result.user else ""
    if blocking:
        result.verdict = WILL_FAIL
        result.summary = f"a {result.flow} token request for {app.name}{who} will fail"
    elif result.input_errors:
        result.verdict = UNKNOWN
        result.summary = "some input could not be read, so the checklist may be incomplete"
    elif may_fail or unknown:
        result.verdict = UNKNOWN
        parts = []
        if may_fail:
            parts.append("may fail on an UNCONFIRMED cause: " + ", ".join(line.label for line in may_fail))
        if unknown:
            parts.append(f"{len(unknown)} prerequisite(s) cannot be judged from the source: "
                         + ", ".join(line.label for line in unknown))
        result.summary = "; ".join(parts)
    else:
        result.verdict = READY
        result.summary = f"{app.name} meets every prerequisite of {result.flow} that the source shows"
        if unknown_other:
            result.summary += f"; {len(unknown_other)} check(s) that do not block need org data"
        if any(line.key == "retirement" and line.status == WARN for line in result.lines):
            result.summary += retirement["summary"].format(date=retirement["date"])
