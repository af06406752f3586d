"""File fixtures for rules (Semgrep-style rule tests on real metadata).

Beside a rule file `<folder>/CA-NN.yaml`, the folder `<folder>/tests/CA-NN/` holds cases:

    tests/CA-NN/fail/<case>   must yield at least one finding of CA-NN
    tests/CA-NN/pass/<case>   must yield none

A case is one metadata file (`X.connectedApp-meta.xml`, an org snapshot `X.json`, …) or a folder
of files scanned together (the parts of an External Client App, metadata plus a snapshot, and an
optional `.ca-audit.yaml` for that case alone). Each case goes through the same pipeline as
`ca-audit scan` (`auditor.pipeline.audit`), so the XML → model mapping is exercised too. A case
without its own config runs with an empty one: a config in a parent folder is never picked up.

This module sits above both the engine and the sources; neither imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.config import CONFIG_NAMES
from auditor.engine.loader import FIXTURES_DIR, builtin_rules_dir
from auditor.engine.rule import Rule
from auditor.pipeline import AuditOptions, audit

OUTCOMES = ("fail", "pass")
# An empty config file: the explicit config of every case that brings none of its own.
NO_CONFIG = Path(__file__).parent / "data" / "no-config.ca-audit.yaml"


@dataclass
class CaseResult:
    rule_id: str
    case: str  # as shown: tests/CA-NN/fail/<name>, relative to the rule's folder
    expected: str  # "pass" or "fail"
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'} {self.rule_id} {self.case}" + (f": {self.detail}" if self.detail else "")


def fixtures_dir(rule: Rule) -> Path:
    return Path(rule.source_path).parent / FIXTURES_DIR / rule.id


def is_builtin(rule: Rule) -> bool:
    return Path(rule.source_path).parent.resolve() == builtin_rules_dir().resolve()


def cases(rule: Rule, outcome: str) -> list[Path]:
    folder = fixtures_dir(rule) / outcome
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def run_file_fixtures(rules: list[Rule]) -> list[CaseResult]:
    """Every case of every rule. A built-in rule must have at least one pass and one fail case;
    for other packs the fixtures are optional."""
    results: list[CaseResult] = []
    for rule in rules:
        for outcome in OUTCOMES:
            found = cases(rule, outcome)
            if not found and is_builtin(rule):
                results.append(CaseResult(rule.id, f"{FIXTURES_DIR}/{rule.id}/{outcome}", outcome, False,
                                          f"no {outcome} case; a built-in rule needs at least one pass and one "
                                          "fail file fixture"))
            results.extend(run_case(rule, case, outcome) for case in found)
    return results


def run_case(rule: Rule, case: Path, expected: str) -> CaseResult:
    shown = f"{FIXTURES_DIR}/{rule.id}/{expected}/{case.name}"
    report = audit(case_options(rule, case))
    if report.input_errors:
        return CaseResult(rule.id, shown, expected, False, "input error: " + "; ".join(
            str(error) for error in report.input_errors))
    if not report.apps:
        return CaseResult(rule.id, shown, expected, False, "no Connected App or External Client App in the case")
    findings = [f for f in report.findings if f.rule_id == rule.id]
    if expected == "fail" and not findings:
        return CaseResult(rule.id, shown, expected, False, "expected a finding, got none")
    if expected == "pass" and findings:
        return CaseResult(rule.id, shown, expected, False, f"expected no finding, got: {findings[0].message}")
    return CaseResult(rule.id, shown, expected, True)


def case_options(rule: Rule, case: Path) -> AuditOptions:
    """The scan of one case: the case's files (`.json` files as org snapshots), its own config or none,
    and the rule's pack when it is not the built-in one."""
    paths = [str(case)]
    config = NO_CONFIG
    if case.is_dir():
        paths += [str(p) for p in sorted(case.rglob("*.json")) if p.is_file()]
        config = next((case / name for name in CONFIG_NAMES if (case / name).is_file()), NO_CONFIG)
    extra = [] if is_builtin(rule) else [Path(rule.source_path).parent]
    return AuditOptions(paths=paths, config_path=config, extra_rule_dirs=extra, only={rule.id})

