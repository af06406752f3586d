"""Review findings on preflight, through the real CLI: a rule with no documented token error never
gives WILL FAIL, undocumented policy values are unconfirmed, ENFORCE is never ✓, and the texts say
only what applies."""

from __future__ import annotations

import json

from auditor.fixtext import fix_for_kind
from tests.conftest import SAMPLE, run_cli, run_json


def check(data: dict, key: str) -> dict:
    return next(c for c in data["checks"] if c["key"] == key)


def test_committed_secret_is_a_warning_not_a_failure():
    code, data = run_json("preflight", "Legacy_Reporting", "--flow", "username-password", str(SAMPLE))
    secret = check(data, "secret-in-source")
    assert secret["status"] == "warn" and secret["blocking"] is False and secret["could_block"] is False
    assert data["verdict"] == "UNKNOWN" and code == 2  # the org setting and the user are unknown
    assert not any(c["blocking"] for c in data["checks"])
    assert "documents no error string" not in run_cli(
        "preflight", "Legacy_Reporting", "--flow", "username-password", str(SAMPLE)).stdout


def test_undocumented_policy_value_is_unconfirmed_not_will_fail():
    code, data = run_json("preflight", "GitHub_Actions_Deploy", "--flow", "jwt-bearer", str(SAMPLE))
    values = check(data, "policy-values")
    assert values["status"] == "may fail" and values["evidence"] == "unconfirmed" and not values["blocking"]
    ip = check(data, "ip")
    assert ip["status"] == "unknown" and "ENFORCE_ACTIVATED_USERS" in ip["reason"]
    assert data["verdict"] == "UNKNOWN" and code == 2


def test_enforce_is_a_warning_never_a_pass():
    code, data = run_json("preflight", "SAML_Bearer_Integration", "--flow", "saml2-bearer", str(SAMPLE))
    ip = check(data, "ip")
    assert ip["status"] == "warn" and not ip["blocking"]
    assert "Login IP Ranges" in ip["reason"] and "normal setting" in ip["reason"]
    out = run_cli("preflight", "SAML_Bearer_Integration", "--flow", "saml2-bearer", str(SAMPLE)).stdout
    assert "! IP relaxation (does not block)" in out and "✓ IP relaxation" not in out


def test_setting_unknown_from_a_snapshot_does_not_name_the_project_files(tmp_path):
    # a snapshot of an org that would not give its OAuth settings (or pulled before they were read)
    data = json.loads((SAMPLE / "org.snapshot.json").read_text(encoding="utf-8"))
    data["metadata"]["OauthOidcSettings"]["records"] = {"OauthOidc": None}
    snapshot = tmp_path / "org.snapshot.json"
    snapshot.write_text(json.dumps(data), encoding="utf-8")
    code, result = run_json("preflight", "Legacy_Reporting", "--flow", "username-password", str(snapshot))
    reason = check(result, "org-allows")["reason"]
    assert "project's OauthOidc settings" not in reason and "org data" in reason
    assert result["verdict"] == "UNKNOWN" and code == 2


def test_the_orgs_own_settings_answer_the_username_password_preflight():
    code, data = run_json("preflight", "Legacy_Reporting", "--flow", "username-password",
                          str(SAMPLE / "org.snapshot.json"))
    item = check(data, "org-allows")
    assert item["status"] == "fail" and "(org-wide) block OAuth username-password flows" in item["reason"]
    assert data["verdict"] == "WILL FAIL" and code == 1


def test_inactive_user_text_says_only_what_applies(tmp_path):
    snapshot = SAMPLE / "org.snapshot.json"
    import json

    data = json.loads(snapshot.read_text(encoding="utf-8"))
    user = "order.sync@northwind.example.com"
    for row in data["soql"]["User"]:
        if row["Username"] == user:
            row["IsActive"] = False
    changed = tmp_path / "org.snapshot.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    _, result = run_json("preflight", "Order_Sync_Service", "--flow", "jwt-bearer", str(changed), "--user", user)
    reason = check(result, "user-active")["reason"]
    assert reason.startswith("inactive: ") and "not found in the org" not in reason, reason


def test_secret_fix_text_is_right_for_each_kind():
    import yaml

    fix = yaml.safe_load((SAMPLE.parent / "rules" / "CA-23.yaml").read_text(encoding="utf-8"))["fix"]
    connected = fix_for_kind(fix, "connected_app")
    external = fix_for_kind(fix, "external_client_app")
    assert ".ecaGlblOauth-meta.xml" not in connected and "Manage Consumer Details" in connected
    assert ".ecaGlblOauth-meta.xml" in external and "Manage Consumer Details" not in external
    done = run_cli("scan", str(SAMPLE), "--format", "github")
    assert "CA-23" in done.stdout
