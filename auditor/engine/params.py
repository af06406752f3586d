"""Rule parameters (as yamllint's per-rule `CONF`): a rule declares `params` with a description, a
JSON Schema and usually a default; `.ca-audit.yaml` sets them under `rules: ID: {params: …}`; a
condition names one as `{param: NAME}`. A parameter without a default turns its rule off until the
config sets it (an allow-list that means nothing before someone writes it)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from auditor import __version__, cache
from auditor.digest import sha256_hex
from auditor.engine.rule import Rule

_BOUND: dict[tuple[int, str], Rule | None] = {}


def param_names(condition: Any) -> list[str]:
    """Every `{param: NAME}` inside a condition (or anything nested in it)."""
    if isinstance(condition, dict):
        if set(condition) == {"param"}:
            return [condition["param"]]
        return [name for value in condition.values() for name in param_names(value)]
    if isinstance(condition, list):
        return [name for value in condition for name in param_names(value)]
    return []


def bind(rule: Rule, configured: dict[str, Any] | None = None) -> Rule | None:
    """The rule with its parameters filled in (configured values over defaults), or None when a
    parameter without a default is not configured: the rule is off. Cached, so that conditions
    keep their identity (they are compiled once per object)."""
    if not rule.params:
        return rule
    configured = configured or {}
    key = (id(rule), json.dumps(configured, sort_keys=True, default=str))
    if key not in _BOUND:
        values = {name: configured.get(name, spec.get("default")) for name, spec in rule.params.items()}
        if any(name not in configured and "default" not in spec for name, spec in rule.params.items()):
            _BOUND[key] = None
        else:
            _BOUND[key] = replace(
                rule, when=_fill(rule.when, values), require=_fill(rule.require, values),
                severity_if=[{**entry, "when": _fill(entry["when"], values)} for entry in rule.severity_if])
    return _BOUND[key]


def _fill(condition: Any, values: dict[str, Any]) -> Any:
    if isinstance(condition, dict):
        if set(condition) == {"param"}:
            return values[condition["param"]]
        return {key: _fill(value, values) for key, value in condition.items()}
    if isinstance(condition, list):
        return [_fill(value, values) for value in condition]
    return condition


def param_problems(rule: Rule, configured: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with the parameters a config sets for a rule: (parameter, `NAME…: message`)."""
    problems = []
    for name in sorted(set(configured) - set(rule.params)):
        declared = ", ".join(sorted(rule.params)) or "none"
        problems.append((name, f"{name}: {rule.id} has no parameter {name!r} (its parameters: {declared})"))
    wanted = {name: value for name, value in configured.items() if name in rule.params}
    # A value that validated once is remembered (like the rule pack), so the pre-commit hook does not
    # import jsonschema (~60 ms) on every run.
    key = "params-" + sha256_hex(json.dumps(
        [__version__, {n: [rule.params[n]["schema"], v] for n, v in wanted.items()}], sort_keys=True,
        default=str).encode())
    if wanted and cache.read(key) is not True:
        import jsonschema

        found = []
        for name, value in sorted(wanted.items()):
            validator = jsonschema.Draft202012Validator(rule.params[name]["schema"])
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is not None:
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
                found.append((name, f"{name}{where}: {error.message}"))
        if not found:
            cache.write(key, True)
        problems += found
    return problems
