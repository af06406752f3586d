"""The rules' `patch` sections: strict schema, fields the writer can reach, choices the CLI can give,
and docs/fix.md generated from them and current."""

from __future__ import annotations

import json
import textwrap

import pytest

from auditor.datafile import schema_text
from auditor.engine.loader import builtin_rules_dir, load_rules
from auditor.fix import docs
from auditor.fix.patches import CHOICES
from auditor.fix.writer import WRITABLE
from auditor.model import FIELDS
from tests.conftest import REPO

SEED_RULES = {"CA-01", "CA-02", "CA-03", "CA-06", "CA-15", "CA-16", "CA-17", "CA-18", "CA-19", "CA-21", "CA-27",
              "CA-31"}


def builtin():
    rules, errors = load_rules([builtin_rules_dir()])
    assert errors == []
    return rules


def test_the_issue_rules_have_patches_for_both_kinds():
    patched = {rule.id: rule for rule in builtin() if rule.patch}
    assert SEED_RULES <= set(patched)
    for rule in patched.values():
        for edit in rule.patch["edits"]:
            for kind in edit.get("kinds", rule.applies_to):
                assert edit["field"] in WRITABLE[kind], (rule.id, kind, edit["field"])
                assert edit["field"] in FIELDS


def test_choices_match_the_schema():
    schema = json.loads(schema_text("rule.schema.json"))
    assert schema["$defs"]["choice"]["properties"]["choice"]["enum"] == list(CHOICES)


RULE = """\
id: X-1
title: t
severity: low
require: {field: oauth.scopes, contains: Api}
message: m
patch:
"""


@pytest.mark.parametrize(("patch", "problem"), [
    ("  edits: [{field: oauth.scopes, set: Api}]", "is a list; use add or replace"),
    ("  edits: [{field: oauth.pkce_required, add: x}]", "is not a list; use set"),
    ("  edits: [{field: oauth.scope, add: Api}]", "at patch.edits.0.field: must be one of"),
    ("  edits: [{field: oauth.scopes, add: Api, remove: Web}]", "remove"),
    ("  edits: [{field: oauth.scopes, add: {choice: profile}}]", "at patch.edits.0"),
    ("  edits: [{field: oauth.callback_urls, replace: {pattern: '(', with: x}}]", "regular expression is refused"),
    ("  edits: []", "edits"),
    ("  note: only a note", "edits"),
])
def test_a_bad_patch_is_a_load_error(tmp_path, patch, problem):
    (tmp_path / "X-1.yaml").write_text(RULE + textwrap.indent(patch, "") + "\n", encoding="utf-8")
    rules, errors = load_rules([tmp_path])
    assert rules == [] and errors, patch
    assert any(problem in e.message for e in errors), [e.message for e in errors]


def test_docs_fix_md_is_current():
    text = (REPO / "docs" / "fix.md").read_text(encoding="utf-8")
    assert text == docs.render(builtin()), "docs/fix.md is stale: run python -m auditor.fix.docs docs/fix.md"
    for rule_id in SEED_RULES:
        assert f"| {rule_id} |" in text
