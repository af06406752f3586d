"""Vocabulary shared by the connected-app and ECA sources: one canonical spelling per concept,
so that rules are written once for both kinds (salesforce-facts.md §1.3, §2.3)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# ConnectedAppOauthAccessScope enum (Metadata WSDL v66), in its own spelling.
CANONICAL_SCOPES = (
    "Basic", "Api", "Web", "Full", "Chatter", "CustomApplications", "RefreshToken", "OpenID", "Profile",
    "Email", "Address", "Phone", "OfflineAccess", "CustomPermissions", "Wave", "Eclair", "Pardot",
    "Lightning", "Content", "CDPIngest", "CDPProfile", "CDPQuery", "Chatbot", "CDPSegment",
    "CDPIdentityResolution", "CDPCalculatedInsight", "ForgotPassword", "UserRegistration", "SFAP",
    "Interaction", "CDP", "EinsteinGPT", "PwdlessLogin", "MCP", "SCRT",
)
# OAuth wire names (what `scope=` carries) to the enum; the pairing is UNCONFIRMED but
# high-confidence per salesforce-facts.md §1.3.
_WIRE_SCOPES = {
    "api": "Api", "web": "Web", "visualforce": "CustomApplications", "full": "Full",
    "refresh_token": "RefreshToken", "offline_access": "RefreshToken", "openid": "OpenID", "id": "Basic",
    "profile": "Profile", "email": "Email", "address": "Address", "phone": "Phone",
    "chatter_api": "Chatter", "custom_permissions": "CustomPermissions", "wave_api": "Wave",
    "eclair_api": "Eclair", "pardot_api": "Pardot", "lightning": "Lightning", "content": "Content",
    "cdp_api": "CDP", "cdp_ingest_api": "CDPIngest", "cdp_profile_api": "CDPProfile",
    "cdp_query_api": "CDPQuery", "cdp_segment_api": "CDPSegment",
    "cdp_identityresolution_api": "CDPIdentityResolution",
    "cdp_calculated_insight_api": "CDPCalculatedInsight", "chatbot_api": "Chatbot",
    "forgot_password": "ForgotPassword", "user_registration_api": "UserRegistration",
    "pwdless_login_api": "PwdlessLogin", "sfap_api": "SFAP", "interaction_api": "Interaction",
    "einstein_gpt_api": "EinsteinGPT", "mcp_api": "MCP", "scrt_api": "SCRT",
}
_SCOPE_BY_LOWER = {scope.lower(): scope for scope in CANONICAL_SCOPES}
# Synonyms: OfflineAccess yields refresh tokens exactly like RefreshToken (S3); ECAs spell SFAP
# as SFApiPlatform (S7).
_SYNONYMS = {"OfflineAccess": "RefreshToken", "sfapiplatform": "SFAP"}


def canonical_scope(raw: str) -> str:
    word = raw.strip()
    lower = word.lower()
    scope = _SCOPE_BY_LOWER.get(lower) or _WIRE_SCOPES.get(lower) or _SYNONYMS.get(lower) or word
    return _SYNONYMS.get(scope, scope)


def canonical_scopes(raw_scopes: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in raw_scopes:
        if raw.strip():
            seen[canonical_scope(raw)] = None
    return list(seen)


def split_list(text: str | None, separators: str = ",") -> list[str]:
    """Split a comma (or line-break) separated value; CRLF inside values is common in the corpus."""
    if not text:
        return []
    pattern = "[" + re.escape(separators) + "\r\n]+"
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


def parse_bool(text: str | None, default: bool | None = None) -> bool | None:
    if text is None:
        return default
    word = text.strip().lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    return default


# ECA ipRelaxationPolicyType spellings → connected-app ipRelaxation spellings (S4 vs S3).
_IP_RELAXATION = {
    "enforce": "ENFORCE",
    "bypass": "BYPASS",
    "bypass_2factor": "BYPASS_2FACTOR",
    "enforce_relaxrefresh": "ENFORCE_RELAXREFRESH",
}


def eca_ip_relaxation(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    return _IP_RELAXATION.get(raw.strip().lower(), raw.strip())


_UNIT_DAYS = {"HOURS": 1 / 24, "DAYS": 1, "MONTHS": 30}
MAX_PERIOD_DIGITS = 9  # a billion months is already no policy at all
_CA_REFRESH = re.compile(r"(specific_lifetime|specific_inactivity):(\d+):(HOURS|DAYS|MONTHS)")


def connected_app_refresh_policy(raw: str | None, policy_present: bool) -> dict[str, Any]:
    """Parse `oauthPolicy/refreshTokenPolicy`. The values are free strings in the XSD, so the
    documented set is enforced here (S3): anything else is kind ``invalid`` for CA-19."""
    if raw is None or not raw.strip():
        # No oauthPolicy at all means the documented default, infinite. A policy block without
        # the value is schema-invalid; CA-19 reports that through policy.incomplete.
        return _refresh(None, "infinite" if not policy_present else None, None)
    value = raw.strip()
    if value in ("infinite", "zero"):
        return _refresh(value, value, 0 if value == "zero" else None)
    match = _CA_REFRESH.fullmatch(value)
    if not match:
        return _refresh(value, "invalid", None)
    kind = "lifetime" if match.group(1) == "specific_lifetime" else "inactivity"
    if len(match.group(2)) > MAX_PERIOD_DIGITS:  # no real policy; int() and date math would overflow
        return _refresh(value, "invalid", None)
    return _refresh(value, kind, _days(int(match.group(2)), match.group(3)))


def eca_refresh_policy(policy_type: str | None, period: str | None, unit: str | None) -> dict[str, Any]:
    if policy_type is None or not policy_type.strip():
        return _refresh(None, None, None)
    kind_word = policy_type.strip()
    raw = ":".join(part.strip() for part in (kind_word, period or "", unit or "") if part and part.strip())
    kinds = {"Infinite": "infinite", "Zero": "zero", "SpecificLifetime": "lifetime",
             "SpecificInactivity": "inactivity"}
    kind = kinds.get(kind_word, "invalid")
    if kind in ("infinite", "zero"):
        return _refresh(raw, kind, 0 if kind == "zero" else None)
    if kind == "invalid":
        return _refresh(raw, kind, None)
    digits = (period or "").strip()
    if len(digits) > MAX_PERIOD_DIGITS:
        return _refresh(raw, "invalid", None)
    try:
        amount = int(digits)
    except ValueError:
        return _refresh(raw, "invalid", None)
    unit_word = (unit or "").strip().upper()
    if unit_word not in _UNIT_DAYS:
        return _refresh(raw, "invalid", None)
    return _refresh(raw, kind, _days(amount, unit_word))


def _days(amount: int, unit: str) -> float | int:
    days = amount * _UNIT_DAYS[unit]
    return int(days) if float(days).is_integer() else round(days, 3)


def _refresh(raw: str | None, kind: str | None, days: float | int | None) -> dict[str, Any]:
    return {"policy.refresh_token.raw": raw, "policy.refresh_token.kind": kind, "policy.refresh_token.days": days}


def infer_flows(values: dict[str, Any]) -> list[str]:
    """Which OAuth flows the configuration makes possible (DESIGN.md 'Flow names')."""
    if not values.get("oauth.enabled"):
        return []
    flows: list[str] = []
    if values.get("oauth.has_certificate"):
        flows += ["jwt-bearer", "saml2-bearer"]
    if values.get("oauth.client_credentials.enabled"):
        flows.append("client-credentials")
    if values.get("oauth.callback_urls"):
        flows += ["web-server", "user-agent"]
    if values.get("oauth.device_flow"):
        flows.append("device")
    if values.get("oauth.token_exchange"):
        flows.append("token-exchange")
    if "RefreshToken" in (values.get("oauth.scopes") or []):
        flows.append("refresh-token")
    return flows


def app_name_from_path(path: str, suffixes: Iterable[str]) -> str:
    file_name = path.rsplit("/", 1)[-1]
    lower = file_name.lower()
    for suffix in suffixes:
        if lower.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name.rsplit(".", 1)[0]


def callback_hosts(urls: list[str]) -> list[str]:
    """The host of each http(s) callback URL, lower case, without port or credentials (for the
    callback-host rules); custom-scheme redirect URIs of mobile apps name no host."""
    hosts = []
    for url in urls:
        scheme, sep, rest = url.strip().partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            continue
        authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
        host = authority[1:].split("]", 1)[0] if authority.startswith("[") else authority.split(":", 1)[0]
        if host:
            hosts.append(host.lower())
    return list(dict.fromkeys(hosts))
