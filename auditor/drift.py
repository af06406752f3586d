"""Repository ↔ org: does the org have the repository's app (CA-24), and how do they differ (CA-32)."""

from __future__ import annotations

from typing import Any

from auditor.model import App

# Security-relevant fields compared between a repository app and the same app in the org (CA-32).
COMPARED_FIELDS = (
    "oauth.scopes",
    "oauth.permitted_users",
    "assignments.profiles",
    "assignments.permission_sets",
    "oauth.has_certificate",
    "policy.ip_relaxation",
    "policy.refresh_token.kind",
    "policy.refresh_token.days",
    "oauth.client_credentials.enabled",
    "oauth.client_credentials.user",
)
UNORDERED = {"oauth.scopes", "assignments.profiles", "assignments.permission_sets"}



def compare(repo_apps: list[App], org_apps: list[App]) -> None:
    """Mark each repository app with whether the org has it (CA-24) and how they differ (CA-32)."""
    by_key = {(a.kind, a.name.lower()): a for a in org_apps}
    for app in repo_apps:
        other = by_key.get((app.kind, app.name.lower()))
        app.set("org.compared", True)
        app.set("org.present", other is not None and other.get("org.installed") is not False)
        differences: list[str] = []
        if other is not None and other.get("org.metadata_read"):
            for name in COMPARED_FIELDS:
                mine, theirs = app.get(name), _org_value(other, name)
                if name == "policy.refresh_token.days" and differences and differences[-1].startswith(
                        "policy.refresh_token.kind"):
                    continue  # a different kind of policy already says it
                if _normal(name, mine) != _normal(name, theirs):
                    differences.append(f"{name} (repository: {_show(mine)}; org: {_show(theirs)})")
        app.set("org.differences", differences)


def _org_value(app: App, name: str) -> Any:
    # SetupEntityAccess is what the org enforces; the metadata lists are derived from it.
    if name == "assignments.profiles":
        return app.get("org.assignments.profiles")
    if name == "assignments.permission_sets":
        return sorted([*(app.get("org.assignments.permission_sets") or []),
                       *(app.get("org.assignments.permission_set_groups") or [])])
    return app.get(name)


def _normal(name: str, value: Any) -> Any:
    if name in UNORDERED:
        return sorted({str(v).lower() for v in value or []})
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)
