"""The rule schema takes its words from the model: a misspelt tag, kind or severity is a load error,
so a rule cannot silently fall out of a preflight checklist or out of the org rules."""

from __future__ import annotations

import pytest

from auditor.engine.loader import builtin_rules_dir, load_rules
from auditor.model import RULE_TAGS

RULE = """\
id: X-01
title: A rule
severity: {severity}
applies_to: [{kind}]
require: {{field: oauth.enabled, equals: true}}
message: "{{name}} has OAuth off"
tags: [{tag}]
"""


def load_one(tmp_path, **words):
    values = {"severity": "high", "kind": "connected_app", "tag": "jwt-bearer", **words}
    (tmp_path / "X-01.yaml").write_text(RULE.format(**values), encoding="utf-8")
    return load_rules([tmp_path])


def test_a_rule_with_known_words_loads(tmp_path):
    rules, errors = load_one(tmp_path)
    assert errors == [] and rules[0].flows == ["jwt-bearer"]


@pytest.mark.parametrize("words", [{"tag": "jwt_bearer"}, {"tag": "Org"}, {"kind": "connectedApp"},
                                   {"severity": "severe"}])
def test_a_misspelt_word_is_a_load_error(tmp_path, words):
    rules, errors = load_one(tmp_path, **words)
    assert rules == []
    assert len(errors) == 1 and errors[0].path.endswith("X-01.yaml")
    # the place and the allowed words, never the value written (a value may be a secret pasted by mistake)
    assert "must be one of" in errors[0].message and next(iter(words.values())) not in errors[0].message


def test_every_builtin_tag_is_in_the_vocabulary():
    rules, errors = load_rules([builtin_rules_dir()])
    assert errors == []
    used = {tag for rule in rules for tag in rule.tags}
    assert used <= set(RULE_TAGS)
    assert "org" in used and {"jwt-bearer", "client-credentials"} <= used
