"""ConnectedApp metadata (source `*.connectedApp-meta.xml` and MDAPI `*.connectedApp`) → App."""

from __future__ import annotations

from auditor.model import CONNECTED_APP, App
from auditor.sources.fieldwriter import FieldWriter
from auditor.sources.normalize import (
    app_name_from_path,
    callback_hosts,
    canonical_scopes,
    connected_app_refresh_policy,
    infer_flows,
    parse_bool,
    split_list,
)
from auditor.sources.xmldoc import Element

CONNECTED_APP_SUFFIXES = (".connectedapp-meta.xml", ".connectedapp")

# connected-app boolean flags → model field, with the default Salesforce applies when absent (S3).
_OAUTH_FLAGS = {
    "isPkceRequired": ("oauth.pkce_required", False),
    "isConsumerSecretOptional": ("oauth.consumer_secret_optional", False),
    "isRefreshTokenRotationEnabled": ("oauth.refresh_token_rotation", False),
    "isSecretRequiredForRefreshToken": ("oauth.secret_required_for_refresh", True),
    "isIntrospectAllTokens": ("oauth.introspect_all_tokens", False),
    "isTokenExchangeEnabled": ("oauth.token_exchange", False),
    "isClientCredentialEnabled": ("oauth.client_credentials.enabled", False),
}


def connected_app(root: Element, path: str) -> App:
    app = App(CONNECTED_APP, app_name_from_path(path, CONNECTED_APP_SUFFIXES), path)
    fields = FieldWriter(app, path)
    fields.text("label", root.find("label"))
    fields.at("name", root)
    oauth = root.find("oauthConfig")
    _map_oauth_config(fields, oauth)
    _map_policies(fields, root)
    _map_saml(fields, root.find("samlConfig"))
    fields.list_of("assignments.profiles", root.find_all("profileName"), root)
    fields.list_of("assignments.permission_sets", root.find_all("permissionSetName"), root)
    app.set("flows", infer_flows(app.values))
    app.set("flows_declared", [])
    app.set("integration_users", [])
    return app


def _map_oauth_config(fields: FieldWriter, oauth: Element | None) -> None:
    app = fields.app
    app.set("oauth.enabled", oauth is not None, fields.loc(oauth))
    if oauth is None:
        for name in ("oauth.scopes", "oauth.callback_urls", "oauth.callback_hosts"):
            app.set(name, [])
        return
    scopes = oauth.find_all("scopes")
    app.set("oauth.scopes", canonical_scopes([s.text for s in scopes]), fields.loc(scopes[0] if scopes else oauth))
    callback = oauth.find("callbackUrl")
    app.set("oauth.callback_urls", split_list(callback.text if callback else None), fields.loc(callback or oauth))
    app.set("oauth.callback_hosts", callback_hosts(app.values["oauth.callback_urls"]), fields.loc(callback or oauth))
    # Permitted Users is the boolean isAdminApproved on connected apps; false or absent means
    # "All users may self-authorize" (S3).
    admin = oauth.find("isAdminApproved")
    permitted = "admin_approved" if parse_bool(admin.text if admin else None, False) else "self_authorized"
    app.set("oauth.permitted_users", permitted, fields.loc(admin or oauth))
    certificate = oauth.find("certificate")
    fields.certificate(certificate, oauth)
    fields.secrets_present(oauth)
    fields.flags(oauth, _OAUTH_FLAGS)
    user = oauth.find("oauthClientCredentialUser")
    fields.text("oauth.client_credentials.user", user, fallback=oauth)
    app.set("oauth.device_flow", None)  # connected apps have no metadata flag for it (S1)


def _map_policies(fields: FieldWriter, root: Element) -> None:
    app = fields.app
    policy = root.find("oauthPolicy")
    ip = policy.find("ipRelaxation") if policy else None
    refresh = policy.find("refreshTokenPolicy") if policy else None
    fields.text("policy.ip_relaxation", ip, fallback=policy)
    location = fields.loc(refresh or policy)
    refresh_fields = connected_app_refresh_policy(refresh.text if refresh else None, policy is not None)
    for name, value in refresh_fields.items():
        app.set(name, value, location)
    app.set("policy.incomplete", policy is not None and (ip is None or refresh is None), fields.loc(policy))
    app.set("policy.in_source", True)  # a connected app's policies live in its one file
    exchange = policy.find("isTokenExchangeFlowEnabled") if policy else None
    if parse_bool(exchange.text if exchange else None, False):
        app.set("oauth.token_exchange", True, fields.loc(exchange))
    session = root.find("sessionPolicy")
    fields.text("policy.session_level", session.find("sessionLevel") if session else None, fallback=session)


def _map_saml(fields: FieldWriter, saml: Element | None) -> None:
    fields.app.set("saml.enabled", saml is not None, fields.loc(saml))
    algorithm = saml.find("samlSigningAlgoType") if saml is not None else None
    fields.text("saml.signing_algorithm", algorithm, fallback=saml)
