"""Who can use each app, and who uses it: the access inventory of an org (`ca-audit access`).

From a pull (live, or a snapshot file) it answers per app: the Permitted Users policy; the profiles,
permission sets and permission set groups assigned; who can use it — on an admin-approved app every
user holding one of them through a valid assignment (not expired, not revoked), with the grant it
comes through, counted when active and not frozen; on a self-authorized app all active, unfrozen
users — and who uses it: the users holding OAuth tokens, how many, when last used, and the last
successful OAuth login through the app (LoginHistory, last 90 days).

Groups are expanded through their components: a user assigned a group reaches the app when the
group's aggregate permission set, or a permission set inside the group, is granted (whether
Salesforce shows the latter on the aggregate is UNCONFIRMED, salesforce-facts.md §3.3).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.config import find_config, load_config
from auditor.formats._safe import inert_json, no_commands, spreadsheet_cell, visible
from auditor.model import InputError
from auditor.sources import org_apps, read_inputs
from auditor.sources.snapshot import MALFORMED, shape_problems
from auditor.suggest import suggestion

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget

ACCESS_FORMATS = ("table", "json", "csv", "html")
ASSIGNED, ALL_USERS, UNKNOWN = "assigned", "all_users", "unknown"


@dataclass
class AccessResult:
    org: dict[str, Any] = field(default_factory=dict)
    apps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def exit_code(self) -> int:
        return 2 if self.errors else 0

    def as_dict(self) -> dict[str, Any]:
        return {"tool": {"name": "ca-audit", "version": __version__}, "org": self.org, "apps": self.apps}


def access(sources: list[str], org: OrgTarget | None, wanted: list[str],
           config_path: Path | None = None) -> AccessResult:
    """Read the org (or snapshot) once and answer for the apps named in `wanted` (every app when empty).
    The config is the one given, else the `.ca-audit.yaml` found upward from the snapshot's folder (as
    `scan` finds it for its first path), else from the working directory."""
    snapshots = [s for s in sources if s.lower().endswith(".json")]
    config, config_errors = load_config(config_path or find_config(Path(snapshots[0] if snapshots else ".")))
    if config_errors:
        return AccessResult(errors=config_errors)
    others = [s for s in sources if s not in snapshots]
    if others or (org is None and not snapshots):
        shown = ", ".join(others) or "no source"
        return AccessResult(errors=[InputError(shown, None, "access reads an org (--target-org, --instance-url "
                                               "with --access-token, or JWT) or a snapshot written by ca-audit pull")])
    if len(snapshots) + (org is not None) > 1:
        return AccessResult(errors=[InputError("access", None, "give one org or one snapshot")])
    users = sorted({u for names in config.integration_users.values() for u in names})
    inputs = read_inputs(snapshots, org, users)
    source = inputs.orgs[0]
    converted = org_apps(inputs.orgs, config.integration_users)
    if source.data is None or shape_problems(source.data):  # the conversion said what is malformed
        return AccessResult(errors=converted.errors)
    result = AccessResult(errors=list(converted.errors))
    provenance = source.data.get("provenance") or {}
    result.org = {key: provenance.get(key) for key in ("org_id", "org_name", "instance_url", "pulled_at")}
    try:
        index = _Index(source.data)
        answers = [index.answer(app) for app in _picked(converted.apps, wanted, source.origin, result)]
    except MALFORMED as error:
        # a field only access reads, of the wrong shape: an input error, never a crash or a partial answer
        return AccessResult(errors=[*result.errors, InputError(source.origin, None, f"malformed snapshot for "
                                                               f"access ({type(error).__name__})")])
    if not index.read:
        result.notes.append(f"{source.origin} was pulled before ca-audit read users and assignments for access; "
                            "who can use each app is unknown: pull again")
    result.apps = sorted(answers, key=lambda a: a["name"].lower())
    return result


def _picked(apps: list[Any], wanted: list[str], origin: str, result: AccessResult) -> list[Any]:
    """The apps named in `wanted` (by API name or label, any case), every app when none is; a name no
    app has is an error with its nearest match."""
    if not wanted:
        return apps
    keys = {w.lower() for w in wanted}
    picked = [a for a in apps if a.name.lower() in keys or str(a.get("label") or "").lower() in keys]
    found = {a.name.lower() for a in picked} | {str(a.get("label") or "").lower() for a in picked}
    labels = {str(a.get("label")) for a in apps if a.get("label")}
    for name in wanted:
        if name.lower() not in found:
            hint = suggestion(name, {a.name for a in apps}) or suggestion(name, labels) or \
                f" (the org has {len(apps)} app(s); ca-audit access without app names lists them)"
            result.errors.append(InputError(origin, None, f"no app named {name!r} in the org{hint}"))
    return picked


class _Index:
    def __init__(self, data: dict[str, Any]):
        soql = data.get("soql") or {}
        inventory = data.get("inventory") or {}
        self.read = bool(inventory.get("access_read"))
        self.active_users = inventory.get("active_users")
        pulled = (data.get("provenance") or {}).get("pulled_at")
        self.pulled_at = _parse_time(pulled) if pulled else dt.datetime.now(dt.timezone.utc)
        self.users = {row["Id"]: row for row in soql.get("AccessUsers") or []}
        self.frozen = {row["UserId"] for row in soql.get("FrozenUsers") or []}
        self.grants: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in soql.get("SetupEntityAccess") or []:
            self.grants[row["SetupEntityId"]].append(row)
        self.group_names: dict[str, str] = {}
        self.groups_of: dict[str, set[str]] = defaultdict(set)  # permission set id -> groups containing it
        for row in soql.get("PermissionSetGroupComponent") or []:
            self.groups_of[row["PermissionSetId"]].add(row["PermissionSetGroupId"])
            self.group_names[row["PermissionSetGroupId"]] = (row.get("PermissionSetGroup") or {}).get(
                "DeveloperName") or row["PermissionSetGroupId"]
        self.by_set: dict[str, set[str]] = defaultdict(set)  # permission set id -> assignees (direct)
        self.by_group: dict[str, set[str]] = defaultdict(set)  # group id -> assignees
        # assignments that expired before the pull: permission set / group id -> assignee -> last expiry date
        self.expired_set: dict[str, dict[str, str]] = defaultdict(dict)
        self.expired_group: dict[str, dict[str, str]] = defaultdict(dict)
        for row in soql.get("AccessAssignments") or []:
            if row.get("IsRevoked"):
                continue
            group = row.get("PermissionSetGroupId")
            if self._expired(row.get("ExpirationDate")):
                held = self.expired_group[group] if group else self.expired_set[row["PermissionSetId"]]
                held[row["AssigneeId"]] = max(held.get(row["AssigneeId"], ""), str(row["ExpirationDate"])[:10])
            elif group:
                self.by_group[group].add(row["AssigneeId"])
            else:
                self.by_set[row["PermissionSetId"]].add(row["AssigneeId"])
        self.by_profile: dict[str, set[str]] = defaultdict(set)
        for row in self.users.values():
            if row.get("ProfileId"):
                self.by_profile[row["ProfileId"]].add(row["Id"])
        self.tokens: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in soql.get("OauthToken") or []:
            self.tokens[row.get("AppName") or ""].append(row)
        self.logins: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in soql.get("OAuthLogins") or []:
            self.logins[row["Application"]].append(row)

    def _expired(self, expires: str | None) -> bool:
        return bool(expires) and _parse_time(str(expires)) <= self.pulled_at

    def _frozen_active(self) -> int:
        return sum(1 for uid in self.frozen if (self.users.get(uid) or {}).get("IsActive"))

    def answer(self, app: Any) -> dict[str, Any]:
        permitted = app.get("oauth.permitted_users")
        entry: dict[str, Any] = {
            "name": app.name,
            "kind": app.kind,
            "permitted_users": permitted,
            "assigned": {"profiles": app.get("org.assignments.profiles") or [],
                         "permission_sets": app.get("org.assignments.permission_sets") or [],
                         "permission_set_groups": app.get("org.assignments.permission_set_groups") or []},
            "can_use": self._can_use(app, permitted),
            "uses": self._uses([app.get("label"), app.name]),
            "integration_users": _integration_status(app),
        }
        return entry

    def _can_use(self, app: Any, permitted: str | None) -> dict[str, Any]:
        if not self.read or app.get("org.installed") is False:
            return {"scope": UNKNOWN, "count": None, "users": [], "expired": []}
        if permitted == "self_authorized":
            count = None if self.active_users is None else self.active_users - self._frozen_active()
            return {"scope": ALL_USERS, "count": count, "users": [], "expired": []}
        if permitted != "admin_approved":
            return {"scope": UNKNOWN, "count": None, "users": [], "expired": []}
        via: dict[str, set[str]] = defaultdict(set)
        lapsed: dict[str, set[str]] = defaultdict(set)  # reached only through assignments that expired
        until: dict[str, str] = {}

        def expired(holders: dict[str, str], how: str) -> None:
            for uid, date in holders.items():
                lapsed[uid].add(how)
                until[uid] = max(until.get(uid, ""), date)

        for grant in self.grants.get(app.get("org.id") or "", []):
            parent = grant.get("Parent") or {}
            if parent.get("IsOwnedByProfile"):
                name = (parent.get("Profile") or {}).get("Name") or parent.get("Name")
                for uid in self.by_profile.get(parent.get("ProfileId") or "", ()):
                    via[uid].add(f"profile:{name}")
            elif parent.get("PermissionSetGroupId"):
                group = parent["PermissionSetGroupId"]
                how = f"permission_set_group:{self.group_names.get(group) or parent.get('Name')}"
                for uid in self.by_group.get(group, ()):
                    via[uid].add(how)
                expired(self.expired_group.get(group, {}), how)
            else:
                how = f"permission_set:{parent.get('Name')}"
                for uid in self.by_set.get(grant["ParentId"], ()):
                    via[uid].add(how)
                expired(self.expired_set.get(grant["ParentId"], {}), how)
                for group in self.groups_of.get(grant["ParentId"], ()):
                    how = f"permission_set_group:{self.group_names[group]}"
                    for uid in self.by_group.get(group, ()):
                        via[uid].add(how)
                    expired(self.expired_group.get(group, {}), how)
        users = sorted((self._holder(uid, how) for uid, how in via.items()), key=lambda u: u["username"])
        gone = sorted(({**self._holder(uid, how), "expired_on": until[uid]} for uid, how in lapsed.items()
                       if uid not in via), key=lambda u: u["username"])
        count = sum(1 for u in users if u["active"] and not u["frozen"])
        return {"scope": ASSIGNED, "count": count, "users": users, "expired": gone}

    def _holder(self, uid: str, how: set[str]) -> dict[str, Any]:
        row = self.users.get(uid) or {}
        return {"username": row.get("Username") or uid, "via": sorted(how), "active": bool(row.get("IsActive")),
                "frozen": uid in self.frozen}

    def _status(self, uid: str | None) -> tuple[bool | None, bool | None]:
        """(active, frozen) of a user the pull looked up; (None, None) when it did not."""
        row = self.users.get(uid or "")
        return (None, None) if row is None else (bool(row.get("IsActive")), uid in self.frozen)

    def _uses(self, names: list[Any]) -> dict[str, Any]:
        keys = list(dict.fromkeys(str(n) for n in names if n))
        rows = [r for key in keys for r in self.tokens.get(key, [])]
        per_user: dict[str, dict[str, Any]] = {}
        for row in rows:
            username = (row.get("User") or {}).get("Username") or row.get("UserId") or "?"
            if username not in per_user:
                active, frozen = self._status(row.get("UserId"))
                per_user[username] = {"username": username, "tokens": 0, "last_used": None, "active": active,
                                      "frozen": frozen}
            user = per_user[username]
            user["tokens"] += 1
            user["last_used"] = _latest(user["last_used"], row.get("LastUsedDate"))
        last_login = None
        for key in keys:
            for row in self.logins.get(key, []):
                last_login = _latest(last_login, row.get("LastLogin"))
        last_used = None
        for user in per_user.values():
            last_used = _latest(last_used, user["last_used"])
        return {"token_count": len(rows), "token_users": len(per_user), "last_used": last_used,
                "last_login": last_login, "users": sorted(per_user.values(), key=lambda u: u["username"])}


def _integration_status(app: Any) -> list[dict[str, str]]:
    def bare(values: Any) -> set[str]:
        return {re.sub(r" \(frozen\)$", "", str(v)) for v in values or []}

    unknown, inactive = bare(app.get("org.unknown_integration_users")), bare(app.get("org.inactive_integration_users"))
    frozen, uncovered = bare(app.get("org.frozen_integration_users")), bare(app.get("org.uncovered_integration_users"))
    out = []
    for user in app.get("org.integration_users") or []:
        status = "not found" if user in unknown else "frozen" if user in frozen else "inactive" if user in inactive \
            else "not covered" if user in uncovered and app.get("oauth.permitted_users") == "admin_approved" else "ok"
        out.append({"username": user, "status": status})
    return out


def _latest(current: str | None, candidate: str | None) -> str | None:
    if not candidate:
        return current
    if not current or _parse_time(candidate) > _parse_time(current):
        return _iso(candidate)
    return current


def _iso(text: str) -> str:
    return _parse_time(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> dt.datetime:
    text = text.strip()
    if len(text) == 10:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------- rendering
def exposure(app: dict[str, Any]) -> tuple:
    """Worst first: every user, then unknown, then by how many can use it."""
    scope = app["can_use"]["scope"]
    rank = {ALL_USERS: 0, UNKNOWN: 1, ASSIGNED: 2}[scope]
    return (rank, -(app["can_use"]["count"] or 0), app["name"].lower())


def render(result: AccessResult, output_format: str) -> str:
    """The inventory in a format. Names and usernames come from the org (an app label, a token's
    AppName): no line of any format can carry a control character or run as a CI workflow command."""
    if output_format == "json":
        return inert_json(result.as_dict(), indent=2) + "\n"
    if output_format == "csv":
        return no_commands(_csv(result))
    if output_format == "html":
        from auditor.formats import access_html

        return access_html.render(result.as_dict(), result.notes, result.errors)
    return no_commands(_table(result))


def _table(result: AccessResult) -> str:
    header = ("APP", "PERMITTED USERS", "CAN USE", "GRANTS", "TOKEN USERS", "TOKENS", "LAST USED", "LAST LOGIN")
    rows = []
    for app in sorted(result.apps, key=exposure):
        can = app["can_use"]
        count = "?" if can["count"] is None else str(can["count"])
        can_use = {ALL_USERS: f"all active users ({count})", UNKNOWN: "unknown", ASSIGNED: count}[can["scope"]]
        assigned = app["assigned"]
        grants = len(assigned["profiles"]) + len(assigned["permission_sets"]) + len(assigned["permission_set_groups"])
        uses = app["uses"]
        rows.append((app["name"], app["permitted_users"] or "unknown", can_use, str(grants),
                     str(uses["token_users"]), str(uses["token_count"]), (uses["last_used"] or "never")[:10],
                     (uses["last_login"] or "none")[:10]))
    shown: list[tuple[str, ...]] = [header, *(tuple(visible(cell) for cell in row) for row in rows)]
    widths = [max(len(r[i]) for r in shown) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in shown]
    frozen = sum(1 for app in result.apps for u in app["can_use"]["users"] if u["frozen"])
    expired = sum(len(app["can_use"].get("expired") or []) for app in result.apps)
    left_out = [f"{frozen} frozen grant holder(s)"] if frozen else []
    left_out += [f"{expired} whose assignment expired"] if expired else []
    lines.append("")
    lines.append(f"{len(result.apps)} app(s); CAN USE counts active users who are not frozen"
                 + (f" ({', '.join(left_out)} left out)" if left_out else "")
                 + "; LAST LOGIN: successful OAuth logins in the last 90 days")
    lines.extend(f"note: {visible(note)}" for note in result.notes)
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ("app", "kind", "permitted_users", "username", "can_use", "via", "active", "frozen", "tokens",
               "last_used", "assignment_expired")


def _csv(result: AccessResult) -> str:
    """One row per app × user: everyone who can use it, whose assignment to it expired, or who holds its
    tokens. Every cell goes through the same formula guard as `scan --format csv`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def flag(value: bool | None) -> str:
        return "" if value is None else str(value).lower()

    for app in result.apps:
        can = {u["username"]: u for u in app["can_use"]["users"]}
        lapsed = {u["username"]: u for u in app["can_use"].get("expired") or []}
        uses = {u["username"]: u for u in app["uses"]["users"]}
        for username in sorted(set(can) | set(lapsed) | set(uses)):
            c, u = can.get(username), uses.get(username)
            known = c or lapsed.get(username) or u or {}
            usable = c is not None and c["active"] and not c["frozen"]
            scope = app["can_use"]["scope"]
            writer.writerow([spreadsheet_cell(v) for v in (
                app["name"], app["kind"], app["permitted_users"] or "", username,
                scope if scope != ASSIGNED else "yes" if usable else "no",
                " ".join((c or lapsed.get(username) or {}).get("via") or []), flag(known.get("active")),
                flag(known.get("frozen")), u["tokens"] if u else 0, (u or {}).get("last_used") or "",
                "" if c else (lapsed.get(username) or {}).get("expired_on") or "")])
    return out.getvalue()
