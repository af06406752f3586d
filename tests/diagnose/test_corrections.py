"""Issue 9's domain corrections, each as connected-app and external-client-app scenarios run through the
installed console script, each asserting the verdict and the error the token endpoint names (or why
there is none). The projects are real metadata files written to a temporary folder."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

from tests.conftest import SAMPLE, run_cli
from tests.scenarios import EXPIRED_CERT, GOOD_CERT, connected_app, external_client_app, oauth_oidc

NOT_APPROVED = "invalid_grant: user hasn't approved this consumer"
GRANT_TYPE = "unsupported_grant_type: grant type not supported"
AUTH_FAILURE = "invalid_grant: authentication failure"


def preflight(folder: Path, app: str, flow: str) -> tuple[int, dict]:
    done = run_cli("preflight", app, "--flow", flow, str(folder), "--format", "json")
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def checks(data: dict) -> dict[str, dict]:
    return {c["key"]: c for c in data["checks"]}


def scan(folder: Path) -> list[dict]:
    done = run_cli("scan", str(folder), "--format", "json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)["findings"]


# ---------------------------------------------------------------------------- 1. ECA client credentials
def test_eca_client_credentials_needs_both_switches(tmp_path):
    external_client_app(tmp_path, "Policy_Off", global_cc=True, policy_cc=False, run_as="etl@northwind.example.com")
    code, data = preflight(tmp_path, "Policy_Off", "client-credentials")
    assert code == 1 and data["verdict"] == "WILL FAIL"
    assert checks(data)["cc-enabled"]["status"] == "fail"
    assert "OAuth policies isClientCredentialsFlowEnabled false" in checks(data)["cc-enabled"]["reason"]
    assert [e for e in data["errors"] if e.startswith(GRANT_TYPE)], data["errors"]
    fix = next(f for f in data["fixes"] if "both switches" in f)
    assert ".ecaGlblOauth-meta.xml" in fix and ".ecaOauthPlcy-meta.xml" in fix

    external_client_app(tmp_path, "Global_Off", global_cc=False, policy_cc=True, run_as="etl@northwind.example.com")
    code, data = preflight(tmp_path, "Global_Off", "client-credentials")
    assert code == 1 and checks(data)["cc-enabled"]["status"] == "fail"
    assert "global OAuth settings isClientCredentialsFlowEnabled false" in checks(data)["cc-enabled"]["reason"]

    # the policy switch defaults to false (ExtlClntAppOauthConfigurablePolicies)
    external_client_app(tmp_path, "Policy_Default", global_cc=True, policy_cc=None, run_as="etl@northwind.example.com")
    code, data = preflight(tmp_path, "Policy_Default", "client-credentials")
    assert code == 1 and checks(data)["cc-enabled"]["status"] == "fail"


def test_eca_client_credentials_with_a_switch_not_in_source_is_unknown(tmp_path):
    external_client_app(tmp_path, "No_Policies", global_cc=True, with_policies=False)
    code, data = preflight(tmp_path, "No_Policies", "client-credentials")
    assert code == 2 and data["verdict"] == "UNKNOWN"
    line = checks(data)["cc-enabled"]
    assert line["status"] == "unknown" and line["could_block"] and "OAuth policies: not set" in line["reason"]

    external_client_app(tmp_path, "Both_On", global_cc=True, policy_cc=True, run_as="etl@northwind.example.com")
    code, data = preflight(tmp_path, "Both_On", "client-credentials")
    assert checks(data)["cc-enabled"]["status"] == "pass"
    assert code == 2 and data["summary"].endswith("The Run As user exists, is active and is API Only")


def test_connected_app_client_credentials_switch(tmp_path):
    connected_app(tmp_path, "Cc_Off", cc=False, cert=None)
    code, data = preflight(tmp_path, "Cc_Off", "client-credentials")
    assert code == 1 and checks(data)["cc-enabled"]["status"] == "fail"
    assert [e for e in data["errors"] if e.startswith(GRANT_TYPE)]


# ---------------------------------------------------------------------------- 2. username-password
def test_username_password_on_an_external_client_app_fails(tmp_path):
    external_client_app(tmp_path, "Eca_Password")
    code, data = preflight(tmp_path, "Eca_Password", "username-password")
    assert code == 1 and data["verdict"] == "WILL FAIL"
    assert checks(data)["eca-password"]["status"] == "fail"
    assert [e for e in data["errors"] if e.startswith(AUTH_FAILURE)], data["errors"]
    assert "retirement" not in checks(data)  # the connected-app retirement does not apply


def test_username_password_on_a_connected_app_needs_the_org_setting(tmp_path):
    connected_app(tmp_path, "Password_App", cert=None)
    code, data = preflight(tmp_path, "Password_App", "username-password")
    assert code == 2 and data["verdict"] == "UNKNOWN"
    assert checks(data)["org-allows"]["status"] == "unknown"
    assert "Summer '23" in checks(data)["org-allows"]["reason"]

    oauth_oidc(tmp_path, None)  # a settings file without the flag: still unknown
    code, data = preflight(tmp_path, "Password_App", "username-password")
    assert code == 2 and checks(data)["org-allows"]["status"] == "unknown"

    oauth_oidc(tmp_path, "true")
    code, data = preflight(tmp_path, "Password_App", "username-password")
    assert code == 1 and data["verdict"] == "WILL FAIL" and checks(data)["org-allows"]["status"] == "fail"
    assert [e for e in data["errors"] if e.startswith(AUTH_FAILURE)], data["errors"]

    oauth_oidc(tmp_path, "false")  # allowed: only the user check (org data) is left
    code, data = preflight(tmp_path, "Password_App", "username-password")
    assert checks(data)["org-allows"]["status"] == "pass" and data["verdict"] in ("UNKNOWN", "WILL FAIL")


# ---------------------------------------------------------------------------- 3. certificates
def test_a_pem_file_upload_stored_as_base64_is_read(tmp_path):
    body = re.sub(r"\s+", "", GOOD_CERT)
    pem = ("Bag Attributes\n    localKeyID: 6B 74 35 10\nsubject=/CN=integration\nissuer=/CN=integration\n"
           "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
           + "\n-----END CERTIFICATE-----\n")
    stored = base64.b64encode(pem.encode()).decode()
    assert stored.startswith("QmFnIEF0dHJpYnV0ZXM")  # what Salesforce keeps after the upload
    connected_app(tmp_path, "Uploaded_Pem", cert=stored)
    external_client_app(tmp_path, "Eca_Uploaded_Pem", cert=stored)
    for app in ("Uploaded_Pem", "Eca_Uploaded_Pem"):
        code, data = preflight(tmp_path, app, "jwt-bearer")
        line = checks(data)["certificate"]
        assert line["status"] == "pass" and "(RSA 2048, sha256)" in line["reason"], line
    assert [f for f in scan(tmp_path) if f["rule_id"] == "CA-05"] == []


def test_a_placeholder_or_a_name_is_unknown_not_unreadable(tmp_path):
    connected_app(tmp_path, "Templated", cert="{CERTIFICATE}")
    external_client_app(tmp_path, "Eca_Templated", cert="${JWT_CERTIFICATE}")
    connected_app(tmp_path, "Named", cert="JWT_Signing_Cert")
    for app in ("Templated", "Eca_Templated", "Named"):
        code, data = preflight(tmp_path, app, "jwt-bearer")
        line = checks(data)["certificate"]
        assert code == 2 and data["verdict"] == "UNKNOWN", (app, data["summary"])
        assert line["status"] == "unknown" and "placeholder or a name" in line["reason"]
        assert "Signing certificate present and valid" in data["summary"]
    ca05 = {f["app"]: f for f in scan(tmp_path) if f["rule_id"] == "CA-05"}
    assert set(ca05) == {"Named"}  # no "unreadable certificate" finding for a placeholder
    assert ca05["Named"]["severity"] == "medium" and "a name, not a certificate" in ca05["Named"]["message"]


def test_an_expired_certificate_warns_in_preflight_and_stays_a_finding(tmp_path):
    connected_app(tmp_path, "Expired", cert=EXPIRED_CERT)
    external_client_app(tmp_path, "Eca_Expired", cert=EXPIRED_CERT)
    for app in ("Expired", "Eca_Expired"):
        code, data = preflight(tmp_path, app, "jwt-bearer")
        line = checks(data)["certificate"]
        assert line["status"] == "warn" and not line["blocking"] and "SFSE 313488" in line["reason"]
        assert data["verdict"] == "UNKNOWN" and code == 2  # the user checks need the org; nothing blocks
    ca05 = {f["app"]: f["severity"] for f in scan(tmp_path) if f["rule_id"] == "CA-05"}
    assert ca05 == {"Expired": "high", "Eca_Expired": "high"}


# ---------------------------------------------------------------------------- 4. client credentials Run As user
def test_permitted_users_do_not_apply_to_the_run_as_user(tmp_path):
    connected_app(tmp_path, "Cc_Only", cc=True, run_as="etl@northwind.example.com", cert=None, assignments="")
    external_client_app(tmp_path, "Eca_Cc_Only", cert=None, global_cc=True, policy_cc=True,
                        run_as="etl@northwind.example.com")
    policies = next(tmp_path.rglob("Eca_Cc_Only_oauthPlcy.ecaOauthPlcy-meta.xml"))
    policies.write_text(re.sub(r"\n    <commaSeparatedPermissionSet>.*?</commaSeparatedPermissionSet>", "",
                               policies.read_text()))
    (tmp_path / ".ca-audit.yaml").write_text("apps:\n  Cc_Only: {flows: [client-credentials]}\n"
                                             "  Eca_Cc_Only: {flows: [client-credentials]}\n")
    for app in ("Cc_Only", "Eca_Cc_Only"):
        code, data = preflight(tmp_path, app, "client-credentials")
        assert "assignment" not in checks(data) and "CA-13" not in checks(data)
        assert data["verdict"] == "UNKNOWN"  # only the Run As user's fitness needs the org
        assert data["summary"].endswith("The Run As user exists, is active and is API Only")
    assert [f for f in scan(tmp_path) if f["rule_id"] == "CA-03"] == []
    (tmp_path / ".ca-audit.yaml").unlink()  # not declared cc-only: unassigned admin-approved apps are CA-03
    assert sorted(f["app"] for f in scan(tmp_path) if f["rule_id"] == "CA-03") == ["Cc_Only", "Eca_Cc_Only"]


# ---------------------------------------------------------------------------- 5. High Assurance
def test_high_assurance_blocks_jwt_bearer_only(tmp_path):
    connected_app(tmp_path, "High_Assurance", session="HIGH_ASSURANCE", cc=True, run_as="etl@northwind.example.com")
    external_client_app(tmp_path, "Eca_High_Assurance", session="HIGH_ASSURANCE", global_cc=True, policy_cc=True,
                        run_as="etl@northwind.example.com")
    for app in ("High_Assurance", "Eca_High_Assurance"):
        code, data = preflight(tmp_path, app, "jwt-bearer")
        assert code == 1 and data["verdict"] == "WILL FAIL" and checks(data)["session"]["status"] == "fail"
        assert any(u.startswith("CA-08: ") and "documents no error string" in u
                   for u in data["blocking_without_known_error"])
        for flow in ("saml2-bearer", "client-credentials"):
            code, data = preflight(tmp_path, app, flow)
            line = checks(data)["session"]
            assert code == 2 and data["verdict"] == "UNKNOWN", (app, flow, data["summary"])
            assert line["status"] == "may fail" and line["evidence"] == "unconfirmed"
            assert line["reason"].startswith("may fail: CA-08 (high)")
            assert "may fail on an UNCONFIRMED cause: No High Assurance session requirement" in data["summary"]


# ---------------------------------------------------------------------------- 6. CA-19 and CA-17
def test_an_incomplete_oauth_policy_is_medium_and_undocumented_values_high(tmp_path):
    # the shape of Salesforce's own Slack starter kit: refreshTokenPolicy without ipRelaxation
    connected_app(tmp_path, "Incomplete_Policy", policy="<refreshTokenPolicy>infinite</refreshTokenPolicy>")
    connected_app(tmp_path, "Invented_Policy", policy="<ipRelaxation>ENFORCE_ACTIVATED_USERS</ipRelaxation>\n"
                  "        <refreshTokenPolicy>infinite</refreshTokenPolicy>")
    external_client_app(tmp_path, "Eca_Invented_Policy", ip="Relaxed")
    ca19 = {f["app"]: f["severity"] for f in scan(tmp_path) if f["rule_id"] == "CA-19"}
    assert ca19 == {"Incomplete_Policy": "medium", "Invented_Policy": "high", "Eca_Invented_Policy": "high"}


def test_ca17_is_quiet_when_the_global_settings_file_is_not_in_source(tmp_path):
    external_client_app(tmp_path, "Eca_No_Global", with_global=False)
    external_client_app(tmp_path, "Eca_Rotation_Off", rotation=False)
    connected_app(tmp_path, "Rotation_Off", rotation=False)
    assert sorted(f["app"] for f in scan(tmp_path) if f["rule_id"] == "CA-17") == ["Eca_Rotation_Off",
                                                                                      "Rotation_Off"]


# ---------------------------------------------------------------------------- 7. explain
def test_explain_knows_expired_authorization_code():
    done = run_cli("explain", '400 {"error":"invalid_grant","error_description":"expired authorization code"}')
    assert done.returncode == 0, done.stdout
    text = " ".join(done.stdout.split())
    assert "invalid_grant: expired authorization code" in text
    assert "Web-server flow: the authorization code was already exchanged once" in text
    assert "JWT bearer: the assertion's `exp` claim is in the past or more than 3 minutes ahead" in text


def test_explain_authentication_failure_checks_the_app(tmp_path):
    external_client_app(tmp_path, "Eca_Password")
    connected_app(tmp_path, "Blocked_Password", cert=None)
    oauth_oidc(tmp_path, "true")
    eca = run_cli("explain", "invalid_grant: authentication failure", "--app", "Eca_Password", str(tmp_path))
    assert eca.returncode == 0 and "Eca_Password: HOLDS — matches: kind = external_client_app" in eca.stdout
    assert "Username-Password Flow Disabled" in eca.stdout
    blocked = run_cli("explain", "invalid_grant: authentication failure", "--app", "Blocked_Password",
                      str(tmp_path))
    assert "Blocked_Password: HOLDS — matches: org_settings.username_password_blocked = true" in blocked.stdout


def test_explain_knows_the_generic_approval_error():
    done = run_cli("explain", "OAUTH_APPROVAL_ERROR_GENERIC", "--format", "json")
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["known"]
    causes = data["entries"][0]["causes"]
    assert causes[0]["rules"] == ["CA-28"] and "September 2025" in causes[0]["cause"]


def test_explain_suggests_saml2_bearer_for_a_saml_app(tmp_path):
    declared = run_cli("explain", NOT_APPROVED, "--app", "SAML_Bearer_Integration", str(SAMPLE))
    assert "Next: ca-audit preflight SAML_Bearer_Integration --flow saml2-bearer\n" in declared.stdout
    project = tmp_path / "project"  # without the .ca-audit.yaml that declares the flow, name both
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".ca-audit.yaml", "org.snapshot.json"))
    bare = run_cli("explain", NOT_APPROVED, "--app", "SAML_Bearer_Integration", str(project))
    assert ("Next: ca-audit preflight SAML_Bearer_Integration --flow jwt-bearer (or --flow saml2-bearer if the "
            "client sends a SAML assertion)") in bare.stdout
