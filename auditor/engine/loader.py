"""Load rule packs: the built-in `rules/` plus any extra folders, validated before any scan."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import auditor
from auditor import safeio
from auditor.datafile import Problem, load_validated, read_files
from auditor.engine.conditions import OPERATORS, pattern_problem, patterns_in
from auditor.engine.params import param_names
from auditor.engine.rule import Rule
from auditor.engine.templating import placeholders
from auditor.model import APP_KINDS, FIELDS, SEVERITY_WORDS, InputError, Severity, display_path

RULE_SCHEMA = "rule.schema.json"


def builtin_rules_dir() -> Path:
    package_dir = Path(auditor.__file__).parent
    installed = package_dir / "rules"  # a wheel installs the top-level rules/ as auditor/rules
    return installed if installed.is_dir() else package_dir.parent / "rules"


# A rule folder's `tests/` holds its file fixtures (rules/tests/CA-NN/{pass,fail}/…); a case may
# carry its own `.ca-audit.yaml`, which must never be read as a rule.
FIXTURES_DIR = "tests"


def rule_files(directory: Path, errors: list[InputError] | None = None) -> list[Path]:
    """Every rule file under `directory`. A sub-folder that cannot be listed is an error (its rules
    would silently not run); symlinked sub-folders are not followed."""
    found: list[Path] = []

    def unreadable(error: OSError) -> None:
        if errors is not None:
            where = safeio.display(display_path(Path(error.filename or directory)))
            errors.append(InputError(where, None, f"cannot read the rule folder: {error.strerror or error}"))

    # os.walk pruning the fixture folders, not filtering them afterwards: the built-in pack's fixtures
    # are ~300 files, and walking them cost every run (a pre-commit hook) ~10 ms.
    for current, dirnames, filenames in os.walk(directory, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if d != FIXTURES_DIR]
        found.extend(Path(current) / name for name in filenames if name.endswith((".yaml", ".yml")))
    return sorted(found)


def load_rules(directories: list[Path]) -> tuple[list[Rule], list[InputError]]:
    paths: list[tuple[Path, str, Path]] = []
    errors: list[InputError] = []
    for directory in directories:
        if not directory.is_dir():
            errors.append(InputError(safeio.display(directory), None, "rule folder not found"))
            continue
        # One resolve for the folder, not one per file (start-up: the pack is read on every run).
        prefix = "" if (shown := display_path(directory)) == "." else shown + "/"
        paths.extend((file, safeio.display(prefix + file.relative_to(directory).as_posix()), directory)
                     for file in rule_files(directory, errors))
    files = []
    for path, shown, directory in paths:
        # A rule file that links out of its folder is refused: rules are read from the folders named.
        read, read_errors = read_files([(path, shown)], inside=directory)
        files.extend(read)
        errors.extend(read_errors)
    documents, load_errors = load_validated(files, RULE_SCHEMA, check=semantic_problems, shape=rule_shape)
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


def semantic_problems(document: dict[str, Any]) -> list[Problem]:
    """What the schema cannot say: regexes compile, placeholders and fixture fields exist."""
    problems: list[Problem] = []
    conditions = [("when", document.get("when")), ("require", document.get("require"))]
    conditions += [(f"severity_if.{i}.when", e["when"]) for i, e in enumerate(document.get("severity_if", []))]
    for where, condition in conditions:
        for pattern in patterns_in(condition):
            problem = pattern_problem(pattern)
            if problem is not None:  # the pattern itself is not quoted: messages never echo values
                problems.append(f"at {where}: the `matches` regular expression is refused: {problem}")
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
        patterns = [("replace", edit["replace"]["pattern"])] if "replace" in edit else []
        patterns += [("when", pattern) for pattern in patterns_in(edit.get("when"))]
        for part, pattern in patterns:
            problem = pattern_problem(pattern)
            if problem is not None:  # the pattern itself is not quoted: messages never echo values
                problems.append(f"{where}.{part}: the regular expression is refused: {problem}")
    return problems


def _condition_shape(condition: object, depth: int = 0) -> bool:
    if not isinstance(condition, dict) or depth > 32:
        return False
    for key in ("all", "any"):
        if key in condition:
            parts = condition[key]
            return len(condition) == 1 and isinstance(parts, list) and bool(parts) and \
                all(_condition_shape(part, depth + 1) for part in parts)
    if "not" in condition:
        return len(condition) == 1 and _condition_shape(condition["not"], depth + 1)
    operators = [key for key in condition if key != "field"]
    return condition.get("field") in FIELDS and len(operators) == 1 and operators[0] in OPERATORS and \
        (operators[0] != "matches" or (isinstance(condition["matches"], str)
                                       and pattern_problem(condition["matches"]) is None))


def rule_shape(document: object) -> bool:
    """What a cached rule must still look like to be used without the schema (a tampered or stale
    cache entry of another shape is dropped and the rule files are parsed again)."""
    if not isinstance(document, dict):
        return False
    texts = all(isinstance(document.get(key), str) for key in ("id", "title", "message"))
    optional_texts = all(isinstance(document.get(key, ""), str) for key in ("why", "fix"))
    lists = all(isinstance(document.get(key, []), list) for key in ("references", "tags", "tests", "severity_if"))
    severity_if = lists and all(isinstance(e, dict) and e.get("severity") in SEVERITY_WORDS and
                                _condition_shape(e.get("when")) for e in document.get("severity_if", []))
    kinds = document.get("applies_to", list(APP_KINDS))
    return (texts and optional_texts and lists and severity_if and document.get("severity") in SEVERITY_WORDS
            and _condition_shape(document.get("require"))
            and ("when" not in document or _condition_shape(document["when"]))
            and isinstance(kinds, list) and all(k in APP_KINDS for k in kinds)
            and document.get("location") in (None, *FIELDS)
            and all(isinstance(case, dict) for case in document.get("tests", [])))


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

