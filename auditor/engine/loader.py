"""Load rule packs: the built-in `rules/` plus any extra folders, validated before any scan."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import auditor
from auditor.datafile import load_validated, read_files
from auditor.engine.conditions import patterns_in
from auditor.engine.params import param_names
from auditor.engine.rule import Rule
from auditor.engine.templating import placeholders
from auditor.model import APP_KINDS, FIELDS, InputError, Severity, display_path

RULE_SCHEMA = "rule.schema.json"


def builtin_rules_dir() -> Path:
    package_dir = Path(auditor.__file__).parent
    installed = package_dir / "rules"  # a wheel installs the top-level rules/ as auditor/rules
    return installed if installed.is_dir() else package_dir.parent / "rules"


# A rule folder's `tests/` holds its file fixtures (rules/tests/CA-NN/{pass,fail}/…); a case may
# carry its own `.ca-audit.yaml`, which must never be read as a rule.
FIXTURES_DIR = "tests"


def rule_files(directory: Path) -> list[Path]:
    # os.walk pruning the fixture folders, not rglob filtering them afterwards: the built-in pack's
    # fixtures are ~300 files, and walking them cost every run (a pre-commit hook) ~10 ms.
    found = []
    for current, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d != FIXTURES_DIR]
        found += [Path(current, name) for name in filenames
                  if name.endswith((".yaml", ".yml")) and os.path.isfile(os.path.join(current, name))]
    return sorted(found)


def load_rules(directories: list[Path]) -> tuple[list[Rule], list[InputError]]:
    paths: list[tuple[Path, str]] = []
    errors: list[InputError] = []
    for directory in directories:
        if not directory.is_dir():
            errors.append(InputError(str(directory), None, "rule folder not found"))
            continue
        # One resolve for the folder, not one per file (start-up: the pack is read on every run).
        prefix = "" if (shown := display_path(directory)) == "." else shown + "/"
        paths.extend((file, prefix + file.relative_to(directory).as_posix()) for file in rule_files(directory))
    files, read_errors = read_files(paths)
    errors.extend(read_errors)
    documents, load_errors = load_validated(files, RULE_SCHEMA, check=semantic_problems)
    errors.extend(load_errors)
    invalid = {e.path for e in load_errors}
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for file, document in zip(files, documents, strict=True):
        if document is None or file.shown in invalid:
            continue
        if document["id"] in seen:
            errors.append(InputError(file.shown, None, f"rule id {document['id']} is already defined in "
                                    f"{seen[document['id']]}"))
        seen.setdefault(document["id"], file.shown)
        rules.append(build_rule(document, file.shown))
    return (rules if not errors else []), errors


def semantic_problems(document: dict[str, Any]) -> list[str]:
    """What the schema cannot say: regexes compile, placeholders and fixture fields exist."""
    problems = []
    conditions = [("when", document.get("when")), ("require", document.get("require"))]
    conditions += [(f"severity_if.{i}.when", e["when"]) for i, e in enumerate(document.get("severity_if", []))]
    for where, condition in conditions:
        for pattern in patterns_in(condition):
            try:
                re.compile(pattern)
            except re.error as error:
                problems.append(f"at {where}: invalid regular expression {pattern!r}: {error}")
    problems += _patch_problems(document.get("patch"))
    for name in placeholders(document["message"]):
        if name not in FIELDS:
            problems.append(f"at message: unknown field {{{name}}} in the template")
    declared = document.get("params", {})
    for where, condition in conditions:
        for name in param_names(condition):
            if name not in declared:
                problems.append(f"at {where}: {{param: {name}}} names no parameter under `params`")
    for index, case in enumerate(document.get("tests", [])):
        for outcome, model in case.items():
            if outcome == "params":
                problems += [f"at tests.{index}.params: unknown parameter {name}" for name in model
                             if name not in declared]
                continue
            for name in flatten(model):
                if name not in FIELDS:
                    problems.append(f"at tests.{index}.{outcome}: unknown field {name}")
    return problems


def _patch_problems(patch: dict[str, Any] | None) -> list[str]:
    """A list field takes `add` or `replace`, any other field `set`; patterns compile."""
    problems = []
    for index, edit in enumerate((patch or {}).get("edits", [])):
        where, is_list = f"at patch.edits.{index}", FIELDS.get(edit["field"]) == "array"
        if is_list and "set" in edit:
            problems.append(f"{where}: {edit['field']} is a list; use add or replace, not set")
        if not is_list and ("add" in edit or "replace" in edit):
            problems.append(f"{where}: {edit['field']} is not a list; use set")
        if "replace" in edit:
            try:
                re.compile(edit["replace"]["pattern"])
            except re.error as error:
                problems.append(f"{where}.replace: invalid regular expression: {error}")
        for pattern in patterns_in(edit.get("when")):
            try:
                re.compile(pattern)
            except re.error as error:
                problems.append(f"{where}.when: invalid regular expression {pattern!r}: {error}")
    return problems


def build_rule(document: dict[str, Any], source_path: str) -> Rule:
    severity = Severity.parse(document["severity"])
    return Rule(
        id=document["id"],
        title=document["title"],
        severity=severity,
        default_severity=severity,
        message=document["message"],
        require=document["require"],
        source_path=source_path,
        applies_to=tuple(document.get("applies_to", APP_KINDS)),
        when=document.get("when"),
        severity_if=document.get("severity_if", []),
        why=document.get("why", "").strip(),
        fix=document.get("fix", "").strip(),
        location=document.get("location"),
        references=document.get("references", []),
        tags=document.get("tags", []),
        tests=document.get("tests", []),
        patch=document.get("patch"),
        params=document.get("params", {}),
    )


def flatten(model: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{oauth: {scopes: [Api]}}` → `{"oauth.scopes": ["Api"]}`; dotted keys are accepted as is."""
    flat: dict[str, Any] = {}
    for key, value in model.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in FIELDS:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat

