"""Read a live org into a snapshot: the raw data (Metadata API documents, SOQL rows) that
`auditor.sources.org.convert.apps_from_snapshot` turns into Apps. A live scan and a snapshot scan
therefore run the very same conversion and give the same findings.

Imported only when an org option is used: simple-salesforce costs ~0.2 s to import.

What is read, with as few calls as the APIs allow:
- listMetadata for ConnectedApp and the four ECA types (3 queries per call → 2 calls);
- readMetadata, 10 names per call (the API's limit), `concurrency` calls in flight;
- SOQL: Organization, ConnectedApplication, SetupEntityAccess (connected apps and ECAs, with the
  parent permission set / profile), PermissionSetGroupComponent, holders of the
  "Use Any API Client" / "Approve Uninstalled Connected Apps" permissions, and User +
  PermissionSetAssignment for the integration users (declared in config, and run-as users);
- OauthToken, every row however many: counted first, read whole when under Salesforce's silent
  2,500-row cap, else in slices (app labels, then CreatedDate windows; CreatedDate windows of the
  whole table when the labels are too many for one URL) each counted and read under the cap; the
  slices must add up to the count, or the read is an error naming the slice (tokens.py);
- LoginHistory: OAuth logins (LoginType 'Remote Access 2.0', successful) of the last 90 days, in
  date windows read side by side, kept as (app, user, logins, last login);
- for `ca-audit access`: frozen users (UserLogin.IsFrozen), the number of active users, the
  assignments of every permission set and group the apps grant (with expiry), and the users who
  hold them, hold tokens or logged in (only those, 200 ids per query).

The read budget (requests, for N apps, U users to look up, T tokens, L login rows, S grants;
P = 2,000 rows per page, ⌈x⌉ rounding up): see `request_budget`, documented in docs/org.md.

The Metadata API's records are kept as the standalone documents a retrieve would give, so org
apps are mapped by the same code as files. Calls, retries and paging are the client's
(`auditor.sources.org.client`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import requests
from simple_salesforce.exceptions import SalesforceError

from auditor import __version__
from auditor.model import InputError
from auditor.sources.org.auth import DEFAULT_API_VERSION, OrgCredentials
from auditor.sources.org.client import (
    DEADLINE,
    MAX_PAGES,
    MAX_RESPONSE_BYTES,
    MD_NS,
    Fatal,
    GuardedSession,
    OrgAnswerError,
    OrgClient,
    OrgReadError,
    SoapFault,
    Transient,
    describe,
    env_number,
    error_code,
    make_session,
    row_key,
)
from auditor.sources.org.soql import parse_time, quote, soql_time
from auditor.sources.org.target import OrgTarget
from auditor.sources.org.tokens import LABELS_PER_SLICE, SPLIT_WAYS, TOKEN_CAP, TokenReader
from auditor.sources.org.workpool import LATER, PriorityPool
from auditor.sources.snapshot import METADATA_TYPES, SETTINGS_RECORDS, SNAPSHOT_FORMAT, SNAPSHOT_TYPES, SNAPSHOT_VERSION

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
READ_BATCH = 10  # readMetadata's limit per call
APP_TYPES = ("ConnectedApp", "ExternalClientApplication")  # what progress counts as apps
LIST_GROUPS = (METADATA_TYPES[:3], METADATA_TYPES[3:])  # listMetadata takes up to 3 queries
SECRET_ELEMENTS = ("consumerSecret", "consumerKey")  # never kept in a snapshot
USERS_PER_QUERY = 100  # SOQL goes out as GET: keep IN lists well under URL limits

BASE_QUERIES = {
    "Organization": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization",
    "ConnectedApplication": (
        "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly, "
        "OptionsRefreshTokenValidityMetric, OptionsHasSessionLevelPolicy, RefreshTokenValidityPeriod "
        "FROM ConnectedApplication"
    ),
    "SetupEntityAccess": (
        "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.ProfileId, Parent.Profile.Name, "
        "Parent.PermissionSetGroupId, SetupEntityId, SetupEntityType FROM SetupEntityAccess "
        "WHERE SetupEntityType IN ('ConnectedApplication', 'ExternalClientApplication')"
    ),
    "PermissionSetGroupComponent": (
        "SELECT PermissionSetGroupId, PermissionSetGroup.DeveloperName, PermissionSetId, PermissionSet.Name "
        "FROM PermissionSetGroupComponent"
    ),
    "FrozenUsers": "SELECT UserId FROM UserLogin WHERE IsFrozen = true",
}
LOGIN_DAYS = 90
LOGIN_WINDOWS = 6  # LoginHistory is read in this many date windows, side by side
LOGIN_QUERY = ("SELECT UserId, LoginTime, LoginSubType, Application, Status FROM LoginHistory "
               "WHERE LoginType = 'Remote Access 2.0' AND LoginTime >= {start} AND LoginTime < {end}")
IDS_PER_QUERY = 200  # 18-character Ids: about 4,400 characters of URL
ACCESS_USER_FIELDS = "SELECT Id, Username, IsActive, ProfileId, Profile.Name, UserType FROM User"
ACCESS_ASSIGNMENT_FIELDS = ("SELECT AssigneeId, PermissionSetId, PermissionSetGroupId, ExpirationDate, IsRevoked "
                            "FROM PermissionSetAssignment")
PAGE = 2000  # rows per query page (Salesforce's default batch size)

_BYPASS_FIELDS = (
    "SELECT Assignee.Username, Assignee.IsActive, Assignee.Profile.Name, Assignee.Profile.PermissionsModifyAllData, "
    "PermissionSet.Name, PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name, "
    "PermissionSet.PermissionsModifyAllData, {fields} FROM PermissionSetAssignment WHERE {where}"
)
# "Approve Uninstalled Connected Apps" (Sept 2025) — its API name PermissionsCanApproveUninstalledApps
# is inferred, not documented (salesforce-facts.md §3.7 Q9): fall back when the org rejects it.
BYPASS_PERMISSIONS = (
    ("PermissionSet.PermissionsUseAnyApiClient", "PermissionSet.PermissionsCanApproveUninstalledApps"),
    ("PermissionSet.PermissionsUseAnyApiClient",),
)

USER_QUERY = (
    "SELECT Id, Username, IsActive, UserType, Profile.Name, Profile.PermissionsApiUserOnly, "
    "Profile.PermissionsModifyAllData, Profile.PermissionsViewAllData, Profile.PermissionsCustomizeApplication "
    "FROM User WHERE Username IN ({names})"
)
ASSIGNMENT_QUERY = (
    "SELECT AssigneeId, Assignee.Username, PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
    "PermissionSet.Profile.Name, PermissionSet.PermissionsApiUserOnly, PermissionSet.PermissionsModifyAllData, "
    "PermissionSet.PermissionsViewAllData, PermissionSet.PermissionsCustomizeApplication, PermissionSetGroupId, "
    "ExpirationDate, IsRevoked FROM PermissionSetAssignment WHERE Assignee.Username IN ({names})"
)


@dataclass
class PullSettings:
    api_version: str = DEFAULT_API_VERSION
    timeout: float = field(default_factory=lambda: float(os.environ.get("CA_AUDIT_HTTP_TIMEOUT", "60")))
    connect_timeout: float = 10.0
    attempts: int = 3
    backoff: float = field(default_factory=lambda: float(os.environ.get("CA_AUDIT_RETRY_BACKOFF", "1.0")))
    # Bounds on each answer (client.py): seconds per request in all, bytes per answer, pages per query.
    deadline: float = field(default_factory=lambda: env_number("CA_AUDIT_HTTP_DEADLINE", DEADLINE))
    max_response_bytes: int = field(
        default_factory=lambda: int(env_number("CA_AUDIT_MAX_RESPONSE_BYTES", MAX_RESPONSE_BYTES)))
    max_pages: int = field(default_factory=lambda: int(env_number("CA_AUDIT_MAX_PAGES", MAX_PAGES)))
    concurrency: int = 4
    batch_size: int = READ_BATCH
    integration_users: list[str] = field(default_factory=list)
    progress: bool | None = None  # None: when stderr is a terminal


def pull(credentials: OrgCredentials, settings: PullSettings | None = None,
         session: requests.Session | None = None) -> dict[str, Any]:
    """Read the org into a snapshot dict. Parts that could not be read are listed under "errors";
    an expired session or refused access raises OrgReadError."""
    return _Puller(credentials, settings or PullSettings(), session or make_session()).run()


class _Puller:
    def __init__(self, credentials: OrgCredentials, settings: PullSettings, session: requests.Session):
        self.credentials = credentials
        self.settings = settings
        if isinstance(session, GuardedSession):
            session.deadline, session.max_bytes = settings.deadline, settings.max_response_bytes
        self.client = OrgClient(credentials, session, api_version=settings.api_version,
                                timeout=(settings.connect_timeout, settings.timeout), attempts=settings.attempts,
                                backoff=settings.backoff, max_pages=settings.max_pages)
        self.errors: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.lock = threading.Lock()
        self.run_as_users: set[str] = set()  # client-credentials Run As users named in the records read
        self.read_done = 0
        self.read_total = 0
        self.progress_counts: dict[str, list[int]] = {}
        self.pool: PriorityPool
        self.started = dt.datetime.now(dt.timezone.utc)
        progress = settings.progress
        self.progress = sys.stderr.isatty() if progress is None else progress

    # ------------------------------------------------------------------ orchestration
    def run(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.timezone.utc)
        self.started = started
        listed: dict[str, list[dict[str, Any]]] = {t: [] for t in METADATA_TYPES}
        records: dict[str, dict[str, str | None]] = {t: {} for t in SNAPSHOT_TYPES}
        soql: dict[str, list[dict[str, Any]]] = {}
        inventory: dict[str, Any] = {"login_days": LOGIN_DAYS}
        pool = PriorityPool(self.settings.concurrency)
        self.pool = pool
        try:
            # Phase 1: everything that needs nothing else, side by side.
            list_futures = [pool.submit(self._guard, f"listMetadata {', '.join(g)}", self._list, g)
                            for g in LIST_GROUPS]
            soql_futures = {key: pool.submit(self._guard, f"SOQL {key}", self._query, key, q)
                            for key, q in BASE_QUERIES.items()}
            soql_futures["BypassPermissions"] = pool.submit(self._guard, "SOQL PermissionSetAssignment "
                                                            "(Use Any API Client holders)", self._bypass_holders)
            token_total = pool.submit(self._guard, "SOQL OauthToken (COUNT)", self.client.count,
                                      "SELECT COUNT() FROM OauthToken")
            active_users = pool.submit(self._guard, "SOQL User (COUNT of active users)", self.client.count,
                                       "SELECT COUNT() FROM User WHERE IsActive = true")
            login_futures = [pool.submit(self._guard, f"SOQL LoginHistory (logins from {a[:10]} to {b[:10]})",
                                         self._logins, a, b) for a, b in _login_windows(started)]
            self._tick("logins", 0, len(login_futures))
            read_futures: list[Future] = [pool.submit(self._guard, f"readMetadata {type_name} {full_name}",
                                                      self._read_settings, type_name, full_name)
                                          for type_name, full_name in SETTINGS_RECORDS.items()]
            for future in list_futures:
                for type_name, props in (future.result() or {}).items():
                    listed[type_name] = props
                    names = sorted(p["fullName"] for p in props)
                    if type_name in APP_TYPES:
                        self.read_total += len(names)
                    for start in range(0, len(names), self.settings.batch_size):
                        batch = names[start : start + self.settings.batch_size]
                        read_futures.append(pool.submit(self._guard, f"readMetadata {type_name} {', '.join(batch)}",
                                                        self._read_batch, type_name, batch))
            for key, future in soql_futures.items():
                soql[key] = future.result() or []
            # Phase 2: what needs the apps' labels and grants: tokens, assignments, users by profile.
            labels = sorted({str(r["Name"]) for r in soql.get("ConnectedApplication", []) if r.get("Name")})
            total = token_total.result()
            token_reader = TokenReader(self, labels, total) if total is not None else None
            grants = _granted(soql.get("SetupEntityAccess", []), soql.get("PermissionSetGroupComponent", []))
            access_futures = self._access_queries(grants)
            lookups = _UserLookups(self, access_futures, soql.get("FrozenUsers", []))
            wait(read_futures)
            for future in read_futures:
                for type_name, name, document in future.result() or []:
                    records[type_name][name] = document
            self._raise_if_fatal()
            users = sorted(set(self.settings.integration_users) | self.run_as_users)
            user_futures = []
            for start in range(0, len(users), USERS_PER_QUERY):
                quoted = ", ".join(quote(u) for u in users[start : start + USERS_PER_QUERY])
                user_futures.append(("User", pool.submit(self._guard, "SOQL User", self.client.query_all,
                                                         USER_QUERY.format(names=quoted))))
                user_futures.append(("PermissionSetAssignment", pool.submit(
                    self._guard, "SOQL PermissionSetAssignment", self.client.query_all,
                    ASSIGNMENT_QUERY.format(names=quoted))))
            if token_reader is not None:
                # ECA tokens carry the ECA's label, known once its header was read.
                token_reader.add_labels(_eca_labels(records["ExternalClientApplication"]))
                soql["OauthToken"] = token_reader.run(
                    lambda rows: lookups.add(r["UserId"] for r in rows if r.get("UserId")))
            else:
                soql["OauthToken"] = []
            soql["User"], soql["PermissionSetAssignment"] = [], []
            for key, future in user_futures:
                soql[key].extend(future.result() or [])
            soql["AccessAssignments"] = []
            by_profile: list[dict[str, Any]] = []
            for key, future in access_futures:
                (soql["AccessAssignments"] if key == "assignments" else by_profile).extend(future.result() or [])
            logins: dict[tuple[str, str], dict[str, Any]] = {}
            for future in login_futures:
                for row in future.result() or []:
                    _add_login(logins, row)
            soql["OAuthLogins"] = list(logins.values())
            # Phase 3: the users these rows name that were not read yet, 200 ids per query (the full
            # queries went out while the tokens were read).
            lookups.add(r["UserId"] for r in soql["OAuthLogins"])
            soql["AccessUsers"] = list(by_profile) + lookups.finish()
            inventory["token_count"] = total
            inventory["active_users"] = active_users.result()
            inventory["access_read"] = True
            self._raise_if_fatal()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self.progress and self.progress_counts:
                sys.stderr.write("\n")
        org = (soql.get("Organization") or [{}])[0]
        return {
            "format": SNAPSHOT_FORMAT,
            "format_version": SNAPSHOT_VERSION,
            "provenance": {
                "org_id": org.get("Id") or self.credentials.org_id,
                "org_name": org.get("Name"),
                "is_sandbox": org.get("IsSandbox"),
                "instance_url": self.credentials.instance_url,
                "target": self.credentials.target,
                "api_version": self.settings.api_version,
                "pulled_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tool": f"ca-audit {__version__}",
            },
            "integration_users_read": users,
            "inventory": inventory,
            "metadata": {t: {"listed": sorted(listed.get(t, []), key=lambda p: p["fullName"]), "records": records[t]}
                         for t in SNAPSHOT_TYPES},
            "soql": {k: sorted(v, key=row_key) for k, v in soql.items()},
            "notes": self.notes,
            "errors": sorted(self.errors, key=lambda e: (e["what"], e["message"])),
        }

    # ------------------------------------------------------------------ progress
    def _tick(self, phase: str, done: int = 1, total: int | None = None) -> None:
        """One status line on a terminal: how far each phase is."""
        with self.lock:
            counts = self.progress_counts.setdefault(phase, [0, 0])
            counts[0] += done
            if total is not None:
                counts[1] = total
            if not self.progress:
                return
            parts = [f"{name} {d}/{t}" if t else f"{name} {d}" for name, (d, t) in self.progress_counts.items()]
            sys.stderr.write("\rca-audit: read " + " · ".join(parts) + "\x1b[K")
            sys.stderr.flush()

    def _query(self, key: str, soql: str) -> list[dict[str, Any]]:
        rows = self.client.query_all(soql)
        self._tick("queries")
        return rows

    # ------------------------------------------------------------------ access inventory
    def _access_queries(self, grants: _Grants) -> list[tuple[str, Future]]:
        """Assignments of the granted permission sets and groups, and the users of granted profiles."""
        out: list[tuple[str, Future]] = []
        for what, column, ids in (("assignments", "PermissionSetId", sorted(grants.permission_sets)),
                                  ("assignments", "PermissionSetGroupId", sorted(grants.groups)),
                                  ("profile users", "ProfileId", sorted(grants.profiles))):
            fields = ACCESS_ASSIGNMENT_FIELDS if what == "assignments" else ACCESS_USER_FIELDS
            for i in range(0, len(ids), IDS_PER_QUERY):
                soql = f"{fields} WHERE {column} IN ({', '.join(quote(x) for x in ids[i : i + IDS_PER_QUERY])})"
                name = "PermissionSetAssignment" if what == "assignments" else "User"
                out.append((what, self.pool.submit(self._guard, f"SOQL {name} ({column} {i // IDS_PER_QUERY + 1})",
                                                   self._query, name, soql)))
        return out

    def _users_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        rows = self.client.query_all(f"{ACCESS_USER_FIELDS} WHERE Id IN ({', '.join(quote(x) for x in ids)})")
        self._tick("users")
        return rows

    def _logins(self, start: str, end: str) -> list[dict[str, Any]]:
        rows = self.client.query_all(LOGIN_QUERY.format(start=start, end=end))
        self._tick("logins")
        return rows

    def _raise_if_fatal(self) -> None:
        if self.client.fatal:
            raise OrgReadError(self.client.redact(self.client.fatal))

    def _guard(self, what: str, fn: Callable, *args: Any) -> Any:
        """Run one unit of work; record its failure under `what` instead of losing the others."""
        if self.client.fatal:
            return None
        try:
            return fn(*args)
        except Fatal as error:
            with self.lock:
                self.client.fatal = self.client.fatal or str(error)
        except Transient as error:
            self._unread(what, f"{error} (gave up after {self.settings.attempts} attempts)")
        except (SalesforceError, SoapFault, requests.RequestException, ValueError) as error:
            self._unread(what, describe(error))
        except Exception as error:  # noqa: BLE001 - an answer we did not foresee is this part unread, not a crash
            self._unread(what, f"unexpected answer ({type(error).__name__}: {str(error)[:200]})")
        return None

    def _unread(self, what: str, message: str) -> None:
        """Record a part not read; org messages may echo the session id, so they are redacted."""
        with self.lock:
            self.errors.append({"what": what, "message": self.client.redact(message)})

    # ------------------------------------------------------------------ SOQL
    def _bypass_holders(self) -> list[dict[str, Any]]:
        for fields in BYPASS_PERMISSIONS:
            soql = _BYPASS_FIELDS.format(fields=", ".join(fields), where=" OR ".join(f"{f} = true" for f in fields))
            try:
                return self.client.query_all(soql)
            except SalesforceError as error:
                if error_code(error) not in ("INVALID_FIELD", "MALFORMED_QUERY"):
                    raise
                with self.lock:
                    self.notes.append(f"{fields[-1].split('.')[-1]} is not available in this org or API version; "
                                      "the check for users who bypass app restrictions uses the remaining "
                                      "permissions only")
        return []

    # ------------------------------------------------------------------ Metadata API
    def _list(self, types: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        queries = "".join(f"<queries><type>{t}</type></queries>" for t in types)
        root = self.client.soap(f"<listMetadata>{queries}<asOfVersion>{self.settings.api_version}</asOfVersion>"
                                "</listMetadata>", "listMetadataResponse")
        out: dict[str, list[dict[str, Any]]] = {t: [] for t in types}
        for result in root.iter(f"{{{MD_NS}}}result"):
            props = {child.tag.split("}")[-1]: (child.text or "") for child in result}
            if not props.get("fullName") or not props.get("type"):
                raise OrgAnswerError("a listMetadata result has no fullName or type")
            if props.get("type") in out:
                out[props["type"]].append({k: props.get(k) or None for k in
                                           ("fullName", "id", "fileName", "manageableState", "namespacePrefix")})
        return out

    def _read_batch(self, type_name: str, names: list[str]) -> list[tuple[str, str, str | None]]:
        try:
            found = self._read(type_name, names)
        except SoapFault as fault:
            if len(names) == 1 or fault.transient:
                raise
            # One unreadable record fails the whole call (jsforce#621): read the batch one by one.
            found = []
            for name in names:
                try:
                    found.extend(self._read(type_name, [name]))
                except (SoapFault, Transient, requests.RequestException, ValueError) as error:
                    self._unread(f"readMetadata {type_name} {name}", describe(error))
        if type_name in APP_TYPES:
            self._tick("apps", len(names), self.read_total)
        return found

    def _read_settings(self, type_name: str, full_name: str) -> list[tuple[str, str, str | None]]:
        """An org-wide settings record. A fault the org answers for it (a type this API version lacks, no
        access) leaves the settings unknown rather than failing the pull: what depends on them says
        UNKNOWN and names them (checklists.yaml `setting_unknown_org`)."""
        try:
            return self._read(type_name, [full_name])
        except SoapFault as fault:
            if fault.transient:
                raise
            return [(type_name, full_name, None)]

    def _read(self, type_name: str, names: list[str]) -> list[tuple[str, str, str | None]]:
        full_names = "".join(f"<fullNames>{escape(n)}</fullNames>" for n in names)
        root = self.client.soap(f"<readMetadata><type>{type_name}</type>{full_names}</readMetadata>",
                                "readMetadataResponse")
        result = root.find(f".//{{{MD_NS}}}readMetadataResponse/{{{MD_NS}}}result")
        records = list(result) if result is not None else []
        if len(records) != len(names):
            raise ValueError(f"readMetadata returned {len(records)} records for {len(names)} names")
        out: list[tuple[str, str, str | None]] = []
        for name, record in zip(names, records, strict=True):
            if record.get(XSI_NIL) == "true" or not len(record):
                out.append((type_name, name, None))
                continue
            run_as = _run_as_user(type_name, record)
            if run_as:
                with self.lock:
                    self.run_as_users.add(run_as)
            out.append((type_name, name, standalone_document(type_name, record)))
        return out


def standalone_document(type_name: str, record: ET.Element) -> str:
    """A readMetadata record as the document `sf project retrieve` would write (secrets removed)."""
    root = ET.Element(f"{{{MD_NS}}}{type_name}")
    for child in record:
        local = child.tag.split("}")[-1]
        if local == "fullName" or local in SECRET_ELEMENTS:
            continue
        _drop_secrets(child)
        root.append(child)
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode", default_namespace=MD_NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _drop_secrets(element: ET.Element) -> None:
    for child in list(element):
        if child.tag.split("}")[-1] in SECRET_ELEMENTS:
            element.remove(child)
        else:
            _drop_secrets(child)


RUN_AS_ELEMENTS = {"ConnectedApp": "oauthClientCredentialUser",
                   "ExtlClntAppOauthConfigurablePolicies": "clientCredentialsFlowUser"}


def _run_as_user(type_name: str, record: ET.Element) -> str | None:
    """The client-credentials Run As user a record names, if any."""
    element = RUN_AS_ELEMENTS.get(type_name)
    found = record.find(f".//{{{MD_NS}}}{element}") if element else None
    text = (found.text or "").strip() if found is not None else ""
    return text or None


class _UserLookups:
    """The users the rows read name (assignees, token holders, OAuth logins, frozen users) that the
    profile users' queries did not return, looked up by Id, IDS_PER_QUERY ids a query. A full query
    goes out, after the token slices waiting (workpool.LATER), as soon as that many new ids are
    known, so the lookups overlap the token read; `finish` sends the rest. Each id is asked once,
    and the number of queries is the same as asking for all of them at the end: ⌈missing / 200⌉."""

    def __init__(self, puller: _Puller, access: list[tuple[str, Future]], frozen: list[dict[str, Any]]):
        self.puller = puller
        self.access = access
        self.known: set[str] | None = None  # the profile users read, once their queries are answered
        self.seen: set[str] = {r["UserId"] for r in frozen}
        self.asked: set[str] = set()
        self.futures: list[Future] = []

    def add(self, ids: Iterable[str]) -> None:
        self.seen.update(ids)
        if self.known is None and all(future.done() for _key, future in self.access):
            self._settle()
        if self.known is not None:
            self._send(final=False)

    def _settle(self) -> None:
        self.known = set()
        for key, future in self.access:
            for row in future.result() or []:
                if key == "assignments":
                    self.seen.add(row["AssigneeId"])
                else:
                    self.known.add(row["Id"])

    def _send(self, final: bool) -> None:
        assert self.known is not None
        fresh = sorted(self.seen - self.known - self.asked)
        while len(fresh) >= IDS_PER_QUERY or (final and fresh):
            chunk, fresh = fresh[:IDS_PER_QUERY], fresh[IDS_PER_QUERY:]
            self.asked.update(chunk)
            self.futures.append(self.puller.pool.submit_at(LATER, self.puller._guard, "SOQL User (by Id)",
                                                           self.puller._users_by_id, chunk))
            self.puller._tick("users", 0, len(self.futures))

    def finish(self) -> list[dict[str, Any]]:
        if self.known is None:
            wait([future for _key, future in self.access])
            self._settle()
        self._send(final=True)
        if not self.futures:
            self.puller._tick("users", 0, 0)
        return [row for future in self.futures for row in future.result() or []]


# ---------------------------------------------------------------------------- grants, logins, budget
@dataclass
class _Grants:
    profiles: set[str] = field(default_factory=set)  # Profile ids
    permission_sets: set[str] = field(default_factory=set)  # PermissionSet ids (not profile-owned)
    groups: set[str] = field(default_factory=set)  # PermissionSetGroup ids


def _granted(grants: list[dict[str, Any]], components: list[dict[str, Any]]) -> _Grants:
    """What the apps grant: profiles, permission sets, and groups — granted directly (their aggregate
    permission set) or through a member permission set."""
    out = _Grants()
    for row in grants:
        parent = row.get("Parent") or {}
        if parent.get("IsOwnedByProfile") and parent.get("ProfileId"):
            out.profiles.add(parent["ProfileId"])
        elif parent.get("PermissionSetGroupId"):
            out.groups.add(parent["PermissionSetGroupId"])
        elif row.get("ParentId"):
            out.permission_sets.add(row["ParentId"])
    for row in components:
        if row.get("PermissionSetId") in out.permission_sets:
            out.groups.add(row["PermissionSetGroupId"])
    return out


def _eca_labels(headers: dict[str, str | None]) -> list[str]:
    labels = []
    for document in headers.values():
        if document:
            found = ET.fromstring(document.encode()).find(f"{{{MD_NS}}}label")
            if found is not None and found.text:
                labels.append(found.text.strip())
    return labels


def _login_windows(now: dt.datetime) -> list[tuple[str, str]]:
    start = now - dt.timedelta(days=LOGIN_DAYS)
    step = (now - start) / LOGIN_WINDOWS
    bounds = [start + step * i for i in range(LOGIN_WINDOWS)] + [now + dt.timedelta(seconds=1)]
    return [(soql_time(a), soql_time(b)) for a, b in zip(bounds, bounds[1:], strict=False)]


def _add_login(logins: dict[tuple[str, str], dict[str, Any]], row: dict[str, Any]) -> None:
    """Successful OAuth logins, kept per (app label, user): how many, and the last."""
    if row.get("Status") != "Success" or not row.get("Application") or not row.get("UserId"):
        return
    key = (row["Application"], row["UserId"])
    entry = logins.setdefault(key, {"Application": key[0], "UserId": key[1], "Logins": 0, "LastLogin": None})
    entry["Logins"] += 1
    if entry["LastLogin"] is None or parse_time(row["LoginTime"]) > parse_time(entry["LastLogin"]):
        entry["LastLogin"] = row["LoginTime"]


def request_budget(*, apps: int, eca_parts: int = 0, users: int, tokens: int, apps_over_cap: int = 0,
                   tokens_over_cap: int = 0, login_rows: int = 0, grants: int = 0, assignment_rows: int = 0,
                   profile_users: int = 0, integration_users: int = 0, token_slices: int | None = None) -> int:
    """The most API requests a pull makes (docs/org.md, "Read budget"). Each SOQL object is counted as
    its pages (2,000 rows; OauthToken 500); `users` are the users looked up by Id. `token_slices`: the
    first OauthToken slices over the cap, len(token_plan(labels)) — ⌈N/40⌉ + 1 for short labels — or 0
    when the labels do not fit in a URL and the whole table is read in CreatedDate windows."""
    def pages(rows: int, size: int = PAGE) -> int:
        return max(1, math.ceil(rows / size))

    metadata = len(LIST_GROUPS) + math.ceil(apps / READ_BATCH) + math.ceil(eca_parts / READ_BATCH) \
        + len(SETTINGS_RECORDS)
    base = len(BASE_QUERIES) + 1 + 2 + (pages(apps) - 1)  # + bypass holders, the two COUNT()s
    logins = LOGIN_WINDOWS + math.ceil(login_rows / PAGE)
    if tokens < TOKEN_CAP:
        token_requests = pages(tokens, 500)
    elif token_slices == 0:  # the oldest and newest token, then windows of about 2,000 counted and read
        token_requests = 1 + 2 + math.ceil(tokens / 500) + 3 * math.ceil(tokens / (TOKEN_CAP * 0.4))
    else:
        batches = math.ceil(apps / LABELS_PER_SLICE) + 1 if token_slices is None else token_slices
        # each first slice: its COUNT, then at most one group per 2,000 of its tokens, plus one
        token_requests = 1 + 2 * batches + math.ceil(tokens / (TOKEN_CAP * 0.8)) + math.ceil(tokens / 500) \
            + apps_over_cap * (2 * SPLIT_WAYS * _split_depth() + 2) \
            + 3 * math.ceil(tokens_over_cap / (TOKEN_CAP * 0.4))
    access = 2 * math.ceil(grants / IDS_PER_QUERY) + math.ceil(assignment_rows / PAGE) + \
        math.ceil(profile_users / PAGE) + math.ceil(users / IDS_PER_QUERY)
    return metadata + base + logins + token_requests + access + 2 * math.ceil(integration_users / USERS_PER_QUERY)


def _split_depth() -> int:
    """How many times a slice of LABELS_PER_SLICE labels is split, SPLIT_WAYS ways, down to one label."""
    depth, labels = 0, LABELS_PER_SLICE
    while labels > 1:
        labels, depth = math.ceil(labels / SPLIT_WAYS), depth + 1
    return depth


def read_org(target: OrgTarget, integration_users: list[str],
             progress: bool | None = None) -> tuple[dict[str, Any] | None, list[InputError]]:
    """Log in and pull. Returns (snapshot or None, [InputError]) — login and read failures are errors,
    never exceptions, so the audit reports them and exits 2."""
    import sys
    import warnings

    from auditor.sources.org import auth

    session = make_session()
    if sys.stderr.isatty() if progress is None else progress:
        sys.stderr.write(f"ca-audit: logging in to {target.shown}\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # simple-salesforce warns on approval errors; we explain them
            credentials = _log_in(target, session)
            settings = PullSettings(api_version=target.api_version, integration_users=integration_users,
                                    progress=progress)
            return pull(credentials, settings, session), []
    except (auth.AuthError, OrgReadError) as error:
        from auditor.sources.org.redact import redact

        return None, [InputError(target.shown, None, redact(str(error), [target.access_token]))]


def _log_in(target: OrgTarget, session: Any) -> Any:
    from auditor.sources.org import auth

    if target.target_org:
        return auth.from_sf_cli(target.target_org)
    if target.client_id:
        return auth.from_jwt(session, client_id=target.client_id, key_file=str(target.jwt_key_file),
                             username=target.username or "", login_url=target.login_url)
    return auth.from_access_token(target.instance_url or "", target.access_token or "")
