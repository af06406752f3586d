"""`ca-audit rules test`: run each rule's `tests` fixtures (Semgrep-style rule tests).

A fixture is a partial model; every field it does not name is unknown (None), so a fixture
says exactly what the rule depends on.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.engine.evaluate import applies, evaluate_rule
from auditor.engine.loader import flatten
from auditor.engine.params import bind
from auditor.engine.rule import Rule
from auditor.model import App


@dataclass
class TestResult:
    rule_id: str
    index: int
    expected: str  # "pass" or "fail"
    ok: bool
    detail: str = ""


def fixture_app(rule: Rule, model: dict) -> App:
    values = flatten(model)
    kind = values.pop("kind", None) or rule.applies_to[0]
    name = values.pop("name", None) or "Fixture_App"
    return App(kind, name, f"{rule.id}.fixture", values=dict(values, kind=kind, name=name))


def run_rule_tests(rules: list[Rule]) -> list[TestResult]:
    results = []
    for rule in rules:
        for index, case in enumerate(rule.tests):
            expected = "fail" if "fail" in case else "pass"
            model = case[expected]
            app = fixture_app(rule, model)
            bound = bind(rule, case.get("params"))
            finding = evaluate_rule(bound, app) if bound is not None and applies(bound, app) else None
            ok = (finding is not None) == (expected == "fail")
            if ok:
                detail = ""
            elif finding is None:
                detail = "expected a finding, got none"
            else:
                detail = f"expected no finding, got: {finding.message}"
            results.append(TestResult(rule.id, index, expected, ok, detail))
    return results
