"""`ca-audit rules docs` writes docs/rules.md; the committed file must be current."""

from __future__ import annotations

from auditor.engine.loader import builtin_rules_dir, load_rules
from auditor.engine.rulesdoc import render_rules
from tests.conftest import REPO, run_cli


def test_committed_rules_md_is_current():
    rules, errors = load_rules([builtin_rules_dir()])
    assert not errors
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render_rules(rules), "docs/rules.md is stale: run `ca-audit rules docs`"


def test_every_rule_is_documented_with_why_fix_and_references():
    rules, _ = load_rules([builtin_rules_dir()])
    text = render_rules(rules)
    for rule in rules:
        section = text.split(f"\n## {rule.id}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**{rule.severity}**" in section
        assert "### Why" in section and "### Fix" in section
        for reference in rule.references:
            assert reference in section
        assert f"| [{rule.id}](#{rule.id.lower()}) |" in text


def test_cli_writes_and_checks(tmp_path):
    target = tmp_path / "docs" / "rules.md"
    done = run_cli("rules", "docs", "--check", "--output", str(target))
    assert done.returncode == 1 and "not current" in done.stderr
    done = run_cli("rules", "docs", "--output", str(target))
    assert done.returncode == 0 and target.is_file()
    assert run_cli("rules", "docs", "--check", "--output", str(target)).returncode == 0
    assert run_cli("rules", "docs", "--output", "-").stdout == target.read_text(encoding="utf-8")
