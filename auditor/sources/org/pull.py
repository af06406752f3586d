"""Read a live org into a snapshot: the raw data (Metadata API documents, SOQL rows) that
`auditor.sources.org.convert.apps_from_snapshot` turns into Apps. A live scan and a snapshot scan
therefore run the very same conversion and give the same findings.

Imported only when an org option is used: simple-salesforce costs ~0.2 s to import.

What is read, with as few calls as the APIs allow:
- listMetadata for ConnectedApp and the four ECA types (3 queries per call → 2 calls);
- readMetadata, 10 names per call (the API's limit), `concurrency` calls in flight;
- SOQL: Organization, ConnectedApplication, SetupEntityAccess (connected apps and ECAs, with the
  parent permission set / profile), PermissionSetGroupComponent, OauthToken, holders of the
  "Use Any API Client" / "Approve Uninstalled Connected Apps" permissions, and User +
  PermissionSetAssignment for the integration users (declared in config, and run-as users).

The Metadata API's records are kept as the standalone documents a retrieve would give, so org
apps are mapped by the same code as files. Calls, retries and paging are the client's
(`auditor.sources.org.client`).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import requests
from simple_salesforce.exceptions import SalesforceError

from auditor import __version__
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
from auditor.sources.snapshot import METADATA_TYPES, SNAPSHOT_FORMAT, SNAPSHOT_VERSION

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
        "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name, "
        "Parent.PermissionSetGroupId, SetupEntityId, SetupEntityType FROM SetupEntityAccess "
        "WHERE SetupEntityType IN ('ConnectedApplication', 'ExternalClientApplication')"
    ),
    "PermissionSetGroupComponent": (
        "SELECT PermissionSetGroupId, PermissionSetGroup.DeveloperName, PermissionSetId, PermissionSet.Name "
        "FROM PermissionSetGroupComponent"
    ),
    "OauthToken": "SELECT AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount FROM OauthToken",
}

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
        progress = settings.progress
        self.progress = sys.stderr.isatty() if progress is None else progress

    # ------------------------------------------------------------------ orchestration
    def run(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.timezone.utc)
        listed: dict[str, list[dict[str, Any]]] = {t: [] for t in METADATA_TYPES}
        records: dict[str, dict[str, str | None]] = {t: {} for t in METADATA_TYPES}
        soql: dict[str, list[dict[str, Any]]] = {}
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="ca-audit-pull")
        try:
            list_futures = [pool.submit(self._guard, f"listMetadata {', '.join(g)}", self._list, g)
                            for g in LIST_GROUPS]
            soql_futures = {key: pool.submit(self._guard, f"SOQL {key}", self.client.query_all, q)
                            for key, q in BASE_QUERIES.items()}
            soql_futures["BypassPermissions"] = pool.submit(self._guard, "SOQL PermissionSetAssignment "
                                                            "(Use Any API Client holders)", self._bypass_holders)
            read_futures: list[Future] = []
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
            wait(read_futures)
            for future in read_futures:
                for type_name, name, document in future.result() or []:
                    records[type_name][name] = document
            self._raise_if_fatal()
            users = sorted(set(self.settings.integration_users) | self.run_as_users)
            user_futures = []
            for start in range(0, len(users), USERS_PER_QUERY):
                quoted = ", ".join(_quote(u) for u in users[start : start + USERS_PER_QUERY])
                user_futures.append(("User", pool.submit(self._guard, "SOQL User", self.client.query_all,
                                                         USER_QUERY.format(names=quoted))))
                user_futures.append(("PermissionSetAssignment", pool.submit(
                    self._guard, "SOQL PermissionSetAssignment", self.client.query_all,
                    ASSIGNMENT_QUERY.format(names=quoted))))
            for key, future in soql_futures.items():
                soql[key] = future.result() or []
            soql["User"], soql["PermissionSetAssignment"] = [], []
            for key, future in user_futures:
                soql[key].extend(future.result() or [])
            self._raise_if_fatal()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self.progress and self.read_total:
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
            "metadata": {t: {"listed": sorted(listed[t], key=lambda p: p["fullName"]), "records": records[t]}
                         for t in METADATA_TYPES},
            "soql": {k: sorted(v, key=row_key) for k, v in soql.items()},
            "notes": self.notes,
            "errors": sorted(self.errors, key=lambda e: (e["what"], e["message"])),
        }

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
            with self.lock:
                self.read_done += len(names)
                if self.progress:
                    sys.stderr.write(f"\rca-audit: read {self.read_done}/{self.read_total} apps")
                    sys.stderr.flush()
        return found

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


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
