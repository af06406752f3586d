"""Rule parameters: declared in the rule with a schema and a default, set in `.ca-audit.yaml` under
`rules: ID: {params: …}`, validated (file and line on a mistake, exit 2), and a rule whose parameter has
no default stays off until it is set (CA-37, the callback host allow-list)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

VENDOR_APP = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>integrations@northwind.example.com</contactEmail>
    <label>Vendor Sync</label>
    <oauthConfig>
        <callbackUrl>https://app.northwind.example.com/oauth/callback
https://oauth.vendor.example.net/callback
nwfield://oauth/success</callbackUrl>
        <isAdminApproved>false</isAdminApproved>
        <isPkceRequired>true</isPkceRequired>
        <isRefreshTokenRotationEnabled>true</isRefreshTokenRotationEnabled>
        <scopes>Api</scopes>
    </oauthConfig>
</ConnectedApp>
"""


def project(tmp_path: Path, config: str | None) -> Path:
    app = tmp_path / "connectedApps" / "Vendor_Sync.connectedApp-meta.xml"
    app.parent.mkdir(parents=True)
    app.write_text(VENDOR_APP, encoding="utf-8")
    if config is not None:
        (tmp_path / ".ca-audit.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def ca37(folder: Path) -> tuple[int, list[dict]]:
    done = run_cli("scan", str(folder), "--only", "CA-37", "--format", "json")
    data = json.loads(done.stdout)
    return done.returncode, [f for f in data["findings"] if f["rule_id"] == "CA-37"] or data["input_errors"]


def test_the_allow_list_rule_is_off_until_hosts_are_configured(tmp_path):
    code, found = ca37(project(tmp_path, None))
    assert code == 0 and found == []


def test_configured_hosts_are_checked(tmp_path):
    folder = project(tmp_path, "rules:\n  CA-37:\n    params:\n"
                               "      allowed_callback_hosts: [app.northwind.example.com]\n")
    code, found = ca37(folder)
    assert code == 0 and len(found) == 1  # medium: below fail_on
    # custom-scheme redirect URIs name no host; the vendor's host is reported
    assert "callback hosts: app.northwind.example.com, oauth.vendor.example.net)" in found[0]["message"]
    (folder / ".ca-audit.yaml").write_text("rules:\n  CA-37:\n    severity: high\n    params:\n"
                                           "      allowed_callback_hosts: [app.northwind.example.com, "
                                           "oauth.vendor.example.net]\n", encoding="utf-8")
    code, found = ca37(folder)
    assert code == 0 and found == []


def test_a_bad_parameter_is_an_input_error_with_file_and_line(tmp_path):
    folder = project(tmp_path, "fail_on: high\nrules:\n  CA-37:\n    params:\n"
                               "      allowed_callback_hosts: [App.Example.com]\n      hosts: [x]\n")
    done = run_cli("scan", str(folder))
    assert done.returncode == 2, done.stdout
    assert ".ca-audit.yaml:5: at rules.CA-37.params.allowed_callback_hosts[0]: 'App.Example.com' does not match" \
        in done.stdout
    assert (".ca-audit.yaml:6: at rules.CA-37.params.hosts: CA-37 has no parameter 'hosts' (its parameters: "
            "allowed_callback_hosts)") in done.stdout
    empty = project(tmp_path / "empty", "rules:\n  CA-37:\n    params:\n      allowed_callback_hosts: []\n")
    done = run_cli("scan", str(empty))
    assert done.returncode == 2 and "allowed_callback_hosts: [] should be non-empty" in done.stdout
    unknown = project(tmp_path / "unknown", "rules:\n  CA-99:\n    params: {x: 1}\n")
    done = run_cli("scan", str(unknown))
    assert done.returncode == 2 and "at rules.CA-99: no loaded rule has this id" in done.stdout


CUSTOM_RULE = """id: ACME-01
title: Too many callback URLs
severity: high
params:
  allowed_hosts:
    description: hosts that may receive codes
    schema: {type: array, items: {type: string}}
    default: [app.northwind.example.com]
require:
  field: oauth.callback_hosts
  all_in: {param: allowed_hosts}
message: "{name} sends codes to {oauth.callback_hosts}"
tests:
  - fail: {oauth: {callback_hosts: [oauth.vendor.example.net]}}
  - pass: {oauth: {callback_hosts: [oauth.vendor.example.net]}}
    params: {allowed_hosts: [oauth.vendor.example.net]}
"""


def test_a_custom_rule_with_a_default_runs_and_the_config_overrides_it(tmp_path):
    (tmp_path / ".git").mkdir()  # one repository: its config may name a rule folder beside the project
    rules = tmp_path / "policies"
    rules.mkdir()
    (rules / "ACME-01.yaml").write_text(CUSTOM_RULE, encoding="utf-8")
    tested = run_cli("rules", "test", str(rules))
    assert tested.returncode == 0 and "2 passed, 0 failed" in tested.stdout, tested.stdout
    folder = project(tmp_path / "p", "rule_dirs: [../policies]\n")
    done = run_cli("scan", str(folder), "--only", "ACME-01")
    assert done.returncode == 1 and "Vendor_Sync sends codes to" in done.stdout
    (folder / ".ca-audit.yaml").write_text("rule_dirs: [../policies]\nrules:\n  ACME-01:\n    params:\n"
                                           "      allowed_hosts: [app.northwind.example.com, "
                                           "oauth.vendor.example.net]\n")
    assert run_cli("scan", str(folder), "--only", "ACME-01").returncode == 0


def test_a_condition_naming_an_undeclared_parameter_is_a_load_error(tmp_path):
    rules = tmp_path / "policies"
    rules.mkdir()
    (rules / "ACME-01.yaml").write_text(CUSTOM_RULE.replace("{param: allowed_hosts}", "{param: allowed_host}"),
                                        encoding="utf-8")
    done = run_cli("rules", "test", str(rules))
    assert done.returncode == 2
    assert "at require: {param: allowed_host} names no parameter under `params`" in done.stdout + done.stderr


def test_the_rule_reference_documents_parameters():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    assert ("- Parameter `allowed_callback_hosts` (no default: the rule is off until `.ca-audit.yaml` sets it)"
            in docs)


def test_a_long_list_in_a_message_is_cut_with_its_count(tmp_path):
    """A pull request may give an app thousands of callback URLs: the message names ten and the count."""
    urls = "\n".join(f"https://host{i:02d}.vendor.example.net/cb" for i in range(25))
    folder = project(tmp_path, "rules:\n  CA-37:\n    params:\n      allowed_callback_hosts: [app.example.com]\n")
    app = folder / "connectedApps" / "Vendor_Sync.connectedApp-meta.xml"
    app.write_text(VENDOR_APP.replace("https://oauth.vendor.example.net/callback", urls), encoding="utf-8")
    code, [finding] = ca37(folder)
    assert code == 0  # medium: below fail_on
    assert "(all of its callback hosts: app.northwind.example.com, host00.vendor.example.net," in finding["message"]
    assert finding["message"].endswith("host08.vendor.example.net, … (26 in all))")
