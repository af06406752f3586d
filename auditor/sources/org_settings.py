"""Org-wide OAuth settings committed with the project: `settings/OauthOidc.settings-meta.xml`
(MDAPI `OauthOidc.settings`), type OauthOidcSettings (salesforce-facts.md §1.4, S8).

They change what an app's own flags mean: PKCE can be required org-wide, and the
username-password and user-agent flows can be blocked for every app. A settings file applies to
the apps of the same metadata folder (`force-app/main/default/settings/` → the apps under
`force-app/main/default/`); apps with no settings file in the scan leave the fields unknown.
"""

from __future__ import annotations

from auditor.model import App
from auditor.sources.fieldwriter import FieldWriter
from auditor.sources.xmldoc import Element, boolean, require_single

ROOT = "OauthOidcSettings"
SUFFIXES = ("oauthoidc.settings-meta.xml", "oauthoidc.settings")
# OauthOidcSettings flag → model field; absent flags take Salesforce's default, false (S8), except
# the username-password block: orgs created in Summer '23 or later block that flow by default (Help:
# Block Authorization Flows to Improve Security), so without the flag it is unknown.
_FLAGS: dict[str, tuple[str, bool | None]] = {
    "isPkceRequired": ("org_settings.pkce_required", False),
    "blockOAuthUnPwFlow": ("org_settings.username_password_blocked", None),
    "blockOAuthUsrAgtFlow": ("org_settings.user_agent_blocked", False),
}
FIELD_NAMES = tuple(field_name for field_name, _default in _FLAGS.values())


def metadata_folder(path: str) -> str:
    """`force-app/main/default` for `force-app/main/default/settings/OauthOidc.settings-meta.xml`,
    and likewise for an app file one folder below it."""
    return "/".join(path.split("/")[:-2])


def check(root: Element) -> None:
    """Refuse a repeated or non-boolean flag (XmlError with its line) before the settings apply."""
    require_single(root, tuple(_FLAGS))
    for tag in _FLAGS:
        boolean(root.find(tag), None)


def apply(apps: list[App], settings: list[tuple[str, Element]]) -> None:
    by_folder = {metadata_folder(path): (path, root) for path, root in settings}
    for app in apps:
        for field_name in FIELD_NAMES:
            app.values.setdefault(field_name, None)
        found = by_folder.get(metadata_folder(app.path))
        if found is None:
            continue
        path, root = found
        fields = FieldWriter(app, path)
        fields.flags(root, _FLAGS)
