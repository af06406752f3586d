"""Leaks: a value in a bad file is never quoted back. A config or rule file that is (a link to, or a
copy of) a private key fails validation without printing the key, in every format."""

from __future__ import annotations

import pytest

from tests.hostile.kit import PRIVATE_KEY, SECRET, check, project, run


@pytest.mark.parametrize("output_format", ["table", "json", "github", "sarif", "junit", "markdown"])
def test_config_that_is_a_link_to_a_private_key(tmp_path, output_format):
    key = tmp_path / "id_rsa"
    key.write_text(PRIVATE_KEY, encoding="utf-8")
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").symlink_to(key)
    check(run("scan", root, "--format", output_format), 2)


def test_config_given_with_config_that_is_a_private_key(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(PRIVATE_KEY, encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--config", key, "--format", "github"), 2)


def test_rule_file_that_is_a_link_to_a_private_key(tmp_path):
    key = tmp_path / "id_rsa"
    key.write_text(PRIVATE_KEY, encoding="utf-8")
    root = project(tmp_path / "p")
    (root / "policies").mkdir()
    (root / "policies" / "X-1.yaml").symlink_to(key)
    (root / ".ca-audit.yaml").write_text("rule_dirs: [policies]\n", encoding="utf-8")
    check(run("scan", root, "--format", "github"), 2)


@pytest.mark.parametrize("setting", [f"fail_on: {SECRET}", f"rule_dirs: {SECRET}", f"rules: {{CA-07: {SECRET}}}",
                                     f"waivers: [{{rule: CA-07, app: X, reason: r, expires: {SECRET}}}]",
                                     f"apps: {{X: {{flows: [{SECRET}]}}}}", f"{SECRET}: 1"])
def test_config_values_are_not_quoted(tmp_path, setting):
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").write_text(setting + "\n", encoding="utf-8")
    check(run("scan", root, "--format", "github"), 2, says=".ca-audit.yaml")


@pytest.mark.parametrize("field", ["severity", "id", "applies_to"])
def test_rule_values_are_not_quoted(tmp_path, field):
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = {"id": "X-1", "title": "t", "severity": "low", "message": "m", "applies_to": "[connected_app]",
            "require": "{field: label, exists: true}"}
    rule[field] = SECRET if field != "applies_to" else f"[{SECRET}]"
    (rules / "X-1.yaml").write_text("".join(f"{k}: {v}\n" for k, v in rule.items()), encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="X-1.yaml")


def test_metadata_file_that_links_outside_the_scanned_folder(tmp_path):
    secret = tmp_path / "outside.connectedApp-meta.xml"
    secret.write_text(f"<ConnectedApp><label>{SECRET}</label></ConnectedApp>", encoding="utf-8")
    root = project(tmp_path / "p")
    (root / "force-app/main/default/connectedApps/Link.connectedApp-meta.xml").symlink_to(secret)
    check(run("scan", root, "--format", "json"), 2, says="outside the scanned folder")


def test_rule_folder_link_outside_is_refused_for_config_rule_dirs(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "X-1.yaml").write_text(f"id: X-1\ntitle: {SECRET}\nseverity: nope\nmessage: m\n"
                                      "require: {field: label, exists: true}\n", encoding="utf-8")
    root = project(tmp_path / "p")
    (root / "policies").symlink_to(outside)
    (root / ".ca-audit.yaml").write_text("rule_dirs: [policies]\n", encoding="utf-8")
    check(run("scan", root), 2, says="outside")
