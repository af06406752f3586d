"""Builders of small metadata projects for scenario tests: a connected app, the parts of an external
client app and an OauthOidc settings file, written as real files (the sample project's certificates
are reused: one valid, one expired)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SAMPLE

DEFAULT = SAMPLE / "force-app" / "main" / "default"
GOOD_CERT = re.search(r"<certificate>(.*?)</certificate>",
                      (DEFAULT / "connectedApps/Integration_App.connectedApp-meta.xml").read_text(), re.S).group(1)
EXPIRED_CERT = re.search(r"<certificate>(.*?)</certificate>",
                         (DEFAULT / "connectedApps/Finance_Batch_Loader.connectedApp-meta.xml").read_text(),
                         re.S).group(1)


def connected_app(folder: Path, name: str, *, admin: bool = True, cert: str | None = GOOD_CERT,
                  scopes: tuple[str, ...] = ("Api", "RefreshToken"), cc: bool = False, run_as: str | None = None,
                  session: str | None = None, policy: str = "<ipRelaxation>ENFORCE</ipRelaxation>\n"
                  "        <refreshTokenPolicy>specific_lifetime:90:DAYS</refreshTokenPolicy>",
                  assignments: str = "<permissionSetName>Integration_API_Access</permissionSetName>",
                  rotation: bool = True) -> Path:
    lines = [f"<callbackUrl>https://{name.lower()}.northwind.example.com/oauth/callback</callbackUrl>"]
    if cert is not None:
        lines.append(f"<certificate>{cert}</certificate>")
    lines += [f"<isAdminApproved>{str(admin).lower()}</isAdminApproved>",
              f"<isClientCredentialEnabled>{str(cc).lower()}</isClientCredentialEnabled>",
              "<isPkceRequired>true</isPkceRequired>",
              f"<isRefreshTokenRotationEnabled>{str(rotation).lower()}</isRefreshTokenRotationEnabled>"]
    if run_as:
        lines.append(f"<oauthClientCredentialUser>{run_as}</oauthClientCredentialUser>")
    lines += [f"<scopes>{scope}</scopes>" for scope in scopes]
    oauth = "\n        ".join(lines)
    session_xml = (f"\n    <sessionPolicy>\n        <policyAction>RaiseSessionLevel</policyAction>\n"
                   f"        <sessionLevel>{session}</sessionLevel>\n    </sessionPolicy>" if session else "")
    path = folder / "force-app/main/default/connectedApps" / f"{name}.connectedApp-meta.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>integrations@northwind.example.com</contactEmail>
    <label>{name.replace('_', ' ')}</label>
    <oauthConfig>
        {oauth}
    </oauthConfig>
    <oauthPolicy>
        {policy}
    </oauthPolicy>
    {assignments}{session_xml}
</ConnectedApp>
""", encoding="utf-8")
    return path


def external_client_app(folder: Path, name: str, *, admin: bool = True, cert: str | None = GOOD_CERT,
                        scopes: str = "Api, RefreshToken", global_cc: bool = False, policy_cc: bool | None = False,
                        run_as: str | None = None, session: str = "STANDARD", with_global: bool = True,
                        with_policies: bool = True, ip: str = "Enforce", rotation: bool = True) -> Path:
    base = folder / "force-app/main/default"
    parts = {
        "externalClientApps": (f"{name}.eca-meta.xml", f"""<ExternalClientApplication xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>integrations@northwind.example.com</contactEmail>
    <distributionState>Local</distributionState>
    <label>{name.replace('_', ' ')}</label>
</ExternalClientApplication>"""),
        "extlClntAppOauthSettings": (f"{name}_oauth.ecaOauth-meta.xml", f"""<ExtlClntAppOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedOauthScopes>{scopes}</commaSeparatedOauthScopes>
    <externalClientApplication>{name}</externalClientApplication>
    <label>{name}_oauth</label>
</ExtlClntAppOauthSettings>"""),
    }
    if with_global:
        certificate = f"\n    <certificate>{cert}</certificate>" if cert is not None else ""
        parts["extlClntAppGlobalOauthSets"] = (f"{name}_glbloauth.ecaGlblOauth-meta.xml", f"""\
<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <callbackUrl>https://{name.lower()}.northwind.example.com/oauth/callback</callbackUrl>{certificate}
    <externalClientApplication>{name}</externalClientApplication>
    <isClientCredentialsFlowEnabled>{str(global_cc).lower()}</isClientCredentialsFlowEnabled>
    <isPkceRequired>true</isPkceRequired>
    <isRefreshTokenRotationEnabled>{str(rotation).lower()}</isRefreshTokenRotationEnabled>
    <label>{name}_glbloauth</label>
</ExtlClntAppGlobalOauthSettings>""")
    if with_policies:
        cc = "" if policy_cc is None else \
            f"\n    <isClientCredentialsFlowEnabled>{str(policy_cc).lower()}</isClientCredentialsFlowEnabled>"
        user = f"\n    <clientCredentialsFlowUser>{run_as}</clientCredentialsFlowUser>" if run_as else ""
        permitted = "AdminApprovedPreAuthorized" if admin else "AllSelfAuthorized"
        assigned = "\n    <commaSeparatedPermissionSet>Integration_API_Access</commaSeparatedPermissionSet>" \
            if admin else ""
        parts["extlClntAppOauthPolicies"] = (f"{name}_oauthPlcy.ecaOauthPlcy-meta.xml", f"""\
<ExtlClntAppOauthConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">{user}{assigned}
    <externalClientApplication>{name}</externalClientApplication>
    <ipRelaxationPolicyType>{ip}</ipRelaxationPolicyType>{cc}
    <label>{name}_oauthPlcy</label>
    <permittedUsersPolicyType>{permitted}</permittedUsersPolicyType>
    <refreshTokenPolicyType>SpecificLifetime</refreshTokenPolicyType>
    <refreshTokenValidityPeriod>90</refreshTokenValidityPeriod>
    <refreshTokenValidityUnit>Days</refreshTokenValidityUnit>
    <requiredSessionLevel>{session}</requiredSessionLevel>
</ExtlClntAppOauthConfigurablePolicies>""")
    for folder_name, (file_name, xml) in parts.items():
        path = base / folder_name / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n", encoding="utf-8")
    return base


def oauth_oidc(folder: Path, block: str | None) -> None:
    flag = f"\n    <blockOAuthUnPwFlow>{block}</blockOAuthUnPwFlow>" if block is not None else ""
    path = folder / "force-app/main/default/settings/OauthOidc.settings-meta.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<OauthOidcSettings xmlns="http://soap.sforce.com/2006/04/metadata">{flag}
    <isPkceRequired>true</isPkceRequired>
</OauthOidcSettings>
""", encoding="utf-8")
