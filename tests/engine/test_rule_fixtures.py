"""Rule file fixtures (rules/tests/CA-NN/{pass,fail}/…): every built-in rule fires on real metadata
where it must and stays quiet where it must, through the same pipeline as `ca-audit scan`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor.engine.loader import FIXTURES_DIR, builtin_rules_dir, load_rules, rule_files
from auditor.engine.rule import Rule
from auditor.model import Severity
from auditor.pipeline import audit
from auditor.rulefixtures import OUTCOMES, case_options, cases, fixtures_dir, run_file_fixtures
from tests.conftest import run_cli

RULE = ("id: ACME-01\ntitle: t\nseverity: high\nmessage: m\nrequire: {field: oauth.scopes, not_contains: Full}\n"
        "tests:\n  - pass: {oauth: {scopes: [Api]}}\n  - fail: {oauth: {scopes: [Full]}}\n")


def test_the_loader_never_reads_a_fixture_as_a_rule(tmp_path: Path):
    (tmp_path / "ACME-01.yaml").write_text(RULE)
    case = tmp_path / "tests" / "ACME-01" / "pass" / "Declared_Flows"
    case.mkdir(parents=True)
    (case / ".ca-audit.yaml").write_text("apps:\n  Declared_Flows:\n    flows: [jwt-bearer]\n")
    (tmp_path / "tests" / "helper.yaml").write_text("not: a rule\n")
    nested = tmp_path / "more" / "tests" / "ACME-02" / "fail"
    nested.mkdir(parents=True)
    (nested / "rule-like.yaml").write_text(RULE.replace("ACME-01", "ACME-02"))
    assert rule_files(tmp_path) == [tmp_path / "ACME-01.yaml"]
    rules, errors = load_rules([tmp_path])
    assert errors == [] and [r.id for r in rules] == ["ACME-01"]


# ----------------------------------------------------------------------------- the built-in pack
BUILTIN, _ = load_rules([builtin_rules_dir()])
# Token-only apps (OauthToken rows of an app the org does not have) are always connected apps, so
# only a connected app can be "not installed": these rules can fire on nothing else.
FAIL_ONLY_AS_CONNECTED_APP = {"CA-28", "CA-29"}


def test_the_builtin_pack_is_loaded():
    assert len(BUILTIN) >= 30


@pytest.mark.parametrize("rule", BUILTIN, ids=lambda r: r.id)
def test_builtin_rule_fires_and_stays_quiet_on_real_files(rule: Rule):
    assert cases(rule, "fail") and cases(rule, "pass"), f"{rule.id} needs fail and pass cases in {fixtures_dir(rule)}"
    results = run_file_fixtures([rule])
    assert [r.line() for r in results if not r.ok] == []
    for outcome in OUTCOMES:
        kinds = {app.kind for case in cases(rule, outcome) for app in audit(case_options(rule, case)).apps}
        wanted = set(rule.applies_to)
        if outcome == "fail" and rule.id in FAIL_ONLY_AS_CONNECTED_APP:
            wanted = {"connected_app"}
        assert wanted <= kinds, f"{rule.id} has no {outcome} case for {sorted(wanted - kinds)}"


def test_a_builtin_rule_without_file_fixtures_fails():
    rule = Rule(id="CA-99", title="t", severity=Severity.LOW, message="m", require={"field": "name", "exists": True},
                source_path=str(builtin_rules_dir() / "CA-99.yaml"))
    results = run_file_fixtures([rule])
    assert [(r.case, r.ok) for r in results] == [("tests/CA-99/fail", False), ("tests/CA-99/pass", False)]


# ----------------------------------------------------------------------------- a custom pack
def copied_rule(pack: Path, builtin_id: str, new_id: str) -> Path:
    """A built-in rule under a new id (ids must be unique across the built-in and custom packs)."""
    text = (builtin_rules_dir() / f"{builtin_id}.yaml").read_text(encoding="utf-8")
    assert f"id: {builtin_id}\n" in text
    pack.mkdir(parents=True, exist_ok=True)
    (pack / f"{new_id}.yaml").write_text(text.replace(f"id: {builtin_id}\n", f"id: {new_id}\n"), encoding="utf-8")
    return builtin_rules_dir() / FIXTURES_DIR / builtin_id


def copy_case(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def pack_rules(pack: Path) -> list[Rule]:
    rules, errors = load_rules([pack])
    assert errors == []
    return rules


def test_a_custom_pack_with_fixtures_in_the_same_layout(tmp_path: Path):
    fixtures = copied_rule(tmp_path, "CA-04", "ACME-04")  # needs a per-case .ca-audit.yaml
    for outcome in OUTCOMES:
        for case in (fixtures / outcome).iterdir():
            copy_case(case, tmp_path / FIXTURES_DIR / "ACME-04" / outcome / case.name)
    results = run_file_fixtures(pack_rules(tmp_path))
    assert len(results) == len(list(fixtures.glob("*/*"))) >= 4
    assert [r.line() for r in results if not r.ok] == []


def test_fixtures_are_optional_in_a_custom_pack(tmp_path: Path):
    (tmp_path / "ACME-01.yaml").write_text(RULE)
    assert run_file_fixtures(pack_rules(tmp_path)) == []


def test_a_wrong_fixture_is_reported(tmp_path: Path):
    fixtures = copied_rule(tmp_path, "CA-14", "ACME-14")
    clean = next((fixtures / "pass").glob("*.connectedApp-meta.xml"))
    noisy = next((fixtures / "fail").glob("*.connectedApp-meta.xml"))
    copy_case(clean, tmp_path / FIXTURES_DIR / "ACME-14" / "fail" / clean.name)
    copy_case(noisy, tmp_path / FIXTURES_DIR / "ACME-14" / "pass" / noisy.name)
    results = {r.case: r for r in run_file_fixtures(pack_rules(tmp_path))}
    wrong_fail = results[f"tests/ACME-14/fail/{clean.name}"]
    assert not wrong_fail.ok and wrong_fail.detail == "expected a finding, got none"
    wrong_pass = results[f"tests/ACME-14/pass/{noisy.name}"]
    assert not wrong_pass.ok and wrong_pass.detail.startswith("expected no finding, got: ")
    assert wrong_fail.line() == f"FAIL ACME-14 tests/ACME-14/fail/{clean.name}: expected a finding, got none"


def test_an_input_error_fails_the_case(tmp_path: Path):
    fixtures = copied_rule(tmp_path, "CA-14", "ACME-14")
    noisy = next((fixtures / "fail").glob("*.connectedApp-meta.xml"))
    broken = tmp_path / FIXTURES_DIR / "ACME-14" / "fail" / noisy.name
    copy_case(noisy, broken)
    broken.write_text(noisy.read_text(encoding="utf-8").replace("</ConnectedApp>", ""), encoding="utf-8")
    folder = tmp_path / FIXTURES_DIR / "ACME-14" / "pass" / "Bad_Config"
    copy_case(next((fixtures / "pass").glob("*.connectedApp-meta.xml")), folder / "App.connectedApp-meta.xml")
    (folder / ".ca-audit.yaml").write_text("fail_on: sometimes\n")
    results = run_file_fixtures(pack_rules(tmp_path))
    assert [r.ok for r in results] == [False, False]
    assert all(r.detail.startswith("input error: ") for r in results)
    assert noisy.name in results[0].detail and ".ca-audit.yaml" in results[1].detail


def test_a_case_without_a_config_never_uses_one_from_a_parent_folder(tmp_path: Path):
    fixtures = copied_rule(tmp_path, "CA-04", "ACME-04")
    folder_case = fixtures / "fail" / "Declared_JWT_Without_Certificate"
    app_file = folder_case / "Declared_JWT_Without_Certificate.connectedApp-meta.xml"
    # The declaration sits above the case: the case has no config of its own, so CA-04 has nothing to check.
    target = tmp_path / FIXTURES_DIR / "ACME-04" / "fail" / app_file.name
    copy_case(app_file, target)
    shutil.copyfile(folder_case / ".ca-audit.yaml", tmp_path / FIXTURES_DIR / "ACME-04" / "fail" / ".ca-audit.yaml")
    shutil.copyfile(folder_case / ".ca-audit.yaml", tmp_path / FIXTURES_DIR / ".ca-audit.yaml")
    [result] = run_file_fixtures(pack_rules(tmp_path))
    assert not result.ok and result.detail == "expected a finding, got none"


def test_rules_test_command_runs_the_file_fixtures(tmp_path: Path):
    fixtures = copied_rule(tmp_path, "CA-14", "ACME-14")
    for outcome in OUTCOMES:
        for case in (fixtures / outcome).iterdir():
            copy_case(case, tmp_path / FIXTURES_DIR / "ACME-14" / outcome / case.name)
    models = len(pack_rules(tmp_path)[0].tests)
    count = len(list(fixtures.glob("*/*")))
    done = run_cli("rules", "test", str(tmp_path))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().splitlines()[-1] == f"{models + count} passed, 0 failed"
    clean = next((fixtures / "pass").glob("*.connectedApp-meta.xml"))
    copy_case(clean, tmp_path / FIXTURES_DIR / "ACME-14" / "fail" / "Not_Full.connectedApp-meta.xml")
    done = run_cli("rules", "test", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL ACME-14 tests/ACME-14/fail/Not_Full.connectedApp-meta.xml: expected a finding, got none" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == f"{models + count} passed, 1 failed"
