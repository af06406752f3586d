"""`ca-audit explain` and the error catalogue: the data validates, names only real rules, covers every
error string the rules quote, and each entry is found from every input shape; causes are checked
against real apps from the sample project and the sample org snapshot."""

from __future__ import annotations

import json
import re

import pytest

from auditor.catalogue import load_catalogue
from auditor.diagnose.explain import DOES_NOT_HOLD, HOLDS, NOT_CHECKABLE, UNKNOWN, explain, parse_error
from auditor.engine.loader import builtin_rules_dir, load_rules
from tests.conftest import SAMPLE, run_cli

CATALOGUE = load_catalogue()
SNAPSHOT = SAMPLE / "org.snapshot.json"
# An error code or an `error: description` pair quoted inside a rule's why.
ERROR_CODE = re.compile(r"\b(invalid_[a-z_]+|unsupported_[a-z_]+|inactive_[a-z]+|OAUTH_[A-Z_]+)\b")


@pytest.fixture(scope="module", name="rules")
def rules_fixture():
    rules, errors = load_rules([builtin_rules_dir()])
    assert not errors
    return {rule.id: rule for rule in rules}


def named_rules(entry) -> set[str]:
    return {r for cause in entry["causes"] for r in cause["rules"]} | set(entry.get("see_also", []))


def checks_of(result, entry_id):
    entry = next(e for e in result.entries if e["id"] == entry_id)
    return {tuple(c["rules"]) or c["cause"][:30]: result.checks[(entry_id, i)].status
            for i, c in enumerate(entry["causes"])}


# ---------------------------------------------------------------------------- the catalogue as data
def test_catalogue_entries_are_complete():
    ids = [e["id"] for e in CATALOGUE]
    assert len(ids) == len(set(ids))
    for entry in CATALOGUE:
        assert entry["error_description"] and entry["flows"] and entry["causes"] and entry["fixes"]
        assert entry["references"]
        for cause in entry["causes"]:
            assert cause["confidence"] in ("confirmed", "practitioner", "unconfirmed")


def test_every_rule_id_in_the_catalogue_exists(rules):
    named = {r for entry in CATALOGUE for r in named_rules(entry)}
    assert named - set(rules) == set(), "the catalogue names rules that are not in the built-in pack"


def test_every_error_string_a_rule_quotes_is_in_the_catalogue(rules):
    reachable = {r for entry in CATALOGUE for r in named_rules(entry)}
    quoting = set()
    for rule in rules.values():
        for span in re.findall(r"`([^`]+)`", rule.why):
            code, description = parse_error(span)
            if not ERROR_CODE.search(span) and not _known_description(span):
                continue
            quoting.add(rule.id)
            result = explain(span)
            assert result.known, f"{rule.id} quotes {span!r}, which the catalogue does not know"
            if code and description:
                assert any((e["error"] or "").lower() == code.lower() for e in result.entries) or result.how
    assert {"CA-01", "CA-02", "CA-03", "CA-04", "CA-09", "CA-13", "CA-33"} <= quoting
    assert quoting - reachable == set(), "rules quoting an error string must be reachable from the catalogue"


def _known_description(span: str) -> bool:
    lowered = span.lower()
    return any(pattern in lowered for entry in CATALOGUE for pattern in entry["error_description"])


def test_the_catalogue_is_validated_by_its_schema(tmp_path):
    from auditor.datafile import DataFile, load_validated

    bad = "errors:\n  - id: Bad Id\n    error: invalid_grant\n    error_description: []\n"
    _, errors = load_validated([DataFile(tmp_path / "errors.yaml", "errors.yaml", bad)], "errors.schema.json")
    messages = " ".join(e.message for e in errors)
    assert "error_description" in messages and "errors.0.id: does not match the pattern" in messages
    assert "Bad Id" not in messages  # messages name the place, never the value


# ---------------------------------------------------------------------------- matching
def shapes(entry) -> list[str]:
    description = entry["error_description"][0]
    body = {"error": entry["error"], "error_description": description} if entry["error"] else \
        {"error_description": description}
    forms = [json.dumps(body), "400 " + json.dumps(body), description, description.upper()]
    if entry["error"]:
        forms.append(f"{entry['error']}: {description}")
        forms.append(f"{entry['error'].upper()}: {description.title()}")
    return forms


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e["id"] for e in CATALOGUE])
def test_each_entry_is_found_from_every_input_shape(entry):
    for raw in shapes(entry):
        result = explain(raw)
        assert result.known, raw
        assert entry["id"] in [e["id"] for e in result.entries], raw
        if entry["error"] and ":" in raw and not raw.startswith(entry["error_description"][0][:3]):
            # with the error code given, entries under other codes do not muddy the answer
            assert all((e["error"] or "").lower() == entry["error"].lower() for e in result.entries), raw


def test_curly_apostrophes_and_trailing_detail_still_match():
    result = explain("invalid_grant: user hasn\u2019t approved this consumer.")
    assert [e["id"] for e in result.entries] == ["user-not-approved"]
    echoed = explain('{"error":"invalid_grant","error_description":"audience is invalid [audience=x login=y]"}')
    assert [e["id"] for e in echoed.entries] == ["audience-invalid"]


def test_an_authorize_redirect_is_understood():
    redirect = ("https://app.example.com/callback?error=OAUTH_APP_ACCESS_DENIED"
                "&error_description=user+is+not+admin+approved+to+access+this+app")
    assert [e["id"] for e in explain(redirect).entries] == ["app-access-denied"]


def test_description_alone_can_match_two_codes():
    result = explain("user is not admin approved to access this app")
    assert {e["id"] for e in result.entries} == {"not-admin-approved", "app-access-denied"}
    exact = explain("OAUTH_APP_ACCESS_DENIED: user is not admin approved to access this app")
    assert [e["id"] for e in exact.entries] == ["app-access-denied"]


def test_wrong_code_falls_back_to_the_description_and_says_so():
    result = explain("invalid_grant: user is inactive")
    assert [e["id"] for e in result.entries] == ["user-inactive"]
    assert "the catalogue lists it under inactive_user, not invalid_grant" in result.how


def test_causes_are_ranked_confirmed_first():
    result = run_cli("explain", "invalid_grant: user hasn't approved this consumer")
    assert result.returncode == 0
    text = result.stdout
    grades = re.findall(r"^\s+\d+\. \[(confirmed by Salesforce|reported by practitioners|UNCONFIRMED)\]", text,
                        re.M)
    order = {"confirmed by Salesforce": 0, "reported by practitioners": 1, "UNCONFIRMED": 2}
    assert grades == sorted(grades, key=order.get) and len(grades) == 5
    assert "Detected by: CA-02" in text and "Detected by: CA-01" in text
    assert "Fixes, in the order to apply them:" in text
    assert "Next: ca-audit preflight APP --flow jwt-bearer" in text


def test_unknown_error_says_so_and_suggests_preflight():
    result = run_cli("explain", '{"error":"invalid_request","error_description":"something nobody reported"}')
    assert result.returncode == 2
    assert "ca-audit does not know the error 'invalid_request: something nobody reported'" in result.stdout
    assert "ca-audit preflight APP --flow" in result.stdout
    data = json.loads(run_cli("explain", "no such thing", "--format", "json").stdout)
    assert data["known"] is False and data["entries"] == [] and data["exit_code"] == 2


# ---------------------------------------------------------------------------- causes against an app
def test_causes_that_hold_for_the_seed_app():
    result = explain("invalid_grant: user hasn't approved this consumer", "SAML_Bearer_Integration", [str(SAMPLE)])
    assert result.exit_code() == 0
    assert checks_of(result, "user-not-approved") == {
        ("CA-02",): HOLDS, ("CA-33",): UNKNOWN, ("CA-01",): HOLDS, ("CA-06",): DOES_NOT_HOLD,
        "The request does not reach the": NOT_CHECKABLE}


def test_causes_that_do_not_hold_for_a_clean_app():
    result = explain("invalid_grant: user hasn't approved this consumer", "Integration_App", [str(SAMPLE)])
    statuses = checks_of(result, "user-not-approved")
    assert HOLDS not in statuses.values()
    assert statuses[("CA-02",)] == statuses[("CA-01",)] == DOES_NOT_HOLD
    text = run_cli("explain", "user hasn't approved this consumer", "--app", "Integration_App", str(SAMPLE)).stdout
    assert "Integration_App: 0 of 5 known cause(s) hold." in text


@pytest.mark.skipif(not SNAPSHOT.is_file(), reason="sample_configs/org.snapshot.json is not there")
def test_org_causes_from_a_snapshot():
    never = explain("user hasn't approved this consumer", "SAML_Bearer_Integration", [str(SNAPSHOT)])
    assert checks_of(never, "user-not-approved")[("CA-33",)] == HOLDS
    expired = explain("invalid_app_access: user is not admin approved to access this app",
                      "Finance_Batch_Loader", [str(SNAPSHOT)])
    assert checks_of(expired, "not-admin-approved") == {("CA-03",): DOES_NOT_HOLD, ("CA-13",): HOLDS,
                                                        ("CA-12",): DOES_NOT_HOLD}
    inactive = explain("user is inactive", "MuleSoft_Sync", [str(SNAPSHOT)])
    assert list(checks_of(inactive, "user-inactive").values()) == [HOLDS]
    active = explain("user is inactive", "Integration_App", [str(SNAPSHOT)])
    assert list(checks_of(active, "user-inactive").values()) == [DOES_NOT_HOLD]


def test_condition_causes_read_the_model():
    enforced = explain("invalid_grant: IP restricted or invalid login hours", "Integration_App", [str(SAMPLE)])
    assert list(checks_of(enforced, "ip-restricted").values()) == [HOLDS]
    bypass = explain("invalid_grant: IP restricted or invalid login hours", "MuleSoft_Sync", [str(SAMPLE)])
    assert list(checks_of(bypass, "ip-restricted").values()) == [DOES_NOT_HOLD]


def test_explain_with_an_unknown_app_exits_2():
    result = run_cli("explain", "user hasn't approved this consumer", "--app", "Nope", str(SAMPLE))
    assert result.returncode == 2 and "no app named 'Nope'" in result.stdout


def test_json_output():
    done = run_cli("explain", "invalid_grant: no client credentials user enabled", "--app", "MuleSoft_Sync",
                   str(SAMPLE), "--format", "json")
    data = json.loads(done.stdout)
    assert done.returncode == data["exit_code"] == 0
    assert data["input"] == {"error": "invalid_grant", "error_description": "no client credentials user enabled"}
    [entry] = data["entries"]
    assert entry["id"] == "no-client-credentials-user" and entry["error"] == "invalid_grant"
    by_rules = {tuple(c["rules"]): c["check"]["status"] for c in entry["causes"]}
    assert by_rules == {("CA-09",): HOLDS, ("CA-10",): UNKNOWN}
    assert data["app"]["name"] == "MuleSoft_Sync"
