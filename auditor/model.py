"""The normalized, source-independent model that rules see.

An `App` is a flat mapping of dotted field paths (``oauth.scopes``) to plain values, plus the
`Location` each value came from. Flat keys keep rule evaluation a dictionary lookup and make
the set of fields easy to enumerate in the rule schema (see FIELDS).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any, NamedTuple

from auditor.digest import sha256_hex

CONNECTED_APP = "connected_app"
EXTERNAL_CLIENT_APP = "external_client_app"
APP_KINDS = (CONNECTED_APP, EXTERNAL_CLIENT_APP)
KIND_WORDS = {CONNECTED_APP: "connected app", EXTERNAL_CLIENT_APP: "external client app"}
KIND_TITLES = {CONNECTED_APP: "Connected App", EXTERNAL_CLIENT_APP: "External Client App"}
KIND_ABBREVIATIONS = {CONNECTED_APP: "CA", EXTERNAL_CLIENT_APP: "ECA"}


def short_kind(kind: str) -> str:
    """CA or ECA, for narrow columns."""
    return KIND_ABBREVIATIONS.get(kind, kind)


FLOW_NAMES = (
    "jwt-bearer",
    "saml2-bearer",
    "client-credentials",
    "web-server",
    "user-agent",
    "device",
    "username-password",
    "token-exchange",
    "refresh-token",
)
BEARER_FLOWS = ("jwt-bearer", "saml2-bearer")
PREFLIGHT_FLOWS = ("jwt-bearer", "saml2-bearer", "client-credentials", "username-password")

# Where an app was read from: files in a repository, or an org (live, or a snapshot of one).
FILES, ORG = "files", "org"

# Preflight verdicts. WILL FAIL only on a confirmed or practitioner cause; anything the source cannot
# show, or an unconfirmed cause, is UNKNOWN (DESIGN.md, "Evidence rule").
READY, WILL_FAIL, UNKNOWN = "READY", "WILL FAIL", "UNKNOWN"
VERDICTS = (READY, WILL_FAIL, UNKNOWN)
# A check (a preflight line, an explain cause) whose input the source cannot show: lower case, so it is
# never mistaken for the UNKNOWN verdict it leads to.
CHECK_UNKNOWN = "unknown"

# Evidence levels of a cause, a check or a rule, most certain first, with how texts show them.
CONFIRMED, PRACTITIONER, UNCONFIRMED = "confirmed", "practitioner", "unconfirmed"
EVIDENCE_LEVELS = (CONFIRMED, PRACTITIONER, UNCONFIRMED)
EVIDENCE_WORDS = {CONFIRMED: "confirmed by Salesforce", PRACTITIONER: "reported by practitioners",
                  UNCONFIRMED: "UNCONFIRMED"}

# Every field a rule may name, with its JSON type. The rule schema is generated from this,
# so a misspelt field in a rule is a load error rather than a silently false condition.
FIELDS: dict[str, str] = {
    "kind": "string",
    "name": "string",
    "label": "string",
    "oauth.enabled": "boolean",
    "oauth.scopes": "array",
    "oauth.callback_urls": "array",
    "oauth.permitted_users": "string",
    "oauth.has_certificate": "boolean",
    "oauth.certificate.parseable": "boolean",
    "oauth.certificate.expires_in_days": "integer",
    "oauth.certificate.key_bits": "integer",
    "oauth.certificate.key_type": "string",
    "oauth.certificate.signature_hash": "string",
    "oauth.certificate.problems": "array",  # readable summary of what CA-05 checks
    # what the certificate field holds: pem (a certificate, readable or not), placeholder ({…}, ${…}),
    # name (a Certificate record name rather than the certificate); null when the field is empty
    "oauth.certificate.form": "string",
    "oauth.consumer_key_in_source": "boolean",
    "oauth.consumer_secret_in_source": "boolean",
    "oauth.pkce_required": "boolean",
    "oauth.consumer_secret_optional": "boolean",
    "oauth.refresh_token_rotation": "boolean",
    "oauth.secret_required_for_refresh": "boolean",
    "oauth.introspect_all_tokens": "boolean",
    "oauth.token_exchange": "boolean",
    "oauth.device_flow": "boolean",
    "oauth.client_credentials.enabled": "boolean",
    "oauth.client_credentials.user": "string",
    # an external client app needs both switches (S4, S5): the global OAuth settings' and the OAuth
    # policies'; `enabled` is on only when both are, null when either file is missing and neither is off
    "oauth.client_credentials.settings_enabled": "boolean",
    "oauth.client_credentials.policy_enabled": "boolean",
    "oauth.callback_hosts": "array",  # host of each callback URL, lower case
    "saml.enabled": "boolean",  # the app is a SAML service provider (samlConfig)
    "saml.signing_algorithm": "string",  # samlSigningAlgoType (ECA signingAlgorithmType): SHA1 | SHA256
    "policy.ip_relaxation": "string",
    "policy.refresh_token.raw": "string",
    "policy.refresh_token.kind": "string",
    "policy.refresh_token.days": "number",
    "policy.session_level": "string",
    "policy.incomplete": "boolean",
    "policy.in_source": "boolean",  # false for an ECA whose OAuth policies file was not scanned
    "assignments.profiles": "array",
    "assignments.permission_sets": "array",
    "flows": "array",
    "flows_declared": "array",
    "integration_users": "array",
    # org-wide OAuth settings from a committed OauthOidc.settings file; null when none was scanned
    "org_settings.pkce_required": "boolean",
    "org_settings.username_password_blocked": "boolean",
    "org_settings.user_agent_blocked": "boolean",
    # live-org fields (issue 3) go below this line
    "org.installed": "boolean",  # in the org (ConnectedApplication row or listed ECA); false: tokens only
    "org.metadata_read": "boolean",  # readMetadata returned the app (false for installed/managed apps)
    "org.id": "string",
    "org.assignments.profiles": "array",  # from SetupEntityAccess, what the org enforces
    "org.assignments.permission_sets": "array",
    "org.assignments.permission_set_groups": "array",
    "org.usage.tokens": "integer",  # OauthToken rows for the app (matched by label)
    "org.usage.users": "array",
    "org.usage.use_count": "integer",
    "org.usage.last_used_days": "integer",  # days from the newest LastUsedDate to the pull; null: never
    "org.usage.last_use": "string",  # for messages: "N days before the org was read", or why never
    "org.usage.logins": "integer",  # successful OAuth logins in the LoginHistory window (90 days), by app label
    "org.usage.last_login_days": "integer",  # days from the last of those logins to the pull; null: none
    "org.integration_users": "array",  # declared integration users and the client-credentials run-as user
    "org.uncovered_integration_users": "array",  # declared users without a valid grant to the app
    "org.integration_users_without_approval": "array",  # declared users with no OauthToken for the app
    "org.inactive_integration_users": "array",  # inactive or frozen (UserLogin.IsFrozen), frozen ones marked
    "org.frozen_integration_users": "array",
    "org.unknown_integration_users": "array",  # not found in the org
    "org.unread_integration_users": "array",  # not looked up when the org was read: nothing is known of them
    "org.privileged_integration_users": "array",  # System Administrator or Modify/View All Data, Customize App
    "org.run_as.found": "boolean",
    "org.run_as.active": "boolean",
    "org.run_as.api_only": "boolean",
    "org.run_as.covered": "boolean",
    "org.bypass_permission_users": "array",  # non-admins with Use Any API Client / Approve Uninstalled Apps
    "org.compared": "boolean",  # repository app compared with the org (scan PATH with an org)
    "org.present": "boolean",  # … and the org has it
    "org.differences": "array",  # security-relevant differences, "field: repository X, org Y"
}


class Severity(enum.IntEnum):
    """Ordered so that comparisons read naturally: Severity.HIGH >= Severity.MEDIUM."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, word: str) -> Severity:
        return cls[word.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


SEVERITY_WORDS = tuple(str(s) for s in sorted(Severity, reverse=True))

# Rule tags that code reads: a flow name links a rule to that flow's preflight checklist, `org`
# marks a rule that needs org data. The rest describe the topic. The rule schema takes only these
# (its enum is filled in from here), so a misspelt tag is a load error, not a silently unlinked rule.
ORG_TAG = "org"
TOPIC_TAGS = (
    "callback", "certificate", "deployment", "drift", "integration-user", "introspection", "least-privilege",
    "network", "oauth", "permissions", "permitted-users", "pkce", "policy", "refresh-token", "saml", "scopes",
    "secrets", "session", "transport", "usage",
)
RULE_TAGS = (*FLOW_NAMES, ORG_TAG, *TOPIC_TAGS)


def display_path(path: Path, root: Path | None = None) -> str:
    """A path as messages and Locations show it: relative to `root` (default the working folder)
    with forward slashes when inside it, else as given."""
    try:
        return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class Location(NamedTuple):
    """Where a value came from. A named tuple: apps carry one per field, so creating them is
    on the hot path of a large scan."""

    path: str  # relative to the scan root, forward slashes
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None

    @classmethod
    def at(cls, path: str, line: int | None, column: int | None) -> Location:
        """A start position, built without the generated __new__ (three times faster; sources
        make one per field of every app)."""
        return tuple.__new__(cls, (path, line, column, None, None))

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass
class App:
    """One connected app or external client app, as rules see it: field values and where each came from."""

    kind: str
    name: str
    path: str  # the app's main metadata file, relative to the scan root
    root: str = "."  # the scan root (or org) the app was found under, as the user named it
    origin: str = FILES  # "org" for an app read from an org or a snapshot of one
    values: dict[str, Any] = _field(default_factory=dict)
    locations: dict[str, Location] = _field(default_factory=dict)
    notes: list[str] = _field(default_factory=list)  # what the source could not know

    def __post_init__(self) -> None:
        self.values.setdefault("kind", self.kind)
        self.values.setdefault("name", self.name)

    def get(self, field_path: str) -> Any:
        return self.values.get(field_path)

    def set(self, field_path: str, value: Any, location: Location | None = None) -> None:
        self.values[field_path] = value
        if location is not None:
            self.locations[field_path] = location

    def location_of(self, field_path: str | None) -> Location:
        """The source line of a field, falling back to its parent element, then the app file."""
        while field_path:
            if field_path in self.locations:
                return self.locations[field_path]
            field_path = field_path.rpartition(".")[0]
        return self.locations.get("name", Location(self.path))


@dataclass(frozen=True)
class InputError:
    """An input that could not be read or is not valid: the file, the line when known, and what is wrong."""

    path: str
    line: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class Finding:
    """A rule that failed on an app: what is wrong, how to fix it, and where."""

    rule_id: str
    severity: Severity
    app: str
    kind: str
    message: str
    fix: str
    location: Location
    field: str | None = None  # the model field the rule points at; part of the identity
    title: str = ""
    waived_by: dict[str, Any] | None = None  # the waiver entry that silenced it, if any
    origin: str = FILES  # "org" when the app was read from an org: the same rule on the repository
    # copy and on the org copy are two findings
    notes: list[str] = _field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Semantic identity: survives reformatting, reordering and moving the project."""
        parts = (self.rule_id, self.kind, self.app, self.field or "")
        identity = "\x1f".join(parts + ((ORG,) if self.origin == ORG else ()))
        return sha256_hex(identity.encode())[:32]

    @property
    def waived(self) -> bool:
        return self.waived_by is not None

    def as_dict(self) -> dict[str, Any]:
        data = {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "app": self.app,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
            "location": self.location.as_dict(),
            "fingerprint": self.fingerprint,
            "origin": self.origin,
        }
        if self.waived_by is not None:
            data["waived"] = self.waived_by
        return data


class Check:
    """One rule applied to one app: a pass when finding is None. JUnit reports these. A plain class:
    a run makes one per rule and app, and a dataclass costs ~0.5 ms of every run's start-up."""

    __slots__ = ("app", "rule_id", "finding")

    def __init__(self, app: App, rule_id: str, finding: Finding | None = None) -> None:
        self.app = app
        self.rule_id = rule_id
        self.finding = finding


@dataclass
class Report:
    """Everything a format needs: the pipeline's single output."""

    apps: list[App]
    findings: list[Finding]
    input_errors: list[InputError]
    fail_on: Severity = Severity.HIGH
    rules: dict[str, Any] = _field(default_factory=dict)  # rule id -> Rule, for formats that describe rules
    roots: list[str] = _field(default_factory=list)
    checks: list[Check] = _field(default_factory=list)
    messages: list[str] = _field(default_factory=list)  # run-level notes (expired waivers, …)
    config: str | None = None  # the config file the run used, as shown; None: the built-in defaults

    @property
    def active_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]

    def is_failing(self, finding: Finding) -> bool:
        """Active and at or above `fail_on`: the findings that make the run exit 1."""
        return not finding.waived and finding.severity >= self.fail_on

    @property
    def failing_findings(self) -> list[Finding]:
        return [f for f in self.findings if self.is_failing(f)]

    def exit_code(self) -> int:
        if self.input_errors:
            return 2
        return 1 if self.failing_findings else 0
