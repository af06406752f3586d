"""Org data (a snapshot, or a pull that just happened) → Apps.

The metadata documents go through the same readers as files; the SOQL rows add the `org.*`
fields: assignments the org enforces (SetupEntityAccess), token usage (OauthToken), and the
integration users' coverage, activity and privileges.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from auditor.model import CONNECTED_APP, ORG, App, InputError, Location
from auditor.sources import SourceResult, org_settings
from auditor.sources.documents import apps_from_documents
from auditor.sources.snapshot import (
    MALFORMED,
    SETTINGS_RECORDS,
    SNAPSHOT_TYPES,
    parse_time,
    shape_problems,
    source_path,
)
from auditor.sources.xmldoc import Element, XmlError, parse

ADMIN_PROFILE = "System Administrator"
PRIVILEGED_PERMISSIONS = ("PermissionsModifyAllData", "PermissionsViewAllData", "PermissionsCustomizeApplication")


def apps_from_snapshot(data: dict[str, Any], *, origin: str,
                       integration_users: Mapping[str, list[str]] | None = None) -> SourceResult:
    """Apps from a snapshot (or a pull that just happened). `origin` names the org or the snapshot
    file in messages; `integration_users` is the config's `apps.*.integration_users`."""
    if not isinstance(data, dict):
        return SourceResult(errors=[InputError(origin, None, "malformed snapshot: not an object")])
    problems = shape_problems(data)
    if problems:
        return SourceResult(errors=[InputError(origin, None, f"malformed snapshot: {problem}") for problem in problems])
    try:
        return _convert(data, origin, integration_users)
    except MALFORMED as error:
        # shape_problems should have said it; never a crash, never a partial result
        return SourceResult(errors=[InputError(origin, None, f"malformed snapshot ({type(error).__name__})")])


def _convert(data: dict[str, Any], origin: str, integration_users: Mapping[str, list[str]] | None) -> SourceResult:
    result = SourceResult()
    index = _OrgIndex(data)
    root = origin
    documents = [(source_path(t, name), doc.encode("utf-8")) for t in SNAPSHOT_TYPES
                 for name, doc in sorted(index.records(t).items()) if doc]
    converted = apps_from_documents(documents)
    for problem in converted.errors:
        result.errors.append(InputError(f"{origin}: {problem.path}", None, problem.message))
    seen_rows: set[str] = set()
    for app in converted.apps:
        _drop_lines(app)
        app.root = root
        if app.kind == CONNECTED_APP:
            row = index.connected_application_for(app.name, app.get("label"))
            if row:
                seen_rows.add(row["Id"])
            index.annotate(app, row["Id"] if row else None, "ConnectedApplication", metadata_read=True)
        else:
            index.annotate(app, index.eca_id(app.name), "ExternalClientApplication", metadata_read=True)
            for part in ("ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthConfigurablePolicies"):
                if index.listed_unreadable(part, app.name):
                    result.errors.append(InputError(
                        f"{origin}: {source_path(part, index.part_name(part, app.name))}", None,
                        f"{app.name}: listMetadata lists this {part} but readMetadata returned nothing; the user "
                        "needs the permissions to view External Client App settings in metadata "
                        "(salesforce-facts.md §2.1), otherwise its certificate and policies stay unknown"))
        result.apps.append(app)
    for row in index.soql("ConnectedApplication"):
        if row["Id"] not in seen_rows:
            app = index.soql_only_app(row)
            app.root = root
            result.apps.append(app)
    known_labels = {str(a.get("label") or a.name).lower() for a in result.apps} | {a.name.lower() for a in result.apps}
    for app_name in sorted(index.tokens_by_app):
        if app_name.lower() not in known_labels:
            app = index.token_only_app(app_name)
            app.root = root
            result.apps.append(app)
    # The org-wide settings hold for every app of the org, those known only from SOQL or tokens too.
    documented = {id(app) for app in converted.apps}
    org_settings.apply([a for a in result.apps if id(a) not in documented], _settings(index))
    users = integration_users or {}
    for app in result.apps:
        app.origin = ORG
        declared = list(users.get(app.name, []))
        index.resolve_users(app, declared)
        missing = [u for u in declared if u.lower() not in index.users_read]
        if missing:
            result.errors.append(InputError(origin, None, f"{app.name}: integration user(s) {', '.join(missing)} "
                                            "were not read from the org when this snapshot was pulled (a pull reads "
                                            "the integration users declared in .ca-audit.yaml, with their assignments "
                                            "and permissions): declare them under apps, then pull again"))
    for note in data.get("notes") or []:
        # The pull's notes are about the check for uninstalled apps (CA-29): show them there.
        for app in result.apps:
            if app.get("org.installed") is False:
                app.notes.append(note)
    for unread in data.get("errors") or []:
        result.errors.append(InputError(origin, None, f"not read from the org: {unread['what']}: {unread['message']}"))
    return result


def _settings(index: _OrgIndex) -> list[tuple[str, Element]]:
    """The org's settings documents, parsed (one that does not parse was reported with the documents)."""
    found = []
    for type_name, name in SETTINGS_RECORDS.items():
        document = index.records(type_name).get(name)
        if not document:
            continue
        try:
            root = parse(document.encode("utf-8"))
            org_settings.check(root)
        except XmlError:
            continue
        found.append((source_path(type_name, name), root))
    return found


def _drop_lines(app: App) -> None:
    """Line numbers of a document rebuilt from readMetadata would point nowhere: keep the path only."""
    app.locations = {name: Location(loc.path) for name, loc in app.locations.items()}


class _OrgIndex:
    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.metadata = data.get("metadata") or {}
        provenance = data.get("provenance") or {}
        pulled = provenance.get("pulled_at")
        self.pulled_at = _parse_time(pulled) if pulled else dt.datetime.now(dt.timezone.utc)
        self.users_read = {u.lower() for u in data.get("integration_users_read") or []}
        # Group id -> member permission set ids; aggregate permission set -> group.
        self.group_members: dict[str, set[str]] = defaultdict(set)
        self.group_names: dict[str, str | None] = {}
        for row in self.soql("PermissionSetGroupComponent"):
            self.group_members[row["PermissionSetGroupId"]].add(row["PermissionSetId"])
            self.group_names[row["PermissionSetGroupId"]] = (row.get("PermissionSetGroup") or {}).get("DeveloperName")
        self.grants: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.soql("SetupEntityAccess"):
            self.grants[row["SetupEntityId"]].append(row)
        self.tokens_by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.soql("OauthToken"):
            if row.get("AppName"):
                self.tokens_by_app[row["AppName"]].append(row)
        self.users = {str(u["Username"]).lower(): u for u in self.soql("User")}
        # Frozen users cannot log in (UserLogin.IsFrozen); snapshots from before this was read have none.
        self.frozen_ids = {row.get("UserId") for row in self.soql("FrozenUsers")}
        self.logins_by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.soql("OAuthLogins"):
            self.logins_by_app[row["Application"]].append(row)
        self.assignments: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.soql("PermissionSetAssignment"):
            username = (row.get("Assignee") or {}).get("Username")
            if username:
                self.assignments[username.lower()].append(row)
        self.bypass_users = self._bypass_users()
        self.grant_ids: dict[int, set[str]] = {}  # id(App) -> ParentIds of its SetupEntityAccess rows
        self.grant_profiles: dict[int, set[str]] = {}  # id(App) -> profile names granted (lower case)

    # -------------------------------------------------------------- lookups
    def soql(self, key: str) -> list[dict[str, Any]]:
        return (self.data.get("soql") or {}).get(key) or []

    def records(self, type_name: str) -> dict[str, str | None]:
        return (self.metadata.get(type_name) or {}).get("records") or {}

    def listed(self, type_name: str) -> list[dict[str, Any]]:
        return (self.metadata.get(type_name) or {}).get("listed") or []

    def part_name(self, type_name: str, app_name: str) -> str:
        suffix = {"ExtlClntAppGlobalOauthSettings": "_glbloauth", "ExtlClntAppOauthSettings": "_oauth",
                  "ExtlClntAppOauthConfigurablePolicies": "_oauthPlcy"}[type_name]
        return app_name + suffix

    def listed_unreadable(self, type_name: str, app_name: str) -> bool:
        name = self.part_name(type_name, app_name)
        records = self.records(type_name)
        return name in records and records[name] is None

    def connected_application_for(self, full_name: str, label: str | None) -> dict[str, Any] | None:
        """The ConnectedApplication row of a metadata app: by the listMetadata id (UNCONFIRMED that it is the
        ConnectedApplication Id, so fall back to the name, which is the app's label)."""
        rows = self.soql("ConnectedApplication")
        ids = {p.get("id") for p in self.listed("ConnectedApp") if p.get("fullName") == full_name}
        for row in rows:
            if row.get("Id") in ids:
                return row
        wanted = {full_name.lower(), (label or "").lower()}
        return next((r for r in rows if str(r.get("Name", "")).lower() in wanted), None)

    def eca_id(self, name: str) -> str | None:
        return next((p.get("id") for p in self.listed("ExternalClientApplication") if p.get("fullName") == name), None)

    # -------------------------------------------------------------- app fields
    def annotate(self, app: App, entity_id: str | None, entity_type: str, *, metadata_read: bool) -> None:
        grants = [g for g in self.grants.get(entity_id or "", []) if g.get("SetupEntityType") == entity_type]
        profiles, permission_sets, groups = [], [], []
        for grant in grants:
            parent = grant.get("Parent") or {}
            if parent.get("IsOwnedByProfile"):
                profiles.append((parent.get("Profile") or {}).get("Name") or parent.get("Name"))
            elif parent.get("PermissionSetGroupId"):
                groups.append(self.group_names.get(parent["PermissionSetGroupId"]) or parent.get("Name"))
            else:
                permission_sets.append(parent.get("Name"))
        app.set("org.installed", True)
        app.set("org.metadata_read", metadata_read)
        app.set("org.id", entity_id)
        app.set("org.assignments.profiles", sorted(p for p in profiles if p))
        app.set("org.assignments.permission_sets", sorted(p for p in permission_sets if p))
        app.set("org.assignments.permission_set_groups", sorted(g for g in groups if g))
        self.grant_ids[id(app)] = {g["ParentId"] for g in grants}
        self.grant_profiles[id(app)] = {p.lower() for p in profiles if p}
        self._usage(app, [app.get("label"), app.name])
        app.set("org.bypass_permission_users", self.bypass_users)

    def _usage(self, app: App, names: list[str | None]) -> None:
        rows: list[dict[str, Any]] = []
        for key in dict.fromkeys(str(n) for n in names if n):
            rows.extend(self.tokens_by_app.get(key, []))
        last = [_parse_time(r["LastUsedDate"]) for r in rows if r.get("LastUsedDate")]
        app.set("org.usage.tokens", len(rows))
        app.set("org.usage.users", sorted({(r.get("User") or {}).get("Username") or r.get("UserId") for r in rows}))
        app.set("org.usage.use_count", sum(int(r.get("UseCount") or 0) for r in rows))
        app.set("org.usage.last_used_days", (self.pulled_at - max(last)).days if last else None)
        app.set("org.usage.last_use", f"{(self.pulled_at - max(last)).days} days before the org was read" if last
                else "never (no token records a use)" if rows else "never (no tokens)")
        logins: list[dict[str, Any]] = []
        for key in dict.fromkeys(str(n) for n in names if n):
            logins.extend(self.logins_by_app.get(key, []))
        latest = [_parse_time(r["LastLogin"]) for r in logins if r.get("LastLogin")]
        app.set("org.usage.logins", sum(int(r.get("Logins") or 0) for r in logins))
        app.set("org.usage.last_login_days", (self.pulled_at - max(latest)).days if latest else None)

    def soql_only_app(self, row: dict[str, Any]) -> App:
        listed = next((p for p in self.listed("ConnectedApp") if p.get("id") == row["Id"]), None)
        name = listed["fullName"] if listed else _api_name(row["Name"])
        app = App(CONNECTED_APP, name, source_path("ConnectedApp", name))
        app.set("label", row.get("Name"))
        admin = row.get("OptionsAllowAdminApprovedUsersOnly")
        if admin is not None:
            # Treating this flag as the live mirror of isAdminApproved is an inference (salesforce-facts.md §3.1).
            app.set("oauth.permitted_users", "admin_approved" if admin else "self_authorized")
        if row.get("OptionsHasSessionLevelPolicy"):
            app.set("policy.session_level", "HIGH_ASSURANCE")
        self.annotate(app, row["Id"], "ConnectedApplication", metadata_read=False)
        app.set("assignments.profiles", app.get("org.assignments.profiles"))
        app.set("assignments.permission_sets", app.get("org.assignments.permission_sets"))
        app.set("flows", [])
        app.set("flows_declared", [])
        app.set("integration_users", [])
        state = f" ({listed.get('manageableState')})" if listed and listed.get("manageableState") else ""
        if listed and name not in self.records("ConnectedApp"):
            reason = "its metadata could not be read (see the errors)"
        else:
            reason = f"the Metadata API does not return this app's metadata{state}, as for installed and managed apps"
        app.notes.append(f"read from SOQL only: {reason}; its scopes, certificate and OAuth policies are unknown "
                         "and rules that need them do not apply")
        return app

    def token_only_app(self, app_name: str) -> App:
        name = _api_name(app_name)
        app = App(CONNECTED_APP, name, source_path("ConnectedApp", name))
        app.set("label", app_name)
        app.set("org.installed", False)
        app.set("org.metadata_read", False)
        self._usage(app, [app_name])
        app.set("org.bypass_permission_users", self.bypass_users)
        app.set("flows", [])
        app.set("flows_declared", [])
        app.set("integration_users", [])
        app.notes.append("known only from OAuth token usage (OauthToken.AppName): no connected app or External "
                         "Client App of this name is installed in the org")
        return app

    # -------------------------------------------------------------- users
    def _bypass_users(self) -> list[str]:
        """Non-admin users holding "Use Any API Client" or "Approve Uninstalled Connected Apps"."""
        holders: dict[str, set[str]] = defaultdict(set)
        for row in self.soql("BypassPermissions"):
            assignee = row.get("Assignee") or {}
            if not assignee.get("IsActive", True):
                continue
            profile = assignee.get("Profile") or {}
            if profile.get("Name") == ADMIN_PROFILE or profile.get("PermissionsModifyAllData"):
                continue
            ps = row.get("PermissionSet") or {}
            granted = [label for key, label in (("PermissionsUseAnyApiClient", "Use Any API Client"),
                                                ("PermissionsCanApproveUninstalledApps",
                                                 "Approve Uninstalled Connected Apps")) if ps.get(key)]
            via = (ps.get("Profile") or {}).get("Name") if ps.get("IsOwnedByProfile") else ps.get("Name")
            username = assignee.get("Username")
            for label in granted:
                if isinstance(username, str):
                    holders[username].add(f"{label} via {via}")
        return [f"{user} ({'; '.join(sorted(how))})" for user, how in sorted(holders.items()) if user]

    def _valid_assignments(self, username: str) -> list[dict[str, Any]]:
        valid = []
        for row in self.assignments.get(username.lower(), []):
            if row.get("IsRevoked"):
                continue
            expires = row.get("ExpirationDate")
            if expires and _parse_time(expires) <= self.pulled_at:
                continue
            valid.append(row)
        return valid

    def _holds(self, username: str) -> set[str]:
        """Permission set ids the user holds: direct, profile-owned, and through groups."""
        held: set[str] = set()
        for row in self._valid_assignments(username):
            held.add(row["PermissionSetId"])
            if row.get("PermissionSetGroupId"):
                held |= self.group_members.get(row["PermissionSetGroupId"], set())
        return held

    def _user_flags(self, username: str) -> dict[str, Any]:
        user = self.users.get(username.lower())
        if user is None:
            return {"found": False, "active": None, "frozen": None, "api_only": None, "privileged": None}
        profile = user.get("Profile") or {}
        sets = [row.get("PermissionSet") or {} for row in self._valid_assignments(username)]
        api_only = bool(profile.get("PermissionsApiUserOnly")) or any(ps.get("PermissionsApiUserOnly") for ps in sets)
        privileged = profile.get("Name") == ADMIN_PROFILE or any(
            holder.get(p) for holder in [profile, *sets] for p in PRIVILEGED_PERMISSIONS)
        frozen = user.get("Id") in self.frozen_ids
        return {"found": True, "active": bool(user.get("IsActive")) and not frozen, "frozen": frozen,
                "api_only": api_only, "privileged": privileged}

    def _covered(self, app: App, username: str, *, must_be_active: bool = True) -> bool:
        flags = self._user_flags(username)
        if not flags["found"] or (must_be_active and not flags["active"]):
            return False
        grants = self.grant_ids.get(id(app), set())
        if grants & self._holds(username):
            return True
        # That profile-owned permission sets have PermissionSetAssignment rows is implied by Salesforce's
        # examples, not stated: match the user's profile by name as well.
        profile = ((self.users.get(username.lower()) or {}).get("Profile") or {}).get("Name")
        return isinstance(profile, str) and profile.lower() in self.grant_profiles.get(id(app), set())

    def _approved(self, app: App, username: str) -> bool:
        users = {str(u).lower() for u in app.get("org.usage.users") or []}
        return username.lower() in users

    def resolve_users(self, app: App, declared: list[str]) -> None:
        run_as = app.get("oauth.client_credentials.user") if app.get("oauth.client_credentials.enabled") else None
        everyone = list(dict.fromkeys([*declared, *([run_as] if run_as else [])]))
        known = [u for u in everyone if u.lower() in self.users_read]
        flags = {u: self._user_flags(u) for u in known}
        app.set("org.integration_users", everyone)
        app.set("org.unread_integration_users", [u for u in everyone if u not in flags])
        app.set("org.uncovered_integration_users", [_said(u, flags[u]) for u in declared
                                                    if u in flags and not self._covered(app, u)])
        app.set("org.integration_users_without_approval",
                [u for u in declared if u in flags and not self._approved(app, u)])
        app.set("org.inactive_integration_users",
                [_said(u, flags[u]) for u in everyone if u in flags and flags[u]["found"] and not flags[u]["active"]])
        app.set("org.frozen_integration_users", [u for u in everyone if u in flags and flags[u]["frozen"]])
        app.set("org.unknown_integration_users", [u for u in everyone if u in flags and not flags[u]["found"]])
        app.set("org.privileged_integration_users", [u for u in everyone if u in flags and flags[u]["privileged"]])
        if run_as and run_as in flags:
            f = flags[run_as]
            app.set("org.run_as.found", f["found"])
            app.set("org.run_as.active", f["active"])
            app.set("org.run_as.api_only", f["api_only"])
            # Inactivity is CA-10's finding; coverage here is about the grants alone (CA-12).
            app.set("org.run_as.covered", self._covered(app, run_as, must_be_active=False))
        else:
            for name in ("found", "active", "api_only", "covered"):
                app.set(f"org.run_as.{name}", None)


def _said(username: str, flags: dict[str, Any]) -> str:
    """A frozen user is named as such: frozen and inactive users get the same error, different fixes."""
    return f"{username} (frozen)" if flags.get("frozen") else username


def _api_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_") or "Unnamed"


_parse_time = parse_time
