"""Model-field edits → element edits in an app's metadata files.

A rule's `patch` speaks the model's language (`oauth.scopes` add `RefreshToken`); this module knows
where each field lives for each kind of app, in the inverse of the mapping the sources read:

- connected app: one file; flags and scopes under `<oauthConfig>`, the policy under `<oauthPolicy>`,
  assignments as `<permissionSetName>` / `<profileName>` elements of the root;
- external client app: the global OAuth settings (`.ecaGlblOauth`: flags, callback URL), the OAuth
  settings (`.ecaOauth`: `commaSeparatedOauthScopes`) and the OAuth policies (`.ecaOauthPlcy`:
  Permitted Users, assignments, IP and refresh-token policy).

Each element edit is applied to the bytes before the next is computed, so several insertions next to
one element land in schema order. A field the writer cannot reach (the part file is not in the
scanned tree, a connected app without `<oauthConfig>`) is reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any

from auditor.fix import schema
from auditor.fix.xmltext import Document, Node, Splice, apply_splices
from auditor.model import CONNECTED_APP, EXTERNAL_CLIENT_APP, App
from auditor.sources import external_client_app as eca
from auditor.sources.connected_app import _OAUTH_FLAGS as _CA_FLAG_TABLE
from auditor.sources.normalize import canonical_scope, split_list

# The sources' flag tables (element → field, default), inverted: field → element.
_CA_FLAGS = {field_name: element for element, (field_name, _default) in _CA_FLAG_TABLE.items()}
_ECA_FLAGS = {field_name: element for element, (field_name, _default) in eca._GLOBAL_FLAGS.items()}

# The connected-app spelling of IP relaxation (the model's) → the ECA spelling (S4).
_ECA_IP = {"ENFORCE": "Enforce", "BYPASS": "Bypass", "BYPASS_2FACTOR": "Bypass_2factor",
           "ENFORCE_RELAXREFRESH": "Enforce_RelaxRefresh"}
_ECA_REFRESH = {"infinite": "Infinite", "zero": "Zero", "lifetime": "SpecificLifetime",
                "inactivity": "SpecificInactivity"}
_CA_REFRESH = {"lifetime": "specific_lifetime", "inactivity": "specific_inactivity"}
_PERMITTED = {"admin_approved": ("true", "AdminApprovedPreAuthorized"),
              "self_authorized": ("false", "AllSelfAuthorized")}
_REFRESH_FIELDS = ("policy.refresh_token.kind", "policy.refresh_token.days")
_LISTS = ("oauth.scopes", "assignments.permission_sets", "assignments.profiles")
_SESSION_POLICY = ("policyAction", "sessionLevel", "sessionTimeout")  # ConnectedAppSessionPolicy, WSDL order

# What the writer can edit, per kind of app: every field a built-in patch names must be here
# (tests/fix/test_rules_patches.py holds the rule pack to it).
WRITABLE: dict[str, frozenset[str]] = {
    CONNECTED_APP: frozenset({*_CA_FLAGS, *_LISTS, *_REFRESH_FIELDS, "oauth.permitted_users",
                              "policy.ip_relaxation", "oauth.callback_urls", "policy.session_level"}),
    EXTERNAL_CLIENT_APP: frozenset({*_ECA_FLAGS, *_LISTS, *_REFRESH_FIELDS, "oauth.permitted_users",
                                        "policy.ip_relaxation", "oauth.callback_urls", "policy.session_level"}),
}


@dataclass
class FieldChange:
    """What the patch wants for one field: a new value (`set`), values added to a list (`add`), or a
    regular-expression rewrite of each list item (`replace`)."""

    field: str
    set: Any = None
    has_set: bool = False
    add: list[str] = _field(default_factory=list)
    replace: list[tuple[str, str]] = _field(default_factory=list)
    rules: list[str] = _field(default_factory=list)


@dataclass
class Written:
    files: dict[str, tuple[bytes, bytes]] = _field(default_factory=dict)  # path (scan-root relative) → before, after
    rules_by_file: dict[str, list[str]] = _field(default_factory=dict)
    unwritable: list[tuple[str, str]] = _field(default_factory=list)  # (rule id, why)


Edit = Callable[[Document], Splice | None]


def write(app: App, changes: list[FieldChange], read: Callable[[str], bytes]) -> Written:
    """The new bytes of every file of `app` that the changes touch. `read(path)` gives a file's bytes
    by its path relative to the scan root."""
    out = Written()
    parts = _parts(app, read)
    by_field = {c.field: c for c in changes}
    plans: dict[str, list[tuple[Edit, list[str]]]] = {}
    edits: list[Edit]
    for change in changes:
        if change.field == "policy.refresh_token.days" and "policy.refresh_token.kind" in by_field:
            continue  # written together with the kind
        target = _target(app, change, by_field, parts)
        if isinstance(target, str):
            out.unwritable.extend((rule_id, target) for rule_id in change.rules)
            continue
        path, edits = target
        rules = change.rules + (by_field["policy.refresh_token.days"].rules
                                if change.field == "policy.refresh_token.kind" and "policy.refresh_token.days"
                                in by_field else [])
        plans.setdefault(path, []).extend((edit, rules) for edit in edits)
    for path in plans:
        before = parts[path][1]
        data = before
        touched: list[str] = []
        for edit, rules in plans[path]:
            splice = edit(Document(data))
            if splice is not None:
                data = apply_splices(data, [splice])
                touched.extend(rules)
        if data != before:
            out.files[path] = (before, data)
            out.rules_by_file[path] = list(dict.fromkeys(touched))
    return out


def _parts(app: App, read: Callable[[str], bytes]) -> dict[str, tuple[str, bytes]]:
    """path → (root element, bytes) of every file the app was read from."""
    paths = dict.fromkeys([app.path, *(loc.path for loc in app.locations.values())])
    found: dict[str, tuple[str, bytes]] = {}
    for path in paths:
        try:
            data = read(path)
            found[path] = (Document(data).root.tag, data)
        except Exception:  # noqa: BLE001 - a part that cannot be read again is simply not writable
            continue
    return found


def _file_with_root(parts: dict[str, tuple[str, bytes]], root: str) -> str | None:
    return next((path for path, (tag, _data) in parts.items() if tag == root), None)


def _target(app: App, change: FieldChange, by_field: dict[str, FieldChange],
            parts: dict[str, tuple[str, bytes]]) -> tuple[str, list[Edit]] | str:
    if change.field not in WRITABLE.get(app.kind, ()):
        return f"the fix writer cannot edit {change.field} on a {app.kind.replace('_', ' ')}"
    if app.kind == CONNECTED_APP:
        path = _file_with_root(parts, "ConnectedApp")
        if path is None:
            return "the connected app file could not be read again"
        return path, _connected_app_edits(app, change, by_field)
    root = _eca_part(change.field)
    path = _file_with_root(parts, root)
    if path is None:
        suffix = {eca.GLOBAL_OAUTH: ".ecaGlblOauth", eca.OAUTH_SETTINGS: ".ecaOauth",
                  eca.OAUTH_POLICIES: ".ecaOauthPlcy"}[root]
        return f"the app's {suffix}-meta.xml file is not in the scanned tree"
    return path, _eca_edits(app, change, by_field, schema.ROOT_ORDER[root])


def _eca_part(field_name: str) -> str:
    if field_name in _ECA_FLAGS or field_name == "oauth.callback_urls":
        return eca.GLOBAL_OAUTH
    if field_name == "oauth.scopes":
        return eca.OAUTH_SETTINGS
    return eca.OAUTH_POLICIES


# ------------------------------------------------------------------------------- element edits
def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _set(parent_path: tuple[str, ...], tag: str, value: str, order: tuple[str, ...]) -> Edit:
    """Give element `tag` under the parent at `parent_path` (from the root) the text `value`."""
    def edit(doc: Document) -> Splice | None:
        parent = _walk(doc.root, parent_path)
        if parent is None:
            return None
        node = parent.find(tag)
        if node is None:
            return doc.insert(parent, tag, value, order)
        return None if doc.text_of(node).strip() == value else doc.set_text(node, value)
    return edit


def _add_repeated(parent_path: tuple[str, ...], tag: str, value: str, order: tuple[str, ...],
                  same: Callable[[str], str] = lambda text: text) -> Edit:
    """One more `<tag>value</tag>` after the last element of that name (unless the value is there)."""
    def edit(doc: Document) -> Splice | None:
        parent = _walk(doc.root, parent_path)
        if parent is None:
            return None
        existing = parent.find_all(tag)
        if any(same(doc.text_of(n).strip()) == same(value) for n in existing):
            return None
        return doc.insert(parent, tag, value, order, after=existing[-1] if existing else None)
    return edit


def _add_to_comma_list(tag: str, value: str, order: tuple[str, ...],
                       same: Callable[[str], str] = lambda text: text,
                       spell: Callable[[list[str], str], str] = lambda _items, v: v) -> Edit:
    """One more value in a comma-separated element of the root, in the separator style already used."""
    def edit(doc: Document) -> Splice | None:
        node = doc.root.find(tag)
        if node is None:
            return doc.insert(doc.root, tag, value, order)
        text = doc.text_of(node)
        items = split_list(text)
        if any(same(item) == same(value) for item in items):
            return None
        if not items:
            return doc.set_text(node, spell(items, value))
        separator = "," if "," in text and ", " not in text else ", "
        return doc.set_text(node, text.rstrip() + separator + spell(items, value))
    return edit


def _rewrite_items(parent_path: tuple[str, ...], tag: str, rewrites: list[tuple[str, str]]) -> Edit:
    """Apply regex rewrites to each item of a comma / line-break separated element, keeping separators."""
    def edit(doc: Document) -> Splice | None:
        parent = _walk(doc.root, parent_path)
        node = parent.find(tag) if parent is not None else None
        if node is None:
            return None
        text = doc.text_of(node)
        pieces = re.split(r"([,\r\n]+)", text)
        for index in range(0, len(pieces), 2):
            for pattern, replacement in rewrites:
                pieces[index] = re.sub(pattern, replacement, pieces[index])
        new = "".join(pieces)
        return None if new == text else doc.set_text(node, new)
    return edit


def _walk(node: Node, path: tuple[str, ...]) -> Node | None:
    for tag in path:
        child = node.find(tag)
        if child is None:
            return None
        node = child
    return node


def _desired_refresh(app: App, by_field: dict[str, FieldChange]) -> tuple[str, Any]:
    kind_change = by_field.get("policy.refresh_token.kind")
    days_change = by_field.get("policy.refresh_token.days")
    kind = kind_change.set if kind_change else app.get("policy.refresh_token.kind")
    days = days_change.set if days_change else app.get("policy.refresh_token.days")
    return kind, days


def _connected_app_edits(app: App, change: FieldChange, by_field: dict[str, FieldChange]) -> list[Edit]:
    config, policy = ("oauthConfig",), ("oauthPolicy",)
    oauth_order, policy_order = schema.CONNECTED_APP_OAUTH_CONFIG, schema.CONNECTED_APP_OAUTH_POLICY
    name = change.field
    if name in _CA_FLAGS and change.has_set:
        return [_set(config, _CA_FLAGS[name], _text(change.set), oauth_order)]
    if name == "oauth.permitted_users" and change.has_set:
        return [_set(config, "isAdminApproved", _PERMITTED[change.set][0], oauth_order)]
    if name == "oauth.scopes":
        return [_add_repeated(config, "scopes", value, oauth_order, same=canonical_scope) for value in change.add]
    if name in ("assignments.permission_sets", "assignments.profiles"):
        tag = "permissionSetName" if name == "assignments.permission_sets" else "profileName"
        return [_add_repeated((), tag, value, schema.CONNECTED_APP) for value in change.add]
    if name == "oauth.callback_urls":
        return [_rewrite_items(config, "callbackUrl", change.replace)]
    if name == "policy.ip_relaxation" and change.has_set:
        return [_ensure_policy(app, by_field), _set(policy, "ipRelaxation", str(change.set), policy_order)]
    if name == "policy.session_level" and change.has_set:  # only an existing <sessionPolicy> is edited
        return [_set(("sessionPolicy",), "sessionLevel", str(change.set), _SESSION_POLICY)]
    if name in _REFRESH_FIELDS:
        kind, days = _desired_refresh(app, by_field)
        raw = f"{_CA_REFRESH[kind]}:{days}:DAYS" if kind in _CA_REFRESH else str(kind)
        return [_ensure_policy(app, by_field), _set(policy, "refreshTokenPolicy", raw, policy_order)]
    return []


def _ensure_policy(app: App, by_field: dict[str, FieldChange]) -> Edit:
    """Create `<oauthPolicy>` when the app has none, with both elements the schema requires: the IP
    relaxation and refresh policy Salesforce applies without one (ENFORCE, infinite; S3), or the
    patched values."""
    def edit(doc: Document) -> Splice | None:
        if doc.root.find("oauthPolicy") is not None:
            return None
        ip = by_field.get("policy.ip_relaxation")
        kind, days = _desired_refresh(app, by_field)
        refresh = f"{_CA_REFRESH[kind]}:{days}:DAYS" if kind in _CA_REFRESH else str(kind or "infinite")
        children = [("ipRelaxation", str(ip.set) if ip and ip.has_set else "ENFORCE"),
                    ("refreshTokenPolicy", refresh)]
        return doc.insert(doc.root, "oauthPolicy", children, schema.CONNECTED_APP)
    return edit


def _eca_scope_spelling(items: list[str], scope: str) -> str:
    """Write a scope the way the file already does: wire names (`refresh_token`) or enum names."""
    if items and all(item == item.lower() for item in items):
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", scope).lower()
        for candidate in (snake, snake + "_api", scope.lower()):
            if canonical_scope(candidate) == scope:
                return candidate
    return scope


def _eca_edits(app: App, change: FieldChange, by_field: dict[str, FieldChange], order: tuple[str, ...]) -> list[Edit]:
    name = change.field
    if name in _ECA_FLAGS and change.has_set:
        return [_set((), _ECA_FLAGS[name], _text(change.set), order)]
    if name == "oauth.permitted_users" and change.has_set:
        return [_set((), "permittedUsersPolicyType", _PERMITTED[change.set][1], order)]
    if name == "oauth.scopes":
        return [_add_to_comma_list("commaSeparatedOauthScopes", value, order, same=canonical_scope,
                                   spell=_eca_scope_spelling) for value in change.add]
    if name in ("assignments.permission_sets", "assignments.profiles"):
        tag = "commaSeparatedPermissionSet" if name == "assignments.permission_sets" else "commaSeparatedProfile"
        return [_add_to_comma_list(tag, value, order) for value in change.add]
    if name == "oauth.callback_urls":
        return [_rewrite_items((), "callbackUrl", change.replace)]
    if name == "policy.session_level" and change.has_set:
        return [_set((), "requiredSessionLevel", str(change.set), order)]
    if name == "policy.ip_relaxation" and change.has_set:
        return [_set((), "ipRelaxationPolicyType", _ECA_IP.get(str(change.set), str(change.set)), order)]
    if name in _REFRESH_FIELDS:
        kind, days = _desired_refresh(app, by_field)
        edits = [_set((), "refreshTokenPolicyType", _ECA_REFRESH.get(kind, str(kind)), order)]
        if kind in _CA_REFRESH:
            edits += [_set((), "refreshTokenValidityPeriod", str(days), order),
                      _set((), "refreshTokenValidityUnit", "Days", order)]
        return edits
    return []


def file_reader(root: str) -> Callable[[str], bytes]:
    """Read a file by its path relative to the scan root the app was found under."""
    return lambda path: (Path(root) / path).read_bytes()
