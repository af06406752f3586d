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

import json
from pathlib import Path
from typing import Any

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
SFDX_ROOT = "force-app/main/default"
# Where `sf project retrieve` puts each type (folder, suffix) — org apps' paths use the same layout.
SOURCE_LAYOUT = {
    "ConnectedApp": ("connectedApps", "connectedApp"),
    "ExternalClientApplication": ("externalClientApps", "eca"),
    "ExtlClntAppGlobalOauthSettings": ("extlClntAppGlobalOauthSets", "ecaGlblOauth"),
    "ExtlClntAppOauthSettings": ("extlClntAppOauthSettings", "ecaOauth"),
    "ExtlClntAppOauthConfigurablePolicies": ("extlClntAppOauthPolicies", "ecaOauthPlcy"),
}
def source_path(type_name: str, full_name: str) -> str:
    folder, suffix = SOURCE_LAYOUT[type_name]
    return f"{SFDX_ROOT}/{folder}/{full_name}.{suffix}-meta.xml"


# ---------------------------------------------------------------------------- files
def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(data), encoding="utf-8")


def looks_like_snapshot(path: Path) -> bool:
    """A `.json` file is read as a snapshot; `load` says so when it is some other JSON."""
    return path.suffix.lower() == ".json" and path.is_file()


def load(path: Path, shown: str) -> tuple[dict[str, Any] | None, list[InputError]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return None, [InputError(shown, None, f"cannot read the snapshot: {error.strerror or error}")]
    except (UnicodeDecodeError, ValueError) as error:
        line = getattr(error, "lineno", None)
        return None, [InputError(shown, line, f"not a valid JSON snapshot: {error}")]
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        return None, [InputError(shown, None, "not a ca-audit snapshot (no \"format\": \"ca-audit-snapshot\")")]
    if data.get("format_version") != SNAPSHOT_VERSION:
        return None, [InputError(shown, None, f"snapshot format_version {data.get('format_version')!r} is not "
                                 f"supported (this ca-audit reads {SNAPSHOT_VERSION}); pull it again")]
    return data, []
