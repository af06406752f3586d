"""The core loop: config → rules → sources → declarations → rules over apps → Report.

Config and rule problems stop the run before anything is scanned: findings from a rule pack
that did not load completely could not be trusted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine.config import Config, find_config, load_config
from auditor.engine.datafile import DataError
from auditor.engine.evaluate import apply_waivers, run_rules
from auditor.engine.loader import builtin_rules_dir, load_rules
from auditor.engine.rule import Rule
from auditor.model import App, InputError, Report, Severity, display_path
from auditor.sources import SourceResult
from auditor.sources.normalize import infer_flows


@dataclass
class AuditOptions:
    paths: list[str] = field(default_factory=lambda: ["."])
    config_path: Path | None = None
    extra_rule_dirs: list[Path] = field(default_factory=list)
    fail_on: Severity | None = None  # overrides the config
    only: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)
    declared_flows: dict[str, list[str]] = field(default_factory=dict)  # from --flow APP=FLOW
    today: dt.date | None = None  # injectable clock for waiver expiry
    org: Any = None  # auditor.orgcli.OrgTarget: also audit a live org (issue 3)


@dataclass
class Setup:
    """What the audit runs with: the config and the selected rules (or why it cannot run)."""

    config: Config
    rules: list[Rule]
    errors: list[InputError]


def prepare(options: AuditOptions) -> Setup:
    config_path = options.config_path or find_config(Path(options.paths[0] if options.paths else "."))
    config, config_errors = load_config(config_path)
    if options.config_path and not options.config_path.is_file():
        config_errors = [DataError(str(options.config_path), None, "config file not found")]
    rules, rule_errors = load_rules([builtin_rules_dir(), *config.rule_dirs, *options.extra_rule_dirs])
    errors = [InputError(e.path, e.line, e.message) for e in config_errors + rule_errors]
    known = {rule.id for rule in rules}
    if rules:  # with a pack that failed to load every id would look unknown
        for rule_id in sorted((options.only | options.skip) - known):
            errors.append(InputError("--only/--skip", None, f"unknown rule id {rule_id}"))
        # A misspelt id under `rules:` would silently leave the rule on (or at its severity).
        configured = config.disabled_rules | set(config.severity_overrides)
        for rule_id in sorted(configured - known):
            message = f"at rules.{rule_id}: no loaded rule has this id"
            errors.append(InputError(display_path(config.path), None, message))
    selected = [r for r in rules if (not options.only or r.id in options.only) and r.id not in options.skip]
    return Setup(config, selected, errors)


def read_sources(options: AuditOptions, config: Config | None = None) -> SourceResult:
    from auditor.sources.files import scan_paths

    if options.org is None and not any(p.lower().endswith(".json") for p in options.paths):
        return scan_paths(options.paths)  # the pre-commit path: no snapshot or org code loaded
    from auditor.sources.snapshot import read_with_org

    return read_with_org(options.paths, options.org, config, scan_paths)


def audit(options: AuditOptions, source: SourceResult | None = None) -> Report:
    setup = prepare(options)
    fail_on = options.fail_on if options.fail_on is not None else setup.config.fail_on
    if setup.errors:
        return Report(apps=[], findings=[], input_errors=setup.errors, fail_on=fail_on)
    source = source if source is not None else read_sources(options, setup.config)
    declare(source.apps, setup.config, options.declared_flows)
    checks = run_rules(setup.rules, source.apps, setup.config)
    findings = [check.finding for check in checks if check.finding is not None]
    findings.sort(key=lambda f: (-f.severity, f.app, f.rule_id))
    messages = apply_waivers(findings, setup.config.waivers, options.today or dt.date.today())
    messages += undeclared_apps(setup.config, source.apps, options.paths)
    if not source.apps and not source.errors:
        where = ", ".join(options.paths) or "the org"
        messages.insert(0, f"no Connected App or External Client App metadata found in {where}")
    return Report(
        apps=source.apps,
        findings=findings,
        input_errors=source.errors,
        fail_on=fail_on,
        rules={rule.id: rule for rule in setup.rules},
        roots=list(options.paths),
        checks=checks,
        messages=messages,
    )


def declare(apps: list[App], config: Config, cli_flows: dict[str, list[str]]) -> None:
    """Add declared flows and integration users (config `apps:` and --flow) to the apps."""
    for app in apps:
        declared = [*config.app_flows.get(app.name, []), *cli_flows.get(app.name, [])]
        app.set("flows_declared", list(dict.fromkeys(declared)))
        app.set("flows", list(dict.fromkeys(infer_flows(app.values) + declared)))
        app.set("integration_users", list(config.integration_users.get(app.name, [])))


def undeclared_apps(config: Config, apps: list[App], paths: list[str]) -> list[str]:
    """Config `apps:` entries that match no scanned app: most likely a misspelt name, which would
    silently drop the declared flows. Only said when whole folders were scanned."""
    if not config.app_flows or not paths or not all(Path(p).is_dir() for p in paths):
        return []
    names = {app.name for app in apps}
    return [f"{config.path.name if config.path else 'config'}: apps.{name} matches no scanned app; its flows "
            "and integration users are not applied" for name in sorted(set(config.app_flows) - names)]
