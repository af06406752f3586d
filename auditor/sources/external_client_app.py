"""External Client Apps: join the header (`.eca`), global OAuth settings (`.ecaGlblOauth`), OAuth
settings (`.ecaOauth`) and OAuth policies (`.ecaOauthPlcy`) of one app into one App.

Parts are joined by their `externalClientApplication` element (the header by its file name),
within one metadata folder (`force-app/main/default`): two projects scanned together may each
have an app of the same name.
A part whose header is not in the scanned tree still yields an App with what is known: policies
are often committed without the header, and dropping them would hide real findings.
"""

from __future__ import annotations

from collections import defaultdict

from auditor.model import EXTERNAL_CLIENT_APP, App, InputError, Location
from auditor.sources import SourceResult
from auditor.sources.fieldwriter import FieldWriter
from auditor.sources.normalize import (
    app_name_from_path,
    callback_hosts,
    canonical_scopes,
    eca_ip_relaxation,
    eca_refresh_policy,
    infer_flows,
    parse_bool,
    split_list,
)
from auditor.sources.xmldoc import Element, require_single

HEADER = "ExternalClientApplication"
GLOBAL_OAUTH = "ExtlClntAppGlobalOauthSettings"
OAUTH_SETTINGS = "ExtlClntAppOauthSettings"
OAUTH_POLICIES = "ExtlClntAppOauthConfigurablePolicies"
SAML_POLICIES = "ExtlClntAppSamlConfigurablePolicies"
PART_TYPES = (HEADER, GLOBAL_OAUTH, OAUTH_SETTINGS, OAUTH_POLICIES, SAML_POLICIES)
# The order in which a part's path stands for the whole app when there is no header.
_PATH_PREFERENCE = (HEADER, GLOBAL_OAUTH, OAUTH_SETTINGS, OAUTH_POLICIES, SAML_POLICIES)

ECA_SUFFIXES = {
    ".eca-meta.xml": HEADER, ".eca": HEADER,
    ".ecaglbloauth-meta.xml": GLOBAL_OAUTH, ".ecaglbloauth": GLOBAL_OAUTH,
    ".ecaoauth-meta.xml": OAUTH_SETTINGS, ".ecaoauth": OAUTH_SETTINGS,
    ".ecaoauthplcy-meta.xml": OAUTH_POLICIES, ".ecaoauthplcy": OAUTH_POLICIES,
    ".ecasamlplcy-meta.xml": SAML_POLICIES, ".ecasamlplcy": SAML_POLICIES,
}

_GLOBAL_FLAGS = {
    "isPkceRequired": ("oauth.pkce_required", True),  # ECAs default to PKCE on (S5)
    "isConsumerSecretOptional": ("oauth.consumer_secret_optional", False),
    "isRefreshTokenRotationEnabled": ("oauth.refresh_token_rotation", False),
    "isSecretRequiredForRefreshToken": ("oauth.secret_required_for_refresh", True),
    "isIntrospectAllTokens": ("oauth.introspect_all_tokens", False),
    "isTokenExchangeEnabled": ("oauth.token_exchange", False),
    "isDeviceFlowEnabled": ("oauth.device_flow", False),
    "isClientCredentialsFlowEnabled": ("oauth.client_credentials.settings_enabled", False),
}


# Every element the mapping reads from a part; each must appear at most once.
_READ_ONCE = (
    "externalClientApplication", "label", "callbackUrl", "certificate", "consumerKey", "consumerSecret",
    *_GLOBAL_FLAGS, "commaSeparatedOauthScopes", "permittedUsersPolicyType", "ipRelaxationPolicyType",
    "refreshTokenPolicyType", "refreshTokenValidityPeriod", "refreshTokenValidityUnit", "requiredSessionLevel",
    "clientCredentialsFlowUser", "isClientCredentialsFlowEnabled", "isTokenExchangeFlowEnabled",
    "commaSeparatedProfile", "commaSeparatedPermissionSet",
)


def check_part(root: Element) -> None:
    """Refuse a part that repeats an element the mapping reads once (XmlError with its line)."""
    require_single(root, _READ_ONCE)


def join(parts: list[tuple[str, Element]]) -> SourceResult:
    result = SourceResult()
    by_app: dict[tuple[str, str], dict[str, tuple[str, Element]]] = defaultdict(dict)
    for path, root in parts:
        name = _app_name(path, root)
        if name is None:
            result.errors.append(InputError(path, root.line, f"<{root.tag}> has no <externalClientApplication> "
                                            "element naming the app it belongs to"))
            continue
        key = (_metadata_folder(path), name)
        if root.tag in by_app[key]:
            other = by_app[key][root.tag][0]
            result.errors.append(InputError(path, root.line, f"a second <{root.tag}> for External Client App "
                                            f"{name} (the first is {other}); this one is ignored"))
            continue
        by_app[key][root.tag] = (path, root)
    for key in sorted(by_app):
        result.apps.append(_build(key[1], by_app[key]))
    return result


def _metadata_folder(path: str) -> str:
    """`force-app/main/default` for `force-app/main/default/externalClientApps/X.eca-meta.xml`."""
    parts = path.split("/")
    return "/".join(parts[:-2])


def _app_name(path: str, root: Element) -> str | None:
    if root.tag == HEADER:
        return app_name_from_path(path, [s for s, kind in ECA_SUFFIXES.items() if kind == HEADER])
    element = root.find("externalClientApplication")
    return element.text.strip() if element is not None and element.text.strip() else None


def _build(name: str, found: dict[str, tuple[str, Element]]) -> App:
    path = next(found[tag][0] for tag in _PATH_PREFERENCE if tag in found)
    app = App(EXTERNAL_CLIENT_APP, name, path)
    header_path, header = found.get(HEADER, (path, None))
    FieldWriter(app, header_path).text("label", header.find("label") if header else None, fallback=header)
    if header is not None:
        app.locations["name"] = Location.at(header_path, header.line, header.column)
    else:
        app.notes.append("no header file (.eca) found; audited on the parts present")
    _map_global(app, found.get(GLOBAL_OAUTH))
    _map_settings(app, found.get(OAUTH_SETTINGS))
    _map_policies(app, found.get(OAUTH_POLICIES))
    _client_credentials(app)
    _map_saml(app, found.get(SAML_POLICIES))
    app.set("oauth.enabled", any(tag in found for tag in (GLOBAL_OAUTH, OAUTH_SETTINGS, OAUTH_POLICIES)))
    app.set("flows", infer_flows(app.values))
    app.set("flows_declared", [])
    app.set("integration_users", [])
    return app


# Global settings hold secrets and "must not be added to source control" (S5), so their absence
# is normal: flags keep Salesforce's defaults, nothing is committed, and the certificate is
# unknown rather than absent (CA-04 must not guess); so are the switches whose state decides a
# flow or a rule (client credentials, refresh token rotation: CA-17 must not guess either).
_WITHOUT_GLOBAL_SETTINGS: dict[str, object] = {
    **{field_name: default for field_name, default in _GLOBAL_FLAGS.values()},
    "oauth.client_credentials.settings_enabled": None,
    "oauth.refresh_token_rotation": None,
    "oauth.callback_urls": [],
    "oauth.callback_hosts": [],
    "oauth.has_certificate": None,
    "oauth.certificate.form": None,
    "oauth.consumer_key_in_source": False,
    "oauth.consumer_secret_in_source": False,
}
# Permitted Users, IP and refresh policies are unknown without the policies file; rules that
# need them stay quiet rather than guess.
_WITHOUT_POLICIES: dict[str, object] = {
    "oauth.permitted_users": None,
    "policy.ip_relaxation": None,
    "policy.session_level": None,
    "oauth.client_credentials.user": None,
    "oauth.client_credentials.policy_enabled": None,
    **eca_refresh_policy(None, None, None),
    "assignments.profiles": [],
    "assignments.permission_sets": [],
    "policy.incomplete": False,
    "policy.in_source": False,
}


def _map_global(app: App, part: tuple[str, Element] | None) -> None:
    if part is None:
        app.values.update(_copy_lists(_WITHOUT_GLOBAL_SETTINGS))
        app.notes.append("no global OAuth settings file (.ecaGlblOauth): certificate and flow switches unknown")
        return
    path, root = part
    fields = FieldWriter(app, path)
    callback = root.find("callbackUrl")
    app.set("oauth.callback_urls", split_list(callback.text if callback else None), fields.loc(callback or root))
    app.set("oauth.callback_hosts", callback_hosts(app.values["oauth.callback_urls"]), fields.loc(callback or root))
    fields.certificate(root.find("certificate"), root)
    fields.secrets_present(root)
    fields.flags(root, _GLOBAL_FLAGS)


def _copy_lists(defaults: dict[str, object]) -> dict[str, object]:
    """Each app gets its own lists: later stages (declare, org data) may extend them."""
    return {name: list(value) if isinstance(value, list) else value for name, value in defaults.items()}


def _map_settings(app: App, part: tuple[str, Element] | None) -> None:
    if part is None:
        # The scopes live only in the OAuth settings file: without it they are unknown, not none
        # (CA-01 must not report a missing refresh_token scope it cannot see).
        app.set("oauth.scopes", None)
        app.notes.append("no OAuth settings file (.ecaOauth): scopes unknown")
        return
    path, root = part
    scopes = root.find("commaSeparatedOauthScopes")
    app.set("oauth.scopes", canonical_scopes(split_list(scopes.text if scopes else None)),
            FieldWriter(app, path).loc(scopes or root))


def _map_policies(app: App, part: tuple[str, Element] | None) -> None:
    if part is None:
        app.values.update(_copy_lists(_WITHOUT_POLICIES))
        app.notes.append("no OAuth policies file (.ecaOauthPlcy): Permitted Users and policies unknown")
        return
    path, root = part
    fields = FieldWriter(app, path)
    permitted = root.find("permittedUsersPolicyType")
    policy_word = permitted.text.strip() if permitted is not None else ""
    permitted_users = {"AdminApprovedPreAuthorized": "admin_approved", "AllSelfAuthorized": "self_authorized"}
    app.set("oauth.permitted_users", permitted_users.get(policy_word), fields.loc(permitted or root))
    ip = root.find("ipRelaxationPolicyType")
    app.set("policy.ip_relaxation", eca_ip_relaxation(ip.text if ip else None), fields.loc(ip or root))
    refresh = root.find("refreshTokenPolicyType")
    period, unit = root.find("refreshTokenValidityPeriod"), root.find("refreshTokenValidityUnit")
    values = eca_refresh_policy(*(e.text if e is not None else None for e in (refresh, period, unit)))
    for field_name, value in values.items():
        app.set(field_name, value, fields.loc(refresh or root))
    app.set("policy.incomplete", False)
    app.set("policy.in_source", True, fields.loc(root))
    fields.text("policy.session_level", root.find("requiredSessionLevel"), fallback=root)
    fields.text("oauth.client_credentials.user", root.find("clientCredentialsFlowUser"), fallback=root)
    # The policies' own client credentials switch, default false (S4), beside the global one (S5).
    fields.flag("oauth.client_credentials.policy_enabled", root.find("isClientCredentialsFlowEnabled"), False, root)
    exchange = root.find("isTokenExchangeFlowEnabled")
    if parse_bool(exchange.text if exchange else None, False):
        app.set("oauth.token_exchange", True, fields.loc(exchange))
    for element_name, field_name in (("commaSeparatedProfile", "assignments.profiles"),
                                     ("commaSeparatedPermissionSet", "assignments.permission_sets")):
        element = root.find(element_name)
        app.set(field_name, split_list(element.text if element else None), fields.loc(element or root))


def _client_credentials(app: App) -> None:
    """Client credentials works only with both switches on (S4, S5): off when either is off,
    unknown when a file is missing and the other does not settle it."""
    names = ("oauth.client_credentials.settings_enabled", "oauth.client_credentials.policy_enabled")
    switches = [app.get(name) for name in names]
    enabled = False if False in switches else None if None in switches else True
    source = names[0] if switches[0] is not True else names[1]  # point at the switch that is off
    app.set("oauth.client_credentials.enabled", enabled, app.locations.get(source))


def _map_saml(app: App, part: tuple[str, Element] | None) -> None:
    if part is None:
        app.set("saml.enabled", False)
        app.set("saml.signing_algorithm", None)
        return
    path, root = part
    fields = FieldWriter(app, path)
    app.set("saml.enabled", True, fields.loc(root))
    fields.text("saml.signing_algorithm", root.find("signingAlgorithmType"), fallback=root)
