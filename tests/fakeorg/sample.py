"""The sample org (Northwind Traders): the org that sample_configs/ deploys to.

It serves the repository's own metadata documents, changed the way a real org drifts, so that a
repo-versus-org scan and every org rule fire on it:

- Integration_App, Order_Sync_Service: clean — admin-approved, the integration user covered
  (Order_Sync through a permission set group), tokens used recently.
- SAML_Bearer_Integration: self-authorized bearer app whose declared user never approved it (CA-33).
- Finance_Batch_Loader: the declared user's permission set assignment has expired (CA-13).
- Heroku_Event_Relay: its integration user is a System Administrator (CA-11).
- MuleSoft_Sync: in the org the client-credentials Run As user was set in Setup; it is inactive,
  not API-only and holds none of the app's permission sets (CA-10, CA-12), and differs from the
  repository, which has no run-as user (CA-32).
- ERP_Connector: the org grants a permission set the repository does not list (CA-32).
- Mobile_Field_App: the org's refresh-token policy differs from the repository's (CA-32).
- GitHub_Actions_Deploy, Warehouse_Scanner: only in the repository (CA-24 for the connected app).
- Legacy_Reporting: last used 150 days ago (CA-30).
- psync__Partner_Sync: an installed managed app that readMetadata does not return (SOQL only).
- "Data Loader Pro": OAuth tokens but not installed (CA-28), while a non-admin holds
  "Use Any API Client" (CA-29).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .build import OrgBuilder, connected_app_xml, days_ago
from .org import FakeOrgData, metadata_document

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_configs"
METADATA = SAMPLE / "force-app" / "main" / "default"
SAMPLE_CONFIG = (SAMPLE / ".ca-audit.yaml").read_text(encoding="utf-8")
_APPS = yaml.safe_load(SAMPLE_CONFIG)["apps"]
INTEGRATION_USERS = sorted({u for app in _APPS.values() for u in app.get("integration_users", [])})
DOMAIN = "northwind.example.com"


def _doc(folder: str, name: str) -> str:
    text = (METADATA / folder / name).read_text(encoding="utf-8")
    # Retrieve and readMetadata never return a consumer secret.
    return re.sub(r"\s*<consumerSecret>.*?</consumerSecret>", "", text, flags=re.S)


def _connected(name: str) -> str:
    return _doc("connectedApps", f"{name}.connectedApp-meta.xml")


def _eca(builder: OrgBuilder, name: str, *, policies: str | None = None) -> str:
    return builder.external_client_app(
        name,
        header=_doc("externalClientApps", f"{name}.eca-meta.xml"),
        global_oauth=_doc("extlClntAppGlobalOauthSets", f"{name}_glbloauth.ecaGlblOauth-meta.xml"),
        oauth=_doc("extlClntAppOauthSettings", f"{name}_oauth.ecaOauth-meta.xml"),
        policies=policies or _doc("extlClntAppOauthPolicies", f"{name}_oauthPlcy.ecaOauthPlcy-meta.xml"),
    )


def sample_org() -> FakeOrgData:
    b = OrgBuilder(FakeOrgData(org_id="00D5e000000NwTrEAA", org_name="Northwind Traders"))
    b.profile("System Administrator", ApiEnabled=True, ModifyAllData=True, ViewAllData=True,
              CustomizeApplication=True, UseAnyApiClient=True, CanApproveUninstalledApps=True)
    b.profile("Minimum Access - API Only Integrations", ApiEnabled=True, ApiUserOnly=True)
    b.profile("Standard User", ApiEnabled=True)
    for name in ("Sales Manager", "Finance Analyst"):
        b.profile(name, ApiEnabled=True)
    for name in ("Integration_API_Access", "Finance_Batch_Integration", "DevOps_Deployment", "MuleSoft_Integration",
                 "Order_Sync_Integration", "Event_Relay_Integration", "Warehouse_Scanner_Users", "ERP_Integration"):
        b.permission_set(name)
    b.permission_set("API_Client_Testers", UseAnyApiClient=True)
    b.permission_set_group("Order_Integrations", ["Order_Sync_Integration"])

    def user(local: str, profile: str = "Minimum Access - API Only Integrations", **kw) -> str:
        username = f"{local}@{DOMAIN}"
        b.user(username, profile, **kw)
        return username

    admin = user("admin", "System Administrator")
    order = user("order.integration")
    b.assign(order, "Integration_API_Access")
    sync = user("order.sync")
    b.assign(sync, group="Order_Integrations")
    user("claims.integration")  # declared for SAML_Bearer_Integration, never approved it
    finance = user("finance.batch")
    b.assign(finance, "Finance_Batch_Integration", expires=days_ago(12)[:10])
    deploy = user("ci.deploy")
    b.assign(deploy, "DevOps_Deployment")
    erp = user("erp.integration")
    b.assign(erp, "ERP_Integration")
    relay = user("event.relay", "System Administrator")
    b.assign(relay, "Event_Relay_Integration")
    mule = user("mulesoft.integration", "Standard User", active=False)
    analyst = user("analyst", "Standard User")
    b.assign(analyst, "API_Client_Testers")

    b.connected_app("Integration_App", _connected("Integration_App"))
    b.token("Integration App", order, last_used_days=1, use_count=4200)
    b.connected_app("SAML_Bearer_Integration", _connected("SAML_Bearer_Integration"))
    b.token("SAML Bearer Integration", analyst, last_used_days=9)
    b.connected_app("Finance_Batch_Loader", _connected("Finance_Batch_Loader"))
    b.token("Finance Batch Loader", admin, last_used_days=13)
    mulesoft = _connected("MuleSoft_Sync").replace(
        "<scopes>Api</scopes>",
        f"<oauthClientCredentialUser>{mule}</oauthClientCredentialUser>\n        <scopes>Api</scopes>")
    b.connected_app("MuleSoft_Sync", mulesoft)
    b.token("MuleSoft Sync", admin, last_used_days=2)
    mobile = _connected("Mobile_Field_App").replace("<refreshTokenPolicy>zero</refreshTokenPolicy>",
                                                    "<refreshTokenPolicy>infinite</refreshTokenPolicy>")
    b.connected_app("Mobile_Field_App", mobile)
    b.token("Mobile Field App", analyst, last_used_days=0, use_count=50)
    b.connected_app("Legacy_Reporting", _connected("Legacy_Reporting"))
    b.token("Legacy Reporting", analyst, last_used_days=150)

    _eca(b, "Order_Sync_Service")
    b.token("Order Sync Service", sync, last_used_days=3)
    erp_policies = _doc("extlClntAppOauthPolicies", "ERP_Connector_oauthPlcy.ecaOauthPlcy-meta.xml").replace(
        "<externalClientApplication>",
        "<commaSeparatedPermissionSet>ERP_Integration</commaSeparatedPermissionSet>\n    <externalClientApplication>")
    _eca(b, "ERP_Connector", policies=erp_policies)
    b.token("ERP Connector", erp, last_used_days=1)
    _eca(b, "Heroku_Event_Relay")
    b.token("Heroku Event Relay", relay, last_used_days=1)

    b.connected_app("Partner_Sync", None, label="Partner Sync", admin_approved=True, profiles=["Standard User"],
                    managed_namespace="psync")
    b.token("Partner Sync", analyst, last_used_days=2)
    b.token("Data Loader Pro", analyst, last_used_days=6)

    # Org-wide OAuth settings (Setup → OAuth and OpenID Connect Settings): both legacy flows blocked, as
    # Salesforce recommends, PKCE left to each app.
    b.data.add_metadata("OauthOidcSettings", "OauthOidc", metadata_document("OauthOidcSettings", (
        "    <blockOAuthUnPwFlow>true</blockOAuthUnPwFlow>\n    <blockOAuthUsrAgtFlow>true</blockOAuthUsrAgtFlow>\n"
        "    <isPkceRequired>false</isPkceRequired>")))

    b.data.jwt.approved_users = {order, sync, erp, relay, admin}
    b.data.jwt.not_admin_approved = {finance}
    b.data.jwt.inactive_users = {mule}
    return b.data


def many_apps_org(count: int) -> FakeOrgData:
    """`count` connected apps with assignments and tokens, for request-count tests and the bench."""
    b = OrgBuilder()
    b.profile("System Administrator", ApiEnabled=True, ModifyAllData=True)
    b.permission_set("Integration_Access")
    b.user("integration@acme.example")
    b.assign("integration@acme.example", "Integration_Access")
    for i in range(count):
        name = f"App_{i:04d}"
        b.connected_app(name, connected_app_xml(
            f"App {i:04d}", scopes=["Api", "RefreshToken"], admin_approved=True,
            permission_sets=["Integration_Access"]))
        b.token(f"App {i:04d}", "integration@acme.example", last_used_days=i % 120)
    return b.data
