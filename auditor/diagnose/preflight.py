"""`ca-audit preflight APP --flow FLOW`: will this token request work, and if not, what to change.

Nothing here decides on its own what `scan` decides: the app is read by the same sources, the
flow is declared for it the way `--flow APP=FLOW` declares it, and every rule whose tags name the
flow is evaluated with the engine's `run_rules` under the same config and waivers. The checklist
only groups those results into prerequisites, in the order their fixes should be applied. A
finding at or above `high` (or the config's lower `fail_on`) is a ✗ that makes the verdict
WILL FAIL, so a flow called READY never has a failing `scan` finding among its rules.

Where no rule exists for a prerequisite (OAuth on at all, client credentials switched on, the
named user active), a small condition over the same model fields stands in, and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.catalogue import load_catalogue
from auditor.engine.conditions import holds
from auditor.engine.templating import render
from auditor.model import App, Finding, InputError, Severity
from auditor.pipeline import AuditOptions, audit_app

USERNAME_PASSWORD_RETIREMENT = dt.date(2027, 2, 20)  # Knowledge 005461976; no extensions

READY, WILL_FAIL, UNKNOWN = "READY", "WILL FAIL", "UNKNOWN"
PASS, FAIL, WARN, UNKNOWN_STATUS, NOT_NEEDED = "pass", "fail", "warn", "unknown", "not needed"
NEEDS_ORG = "needs org data (--target-org ALIAS, or a snapshot from `ca-audit pull`)"
ADMIN_APPROVED = {"field": "oauth.permitted_users", "equals": "admin_approved"}
SELF_AUTHORIZED = {"field": "oauth.permitted_users", "equals": "self_authorized"}


@dataclass(frozen=True)
class Item:
    """One prerequisite of a flow, decided by rules (and, where no rule exists, by `require`)."""

    key: str
    label: str
    rules: tuple[str, ...] = ()
    passed: str = ""  # shown on ✓, a template over the app's values
    unknown_if: tuple[tuple[str, str], ...] = ()  # (field, why it is unknown) when the field is null
    applies_if: dict[str, Any] | None = None
    not_needed: str = ""
    require: dict[str, Any] | None = None  # preflight's own condition, only where no rule covers it
    failed: str = ""  # message when `require` does not hold
    error: str | None = None  # catalogue entry id answered when `require` does not hold
    fix: str = ""  # fix when `require` does not hold
    org: str | None = None  # "users" or "run_as": judged only with org data


_CERT_UNKNOWN = (("oauth.has_certificate", "the certificate is not in the source (for an external client app, "
                  "its .ecaGlblOauth-meta.xml file was not scanned)"),)
_USERS_ACTIVE = {"all": [{"field": "org.unknown_integration_users", "empty": True},
                         {"field": "org.inactive_integration_users", "empty": True}]}

_OAUTH = Item(
    "oauth", "OAuth is enabled on the app",
    passed="OAuth settings present",
    unknown_if=(("oauth.enabled", "the app's OAuth settings are not in the source"),),
    require={"field": "oauth.enabled", "equals": True},
    failed="the app has no OAuth settings, so no OAuth flow can use it",
    fix="Connected app: Setup → App Manager → app row ▼ → Edit → Enable OAuth Settings; in source add an "
        "`<oauthConfig>` block. External client app: Edit Settings → Enable OAuth.")
_IP = Item("ip", "IP relaxation", rules=("CA-19", "CA-21"),
           passed="IP relaxation {policy.ip_relaxation}; under ENFORCE calls must come from the user's profile "
                  "Login IP Ranges (else `invalid_grant: IP restricted or invalid login hours`)")
_SESSION = Item("session", "No High Assurance session requirement", rules=("CA-08",),
                passed="session level {policy.session_level}")
_ASSIGNMENT = Item("assignment", "A profile or permission set is assigned to the app", rules=("CA-03",),
                   passed="profiles: {assignments.profiles}; permission sets: {assignments.permission_sets}",
                   applies_if=ADMIN_APPROVED,
                   not_needed="not needed: the app is not admin-approved")

BEARER = (
    _OAUTH,
    Item("certificate", "Signing certificate present and valid", rules=("CA-04", "CA-05"),
         passed="certificate present, expires in {oauth.certificate.expires_in_days} days "
                "({oauth.certificate.key_type} {oauth.certificate.key_bits}, {oauth.certificate.signature_hash})",
         unknown_if=_CERT_UNKNOWN),
    Item("standard-scope", "A standard scope besides refresh_token (e.g. api)", rules=("CA-06",),
         passed="scopes: {oauth.scopes}", unknown_if=(("oauth.scopes", "the scopes are not in the source"),)),
    Item("refresh-scope", "refresh_token scope (Perform requests at any time)", rules=("CA-01",),
         passed="scopes: {oauth.scopes}", unknown_if=(("oauth.scopes", "the scopes are not in the source"),)),
    Item("permitted-users", "Permitted Users: Admin approved users are pre-authorized", rules=("CA-02", "CA-07"),
         passed="Permitted Users: {oauth.permitted_users}",
         unknown_if=(("oauth.permitted_users", "the Permitted Users policy is not in the source (for an external "
                      "client app, its .ecaOauthPlcy-meta.xml file was not scanned)"),)),
    _ASSIGNMENT,
    _SESSION,
    _IP,
    Item("user-active", "The user exists in the org and is active", org="users",
         passed="{org.integration_users}: found and active",
         require=_USERS_ACTIVE, error="user-inactive",
         failed="not found in the org: {org.unknown_integration_users}; inactive: {org.inactive_integration_users}",
         fix="Reactivate the user (Setup → Users), or send a `sub` that is an active user's exact username."),
    Item("user-covered", "The user holds one of the app's profiles or permission sets", rules=("CA-13",),
         org="users", passed="{org.integration_users}: covered (profile, permission set or group; "
                             "expired and revoked assignments not counted)",
         applies_if=ADMIN_APPROVED, not_needed="not needed: only admin-approved apps require an assignment"),
    Item("user-approved", "The user has approved the app before", rules=("CA-33",), org="users",
         passed="{org.integration_users}: an OAuth token for the app exists",
         applies_if=SELF_AUTHORIZED, not_needed="not needed: admin-approved apps pre-authorize their users"),
)

CLIENT_CREDENTIALS = (
    _OAUTH,
    Item("cc-enabled", "Client credentials flow enabled on the app",
         passed="enabled", require={"field": "oauth.client_credentials.enabled", "equals": True},
         unknown_if=(("oauth.client_credentials.enabled", "the client credentials switch is not in the source"),),
         failed="the client credentials flow is not enabled on the app", error="grant-type-not-supported",
         fix="Connected app: Setup → App Manager → app row ▼ → Edit → Enable Client Credentials Flow; in source "
             "`<isClientCredentialEnabled>true</isClientCredentialEnabled>`. External client app: Edit Settings → "
             "OAuth Settings → Enable Client Credentials Flow (`isClientCredentialsFlowEnabled`)."),
    Item("run-as", "Run As (execution) user set", rules=("CA-09",),
         passed="Run As user: {oauth.client_credentials.user}",
         unknown_if=(("oauth.client_credentials.user", "the Run As user is not in the source (it is often set in "
                      "Setup only; for an external client app, in its .ecaOauthPlcy-meta.xml file)"),)),
    _ASSIGNMENT,
    _SESSION,
    _IP,
    Item("run-as-fit", "The Run As user exists, is active and is API Only", rules=("CA-10",), org="run_as",
         passed="{oauth.client_credentials.user}: found, active, API Only"),
    Item("run-as-covered", "The Run As user holds one of the app's profiles or permission sets", rules=("CA-12",),
         org="run_as", passed="{oauth.client_credentials.user}: covered", applies_if=ADMIN_APPROVED,
         not_needed="not needed: the app is not admin-approved"),
)

USERNAME_PASSWORD = (
    _OAUTH,
    Item("retirement", "The username-password flow is still available",
         passed="retired for connected apps on 2027-02-20 (no extensions): migrate to client credentials or JWT "
                "bearer before then"),
    Item("org-allows", "The org allows OAuth username-password flows",
         passed="not blocked by the project's OauthOidc settings", org="setting",
         require={"field": "org_settings.username_password_blocked", "equals": False},
         failed="the project's OauthOidc settings block OAuth username-password flows (blockOAuthUnPwFlow)",
         error="grant-type-not-supported",
         fix="Move the integration to client credentials or JWT bearer (the flow is retired on 2027-02-20); "
             "turning the flow back on (Setup → OAuth and OpenID Connect Settings → Allow OAuth Username-Password "
             "Flows) undoes a recommended hardening."),
    Item("user-active", "The user exists in the org and is active", org="users",
         passed="{org.integration_users}: found and active",
         require=_USERS_ACTIVE, error="user-inactive",
         failed="not found in the org: {org.unknown_integration_users}; inactive: {org.inactive_integration_users}",
         fix="Reactivate the user (Setup → Users)."),
)

CHECKLISTS = {"jwt-bearer": BEARER, "saml2-bearer": BEARER, "client-credentials": CLIENT_CREDENTIALS,
              "username-password": USERNAME_PASSWORD}


# ------------------------------------------------------------------------------------ results
@dataclass
class Line:
    key: str
    label: str
    status: str  # pass | fail | warn | unknown | not needed
    reason: str
    rules: list[str] = field(default_factory=list)
    blocking: bool = False
    causes: list[tuple[str, str]] = field(default_factory=list)  # ("error: description", "CA-01 — hedge")
    unmapped: list[str] = field(default_factory=list)  # blocking findings no catalogued error belongs to
    fixes: list[str] = field(default_factory=list)
    org: bool = False

    @property
    def errors(self) -> list[str]:
        return group_errors(self.causes)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "status": self.status, "blocking": self.blocking,
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
def preflight(app_name: str, flow: str, paths: list[str], org: Any = None, user: str | None = None,
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


def evaluate(result: Result, app: App, rules: list[Any], config: Any, today: dt.date) -> None:
    from auditor.engine.evaluate import apply_waivers, run_rules

    flow = result.flow
    flow_rules = [r for r in rules if flow in r.flows]
    by_id = {r.id: r for r in flow_rules}
    checks = {c.rule_id: c for c in run_rules(flow_rules, [app], config)}
    findings = [c.finding for c in checks.values() if c.finding is not None]
    apply_waivers(findings, config.waivers, today)  # marks waived findings; run-level messages belong to scan
    threshold = min(Severity.HIGH, config.fail_on)
    catalogue = load_catalogue()
    items = list(CHECKLISTS[flow])
    grouped = {r for item in items for r in item.rules}
    items += [Item(rule.id, f"{rule.id}: {rule.title}", rules=(rule.id,), passed="not the case here")
              for rule in flow_rules
              if rule.id not in grouped]
    for item in items:
        line = _line(item, app, flow, by_id, checks, threshold, catalogue, today, config)
        if line is not None:
            result.lines.append(line)
    _verdict(result, app)
    if flow == "saml2-bearer":
        result.notes.append("Salesforce documents these prerequisites for JWT bearer; that SAML bearer follows the "
                            "same approval rules is UNCONFIRMED (its help page could not be retrieved)")
    if flow == "client-credentials":
        result.notes.append("send the request to the org's My Domain token endpoint "
                            "(https://MYDOMAIN.my.salesforce.com/services/oauth2/token): login.salesforce.com and "
                            "test.salesforce.com answer `invalid_grant: request not supported on this domain`")
    result.notes.extend(dict.fromkeys(app.notes))


def _line(item: Item, app: App, flow: str, rules: dict[str, Any], checks: dict[str, Any], threshold: Severity,
          catalogue: list[dict[str, Any]], today: dt.date, config: Any) -> Line | None:
    values = app.values
    ids = [r for r in item.rules if r in rules]
    if item.rules and not ids and item.require is None:
        return None  # none of its rules bears on this flow in the loaded pack
    line = Line(item.key, item.label, PASS, "", rules=ids, org=item.org is not None)
    if item.key == "retirement":
        return _retirement(line, today)
    if item.applies_if is not None and not holds(item.applies_if, values):
        line.status, line.reason = NOT_NEEDED, item.not_needed
        return line
    unknown = _org_unknown(item, values)
    if unknown:
        line.status, line.reason = UNKNOWN_STATUS, unknown
        return line
    findings: list[Finding] = [checks[r].finding for r in ids if r in checks and checks[r].finding is not None]
    if findings:
        active = [f for f in findings if not f.waived]
        line.blocking = any(f.severity >= threshold for f in active)
        line.status = FAIL if line.blocking else WARN
        line.reason = "; ".join(_finding_text(f) for f in findings)
        for finding in (f for f in active if f.severity >= threshold):
            errors = _errors_for(finding.rule_id, flow, app.kind, catalogue)
            line.causes += errors
            if not errors:
                line.unmapped.append(_unmapped(finding, rules[finding.rule_id], config))
        line.fixes = [f"{f.rule_id}: {rules[f.rule_id].fix}" for f in sorted(findings, key=lambda f: -f.severity)]
        return line
    for field_path, why in item.unknown_if:
        if values.get(field_path) is None:
            line.status, line.reason = UNKNOWN_STATUS, why
            return line
    if item.require is not None and not holds(item.require, values):
        line.status, line.blocking = FAIL, True
        line.reason = render(item.failed, values)
        entry = next((e for e in catalogue if e["id"] == item.error), None)
        if entry:
            line.causes = [(_error_text(entry), HEDGES[min(CONFIDENCE[c["confidence"]] for c in entry["causes"])])]
        else:
            line.unmapped = [f"{item.label}: Salesforce documents no error string for it"]
        line.fixes = [item.fix] if item.fix else []
        return line
    if ids and all(r not in checks for r in ids) and item.require is None:
        if any("org" in rules[r].tags for r in ids) and not _has_org(values):
            line.status, line.reason, line.org = UNKNOWN_STATUS, f"unknown — {NEEDS_ORG}", True
        else:
            line.reason = "does not apply to this app"
        return line
    shown = {name: ("not set" if value is None else value) for name, value in values.items()}
    line.reason = render(item.passed, shown) if item.passed else "passes"
    return line


def _has_org(values: dict[str, Any]) -> bool:
    return values.get("org.integration_users") is not None or values.get("org.installed") is not None


def _org_unknown(item: Item, values: dict[str, Any]) -> str:
    if item.org == "setting" and values.get("org_settings.username_password_blocked") is None:
        return ("unknown — the org's OauthOidc settings are not in the scanned project "
                "(settings/OauthOidc.settings-meta.xml); check Setup → OAuth and OpenID Connect Settings → Allow "
                "OAuth Username-Password Flows")
    if item.org == "users":
        users = values.get("org.integration_users")
        if users is None:
            return f"unknown — {NEEDS_ORG}"
        if not users:
            return ("unknown — no user to check: pass --user USERNAME, or declare integration_users for the app "
                    "in .ca-audit.yaml")
    if item.org == "run_as":
        if values.get("org.run_as.found") is None:
            if values.get("org.integration_users") is None:
                return f"unknown — {NEEDS_ORG}"
            if not values.get("oauth.client_credentials.user"):
                return "unknown — the app names no Run As user to look up"
            return "unknown — the Run As user was not read from the org (pull the snapshot again)"
    return ""


def _retirement(line: Line, today: dt.date) -> Line:
    days = (USERNAME_PASSWORD_RETIREMENT - today).days
    if days <= 0:
        line.status, line.blocking = FAIL, True
        line.reason = ("retired for connected apps since 2027-02-20, with no extensions (Knowledge 005461976): "
                       "the token endpoint no longer serves this flow")
        line.unmapped = ["the username-password flow is retired: the exact error after the retirement is not "
                         "documented"]
        line.fixes = ["Migrate the integration to the client credentials flow or JWT bearer (Knowledge 000886201: "
                      "Migrate from OAuth Username-Password to Client Credentials Flow)."]
    else:
        line.status = WARN
        line.reason = (f"works until 2027-02-20 ({days} days from now), when Salesforce retires it for connected "
                       "apps with no extensions: migrate to client credentials or JWT bearer")
    return line


def _finding_text(finding: Finding) -> str:
    waived = f" — waived: {finding.waived_by.get('reason')}" if finding.waived_by else ""
    return f"{finding.rule_id} ({finding.severity}): {finding.message}{waived}"


CONFIDENCE = {"confirmed": 0, "practitioner": 1, "unconfirmed": 2}


def _errors_for(rule_id: str, flow: str, kind: str, catalogue: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The catalogued errors a finding of this rule leads to in this flow, hedged by the cause's grade."""
    found = []
    for entry in catalogue:
        if flow not in entry["flows"] or kind not in entry.get("applies_to", [kind]):
            continue
        grades = [CONFIDENCE[c["confidence"]] for c in entry["causes"] if rule_id in c["rules"]]
        if grades:
            hedge = HEDGES[min(grades)]
            found.append((_error_text(entry), f"{rule_id} — {hedge}" if hedge else rule_id))
    return found


HEDGES = {0: "", 1: "reported by practitioners", 2: "UNCONFIRMED"}


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


def _unmapped(finding: Finding, rule: Any, config: Any) -> str:
    if finding.rule_id in getattr(config, "severity_overrides", {}):
        return (f"{finding.rule_id} is rated {finding.severity} by your .ca-audit.yaml: not a token error, but "
                "the flow fails your audit policy")
    return f"{finding.rule_id}: {rule.title} — Salesforce documents no error string for it"


def _verdict(result: Result, app: App) -> None:
    blocking = [line for line in result.lines if line.blocking]
    unknown_metadata = [line for line in result.lines if line.status == UNKNOWN_STATUS and not line.org]
    unknown_org = [line for line in result.lines if line.status == UNKNOWN_STATUS and line.org]
    who = f" as {result.user}" if result.user else ""
    if blocking:
        result.verdict = WILL_FAIL
        result.summary = f"a {result.flow} token request for {app.name}{who} will fail"
    elif result.input_errors:
        result.verdict = UNKNOWN
        result.summary = "some input could not be read, so the checklist may be incomplete"
    elif unknown_metadata:
        result.verdict = UNKNOWN
        result.summary = (f"{len(unknown_metadata)} prerequisite(s) cannot be judged from the source: "
                          + ", ".join(line.label for line in unknown_metadata))
    else:
        result.verdict = READY
        result.summary = f"{app.name} meets every prerequisite of {result.flow} that the source shows"
        if unknown_org:
            result.summary += f"; {len(unknown_org)} check(s) need org data"
        if any(line.key == "retirement" and line.status == WARN for line in result.lines):
            result.summary += "; the flow itself is retired on 2027-02-20"


# ------------------------------------------------------------------------------------ output
MARKS = {PASS: "✓", FAIL: "✗", WARN: "!", UNKNOWN_STATUS: "?", NOT_NEEDED: "–"}


def render_text(result: Result) -> str:
    import textwrap

    out: list[str] = []
    if result.kind is None:
        out.append(f"ca-audit preflight: {result.summary}")
        out += [f"  {error}" for error in result.input_errors]
        out.append(f"UNKNOWN — {result.summary}")
        return "\n".join(out) + "\n"
    kind = "connected app" if result.kind == "connected_app" else "external client app"
    who = f", user {result.user}" if result.user else ""
    out.append(f"Preflight: {result.flow} for {result.app} ({kind}, {result.path}{who})")
    out.append("")
    for line in result.lines:
        mark = MARKS[line.status]
        status = {WARN: " (does not block)", FAIL: ""}.get(line.status, "")
        out.append(f"  {mark} {line.label}{status}")
        for part in textwrap.wrap(line.reason, width=96, initial_indent="      ", subsequent_indent="      ",
                                  break_on_hyphens=False):
            out.append(part)
    out.append("")
    out.append(f"{result.verdict} — {result.summary}")
    if result.verdict == WILL_FAIL:
        errors = result.errors
        if errors:
            out.append("")
            out.append("The token endpoint will answer:" if len(errors) == 1 else
                       "The token endpoint will answer one of:")
            out += [f"  {e}" for e in errors]
        if result.unmapped:
            out.append("")
            out.append("Also blocking:" if errors else "Blocking:")
            for text in result.unmapped:
                out += textwrap.wrap(text, width=96, initial_indent="  ", subsequent_indent="    ")
        out.append("")
        out.append("Fix, in this order:")
        for number, fix in enumerate(result.fixes, 1):
            out += textwrap.wrap(fix, width=96, initial_indent=f"  {number}. ", subsequent_indent="     ",
                                 break_on_hyphens=False)
        out.append("")
        out.append("Then run the same preflight again.")
    if result.input_errors:
        out.append("")
        out.append("Input problems:")
        out += [f"  {error}" for error in result.input_errors]
    if result.notes:
        out.append("")
        for note in result.notes:
            out += textwrap.wrap(note, width=96, initial_indent="Note: ", subsequent_indent="      ")
    return "\n".join(out) + "\n"
