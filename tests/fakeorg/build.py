"""Helpers that fill a FakeOrgData the way an admin would set an org up: profiles, permission sets,
users and assignments, connected apps (metadata plus the SOQL rows Salesforce keeps for them),
External Client Apps, and OAuth token usage."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from .org import PERMISSIONS, FakeOrgData, document_children, metadata_document

NOW = dt.datetime.now(dt.timezone.utc)


def sf_datetime(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def days_ago(days: int) -> str:
    return sf_datetime(NOW - dt.timedelta(days=days))


@functools.lru_cache(maxsize=1)
def certificate_pem() -> str:
    """A self-signed RSA-2048 / SHA-256 certificate valid 2026-01-01 … 2036-01-01 (the public part only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-integration")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2036, 1, 1, tzinfo=dt.timezone.utc))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class OrgBuilder:
    def __init__(self, data: FakeOrgData | None = None):
        self.data = data or FakeOrgData()

    # ---------------------------------------------------------------- people and permissions
    def profile(self, name: str, **perms: bool) -> dict[str, Any]:
        existing = self.data.find("Profile", Name=name)
        if existing:
            return existing
        flags = {p: bool(perms.get(p.removeprefix("Permissions"), False)) for p in PERMISSIONS}
        profile = self.data.insert("Profile", Name=name, **flags)
        # Every profile owns a permission set that carries its permissions and setup-entity access.
        self.data.insert("PermissionSet", Name=f"X00ex{profile['Id'][5:15]}", Label=name, IsOwnedByProfile=True,
                         ProfileId=profile["Id"], PermissionSetGroupId=None, Type="Profile", **flags)
        return profile

    def profile_permission_set(self, profile_name: str) -> dict[str, Any]:
        profile = self.profile(profile_name)
        ps = self.data.find("PermissionSet", ProfileId=profile["Id"], IsOwnedByProfile=True)
        assert ps is not None
        return ps

    def permission_set(self, name: str, **perms: bool) -> dict[str, Any]:
        existing = self.data.find("PermissionSet", Name=name, IsOwnedByProfile=False)
        if existing:
            return existing
        flags = {p: bool(perms.get(p.removeprefix("Permissions"), False)) for p in PERMISSIONS}
        return self.data.insert("PermissionSet", Name=name, Label=name.replace("_", " "), IsOwnedByProfile=False,
                                ProfileId=None, PermissionSetGroupId=None, Type="Regular", **flags)

    def permission_set_group(self, name: str, members: list[str]) -> dict[str, Any]:
        group = self.data.insert("PermissionSetGroup", DeveloperName=name, MasterLabel=name, Status="Updated")
        self.data.insert("PermissionSet", Name=f"{name}_aggregate", Label=name, IsOwnedByProfile=False,
                         ProfileId=None, PermissionSetGroupId=group["Id"], Type="Group",
                         **{p: False for p in PERMISSIONS})
        for member in members:
            self.data.insert("PermissionSetGroupComponent", PermissionSetGroupId=group["Id"],
                             PermissionSetId=self.permission_set(member)["Id"])
        return group

    def user(self, username: str, profile: str = "Minimum Access - API Only Integrations", *, active: bool = True,
             user_type: str = "Standard") -> dict[str, Any]:
        prof = self.profile(profile)
        user = self.data.insert("User", Username=username, Name=username.split("@")[0].title(), IsActive=active,
                                ProfileId=prof["Id"], UserType=user_type)
        self.data.insert("PermissionSetAssignment", AssigneeId=user["Id"],
                         PermissionSetId=self.profile_permission_set(profile)["Id"], PermissionSetGroupId=None,
                         ExpirationDate=None, IsActive=True, IsRevoked=False)
        return user

    def assign(self, username: str, permission_set: str | None = None, *, group: str | None = None,
               expires: str | None = None, revoked: bool = False) -> None:
        user = self.data.find("User", Username=username)
        assert user is not None, username
        if group is not None:
            grp = self.data.find("PermissionSetGroup", DeveloperName=group)
            assert grp is not None
            agg = self.data.find("PermissionSet", PermissionSetGroupId=grp["Id"])
            assert agg is not None
            self.data.insert("PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=agg["Id"],
                             PermissionSetGroupId=grp["Id"], ExpirationDate=expires, IsActive=True,
                             IsRevoked=revoked)
            return
        assert permission_set is not None
        self.data.insert("PermissionSetAssignment", AssigneeId=user["Id"],
                         PermissionSetId=self.permission_set(permission_set)["Id"], PermissionSetGroupId=None,
                         ExpirationDate=expires, IsActive=True, IsRevoked=False if not revoked else True)

    # ---------------------------------------------------------------- apps
    def _grant(self, entity_id: str, entity_type: str, profiles: list[str], permission_sets: list[str]) -> None:
        for name in profiles:
            self.data.insert("SetupEntityAccess", ParentId=self.profile_permission_set(name)["Id"],
                             SetupEntityId=entity_id, SetupEntityType=entity_type)
        for name in permission_sets:
            self.data.insert("SetupEntityAccess", ParentId=self.permission_set(name)["Id"],
                             SetupEntityId=entity_id, SetupEntityType=entity_type)

    def connected_app(self, name: str, document: str | None, *, label: str | None = None,
                      admin_approved: bool | None = None, profiles: list[str] | None = None,
                      permission_sets: list[str] | None = None, managed_namespace: str | None = None,
                      listed: bool = True, high_assurance: bool = False,
                      created_days_ago: int = 400) -> dict[str, Any]:
        """An app as the org holds it. With a document, assignments and the approval flag come from it
        (Salesforce keeps them in SetupEntityAccess and ConnectedApplication); without one, the app is
        an installed or managed app whose metadata readMetadata does not return."""
        if document is not None:
            label = label or (document_children(document, "label") or [name])[0]
            approved = document_children(document, "isAdminApproved")
            admin_approved = bool(approved and approved[0] == "true") if admin_approved is None else admin_approved
            profiles = document_children(document, "profileName") if profiles is None else profiles
            permission_sets = document_children(document, "permissionSetName") if permission_sets is None \
                else permission_sets
            high_assurance = high_assurance or "HIGH_ASSURANCE" in document
        app = self.data.insert(
            "ConnectedApplication", Name=label or name, CreatedDate=days_ago(created_days_ago),
            LastModifiedDate=days_ago(30), OptionsAllowAdminApprovedUsersOnly=bool(admin_approved),
            OptionsRefreshTokenValidityMetric=False, OptionsHasSessionLevelPolicy=high_assurance,
            OptionsIsInternal=False, RefreshTokenValidityPeriod=None, StartUrl=None, MobileStartUrl=None,
            PinLength=None,
        )
        self._grant(app["Id"], "ConnectedApplication", profiles or [], permission_sets or [])
        if listed:
            full_name = f"{managed_namespace}__{name}" if managed_namespace else name
            self.data.add_metadata("ConnectedApp", full_name, document, record_id=app["Id"],
                                   manageable_state="installed" if managed_namespace else "unmanaged",
                                   namespace=managed_namespace)
        return app

    def external_client_app(self, name: str, *, header: str, global_oauth: str | None = None,
                            oauth: str | None = None, policies: str | None = None) -> str:
        entry = self.data.add_metadata("ExternalClientApplication", name, header)
        if global_oauth is not None:
            self.data.add_metadata("ExtlClntAppGlobalOauthSettings", f"{name}_glbloauth", global_oauth)
        if oauth is not None:
            self.data.add_metadata("ExtlClntAppOauthSettings", f"{name}_oauth", oauth)
        if policies is not None:
            self.data.add_metadata("ExtlClntAppOauthConfigurablePolicies", f"{name}_oauthPlcy", policies)
            profiles = _split(document_children(policies, "commaSeparatedProfile"))
            permission_sets = _split(document_children(policies, "commaSeparatedPermissionSet"))
            self._grant(entry.id, "ExternalClientApplication", profiles, permission_sets)
        return entry.id

    def token(self, app_label: str, username: str, *, last_used_days: int | None, use_count: int = 10,
              created_days: int = 365) -> None:
        user = self.data.find("User", Username=username)
        assert user is not None, username
        self.data.insert("OauthToken", AppName=app_label, AppMenuItemId=None, UserId=user["Id"],
                         CreatedDate=days_ago(created_days),
                         LastUsedDate=None if last_used_days is None else days_ago(last_used_days),
                         UseCount=use_count)
        # OauthToken.Id is documented as always null.
        self.data.tables["OauthToken"][-1]["Id"] = None


def _split(values: list[str]) -> list[str]:
    return [v.strip() for text in values for v in text.split(",") if v.strip()]


def connected_app_xml(label: str, *, scopes: list[str], admin_approved: bool | None = None,
                      certificate: bool = False, callback: str = "https://login.salesforce.com/services/oauth2/callback",
                      profiles: list[str] = (), permission_sets: list[str] = (),
                      client_credentials_user: str | None = None, ip_relaxation: str | None = "ENFORCE",
                      refresh_token_policy: str | None = "specific_lifetime:90:DAYS",
                      session_level: str | None = None, pkce: bool = True, rotation: bool = True,
                      consumer_key: str = "3MVG9FakeKey000000000000000000000000000000000") -> str:
    """A ConnectedApp document in WSDL element order, as readMetadata and retrieve return it."""
    oauth = [f"<callbackUrl>{callback}</callbackUrl>"]
    if certificate:
        oauth.append(f"<certificate>{certificate_pem().strip()}</certificate>")
    oauth.append(f"<consumerKey>{consumer_key}</consumerKey>")
    if admin_approved is not None:
        oauth.append(f"<isAdminApproved>{str(admin_approved).lower()}</isAdminApproved>")
    oauth.append(f"<isClientCredentialEnabled>{str(client_credentials_user is not None).lower()}"
                 "</isClientCredentialEnabled>")
    oauth.append("<isConsumerSecretOptional>false</isConsumerSecretOptional>")
    oauth.append("<isIntrospectAllTokens>false</isIntrospectAllTokens>")
    oauth.append(f"<isPkceRequired>{str(pkce).lower()}</isPkceRequired>")
    oauth.append(f"<isRefreshTokenRotationEnabled>{str(rotation).lower()}</isRefreshTokenRotationEnabled>")
    oauth.append("<isSecretRequiredForRefreshToken>true</isSecretRequiredForRefreshToken>")
    if client_credentials_user:
        oauth.append(f"<oauthClientCredentialUser>{client_credentials_user}</oauthClientCredentialUser>")
    oauth.extend(f"<scopes>{s}</scopes>" for s in scopes)
    parts = ["<contactEmail>admin@acme.example</contactEmail>", f"<label>{label}</label>",
             "<oauthConfig>" + "".join(oauth) + "</oauthConfig>"]
    if ip_relaxation is not None or refresh_token_policy is not None:
        parts.append("<oauthPolicy>" + (f"<ipRelaxation>{ip_relaxation}</ipRelaxation>" if ip_relaxation else "")
                     + (f"<refreshTokenPolicy>{refresh_token_policy}</refreshTokenPolicy>"
                        if refresh_token_policy else "") + "</oauthPolicy>")
    parts.extend(f"<permissionSetName>{p}</permissionSetName>" for p in permission_sets)
    parts.extend(f"<profileName>{p}</profileName>" for p in profiles)
    if session_level:
        parts.append(f"<sessionPolicy><sessionLevel>{session_level}</sessionLevel>"
                     "<sessionTimeout>120</sessionTimeout></sessionPolicy>")
    return metadata_document("ConnectedApp", "\n".join(parts))


def eca_documents(name: str, label: str, *, scopes: str, permitted: str = "AdminApprovedPreAuthorized",
                  permission_sets: str | None = None, certificate: bool = False,
                  client_credentials_user: str | None = None) -> dict[str, str]:
    header = metadata_document("ExternalClientApplication",
                               "<contactEmail>admin@acme.example</contactEmail><distributionState>Local"
                               f"</distributionState><isProtected>false</isProtected><label>{label}</label>")
    glbl = ["<callbackUrl>https://app.acme.example/oauth/callback</callbackUrl>"]
    if certificate:
        glbl.append(f"<certificate>{certificate_pem().strip()}</certificate>")
    glbl.append("<consumerKey>3MVG9FakeEcaKey0000000000000000000000000000</consumerKey>")
    glbl.append(f"<externalClientApplication>{name}</externalClientApplication>")
    glbl.append(f"<isClientCredentialsFlowEnabled>{str(client_credentials_user is not None).lower()}"
                "</isClientCredentialsFlowEnabled>")
    glbl.append("<isPkceRequired>true</isPkceRequired><isRefreshTokenRotationEnabled>true"
                "</isRefreshTokenRotationEnabled>")
    glbl.append(f"<label>{name}_glbloauth</label>")
    oauth = (f"<commaSeparatedOauthScopes>{scopes}</commaSeparatedOauthScopes>"
             f"<externalClientApplication>{name}</externalClientApplication><label>{name}_oauth</label>")
    policy = []
    if client_credentials_user:
        policy.append(f"<clientCredentialsFlowUser>{client_credentials_user}</clientCredentialsFlowUser>")
    if permission_sets:
        policy.append(f"<commaSeparatedPermissionSet>{permission_sets}</commaSeparatedPermissionSet>")
    policy.append(f"<externalClientApplication>{name}</externalClientApplication>")
    policy.append("<ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType>")
    policy.append(f"<isClientCredentialsFlowEnabled>{str(client_credentials_user is not None).lower()}"
                  "</isClientCredentialsFlowEnabled>")
    policy.append(f"<label>{name}_oauthPlcy</label><permittedUsersPolicyType>{permitted}</permittedUsersPolicyType>")
    policy.append("<refreshTokenPolicyType>SpecificLifetime</refreshTokenPolicyType>"
                  "<refreshTokenValidityPeriod>90</refreshTokenValidityPeriod>"
                  "<refreshTokenValidityUnit>Days</refreshTokenValidityUnit>")
    return {
        "header": header,
        "global_oauth": metadata_document("ExtlClntAppGlobalOauthSettings", "".join(glbl)),
        "oauth": metadata_document("ExtlClntAppOauthSettings", oauth),
        "policies": metadata_document("ExtlClntAppOauthConfigurablePolicies", "".join(policy)),
    }

