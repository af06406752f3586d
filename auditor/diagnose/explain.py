"""`ca-audit explain ERROR`: what a token-endpoint error means, its known causes, and which hold.

The catalogue is data (auditor/data/errors.yaml, validated by auditor/schemas/errors.schema.json).
With an app and a source, each cause is checked by running the rules the catalogue names for it
through the engine, exactly as `scan` runs them, or, for causes no rule reports, by the
catalogue's own condition over the same model fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.catalogue import load_catalogue
from auditor.model import PREFLIGHT_FLOWS, App, InputError
from auditor.pipeline import AuditOptions, audit_app

CONFIDENCE_ORDER = {"confirmed": 0, "practitioner": 1, "unconfirmed": 2}
CONFIDENCE_WORDS = {"confirmed": "confirmed by Salesforce", "practitioner": "reported by practitioners",
                    "unconfirmed": "UNCONFIRMED"}
HOLDS, DOES_NOT_HOLD, UNKNOWN, NOT_CHECKABLE = "holds", "does not hold", "unknown", "not checkable"



# ------------------------------------------------------------------------------------ parsing
def normalize(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().strip(".").strip().lower()


def parse_error(raw: str) -> tuple[str | None, str | None]:
    """(error, error_description) from a JSON body (optionally after an HTTP status such as `400`),
    an authorize redirect's query string, `error: description`, a bare description, or a bare code."""
    text = raw.strip()
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, list) and body and isinstance(body[0], dict):
            body = body[0]
        if isinstance(body, dict):
            code = body.get("error") or body.get("errorCode")
            description = body.get("error_description") or body.get("message")
            return (str(code).strip() if code else None,
                    str(description).strip() if description else None)
    if re.search(r"(^|[?&#])error=", text):  # an authorize redirect: ?error=…&error_description=…
        from urllib.parse import parse_qs

        query = parse_qs(re.split(r"[?#]", text, maxsplit=1)[-1])
        code, description = query.get("error", [None])[0], query.get("error_description", [None])[0]
        if code or description:
            return code, description
    head, sep, tail = text.partition(":")
    if sep and re.fullmatch(r"\s*[A-Za-z][A-Za-z_]*\s*", head):
        return head.strip(), tail.strip() or None
    if re.fullmatch(r"[A-Za-z]+(_[A-Za-z]+)+", text):
        return text, None
    return None, text or None


def match(code: str | None, description: str | None) -> tuple[list[dict[str, Any]], str]:
    """Catalogue entries for an error, and how they matched ('' when the code and description agree)."""
    catalogue = load_catalogue()
    wanted = normalize(description) if description else ""
    by_description = [e for e in catalogue if wanted and any(normalize(p) in wanted for p in e["error_description"])]
    if code:
        same = [e for e in by_description if (e["error"] or "").lower() == code.lower()]
        if same:
            return same, ""
        if by_description:
            codes = ", ".join(sorted({e["error"] or "no code" for e in by_description}))
            return by_description, (f"matched on the description only: the catalogue lists it under {codes}, "
                                    f"not {code}")
        if not wanted:
            return [e for e in catalogue if (e["error"] or "").lower() == code.lower()], ""
        return [], ""
    return by_description, ""


# ------------------------------------------------------------------------------------ checking causes
@dataclass
class CauseCheck:
    status: str
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "details": self.details}


@dataclass
class Explanation:
    raw: str
    error: str | None
    description: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    how: str = ""
    app: App | None = None
    app_name: str | None = None
    checks: dict[tuple[str, int], CauseCheck] = field(default_factory=dict)
    rule_fixes: dict[str, str] = field(default_factory=dict)
    missing_rules: list[str] = field(default_factory=list)
    input_errors: list[InputError] = field(default_factory=list)
    known_apps: list[str] = field(default_factory=list)
    problem: str = ""  # why the app could not be checked
    config_flows: list[str] = field(default_factory=list)  # the flows .ca-audit.yaml declares for the app

    @property
    def known(self) -> bool:
        return bool(self.entries)

    def exit_code(self) -> int:
        if not self.known or self.problem or self.input_errors:
            return 2
        return 0

    def ranked(self, entry: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        causes = list(enumerate(entry["causes"]))
        return sorted(causes, key=lambda pair: CONFIDENCE_ORDER[pair[1]["confidence"]])

    def as_dict(self) -> dict[str, Any]:
        from auditor import __version__

        entries = []
        for entry in self.entries:
            causes = []
            for index, cause in self.ranked(entry):
                item: dict[str, Any] = {k: cause[k] for k in ("cause", "confidence", "basis", "rules", "fix")
                                        if k in cause}
                check = self.checks.get((entry["id"], index))
                item["check"] = check.as_dict() if check else None
                causes.append(item)
            entries.append({"id": entry["id"], "error": entry["error"],
                            "error_description": entry["error_description"], "flows": entry["flows"],
                            "string_confidence": entry.get("string_confidence"), "note": entry.get("note"),
                            "causes": causes, "fixes": entry["fixes"], "see_also": entry.get("see_also", []),
                            "references": entry["references"]})
        return {"tool": {"name": "ca-audit", "version": __version__},
                "input": {"error": self.error, "error_description": self.description},
                "known": self.known, "matched": self.how or ("exact" if self.known else None),
                "entries": entries,
                "app": ({"name": self.app.name, "kind": self.app.kind, "path": self.app.path}
                        if self.app else None),
                "problem": self.problem or None,
                "input_errors": [e.as_dict() for e in self.input_errors], "exit_code": self.exit_code()}


def explain(raw: str, app_name: str | None = None, paths: list[str] | None = None, org: Any = None,
            config_path: Path | None = None) -> Explanation:
    code, description = parse_error(raw)
    entries, how = match(code, description)
    result = Explanation(raw, code, description, entries, how, app_name=app_name)
    if not entries or app_name is None:
        return result
    flows = list(dict.fromkeys(f for e in entries for f in e["flows"]))
    options = AuditOptions(paths=paths if paths is not None else ([] if org else ["."]), config_path=config_path,
                           org=org)
    loaded = audit_app(options, app_name, flows)
    result.input_errors = list(loaded.input_errors)
    result.known_apps = loaded.known_apps
    if loaded.app is None:
        shown = ", ".join(loaded.known_apps) or "none"
        result.problem = f"no app named {app_name!r} in the source (apps found: {shown})"
        return result
    result.app = loaded.app
    result.config_flows = list(loaded.config.app_flows.get(loaded.app.name, []))
    _check_causes(result, loaded.app, loaded.rules, loaded.config)
    return result


def _check_causes(result: Explanation, app: App, rules: list[Any], config: Any) -> None:
    from auditor.engine.conditions import fields_named, holds
    from auditor.engine.evaluate import run_rules

    by_id = {r.id: r for r in rules}
    named = {r for e in result.entries for c in e["causes"] for r in c["rules"]}
    result.missing_rules = sorted(named - set(by_id))
    checks = {c.rule_id: c for c in run_rules([by_id[r] for r in sorted(named & set(by_id))], [app], config)}
    has_org = app.get("org.integration_users") is not None or app.get("org.installed") is not None
    for entry in result.entries:
        for index, cause in enumerate(entry["causes"]):
            check = CauseCheck(NOT_CHECKABLE)
            judged = unknown = False
            for rule_id in cause["rules"]:
                rule = by_id.get(rule_id)
                if rule is None:
                    continue
                result.rule_fixes[rule_id] = rule.fix
                done = checks.get(rule_id)
                if done is not None and done.finding is not None:
                    check.status = HOLDS
                    check.details.append(f"{rule_id} ({done.finding.severity}): {done.finding.message}")
                elif done is not None:
                    judged = True
                    check.details.append(f"{rule_id} passes")
                elif "org" in rule.tags and not has_org:
                    unknown = True
                    check.details.append(f"{rule_id} needs org data")
                else:
                    judged = True
                    check.details.append(f"{rule_id} does not apply to this app")
            condition = cause.get("condition")
            if condition is not None and check.status != HOLDS:
                required = cause.get("requires", [])
                missing = [f for f in required if not app.get(f)]
                if missing or all(app.get(f) is None for f in fields_named(condition)):
                    unknown = True
                    org_fields = any(f.startswith("org.") for f in [*missing, *fields_named(condition)])
                    check.details.append("needs org data" if org_fields and not has_org else
                                         f"not known from the source ({', '.join(missing or fields_named(condition))})")
                elif holds(condition, app.values):
                    check.status = HOLDS
                    check.details.append("matches: " + _describe(condition, app))
                else:
                    judged = True
                    check.details.append("does not match: " + _describe(condition, app))
            if check.status != HOLDS:
                check.status = UNKNOWN if unknown else DOES_NOT_HOLD if judged else NOT_CHECKABLE
            result.checks[(entry["id"], index)] = check


def _describe(condition: dict[str, Any], app: App) -> str:
    from auditor.engine.conditions import fields_named
    from auditor.engine.templating import render

    return "; ".join(f"{name} = {render('{' + name + '}', app.values)}" for name in fields_named(condition))


# ------------------------------------------------------------------------------------ output
def render_text(result: Explanation) -> str:
    import textwrap

    from auditor.engine.conditions import fields_named

    def wrap(text: str, first: str, rest: str) -> list[str]:
        return textwrap.wrap(text, width=96, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)

    out: list[str] = []
    if not result.known:
        shown = ": ".join(p for p in (result.error, result.description) if p) or result.raw
        out.append(f"ca-audit does not know the error {shown!r}.")
        out += wrap("It is not in the catalogue of token-endpoint errors (auditor/data/errors.yaml), so there is no "
                    "list of causes to give. Check the app's prerequisites for the flow you used instead:", "", "")
        out.append("  ca-audit preflight APP --flow jwt-bearer|saml2-bearer|client-credentials|username-password")
        return "\n".join(out) + "\n"
    if result.how:
        out += wrap(f"Note: {result.how}.", "", "      ")
        out.append("")
    for number, entry in enumerate(result.entries):
        if number:
            out += ["", "-" * 96, ""]
        code = entry["error"] or "(error code not reported)"
        out.append(f"{code}: {entry['error_description'][0]}")
        confidence = CONFIDENCE_WORDS.get(entry.get("string_confidence", ""), "")
        out += wrap(f"Flows: {', '.join(entry['flows'])}." + (f" Error string: {confidence}." if confidence else ""),
                    "", "")
        if entry.get("note"):
            out += wrap(f"Note: {entry['note']}", "", "      ")
        out.append("")
        out.append("Known causes, most certain first:")
        for rank, (index, cause) in enumerate(result.ranked(entry), 1):
            out += wrap(f"[{CONFIDENCE_WORDS[cause['confidence']]}] {cause['cause']}", f"  {rank}. ", "     ")
            if cause["rules"]:
                detected = ", ".join(cause["rules"])
            elif cause.get("condition"):
                detected = "no rule; checked directly against " + ", ".join(fields_named(cause["condition"]))
            else:
                detected = "no rule: not visible in configuration"
            out += wrap(f"Detected by: {detected}", "     ", "       ")
            if cause.get("fix"):
                out += wrap(f"Fix: {cause['fix']}", "     ", "       ")
            check = result.checks.get((entry["id"], index))
            if check is not None and result.app is not None:
                verdict = {HOLDS: "HOLDS", DOES_NOT_HOLD: "does not hold", UNKNOWN: "unknown",
                           NOT_CHECKABLE: "cannot be checked from configuration"}[check.status]
                detail = f" — {'; '.join(check.details)}" if check.details else ""
                out += wrap(f"{result.app.name}: {verdict}{detail}", "     → ", "       ")
        out.append("")
        out.append("Fixes, in the order to apply them:")
        for step, fix in enumerate(entry["fixes"], 1):
            out += wrap(fix, f"  {step}. ", "     ")
        if entry.get("see_also"):
            out.append(f"See also: {', '.join(entry['see_also'])} (`ca-audit rules show ID`)")
        out.append("References:")
        out += [f"  {ref}" for ref in entry["references"]]
    if result.app is not None:
        out.append("")
        held = sum(1 for c in result.checks.values() if c.status == HOLDS)
        rules = [r for (eid, index), c in result.checks.items() if c.status == HOLDS
                 for e in result.entries if e["id"] == eid for r in e["causes"][index]["rules"]]
        found = (f" (found by {', '.join(dict.fromkeys(rules))}; `ca-audit rules show ID` gives each fix)"
                 if rules else "")
        out.append(f"{result.app.name}: {held} of {len(result.checks)} known cause(s) hold{found}.")
    if result.problem:
        out.append("")
        out.append(f"ca-audit explain: {result.problem}")
    if result.input_errors:
        out.append("")
        out.append("Input problems:")
        out += [f"  {error}" for error in result.input_errors]
    candidates = [f for e in result.entries for f in e["flows"] if f in PREFLIGHT_FLOWS]
    declared = [f for f in result.config_flows if f in candidates]
    flow = next(iter(declared or candidates), None)
    if flow:
        out.append("")
        app = result.app.name if result.app else "APP"
        out.append(f"Next: ca-audit preflight {app} --flow {flow}")
    return "\n".join(out) + "\n"
