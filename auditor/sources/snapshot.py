"""The org snapshot file: what `ca-audit pull` read from an org, as JSON.

A live scan converts the data it has just pulled with the same code as an offline scan of the
snapshot (`auditor.sources.org.convert`), so both give exactly the same findings.

Format (stable key order, no secrets — consumer keys and secrets are removed from the metadata
documents, tokens are never read):

    {"format": "ca-audit-snapshot", "format_version": 1,
     "provenance": {"org_id", "org_name", "is_sandbox", "instance_url", "target", "api_version",
                    "pulled_at", "tool"},
     "integration_users_read": [usernames whose User / PermissionSetAssignment rows were read],
     "metadata": {"ConnectedApp": {"listed": [listMetadata FileProperties],
                                   "records": {fullName: document XML, or null when readMetadata
                                               returned nothing (installed / managed apps)}},
                  "ExternalClientApplication": {…}, …},
     "soql": {"ConnectedApplication": [rows], "SetupEntityAccess": […], "OauthToken": […], …},
     "notes": [what could not be checked, and why],
     "errors": [{"what", "message"} for everything that stayed unread]}
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from auditor import safeio
from auditor.model import InputError

SNAPSHOT_FORMAT = "ca-audit-snapshot"
SNAPSHOT_VERSION = 1
METADATA_TYPES = (
    "ConnectedApp",
    "ExternalClientApplication",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
)
# Org-wide settings, read by their one name (readMetadata("OauthOidcSettings", ["OauthOidc"]), as for
# any Settings type: the file is settings/OauthOidc.settings); a snapshot without them leaves them unknown.
SETTINGS_RECORDS = {"OauthOidcSettings": "OauthOidc"}
SNAPSHOT_TYPES = (*METADATA_TYPES, *SETTINGS_RECORDS)
SFDX_ROOT = "force-app/main/default"
# What reading a snapshot field of the wrong shape raises: shape_problems should have said it, and a
# reader that meets one anyway reports a malformed snapshot (exit 2), never a crash or a partial result.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError)
# Where `sf project retrieve` puts each type (folder, suffix) — org apps' paths use the same layout.
SOURCE_LAYOUT = {
    "ConnectedApp": ("connectedApps", "connectedApp"),
    "ExternalClientApplication": ("externalClientApps", "eca"),
    "ExtlClntAppGlobalOauthSettings": ("extlClntAppGlobalOauthSets", "ecaGlblOauth"),
    "ExtlClntAppOauthSettings": ("extlClntAppOauthSettings", "ecaOauth"),
    "ExtlClntAppOauthConfigurablePolicies": ("extlClntAppOauthPolicies", "ecaOauthPlcy"),
    "OauthOidcSettings": ("settings", "settings"),
}
def source_path(type_name: str, full_name: str) -> str:
    folder, suffix = SOURCE_LAYOUT[type_name]
    return f"{SFDX_ROOT}/{folder}/{full_name}.{suffix}-meta.xml"


# ---------------------------------------------------------------------------- files
def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(data: dict[str, Any], path: Path) -> int:
    """Write the snapshot; returns its size in bytes (compare with `safeio.max_snapshot_bytes()`)."""
    encoded = dumps(data).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded)
    return len(encoded)


def over_cap(size: int) -> str | None:
    """What to say when a snapshot of `size` bytes is more than the readers accept, else None."""
    cap = safeio.max_snapshot_bytes()
    if size <= cap:
        return None
    return (f"the snapshot is {size} bytes, more than the {cap} that scan and access read "
            f"({safeio.SNAPSHOT_CAP_VARIABLE}); read it with {safeio.SNAPSHOT_CAP_VARIABLE}={size} set")


def looks_like_snapshot(path: Path) -> bool:
    """A `.json` file is read as a snapshot; `load` says so when it is some other JSON."""
    return path.suffix.lower() == ".json" and path.is_file()


def load(path: Path, shown: str) -> tuple[dict[str, Any] | None, list[InputError]]:
    try:
        data = safeio.json_loads(safeio.read_text(path, snapshot=True))
    except safeio.Refused as refused:
        return None, [InputError(shown, None, f"cannot read the snapshot: {refused.message}")]
    except ValueError as error:
        line = getattr(error, "lineno", None)
        problem = getattr(error, "msg", None) or str(error)
        return None, [InputError(shown, line, f"not a valid JSON snapshot: {problem}")]
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        return None, [InputError(shown, None, "not a ca-audit snapshot (no \"format\": \"ca-audit-snapshot\")")]
    if data.get("format_version") != SNAPSHOT_VERSION:
        return None, [InputError(shown, None, f"snapshot format_version {data.get('format_version')!r} is not "
                                 f"supported (this ca-audit reads {SNAPSHOT_VERSION}); pull it again")]
    return data, []


# ---------------------------------------------------------------------------- shape
def parse_time(text: str) -> dt.datetime:
    """A Salesforce date or dateTime (`2024-05-01`, `2024-05-01T10:00:00.000+0000`), as UTC when no
    zone is given. Raises ValueError."""
    text = text.strip()
    if len(text) == 10:  # a date
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    text = text.replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


_TEXT_KEYS = {"Id", "Name", "AppName", "Username", "UserId", "SetupEntityId", "SetupEntityType", "ParentId",
              "PermissionSetId", "PermissionSetGroupId", "DeveloperName", "fullName", "id", "manageableState",
              "namespacePrefix", "fileName", "type"}
_TIME_KEYS = {"LastUsedDate", "ExpirationDate", "CreatedDate", "LastModifiedDate"}
_NUMBER_KEYS = {"UseCount"}
_REQUIRED = {"ConnectedApplication": ("Id", "Name"), "User": ("Username",),
             "SetupEntityAccess": ("SetupEntityId", "ParentId"),
             "PermissionSetGroupComponent": ("PermissionSetGroupId", "PermissionSetId"),
             "PermissionSetAssignment": ("PermissionSetId",)}


def _time_ok(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_time(value)
    except (ValueError, OverflowError):
        return False
    return True


def _row_problem(row: Any, where: str) -> str | None:
    """The first field of a row (or of an object nested in it) with the wrong type."""
    if not isinstance(row, dict):
        return f"{where} is not an object"
    for key, value in row.items():
        if value is None:
            continue
        if key in _TEXT_KEYS and not isinstance(value, str):
            return f"{where}.{key} is not a string"
        if key in _TIME_KEYS and not _time_ok(value):
            return f"{where}.{key} is not a date"
        if key in _NUMBER_KEYS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{where}.{key} is not a number"
        if isinstance(value, dict):
            problem = _row_problem(value, f"{where}.{key}")
            if problem:
                return problem
    return None


def shape_problems(data: dict[str, Any]) -> list[str]:
    """What is of the wrong type in a snapshot (file or fresh pull), before anything is converted:
    each is an input error naming the snapshot, never a crash in the conversion."""
    problems: list[str] = []
    def part(key: str) -> Any:
        value = data.get(key)
        return {} if value is None else value

    metadata, soql, provenance = part("metadata"), part("soql"), part("provenance")
    if not isinstance(metadata, dict):
        return ["metadata is not an object"]
    for type_name, entry in metadata.items():
        if not isinstance(entry, dict):
            problems.append(f"metadata.{type_name} is not an object")
            continue
        listed, records = entry.get("listed") or [], entry.get("records") or {}
        if not isinstance(listed, list):
            problems.append(f"metadata.{type_name}.listed is not a list")
        else:
            problems += [p for i, row in enumerate(listed)
                         if (p := _row_problem(row, f"metadata.{type_name}.listed[{i}]"))]
        if not isinstance(records, dict) or not all(v is None or isinstance(v, str) for v in records.values()):
            problems.append(f"metadata.{type_name}.records is not an object of XML documents")
    if not isinstance(soql, dict):
        return [*problems, "soql is not an object"]
    for key, rows in soql.items():
        if not isinstance(rows, list):
            problems.append(f"soql.{key} is not a list of rows")
            continue
        for index, row in enumerate(rows):
            problem = _row_problem(row, f"soql.{key}[{index}]")
            missing = [k for k in _REQUIRED.get(key, ()) if isinstance(row, dict) and not isinstance(row.get(k), str)]
            if problem or missing:
                problems.append(problem or f"soql.{key}[{index}] lacks {', '.join(missing)}")
                break  # one per table is enough to say the snapshot is malformed
    if not isinstance(provenance, dict) or (provenance.get("pulled_at") is not None
                                            and not _time_ok(provenance.get("pulled_at"))):
        problems.append("provenance.pulled_at is not a date")
    users = data.get("integration_users_read") or []
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        problems.append("integration_users_read is not a list of usernames")
    notes = data.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        problems.append("notes is not a list of strings")
    errors = data.get("errors") or []
    if not isinstance(errors, list) or not all(isinstance(e, dict) and isinstance(e.get("what"), str)
                                               and isinstance(e.get("message"), str) for e in errors):
        problems.append("errors is not a list of {what, message} objects")
    return problems
