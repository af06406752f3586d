"""The diagnosis data files (auditor/data/errors.yaml, auditor/data/checklists.yaml) as data:
they validate, refer only to things that exist, and a broken copy is refused with its file and place."""

from __future__ import annotations

import json

import pytest

from auditor.catalogue import load_catalogue, login_hint
from auditor.sources.org.auth import token_error_message

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
    assert errors and "'login_hint' is a required property" in errors[0].message
