"""The diagnosis data files (auditor/data/errors.yaml, auditor/data/checklists.yaml) as data:
they validate, refer only to things that exist, and a broken copy is refused with its file and place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.catalogue import CatalogueError, load_catalogue, load_checklists, login_hint, read_checklists
from auditor.model import EVIDENCE_LEVELS, PREFLIGHT_FLOWS
from auditor.sources.org.auth import token_error_message
from tests.conftest import REPO

CATALOGUE = load_catalogue()
LOGIN_ENTRIES = [e for e in CATALOGUE if "jwt-bearer" in e["flows"]]


# ---------------------------------------------------------------------------- login hints
@pytest.mark.parametrize("entry", LOGIN_ENTRIES, ids=[e["id"] for e in LOGIN_ENTRIES])
def test_every_error_a_refused_jwt_login_can_hit_gives_a_hint(entry):
    for description in entry["error_description"]:
        body = {"error": entry["error"] or "invalid_grant", "error_description": description}
        message = token_error_message(400, body, "user@example.com")
        assert message.endswith(f"\n  likely cause: {entry['login_hint']}"), message


def test_the_hint_prefers_the_entry_with_the_same_error_code():
    description = "user is not admin approved to access this app"
    assert login_hint("invalid_app_access", description) == login_hint("OAUTH_APP_ACCESS_DENIED", description)
    assert "admin-approved" in login_hint("invalid_app_access", description)


def test_an_unknown_error_gets_no_hint():
    message = token_error_message(400, {"error": "invalid_grant", "error_description": "something new"}, "u@x")
    assert message == "JWT bearer login for u@x failed: invalid_grant: something new"
    assert login_hint("invalid_grant", "") is None


def test_the_schema_requires_a_hint_on_login_errors(tmp_path):
    from auditor.datafile import DataFile, load_validated

    entry = next(e for e in CATALOGUE if e["id"] == "invalid-assertion")
    document = {"errors": [{k: v for k, v in entry.items() if k != "login_hint"}]}
    _, errors = load_validated([DataFile(tmp_path / "errors.yaml", "errors.yaml", json.dumps(document))],
                               "errors.schema.json")
    assert errors and "lacks the required key login_hint" in errors[0].message


# ---------------------------------------------------------------------------- checklists
PACKAGED = REPO / "auditor" / "data" / "checklists.yaml"


def test_the_packaged_checklists_validate():
    data = load_checklists()
    assert read_checklists(PACKAGED) == data
    assert set(data["flows"]) == set(PREFLIGHT_FLOWS)
    assert all(item["evidence"] in EVIDENCE_LEVELS and item["source"] for item in data["items"].values())


def test_every_checklist_rule_is_a_built_in_rule():
    from auditor.engine.loader import builtin_rules_dir, load_rules

    rules, errors = load_rules([builtin_rules_dir()])
    assert errors == []
    named = {r for item in load_checklists()["items"].values() for r in item.get("rules", [])}
    assert named - {rule.id for rule in rules} == set()


def test_every_checklist_item_is_used_by_a_flow():
    data = load_checklists()
    assert set(data["items"]) == {key for keys in data["flows"].values() for key in keys}


def broken(tmp_path: Path, old: str, new: str) -> str:
    text = PACKAGED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "checklists.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as refused:
        read_checklists(path, "my/checklists.yaml")
    return str(refused.value)


def line_of(text: str) -> int:
    return PACKAGED.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_a_misspelt_key_is_refused_with_file_line_and_place(tmp_path):
    message = broken(tmp_path, "    not_needed: \"not needed: the app is not admin-approved\"",
                     "    not_neded: \"not needed: the app is not admin-approved\"")
    line = line_of("    label: A profile or permission set is assigned to the app")  # the item starts here
    assert message.startswith(f"my/checklists.yaml:{line}: at items.assignment:"), message
    assert "unknown key 'not_neded'" in message


def test_an_unknown_rule_id_is_refused(tmp_path):
    message = broken(tmp_path, "rules: [CA-21]", "rules: [CA21]")
    assert message.startswith(f"my/checklists.yaml:{line_of('    rules: [CA-21]')}: at items.ip.rules.0:")
    assert "at items.ip.rules.0: does not match the pattern" in message and "CA21" not in message


def test_an_error_the_catalogue_does_not_know_is_refused(tmp_path):
    message = broken(tmp_path, "    error: grant-type-not-supported\n    failed: the client credentials",
                     "    error: grant-type-unsupported\n    failed: the client credentials")
    assert message == ("my/checklists.yaml: at items.cc-enabled.error: 'grant-type-unsupported' is not an entry "
                       "of auditor/data/errors.yaml")


def test_a_flow_list_naming_no_item_is_refused(tmp_path):
    message = broken(tmp_path, "[oauth, eca-password, retirement, org-allows",
                     "[oauth, eca-password, retirment, org-allows")
    assert message == "my/checklists.yaml: at flows.username-password.2: no item 'retirment' under items"


def test_the_flows_must_be_the_preflight_flows(tmp_path):
    message = broken(tmp_path, "  saml2-bearer:\n", "  saml-bearer:\n")
    assert "my/checklists.yaml:" in message and "at flows:" in message
    assert "unknown key 'saml-bearer'" in message and "lacks the required key saml2-bearer" in message


def test_a_checklist_condition_has_the_rules_shape(tmp_path):
    message = broken(tmp_path, "require: {field: oauth.enabled, equals: true}",
                     "require: {field: oauth.enabled, equal: true}")
    assert message.startswith("my/checklists.yaml:") and "at items.oauth.require" in message


def test_the_evidence_keys_have_a_schema(tmp_path):
    message = broken(tmp_path, "        status: warn\n", "        status: ready\n")
    assert message.startswith("my/checklists.yaml:") and "at items.permitted-users.override_if.0.status" in message
    message = broken(tmp_path, "    kinds: [external_client_app]\n", "    kinds: [eca]\n")
    assert "at items.cc-enabled-eca.kinds.0" in message
    message = broken(tmp_path, "      - {field: oauth.scopes, why: the scopes are not in the source}\n",
                     "      - {why: the scopes are not in the source}\n")
    assert "at items.standard-scope.unknown_if.0" in message
