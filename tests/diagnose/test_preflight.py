"""`ca-audit preflight`: checklist and verdict per flow on the sample project, with org data from the
Northwind fake org, the seed scenario end to end through the console script, and the promise that
preflight never calls READY what `scan` fails."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
import time
from pathlib import Path

import pytest

from auditor.diagnose.preflight import preflight
from auditor.model import READY, UNKNOWN, WILL_FAIL
from auditor.sources.org.auth import from_access_token
from auditor.sources.org.pull import PullSettings, pull
from auditor.sources.snapshot import write
from tests.conftest import SAMPLE, SAMPLE_APPS, run_cli
from tests.fakeorg.fixtures import fake_org_fixture, invoke, sf_cli_fixture  # noqa: F401 - pytest fixtures
from tests.fakeorg.sample import INTEGRATION_USERS

SEED = "SAML_Bearer_Integration"
OAUTH_OIDC = """<?xml version="1.0" encoding="UTF-8"?>
<OauthOidcSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <blockOAuthUnPwFlow>{block}</blockOAuthUnPwFlow>
    <blockOAuthUsrAgtFlow>true</blockOAuthUsrAgtFlow>
    <isPkceRequired>true</isPkceRequired>
</OauthOidcSettings>
"""
SEED_FILE = Path("force-app/main/default/connectedApps/SAML_Bearer_Integration.connectedApp-meta.xml")
NOT_APPROVED = "invalid_grant: user hasn't approved this consumer"
NOT_ADMIN_APPROVED = "invalid_app_access: user is not admin approved to access this app"
ANALYST = "analyst@northwind.example.com"  # approved SAML_Bearer_Integration once (has a token for it)


def lines(result) -> dict[str, str]:
    return {line.key: line.status for line in result.lines}


def sample_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("org.snapshot.json"))
    return project


def apply_seed_fix(project: Path) -> None:
    """The metadata change the README walks through: admin-approved, refresh_token, a permission set."""
    path = project / SEED_FILE
    text = path.read_text(encoding="utf-8")
    text = text.replace("<isAdminApproved>false</isAdminApproved>", "<isAdminApproved>true</isAdminApproved>")
    text = text.replace("<scopes>Api</scopes>", "<scopes>Api</scopes>\n        <scopes>RefreshToken</scopes>")
    text = text.replace("</oauthPolicy>",
                        "</oauthPolicy>\n    <permissionSetName>Claims_Integration</permissionSetName>")
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- the seed, end to end
def test_seed_scenario_through_the_console_script(tmp_path):
    project = sample_copy(tmp_path)
    body = '400 {"error":"invalid_grant","error_description":"user hasn\'t approved this consumer"}'
    explained = run_cli("explain", body, "--app", SEED, cwd=project)
    assert explained.returncode == 0, explained.stderr
    assert NOT_APPROVED in explained.stdout
    assert f"{SEED}: HOLDS — CA-02" in explained.stdout and f"{SEED}: HOLDS — CA-01" in explained.stdout
    assert f"Next: ca-audit preflight {SEED} --flow saml2-bearer" in explained.stdout

    started = time.perf_counter()
    before = run_cli("preflight", SEED, "--flow", "saml2-bearer", cwd=project)
    elapsed = time.perf_counter() - started
    assert before.returncode == 1, before.stdout + before.stderr
    assert "WILL FAIL" in before.stdout
    assert f"The token endpoint will answer:\n  {NOT_APPROVED}" in before.stdout
    fixes = before.stdout.split("Fix, in this order:")[1]
    assert fixes.index("1. CA-01") < fixes.index("2. CA-02")
    assert "<scopes>RefreshToken</scopes>" in fixes and "<isAdminApproved>true</isAdminApproved>" in fixes
    assert elapsed < 1.0, f"preflight took {elapsed:.2f}s"

    apply_seed_fix(project)
    after = run_cli("preflight", SEED, "--flow", "saml2-bearer", cwd=project)
    # The metadata is fixed; whether the user exists and holds the permission set needs org data, and
    # either could block the flow: UNKNOWN (exit 2), never READY.
    assert after.returncode == 2, after.stdout + after.stderr
    assert ("\nUNKNOWN — 2 prerequisite(s) cannot be judged from the source: The user exists in the org and is "
            "active, The user holds one of the app's profiles or permission sets") in after.stdout
    assert "✗" not in after.stdout
    assert "? The user holds one of the app's profiles or permission sets" in after.stdout  # needs org data
    # scan agrees: no finding on the app any more
    scanned = run_cli("scan", ".", "--only", "CA-01,CA-02,CA-03", "--format", "json", cwd=project)
    assert [f for f in json.loads(scanned.stdout)["findings"] if f["app"] == SEED] == []


def test_half_a_fix_names_the_next_error(tmp_path):
    """Admin-approved and refresh_token, but no permission set yet: now the error is invalid_app_access."""
    project = sample_copy(tmp_path)
    path = project / SEED_FILE
    text = path.read_text(encoding="utf-8").replace("<isAdminApproved>false", "<isAdminApproved>true")
    path.write_text(text.replace("<scopes>Api</scopes>", "<scopes>Api</scopes><scopes>RefreshToken</scopes>"))
    result = preflight(SEED, "saml2-bearer", [str(project)])
    assert result.verdict == WILL_FAIL and lines(result)["assignment"] == "fail"
    assert result.errors == [f"{NOT_ADMIN_APPROVED} (CA-03 — reported by practitioners)"]


# ---------------------------------------------------------------------------- files only, each flow
@pytest.mark.parametrize(("app", "flow", "verdict", "failing"), [
    # the metadata meets every prerequisite, the user checks need org data: UNKNOWN, not READY
    ("Integration_App", "jwt-bearer", UNKNOWN, set()),
    ("Order_Sync_Service", "jwt-bearer", UNKNOWN, set()),  # external client app
    ("Integration_App", "saml2-bearer", UNKNOWN, set()),  # certificate-capable, declared for this run only
    (SEED, "saml2-bearer", WILL_FAIL, {"refresh-scope", "permitted-users"}),
    (SEED, "jwt-bearer", WILL_FAIL, {"refresh-scope", "permitted-users"}),
    ("Heroku_Event_Relay", "jwt-bearer", WILL_FAIL, {"certificate", "standard-scope"}),
    # its certificate expired: a warning (expiry is not enforced, SFSE 313488); High Assurance blocks JWT
    ("Finance_Batch_Loader", "jwt-bearer", WILL_FAIL, {"session"}),
    ("MuleSoft_Sync", "client-credentials", WILL_FAIL, {"run-as", "ip"}),
    ("Integration_App", "client-credentials", WILL_FAIL, {"cc-enabled"}),
    # self-authorized with refresh_token: whether the user approved it cannot be seen in files
    ("Mobile_Field_App", "jwt-bearer", WILL_FAIL, {"certificate"}),
])
def test_files_only(app, flow, verdict, failing):
    result = preflight(app, flow, [str(SAMPLE)])
    assert result.verdict == verdict, result.summary
    assert {k for k, status in lines(result).items() if status == "fail"} == failing
    assert result.exit_code() == {READY: 0, WILL_FAIL: 1, UNKNOWN: 2}[verdict]
    if verdict == UNKNOWN:  # only the org checks stand in the way
        assert all(line.org for line in result.lines if line.status == "unknown" and line.could_block)
        assert any(line.org and line.status == "unknown" and line.could_block for line in result.lines)


def test_client_credentials_from_files_waits_for_the_run_as_user(tmp_path):
    app = tmp_path / "connectedApps" / "Billing_Export.connectedApp-meta.xml"
    app.parent.mkdir()
    app.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>billing@northwind.example.com</contactEmail>
    <label>Billing Export</label>
    <oauthConfig>
        <callbackUrl>https://billing.northwind.example.com/oauth/callback</callbackUrl>
        <isAdminApproved>true</isAdminApproved>
        <isClientCredentialEnabled>true</isClientCredentialEnabled>
        <isPkceRequired>true</isPkceRequired>
        <oauthClientCredentialUser>billing.export@northwind.example.com</oauthClientCredentialUser>
        <scopes>Api</scopes>
    </oauthConfig>
    <oauthPolicy>
        <ipRelaxation>ENFORCE</ipRelaxation>
        <refreshTokenPolicy>specific_lifetime:90:DAYS</refreshTokenPolicy>
    </oauthPolicy>
    <permissionSetName>Billing_Integration</permissionSetName>
</ConnectedApp>
""", encoding="utf-8")
    result = preflight("Billing_Export", "client-credentials", [str(tmp_path)])
    assert result.verdict == UNKNOWN, [(x.key, x.reason) for x in result.lines]
    assert result.summary == ("1 prerequisite(s) cannot be judged from the source: The Run As user exists, is "
                              "active and is API Only")
    assert lines(result)["run-as"] == "pass" and lines(result)["run-as-fit"] == "unknown"
    # Permitted Users policies don't apply to the execution user: no assignment check for this flow
    assert "assignment" not in lines(result)
    assert any("My Domain token endpoint" in note for note in result.notes)


def test_external_client_app_without_its_settings_file_is_unknown(tmp_path):
    project = sample_copy(tmp_path)
    (project / "force-app/main/default/extlClntAppGlobalOauthSets/Order_Sync_Service_glbloauth"
               ".ecaGlblOauth-meta.xml").unlink()
    done = run_cli("preflight", "Order_Sync_Service", "--flow", "jwt-bearer", cwd=project)
    assert done.returncode == 2, done.stdout
    assert "? Signing certificate present and valid" in done.stdout
    assert "\nUNKNOWN — 3 prerequisite(s) cannot be judged from the source: Signing certificate" in done.stdout
    assert "Note: no global OAuth settings file (.ecaGlblOauth)" in done.stdout


def test_username_password_warns_of_the_retirement(snapshot, tmp_path):
    """READY needs a committed OauthOidc settings file that allows the flow and the user from the org."""
    project = sample_copy(tmp_path)
    settings = project / "force-app/main/default/settings/OauthOidc.settings-meta.xml"
    settings.parent.mkdir()
    settings.write_text(OAUTH_OIDC.format(block="false"), encoding="utf-8")
    paths = [str(project), str(snapshot)]
    user = "order.integration@northwind.example.com"
    before = preflight("Integration_App", "username-password", paths, user=user, today=dt.date(2026, 11, 28))
    retirement = next(line for line in before.lines if line.key == "retirement")
    assert retirement.status == "warn" and "2027-02-20 (84 days from now)" in retirement.reason
    assert before.verdict == READY, [(x.key, x.status, x.reason) for x in before.lines]
    after = preflight("Integration_App", "username-password", paths, user=user, today=dt.date(2027, 2, 20))
    assert after.verdict == WILL_FAIL and lines(after)["retirement"] == "fail"
    assert any("Client Credentials" in fix for fix in after.fixes)


def test_bad_input_and_usage_exit_2(tmp_path):
    unknown = run_cli("preflight", "No_Such_App", "--flow", "jwt-bearer", str(SAMPLE))
    # A usage error, once on stderr: the count of apps found, never the list of all of them.
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr == f"ca-audit: error: no app named 'No_Such_App' in the source ({SAMPLE_APPS} app(s) found)\n"
    near = run_cli("preflight", "Integration_Ap", "--flow", "jwt-bearer", str(SAMPLE))
    assert near.returncode == 2 and "(did you mean 'Integration_App'?)" in near.stderr
    flow = run_cli("preflight", "Integration_App", "--flow", "web-server", str(SAMPLE))
    assert flow.returncode == 2 and "--flow takes one of jwt-bearer" in flow.stderr
    project = sample_copy(tmp_path)
    broken = project / "force-app/main/default/connectedApps/Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><oauthConfig>", encoding="utf-8")
    done = run_cli("preflight", "Integration_App", "--flow", "jwt-bearer", cwd=project)
    assert done.returncode == 2 and "Broken.connectedApp-meta.xml" in done.stdout
    assert "UNKNOWN — some input could not be read" in done.stdout


def test_json_has_the_same_content():
    text = run_cli("preflight", SEED, "--flow", "saml2-bearer", str(SAMPLE), "--format", "json")
    data = json.loads(text.stdout)
    assert text.returncode == data["exit_code"] == 1
    assert data["verdict"] == "WILL FAIL" and data["app"] == SEED and data["flow"] == "saml2-bearer"
    assert data["errors"] == [f"{NOT_APPROVED} (CA-01, CA-02)"]
    checks = {c["key"]: c for c in data["checks"]}
    assert checks["refresh-scope"]["status"] == "fail" and checks["refresh-scope"]["rules"] == ["CA-01"]
    assert checks["user-approved"]["status"] == "unknown" and checks["user-approved"]["needs_org_data"]
    assert data["fixes"][0].startswith("CA-01: ") and data["fixes"][1].startswith("CA-02: ")


# ---------------------------------------------------------------------------- with org data
@pytest.fixture(name="snapshot")
def snapshot_fixture(fake_org, tmp_path) -> Path:
    """The Northwind org pulled with the declared users and one more who approved the SAML app once."""
    data = pull(from_access_token(fake_org.url, fake_org.token),
                PullSettings(integration_users=[*INTEGRATION_USERS, ANALYST]))
    assert data["errors"] == []
    path = tmp_path / "org.snapshot.json"
    write(data, path)
    (tmp_path / ".ca-audit.yaml").write_text((SAMPLE / ".ca-audit.yaml").read_text(encoding="utf-8"))
    return path


@pytest.mark.parametrize(("app", "flow", "user", "verdict", "expect"), [
    # covered through a permission set only
    ("Integration_App", "jwt-bearer", "order.integration@northwind.example.com", READY,
     {"user-active": "pass", "user-covered": "pass", "user-approved": "not needed"}),
    # covered only through a permission set group
    ("Order_Sync_Service", "jwt-bearer", "order.sync@northwind.example.com", READY,
     {"user-active": "pass", "user-covered": "pass"}),
    # active but holds none of the app's permission sets
    ("Integration_App", "jwt-bearer", "claims.integration@northwind.example.com", WILL_FAIL,
     {"user-active": "pass", "user-covered": "fail"}),
    # inactive user
    ("Integration_App", "jwt-bearer", "mulesoft.integration@northwind.example.com", WILL_FAIL,
     {"user-active": "fail", "user-covered": "fail"}),
    # the assignment that covered the user expired
    ("Finance_Batch_Loader", "jwt-bearer", "finance.batch@northwind.example.com", WILL_FAIL,
     {"user-active": "pass", "user-covered": "fail"}),
    # self-authorized app: prior approval absent / present
    (SEED, "saml2-bearer", "claims.integration@northwind.example.com", WILL_FAIL,
     {"user-approved": "fail", "user-covered": "not needed"}),
    # org data beats inference: the approval is recorded, so self-authorization is a warning; the missing
    # refresh_token scope still fails the flow
    (SEED, "saml2-bearer", ANALYST, WILL_FAIL,
     {"user-approved": "pass", "permitted-users": "warn", "refresh-scope": "fail"}),
    # client credentials: the Run As user set in Setup is inactive and not API Only
    ("MuleSoft_Sync", "client-credentials", None, WILL_FAIL, {"run-as-fit": "fail", "run-as-covered": "warn"}),
    # a user the snapshot did not read: nothing about that user is a ✓
    (SEED, "saml2-bearer", "nobody@northwind.example.com", WILL_FAIL,
     {"user-active": "unknown", "user-approved": "unknown", "CA-11": "unknown"}),
])
def test_with_a_snapshot(snapshot, app, flow, user, verdict, expect):
    result = preflight(app, flow, [str(snapshot)], user=user)
    assert (result.input_errors == []) == (user != "nobody@northwind.example.com")
    assert result.verdict == verdict, [(x.key, x.status, x.reason) for x in result.lines]
    assert {k: lines(result)[k] for k in expect} == expect


def test_a_recorded_approval_makes_a_self_authorized_app_ready(snapshot, tmp_path):
    """The seed with the refresh_token scope but still self-authorized: READY for the user the org records
    an approval of, with the recommendation to move to admin approval; WILL FAIL for one without."""
    project = sample_copy(tmp_path)
    path = project / SEED_FILE
    path.write_text(path.read_text(encoding="utf-8").replace(
        "<scopes>Api</scopes>", "<scopes>Api</scopes>\n        <scopes>RefreshToken</scopes>"), encoding="utf-8")
    approved = preflight(SEED, "saml2-bearer", [str(project), str(snapshot)], user=ANALYST)
    assert approved.verdict == READY, [(x.key, x.status, x.reason) for x in approved.lines]
    permitted = next(line for line in approved.lines if line.key == "permitted-users")
    assert permitted.status == "warn" and "move to \"Admin approved users are pre-authorized\"" in permitted.reason
    never = preflight(SEED, "saml2-bearer", [str(project), str(snapshot)],
                      user="claims.integration@northwind.example.com")
    assert never.verdict == WILL_FAIL and lines(never)["user-approved"] == "fail"
    files_only = run_cli("preflight", SEED, "--flow", "saml2-bearer", "--format", "json", cwd=project)
    data = json.loads(files_only.stdout)
    assert files_only.returncode == 2 and data["verdict"] == UNKNOWN
    checks = {c["key"]: c for c in data["checks"]}
    assert checks["permitted-users"]["status"] == "unknown" and "may fail" in checks["permitted-users"]["reason"]


def test_error_names_follow_the_failing_org_check(snapshot):
    inactive = preflight("Integration_App", "jwt-bearer", [str(snapshot)],
                         user="mulesoft.integration@northwind.example.com")
    assert "inactive_user: user is inactive" in inactive.errors
    uncovered = preflight("Integration_App", "jwt-bearer", [str(snapshot)],
                          user="claims.integration@northwind.example.com")
    assert uncovered.errors == [f"{NOT_ADMIN_APPROVED} (CA-13 — reported by practitioners)"]
    never = preflight(SEED, "saml2-bearer", [str(snapshot)], user="claims.integration@northwind.example.com")
    assert any(e.startswith(NOT_APPROVED) and "CA-33" in e for e in never.errors)


def test_a_user_the_snapshot_did_not_read_is_bad_input(snapshot):
    result = preflight("Integration_App", "jwt-bearer", [str(snapshot)], user="nobody@northwind.example.com")
    assert result.verdict == UNKNOWN and result.exit_code() == 2
    assert "were not read from the org" in str(result.input_errors[0])


def test_repository_with_the_org(snapshot):
    """The repository's app (what will be deployed) judged with the org's users."""
    result = preflight("Integration_App", "jwt-bearer", [str(SAMPLE), str(snapshot)])
    assert result.verdict == READY and result.path.startswith("force-app/")
    assert lines(result)["user-covered"] == "pass"


def test_live_org_through_the_salesforce_cli(fake_org, sf_cli, tmp_path):
    sf_cli.add("northwind", fake_org)
    (tmp_path / ".ca-audit.yaml").write_text((SAMPLE / ".ca-audit.yaml").read_text(encoding="utf-8"))
    done = invoke("preflight", "Finance_Batch_Loader", "--flow", "jwt-bearer", "--target-org", "northwind",
                  cwd=tmp_path)
    assert done.exit_code == 1, done.stdout
    assert "✗ The user holds one of the app's profiles or permission sets" in done.stdout
    assert NOT_ADMIN_APPROVED in done.stdout


@pytest.mark.skipif(not (SAMPLE / "org.snapshot.json").is_file(), reason="no sample_configs/org.snapshot.json")
def test_an_app_known_only_from_soql_is_unknown_not_failing():
    result = preflight("psync__Partner_Sync", "jwt-bearer", [str(SAMPLE / "org.snapshot.json")])
    assert result.verdict == UNKNOWN and lines(result)["oauth"] == "unknown"


# ---------------------------------------------------------------------------- the README shows real output
def _readme_block(command: str, nth: int = 0) -> str:
    text = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    start = 0
    for _ in range(nth + 1):
        start = text.index(f"$ {command}\n", start) + len(command) + 3
    return text[start:text.index("\n```", start)]


def _days(text: str) -> str:
    return re.sub(r"expires in \d+ days", "expires in N days", text)


STALE = "README 'My bearer flow fails' shows outdated output: run the command and paste what it prints"


def test_readme_walkthrough_is_current(tmp_path):
    explain_command = "ca-audit explain \"invalid_grant: user hasn't approved this consumer\" --app " \
                      f"{SEED} sample_configs"
    shown = _readme_block(explain_command)
    assert run_cli(*shlex.split(explain_command)[1:]).stdout.rstrip("\n") == shown, STALE
    command = f"ca-audit preflight {SEED} --flow saml2-bearer sample_configs"
    before = run_cli(*shlex.split(command)[1:])
    assert _days(before.stdout.rstrip("\n")) == _days(_readme_block(command)), STALE
    project = tmp_path / "repo"
    shutil.copytree(SAMPLE, project / "sample_configs")
    apply_seed_fix(project / "sample_configs")
    after = run_cli(*shlex.split(command)[1:], cwd=project)
    assert _days(after.stdout.rstrip("\n")) == _days(_readme_block(command, 1)), STALE


def test_app_named_by_its_label_with_a_user(snapshot):
    result = preflight("integration app", "jwt-bearer", [str(snapshot)],
                       user="claims.integration@northwind.example.com")
    assert result.app == "Integration_App" and lines(result)["user-covered"] == "fail"
