"""False passes: inputs that used to give exit 0 (or a clean report) where the truth is a finding
or "could not audit" (exit 2). Each case's app would fail `--fail-on medium` (CA-07) if read as
written, or cannot be read at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.kit import NS, POLICY, SELF_AUTHORIZED, app_xml, check, project, run, without_root_bypass


def _unreadable(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0)


def test_unreadable_sub_folder_of_the_scanned_tree(tmp_path):
    prefix = without_root_bypass()
    root = project(tmp_path / "p")
    hidden = root / "force-app/main/default/externalClientApps"
    _unreadable(hidden)
    try:
        check(run("scan", root, prefix=prefix), 2, says="externalClientApps")
    finally:
        hidden.chmod(0o755)


def test_unreadable_sub_folder_of_a_rule_folder(tmp_path):
    prefix = without_root_bypass()
    rules = tmp_path / "rules"
    hidden = rules / "more"
    _unreadable(hidden)
    try:
        check(run("scan", project(tmp_path / "p"), "--rules", rules, prefix=prefix), 2, says="more")
    finally:
        hidden.chmod(0o755)


def _scan_one(tmp_path: Path, content: str | bytes, *args: str):
    root = project(tmp_path / "p", {"Evil.connectedApp-meta.xml": content})
    return run("scan", root, "--fail-on", "medium", "--format", "json", *args)


def _self_authorized(admin_lines: str) -> str:
    oauth = SELF_AUTHORIZED.replace("        <isAdminApproved>{admin}</isAdminApproved>\n", admin_lines)
    return app_xml(oauth, extra=POLICY)


def test_unbound_namespace_prefix(tmp_path):
    content = _self_authorized("        <isAdminApproved>false</isAdminApproved>\n"
                               "        <x:isAdminApproved>true</x:isAdminApproved>\n")
    check(_scan_one(tmp_path, content), 2, says="prefix")


def test_foreign_namespace_element(tmp_path):
    content = _self_authorized('        <isAdminApproved xmlns="urn:evil">true</isAdminApproved>\n'
                               "        <isAdminApproved>false</isAdminApproved>\n")
    check(_scan_one(tmp_path, content), 2, says="namespace")


def test_foreign_namespace_through_a_prefix(tmp_path):
    content = _self_authorized('        <e:isAdminApproved xmlns:e="urn:evil">true</e:isAdminApproved>\n'
                               "        <isAdminApproved>false</isAdminApproved>\n")
    check(_scan_one(tmp_path, content), 2, says="namespace")


def test_duplicated_single_valued_element(tmp_path):
    content = _self_authorized("        <isAdminApproved>true</isAdminApproved>\n"
                               "        <isAdminApproved>false</isAdminApproved>\n")
    check(_scan_one(tmp_path, content), 2, says="isAdminApproved")


def test_duplicated_block(tmp_path):
    content = _self_authorized("        <isAdminApproved>false</isAdminApproved>\n").replace(
        "    <oauthPolicy>", "    <oauthPolicy>\n    </oauthPolicy>\n    <oauthPolicy>", 1)
    check(_scan_one(tmp_path, content), 2, says="oauthPolicy")


def test_non_boolean_in_a_boolean_element(tmp_path):
    content = _self_authorized("        <isAdminApproved>yes please</isAdminApproved>\n")
    check(_scan_one(tmp_path, content), 2, says="true or false")


def test_non_boolean_in_an_eca_flag(tmp_path):
    header = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ExternalClientApplication xmlns="{NS}">\n'
              "    <distributionState>Local</distributionState>\n    <isProtected>false</isProtected>\n"
              "    <label>E</label>\n</ExternalClientApplication>\n")
    settings = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ExtlClntAppGlobalOauthSettings xmlns="{NS}">\n'
                "    <callbackUrl>https://example.com/cb</callbackUrl>\n"
                "    <externalClientApplication>E</externalClientApplication>\n"
                "    <isPkceRequired>maybe</isPkceRequired>\n    <label>E</label>\n"
                "</ExtlClntAppGlobalOauthSettings>\n")
    root = project(tmp_path / "p", {"/force-app/main/default/externalClientApps/E.eca-meta.xml": header,
                                    "/force-app/main/default/extlClntAppGlobalOauthSets/E.ecaGlblOauth-meta.xml":
                                        settings})
    check(run("scan", root), 2, says="true or false")


def test_utf16_document(tmp_path):
    content = _self_authorized("        <isAdminApproved>false</isAdminApproved>\n")
    check(_scan_one(tmp_path, content.replace('"UTF-8"', '"UTF-16"').encode("utf-16")), 2, says="UTF-8")


def test_latin1_declared(tmp_path):
    content = _self_authorized("        <isAdminApproved>false</isAdminApproved>\n").replace(
        '"UTF-8"', '"ISO-8859-1"').replace("<label>Plain", "<label>Caf\u00e9")
    check(_scan_one(tmp_path, content.encode("latin-1")), 2, says="UTF-8")


def test_config_above_the_repository_root_is_not_used(tmp_path):
    (tmp_path / ".ca-audit.yaml").write_text("rules:\n  CA-07: off\n", encoding="utf-8")
    root = project(tmp_path / "repo", {"Evil.connectedApp-meta.xml": _self_authorized(
        "        <isAdminApproved>false</isAdminApproved>\n")})
    result = check(run("scan", root, "--fail-on", "medium", "--format", "json"), 1)
    assert json.loads(result.out)["config"] is None


def test_config_above_a_folder_outside_git_is_not_used(tmp_path):
    (tmp_path / ".ca-audit.yaml").write_text("waivers:\n  - {rule: CA-07, app: Evil, reason: r}\n",
                                             encoding="utf-8")
    root = project(tmp_path / "plain", {"Evil.connectedApp-meta.xml": _self_authorized(
        "        <isAdminApproved>false</isAdminApproved>\n")}, git=False)
    check(run("scan", root, "--fail-on", "medium"), 1)


def test_config_used_is_named_in_the_output(tmp_path):
    root = project(tmp_path / "repo", {"Evil.connectedApp-meta.xml": _self_authorized(
        "        <isAdminApproved>false</isAdminApproved>\n")})
    (root / ".ca-audit.yaml").write_text("rules:\n  CA-07: off\n", encoding="utf-8")
    result = check(run("scan", root, "--fail-on", "medium", "--format", "json"), 0)
    assert json.loads(result.out)["config"].endswith(".ca-audit.yaml")
    table = check(run("scan", root, "--fail-on", "medium"), 0)
    assert ".ca-audit.yaml" in table.out


@pytest.mark.parametrize("entry", ["[]", '[{"id": "CA-07"}]'])
def test_tampered_rule_cache_is_not_served(tmp_path, entry):
    """A rule-pack cache entry replaced by an empty pack (or a rule with no `require`) would turn every
    finding off: it is re-checked on read and dropped."""
    cache = tmp_path / "cache"
    root = project(tmp_path / "p", {"Evil.connectedApp-meta.xml": _self_authorized(
        "        <isAdminApproved>false</isAdminApproved>\n")})
    env = {"CA_AUDIT_CACHE_DIR": str(cache)}
    check(run("scan", root, "--fail-on", "medium", env=env), 1)
    for path in cache.rglob("*.json"):
        path.write_text(entry, encoding="utf-8")
    check(run("scan", root, "--fail-on", "medium", env=env), 1)
