"""The fake org's contents: sObject tables with real-looking Ids and relationships, Metadata API
records stored as the documents a retrieve would produce, and the JWT bearer configuration.

Queries are answered by a small SOQL subset (SELECT fields | COUNT() FROM object [WHERE a = x
AND/OR b IN (…) AND c >= 2026-01-01T00:00:00Z …] [ORDER BY …] [LIMIT n] [OFFSET n]); relationship
paths such as ``Parent.Profile.Name`` are resolved through the Id fields as Salesforce does, and an
unknown field is the real 400 INVALID_FIELD.

Salesforce's limits at scale are kept (salesforce-facts.md §3.4, §3.6): OauthToken returns at most
2,500 rows per query, silently (the answer says done with totalSize 2,500), in pages of 500; OFFSET
above 2,000 is NUMBER_OUTSIDE_VALID_RANGE; LoginHistory filters only on its filterable fields.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MD_NS = "http://soap.sforce.com/2006/04/metadata"

# Relationship name -> (Id field, target object), per object.
RELATIONSHIPS: dict[str, dict[str, tuple[str, str]]] = {
    "SetupEntityAccess": {"Parent": ("ParentId", "PermissionSet")},
    "PermissionSet": {
        "Profile": ("ProfileId", "Profile"),
        "PermissionSetGroup": ("PermissionSetGroupId", "PermissionSetGroup"),
    },
    "PermissionSetAssignment": {
        "Assignee": ("AssigneeId", "User"),
        "PermissionSet": ("PermissionSetId", "PermissionSet"),
        "PermissionSetGroup": ("PermissionSetGroupId", "PermissionSetGroup"),
    },
    "PermissionSetGroupComponent": {
        "PermissionSet": ("PermissionSetId", "PermissionSet"),
        "PermissionSetGroup": ("PermissionSetGroupId", "PermissionSetGroup"),
    },
    "User": {"Profile": ("ProfileId", "Profile")},
    "OauthToken": {"User": ("UserId", "User")},
    "UserLogin": {"User": ("UserId", "User")},
}

# Objects whose queries stop returning rows at a cap, and the page size they answer with.
ROW_CAPS = {"OauthToken": 2500}
PAGE_SIZES = {"OauthToken": 500}
MAX_OFFSET = 2000
# Only these LoginHistory fields can be used in WHERE (object reference, salesforce-facts.md §3.6).
FILTERABLE = {
    "LoginHistory": {"AuthenticationServiceId", "CipherSuite", "CountryIso", "Id", "LoginTime", "LoginType",
                     "LoginUrl", "NetworkId", "OptionsIsGet", "OptionsIsPost", "TlsProtocol", "UserId"},
}

PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsApiUserOnly",
    "PermissionsModifyAllData",
    "PermissionsViewAllData",
    "PermissionsCustomizeApplication",
    "PermissionsUseAnyApiClient",
    "PermissionsCanApproveUninstalledApps",
)

SCHEMA: dict[str, set[str]] = {
    "Organization": {"Id", "Name", "OrganizationType", "IsSandbox", "InstanceName"},
    "ConnectedApplication": {
        "Id", "Name", "CreatedDate", "LastModifiedDate", "OptionsAllowAdminApprovedUsersOnly",
        "OptionsRefreshTokenValidityMetric", "OptionsHasSessionLevelPolicy", "OptionsIsInternal",
        "RefreshTokenValidityPeriod", "StartUrl", "MobileStartUrl", "PinLength",
    },
    "SetupEntityAccess": {"Id", "ParentId", "SetupEntityId", "SetupEntityType"},
    "PermissionSet": {"Id", "Name", "Label", "IsOwnedByProfile", "ProfileId", "PermissionSetGroupId", "Type",
                      *PERMISSIONS},
    "Profile": {"Id", "Name", *PERMISSIONS},
    "PermissionSetGroup": {"Id", "DeveloperName", "MasterLabel", "Status"},
    "PermissionSetGroupComponent": {"Id", "PermissionSetGroupId", "PermissionSetId"},
    "PermissionSetAssignment": {"Id", "AssigneeId", "PermissionSetId", "PermissionSetGroupId", "ExpirationDate",
                                "IsActive", "IsRevoked"},
    "User": {"Id", "Username", "Name", "IsActive", "ProfileId", "UserType"},
    "OauthToken": {"Id", "AppName", "AppMenuItemId", "UserId", "CreatedDate", "LastUsedDate", "UseCount"},
    "UserLogin": {"Id", "UserId", "IsFrozen", "IsPasswordLocked", "LastModifiedDate"},
    "LoginHistory": {"Id", "UserId", "LoginTime", "LoginType", "LoginSubType", "Application", "Status", "SourceIp",
                     "LoginUrl", "ApiType", "ApiVersion", "Browser", "Platform", "AuthenticationServiceId",
                     "CipherSuite", "CountryIso", "NetworkId", "OptionsIsGet", "OptionsIsPost", "TlsProtocol"},
}

KEY_PREFIXES = {
    "Organization": "00D", "ConnectedApplication": "0H4", "SetupEntityAccess": "0J0", "PermissionSet": "0PS",
    "Profile": "00e", "PermissionSetGroup": "0PG", "PermissionSetGroupComponent": "0PH",
    "PermissionSetAssignment": "0Pa", "User": "005", "ExternalClientApplication": "0xI", "UserLogin": "06c",
    "LoginHistory": "0Ya", "OauthToken": "0CQ",
}

# Metadata type -> (folder, suffix) for listMetadata fileName.
FOLDERS = {
    "ConnectedApp": ("connectedApps", "connectedApp"),
    "ExternalClientApplication": ("externalClientApps", "eca"),
    "ExtlClntAppGlobalOauthSettings": ("extlClntAppGlobalOauthSets", "ecaGlblOauth"),
    "ExtlClntAppOauthSettings": ("extlClntAppOauthSettings", "ecaOauth"),
    "ExtlClntAppOauthConfigurablePolicies": ("extlClntAppOauthPolicies", "ecaOauthPlcy"),
}


def invalid_field(field_path: str, obj: str) -> ValueError:
    return ValueError(
        "INVALID_FIELD",
        f"\nSELECT {field_path} FROM {obj}\n       ^\nERROR at Row:1:Column:8\nNo such column '{field_path}' on entity "
        f"'{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom "
        "field name. Please reference your WSDL or the describe call for the appropriate names.",
    )


@dataclass
class JwtConfig:
    consumer_key: str = "3MVG9FakeConsumerKeyForTheFakeOrg.JwtBearer"
    approved_users: set[str] = field(default_factory=set)
    not_admin_approved: set[str] = field(default_factory=set)
    inactive_users: set[str] = field(default_factory=set)
    certificate_pem: bytes | None = None  # when set, assertions must be signed by its key (RS256)


@dataclass
class MetadataEntry:
    type: str
    full_name: str
    document: str | None  # None: listed (installed/managed) but readMetadata answers xsi:nil
    id: str
    manageable_state: str = "unmanaged"
    namespace: str | None = None


class FakeOrgData:
    def __init__(self, org_id: str = "00D5e000000FakeEAA", org_name: str = "Acme (fake)"):
        self.org_id = org_id
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMA}
        self.by_id: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self.schema = {k: set(v) for k, v in SCHEMA.items()}
        self.metadata: dict[tuple[str, str], MetadataEntry] = {}
        self.poison: set[tuple[str, str]] = set()  # readMetadata faults when these are in the batch
        self.jwt = JwtConfig()
        self._counter = itertools.count(1)
        self._indexes: dict[tuple[str, str], tuple[list[dict[str, Any]], list[Any], dict[Any, list[int]]]] = {}
        self.tables["Organization"].append(
            {"Id": org_id, "Name": org_name, "OrganizationType": "Enterprise Edition", "IsSandbox": False,
             "InstanceName": "FAKE1"}
        )

    # ---------------------------------------------------------------- building
    def new_id(self, obj: str) -> str:
        return f"{KEY_PREFIXES.get(obj, '001')}5e{next(self._counter):010d}AAA"

    def insert(self, obj: str, **values: Any) -> dict[str, Any]:
        row = {"Id": self.new_id(obj), **values}
        for key in row:
            if key not in self.schema[obj]:
                raise KeyError(f"{obj}.{key} is not in the fake schema")
        self.tables[obj].append(row)
        self.by_id[obj][row["Id"]] = row
        return row

    def find(self, obj: str, **where: Any) -> dict[str, Any] | None:
        if list(where) == ["Id"]:
            return self.by_id[obj].get(where["Id"])
        return next((r for r in self.tables[obj] if all(r.get(k) == v for k, v in where.items())), None)

    def add_metadata(self, type_name: str, full_name: str, document: str | None, *, record_id: str | None = None,
                     manageable_state: str = "unmanaged", namespace: str | None = None) -> MetadataEntry:
        entry = MetadataEntry(type_name, full_name, document, record_id or self.new_id("ExternalClientApplication"),
                              manageable_state, namespace)
        self.metadata[(type_name, full_name)] = entry
        return entry

    # ---------------------------------------------------------------- Metadata API
    def metadata_record(self, type_name: str, full_name: str) -> str | None:
        entry = self.metadata.get((type_name, full_name))
        return entry.document if entry else None

    def file_properties(self, type_name: str) -> list[dict[str, Any]]:
        folder, suffix = FOLDERS.get(type_name, (type_name, type_name))
        out = []
        for entry in self.metadata.values():
            if entry.type != type_name:
                continue
            fp = {
                "createdById": "0055e000001AdmnAAC", "createdByName": "Admin User",
                "createdDate": "2024-03-04T10:11:12.000Z",
                "fileName": f"{folder}/{entry.full_name}.{suffix}", "fullName": entry.full_name, "id": entry.id,
                "lastModifiedById": "0055e000001AdmnAAC", "lastModifiedByName": "Admin User",
                "lastModifiedDate": "2026-01-15T08:00:00.000Z", "manageableState": entry.manageable_state,
            }
            if entry.namespace:
                fp["namespacePrefix"] = entry.namespace
            fp["type"] = type_name
            out.append(fp)
        return out

    # ---------------------------------------------------------------- SOQL
    def query(self, soql: str) -> list[dict[str, Any]] | int:
        """The rows a query selects (before paging), or their number for SELECT COUNT()."""
        match = re.fullmatch(
            r"\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?"
            r"(?:\s+LIMIT\s+(\d+))?(?:\s+OFFSET\s+(\d+))?\s*",
            soql, re.I | re.S,
        )
        if not match:
            raise ValueError("MALFORMED_QUERY", f"unexpected token in: {soql[:60]}")
        counting = re.fullmatch(r"COUNT\(\s*\)", match.group(1).strip(), re.I) is not None
        fields = [] if counting else [f.strip() for f in match.group(1).split(",")]
        obj = match.group(2)
        if obj not in self.tables:
            raise ValueError("INVALID_TYPE", f"sObject type '{obj}' is not supported.")
        for f in fields:
            self._check_path(obj, f)
        rows = self.tables[obj]
        if match.group(3):
            rows = self._select(obj, self._parse_where(obj, match.group(3)))
        if counting:
            return len(rows)
        if match.group(4):
            key, _, direction = match.group(4).strip().partition(" ")
            self._check_path(obj, key)
            get = self._getter(obj, key)
            rows = sorted(rows, key=lambda r: _sort_key(get(r)),
                          reverse=direction.strip().upper() == "DESC")
        if match.group(6):
            offset = int(match.group(6))
            if offset > MAX_OFFSET:
                raise ValueError("NUMBER_OUTSIDE_VALID_RANGE",
                                 f"Maximum SOQL offset allowed is {MAX_OFFSET}")
            rows = rows[offset:]
        if match.group(5):
            rows = rows[: int(match.group(5))]
        if obj in ROW_CAPS:
            rows = rows[: ROW_CAPS[obj]]  # silently, as Salesforce does
        project = self._projector(obj, fields)
        return [project(row) for row in rows]

    def _check_path(self, obj: str, path: str) -> None:
        head, _, rest = path.partition(".")
        if not rest:
            if head not in self.schema[obj]:
                raise invalid_field(path, obj)
            return
        rel = RELATIONSHIPS.get(obj, {}).get(head)
        if rel is None:
            raise invalid_field(path, obj)
        self._check_path(rel[1], rest)

    def _resolve(self, obj: str, row: dict[str, Any] | None, path: str) -> Any:
        if row is None:
            return None
        head, _, rest = path.partition(".")
        if not rest:
            return row.get(head)
        id_field, target = RELATIONSHIPS[obj][head]
        parent = self.find(target, Id=row.get(id_field)) if row.get(id_field) else None
        return self._resolve(target, parent, rest)

    def _projector(self, obj: str, fields: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """A row as the REST API answers it: `attributes`, then the fields in the order selected, a
        relationship as a nested record (with its own `attributes`) or null."""
        related: dict[str, list[str]] = {}  # relationship -> the paths read through it, in order
        order: list[tuple[str, bool]] = []  # (field or relationship, is a relationship)
        for f in fields:
            head, _, rest = f.partition(".")
            if not rest:
                order.append((head, False))
            elif head in related:
                related[head].append(rest)
            else:
                related[head] = [rest]
                order.append((head, True))
        nested = {head: (RELATIONSHIPS[obj][head][0], self.by_id[RELATIONSHIPS[obj][head][1]],
                         self._projector(RELATIONSHIPS[obj][head][1], rests)) for head, rests in related.items()}
        url = f"/services/data/v66.0/sobjects/{obj}/"

        def project(row: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"attributes": {"type": obj, "url": url + row["Id"]} if row.get("Id")
                                   else {"type": obj}}
            for name, is_relationship in order:
                if not is_relationship:
                    out[name] = row.get(name)
                    continue
                id_field, parents, sub = nested[name]
                parent = parents.get(row.get(id_field)) if row.get(id_field) else None
                out[name] = None if parent is None else sub(parent)
            return out

        return project

    def _parse_where(self, obj: str, text: str) -> list[list[_Leaf]]:
        """The condition as OR of ANDs of leaves."""
        disjuncts = _split_outside_quotes(text.strip(), "OR")
        return [[self._parse_leaf(obj, c) for c in _split_outside_quotes(d, "AND")] for d in disjuncts]

    def _select(self, obj: str, clauses: list[list[_Leaf]]) -> list[dict[str, Any]]:
        """The rows matching the condition, in table order. When every AND-group has an `=` or `IN` on
        a plain field, only the rows an index gives for those values are tested (the same answer as
        testing every row, much faster on tens of thousands of rows)."""
        table = self.tables[obj]
        positions: set[int] = set()
        for conj in clauses:
            keyed = next((leaf for leaf in conj if leaf.column is not None), None)
            found = self._positions(obj, keyed.column, keyed.values) if keyed and keyed.column else None
            if found is None or keyed is None:
                candidates = table
                break
            positions |= found
            if len(clauses) == 1:  # the index answered that leaf: test the others
                tests = [leaf.test for leaf in conj if leaf is not keyed]
                return [row for row in (table[i] for i in sorted(positions)) if all(t(row) for t in tests)]
        else:
            candidates = [table[i] for i in sorted(positions)]
        return [row for row in candidates if any(all(leaf.test(row) for leaf in conj) for conj in clauses)]

    def _positions(self, obj: str, path: str, values: set[Any]) -> set[int] | None:
        """Positions of the rows whose `path` is one of `values` (None: no index can tell). Through a
        relationship, the parents are looked up as `_resolve` does (by Id), then their children by Id field."""
        head, _, rest = path.partition(".")
        if rest:
            if None in values:  # a missing parent resolves to null too
                return None
            id_field, target = RELATIONSHIPS[obj][head]
            parents = {key for key, parent in self.by_id[target].items()
                       if self._resolve(target, parent, rest) in values}
            return self._positions(obj, id_field, parents)
        index = self._index(obj, head)
        if index is None:
            return None
        return {i for value in values for i in index.get(value, ())}

    def _index(self, obj: str, field_name: str) -> dict[Any, list[int]] | None:
        """Row positions by value of one plain field, rebuilt whenever the column changed (tests edit
        rows and tables in place): checking costs one pass over the column, in C."""
        table = self.tables[obj]
        column = list(map(dict.get, table, itertools.repeat(field_name)))
        cached = self._indexes.get((obj, field_name))
        if cached is not None and cached[0] is table and cached[1] == column:
            return cached[2]
        index: dict[Any, list[int]] = {}
        try:
            for position, value in enumerate(column):
                index.setdefault(value, []).append(position)
        except TypeError:  # an unhashable value: no index
            return None
        self._indexes[(obj, field_name)] = (table, column, index)
        return index

    def _check_filterable(self, obj: str, path: str) -> None:
        self._check_path(obj, path)
        if obj in FILTERABLE and path not in FILTERABLE[obj]:
            raise ValueError("INVALID_FIELD", f"\nfield '{path}' can not be filtered in a query call")

    def _getter(self, obj: str, path: str) -> Callable[[dict[str, Any]], Any]:
        if "." not in path:
            return lambda row: row.get(path)
        return lambda row: self._resolve(obj, row, path)

    def _parse_leaf(self, obj: str, text: str) -> _Leaf:
        text = text.strip().strip("()").strip() if text.strip().startswith("(") and " IN " not in text.upper() else text
        m = re.fullmatch(r"\s*([\w.]+)\s+(NOT\s+IN|IN)\s*\((.*)\)\s*", text, re.I | re.S)
        if m:
            self._check_filterable(obj, m.group(1))
            values = {_literal(v) for v in _split_values(m.group(3))}
            get = self._getter(obj, m.group(1))
            if m.group(2).upper().startswith("NOT"):
                return _Leaf(lambda row: get(row) not in values)
            return _Leaf(lambda row: get(row) in values, m.group(1), values)
        m = re.fullmatch(r"\s*([\w.]+)\s*(=|!=|>=|<=|>|<)\s*(.+?)\s*", text, re.S)
        if not m:
            raise ValueError("MALFORMED_QUERY", f"unexpected token: {text[:40]}")
        self._check_filterable(obj, m.group(1))
        path, op, value = m.group(1), m.group(2), _literal(m.group(3))
        get = self._getter(obj, path)
        if op == "=":
            return _Leaf(lambda row: get(row) == value, path, {value})
        if op == "!=":
            return _Leaf(lambda row: get(row) != value)
        bound = _as_time(value)
        if bound is None:
            raise ValueError("MALFORMED_QUERY", f"the fake org compares dates only: {text[:40]}")
        compare = {">=": lambda a: a >= bound, "<=": lambda a: a <= bound, ">": lambda a: a > bound,
                   "<": lambda a: a < bound}[op]

        def leaf(row: dict[str, Any]) -> bool:
            found = _as_time(get(row))
            return found is not None and compare(found)

        return _Leaf(leaf)


@dataclass
class _Leaf:
    """One comparison of a WHERE clause; `column` (a field or a path through relationships) and `values`
    when it is `column = x` or `column IN (…)` (what an index can answer)."""

    test: Callable[[dict[str, Any]], bool]
    column: str | None = None
    values: set[Any] = field(default_factory=set)



_WHERE_TOKENS = re.compile(r"'(?:[^'\\]|\\.)*(?:'|$)|[()]| (AND|OR) ", re.I | re.S)


def _split_outside_quotes(text: str, keyword: str) -> list[str]:
    """Split on AND / OR that are not inside a quoted literal or parentheses."""
    parts, depth, start = [], 0, 0
    for token in _WHERE_TOKENS.finditer(text):
        found = token.group()
        if found == "(":
            depth += 1
        elif found == ")":
            depth -= 1
        elif depth == 0 and token.group(1) and token.group(1).upper() == keyword and token.start() >= start:
            parts.append(text[start : token.start()])
            start = token.end()
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _as_time(value: Any) -> dt.datetime | None:
    """A SOQL datetime or date literal, LAST_N_DAYS:n, or a stored Salesforce timestamp."""
    if not isinstance(value, str):
        return None
    if value[:1] not in "Ll":
        return _timestamp(value)
    m = re.fullmatch(r"LAST_N_DAYS:(\d+)", value, re.I)
    if m:
        today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - dt.timedelta(days=int(m.group(1)))
    return _timestamp(value)


@functools.lru_cache(maxsize=200_000)
def _timestamp(value: str) -> dt.datetime | None:
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _sort_key(value: Any) -> tuple:
    return (value is None, str(value) if value is not None else "")


def _split_values(text: str) -> list[str]:
    return [v for v in re.findall(r"'(?:[^'\\]|\\.)*'|[^,\s]+", text)]


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def metadata_document(root: str, children: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MD_NS}">\n{children}\n</{root}>\n'


def document_children(document: str, tag: str) -> list[str]:
    root = ET.fromstring(document)
    return [el.text or "" for el in root.iter(f"{{{MD_NS}}}{tag}")]
