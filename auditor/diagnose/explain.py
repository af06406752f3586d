"""`ca-audit explain ERROR`: what a token-endpoint error means, its known causes, and which hold.

The catalogue is data (auditor/data/errors.yaml, validated by auditor/schemas/errors.schema.json).
With an app and a source, each cause is checked by running the rules the catalogue names for it
through the engine, exactly as `scan` runs them, or, for causes no rule reports, by the
catalogue's own condition over the same model fields. Output is auditor/diagnose/render.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.catalogue import load_catalogue
from auditor.config import Config
from auditor.engine.rule import Rule
from auditor.model import CHECK_UNKNOWN, EVIDENCE_LEVELS, App, InputError
from auditor.pipeline import AuditOptions, audit_app

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget

# How a cause stands against the app (not a preflight verdict).
# How a cause stands against the app (`unknown` is the same word as a preflight check that cannot be judged)
HOLDS, DOES_NOT_HOLD, NOT_CHECKABLE = "holds", "does not hold", "not checkable"
UNKNOWN = CHECK_UNKNOWN


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
        return sorted(causes, key=lambda pair: EVIDENCE_LEVELS.index(pair[1]["confidence"]))

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


def explain(raw: str, app_name: str | None = None, paths: list[str] | None = None, org: OrgTarget | None = None,
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


def _check_causes(result: Explanation, app: App, rules: list[Rule], config: Config) -> None:
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
