"""Rule file fixtures (rules/tests/CA-NN/{pass,fail}/…): every built-in rule fires on real metadata
where it must and stays quiet where it must, through the same pipeline as `ca-audit scan`."""

from __future__ import annotations

from pathlib import Path

from auditor.engine.loader import load_rules, rule_files

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
