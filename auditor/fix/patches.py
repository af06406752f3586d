"""A rule's `patch` section, read for one app: which model-field edits apply, and which choices are
missing. A patch is data (validated by schemas/rule.schema.json and the loader); nothing in it runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.engine.conditions import holds
from auditor.engine.rule import Rule
from auditor.fix.writer import FieldChange
from auditor.model import App

# A value only the user can give, and the option that gives it. The rule schema's `choice` enum
# lists the same names (tests/fix/test_rules_patches.py keeps the two equal).
CHOICES = {"permission_set": "--assign-permission-set NAME"}


@dataclass
class RulePatch:
    """What one rule's patch means for one app."""

    rule_id: str
    edits: list[dict[str, Any]] = field(default_factory=list)  # applicable edits, choices resolved
    missing: list[str] = field(default_factory=list)  # choices the patch needs and was not given

    @property
    def applicable(self) -> bool:
        return bool(self.edits) and not self.missing


def for_app(rule: Rule, app: App, choices: dict[str, str]) -> RulePatch:
    result = RulePatch(rule.id)
    for edit in (rule.patch or {}).get("edits", []):
        if "kinds" in edit and app.kind not in edit["kinds"]:
            continue
        if "when" in edit and not holds(edit["when"], app.values):
            continue
        resolved = dict(edit)
        for op in ("set", "add"):
            value = edit.get(op)
            if isinstance(value, dict):
                name = value["choice"]
                if name in choices:
                    resolved[op] = choices[name]
                elif name not in result.missing:
                    result.missing.append(name)
        result.edits.append(resolved)
    return result


def changes(patches: list[RulePatch], app: App) -> list[FieldChange]:
    """Merge the edits of several rules into one change per field (CA-15 and CA-16 both want PKCE);
    edits the app already satisfies are dropped, so a second run changes nothing."""
    merged: dict[str, FieldChange] = {}
    for patch in patches:
        if not patch.applicable:
            continue
        for edit in patch.edits:
            name = edit["field"]
            change = merged.setdefault(name, FieldChange(name))
            current = app.get(name)
            if "set" in edit and not change.has_set:
                if current == edit["set"] and name not in ("policy.refresh_token.days",):
                    continue
                change.set, change.has_set = edit["set"], True
            elif "add" in edit:
                if edit["add"] in (current or []) or edit["add"] in change.add:
                    continue
                change.add.append(edit["add"])
            elif "replace" in edit:
                pattern, replacement = edit["replace"]["pattern"], edit["replace"]["with"]
                if not any(re.search(pattern, str(item)) for item in current or []):
                    continue
                change.replace.append((pattern, replacement))
            else:
                continue
            change.rules.append(patch.rule_id)
    return [c for c in merged.values() if c.rules]
