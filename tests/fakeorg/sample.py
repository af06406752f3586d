"""The sample org: apps that make every org rule fire once, and apps that pass them.

Integration users (declared in tests/fakeorg's .ca-audit.yaml, see SAMPLE_CONFIG):
  integration@acme.example  Integration_JWT (covered via Integration_Access, token used recently)
  etl@acme.example          Legacy_Self_Auth (self-authorized bearer app; never approved → CA-33)
  reports@acme.example      Reporting_JWT (admin-approved; assignment expired → CA-13)
  ccuser@acme.example       run-as of CC_Service (inactive, System Administrator → CA-10, CA-11, CA-12)
"""

from __future__ import annotations

from .build import OrgBuilder, connected_app_xml, days_ago, eca_documents
from .org import FakeOrgData

SAMPLE_CONFIG = """\
fail_on: high
apps:
  Integration_JWT:
    flows: [jwt-bearer]
    integration_users: [integration@acme.example]
  Legacy_Self_Auth:
    flows: [jwt-bearer]
    integration_users: [etl@acme.example]
  Reporting_JWT:
    flows: [jwt-bearer]
    integration_users: [reports@acme.example]
"""

INTEGRATION_USERS = ["integration@acme.example", "etl@acme.example", "reports@acme.example"]


def sample_org() -> FakeOrgData:
    b = OrgBuilder()
    b.profile("System Administrator", ApiEnabled=True, ModifyAllData=True, ViewAllData=True,
              CustomizeApplication=True, UseAnyApiClient=True, CanApproveUninstalledApps=True)
    b.profile("Minimum Access - API Only Integrations", ApiEnabled=True, ApiUserOnly=True)
    b.profile("Standard User", ApiEnabled=True)
    b.permission_set("Integration_Access")
    b.permission_set("Reporting_Access")
    b.permission_set("CC_Service_Access")
    b.permission_set("API_Client_Testers", UseAnyApiClient=True)
    b.permission_set_group("Integration_Bundle", ["Integration_Access"])

    b.user("admin@acme.example", "System Administrator")
    b.user("integration@acme.example")
    b.assign("integration@acme.example", "Integration_Access")
    b.user("etl@acme.example")
    b.user("reports@acme.example")
    b.assign("reports@acme.example", "Reporting_Access", expires=days_ago(10)[:10])
    b.user("ccuser@acme.example", "System Administrator", active=False)
    b.user("tester@acme.example", "Standard User")
    b.assign("tester@acme.example", "API_Client_Testers")
    b.user("analyst@acme.example", "Standard User")

    # Passes the org rules: admin-approved, covered, used recently.
    b.connected_app("Integration_JWT", connected_app_xml(
        "Integration JWT", scopes=["Api", "RefreshToken"], admin_approved=True, certificate=True,
        permission_sets=["Integration_Access"]))
    b.token("Integration JWT", "integration@acme.example", last_used_days=1, use_count=900)

    # Self-authorized bearer app: its declared user never approved it (no OauthToken row).
    b.connected_app("Legacy_Self_Auth", connected_app_xml(
        "Legacy Self Auth", scopes=["Api", "RefreshToken"], admin_approved=False, certificate=True))
    b.token("Legacy Self Auth", "analyst@acme.example", last_used_days=3)

    # Admin-approved, but the declared user's assignment has expired.
    b.connected_app("Reporting_JWT", connected_app_xml(
        "Reporting JWT", scopes=["Api", "RefreshToken"], admin_approved=True, certificate=True,
        permission_sets=["Reporting_Access"]))
    b.token("Reporting JWT", "admin@acme.example", last_used_days=20)

    # Client credentials with an inactive, over-privileged run-as user it does not cover.
    b.connected_app("CC_Service", connected_app_xml(
        "CC Service", scopes=["Api"], admin_approved=True, permission_sets=["CC_Service_Access"],
        client_credentials_user="ccuser@acme.example", refresh_token_policy="zero"))
    b.token("CC Service", "admin@acme.example", last_used_days=5)

    # Dormant: last token use 200 days ago.
    b.connected_app("Dormant_Dashboard", connected_app_xml(
        "Dormant Dashboard", scopes=["Api", "Web", "RefreshToken"], admin_approved=True,
        profiles=["Standard User"]))
    b.token("Dormant Dashboard", "analyst@acme.example", last_used_days=200)

    # Installed managed app: in ConnectedApplication, listed, but readMetadata returns nil.
    b.connected_app("Partner_Sync", None, label="Partner Sync", admin_approved=True,
                    profiles=["Standard User"], managed_namespace="psync")
    b.token("Partner Sync", "analyst@acme.example", last_used_days=2)

    # An External Client App, admin-approved and covered.
    docs = eca_documents("Acme_ECA", "Acme ECA", scopes="api,refresh_token", permission_sets="Integration_Access",
                         certificate=True)
    b.external_client_app("Acme_ECA", **docs)
    b.token("Acme ECA", "integration@acme.example", last_used_days=4)

    # OAuth usage by an app that is not installed in the org.
    b.token("Rogue Data Loader", "analyst@acme.example", last_used_days=7)

    b.data.jwt.approved_users = {"integration@acme.example", "admin@acme.example"}
    b.data.jwt.not_admin_approved = {"reports@acme.example"}
    b.data.jwt.inactive_users = {"ccuser@acme.example"}
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
