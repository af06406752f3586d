"""The one pipeline every command runs: config → rules → sources (read once) → declarations →
rules over apps → waivers → Report. `audit` is the whole run (scan, CI); `audit_app` picks one app
with flows declared for it (preflight, explain).

Config and rule problems stop the run before anything is scanned: findings from a rule pack
that did not load completely could not be trusted.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import Config, config_line, find_config, load_config
from auditor.engine.conditions import MatchRefused
from auditor.engine.evaluate import active_rules, apply_waivers, run_rules
from auditor.engine.loader import builtin_rules_dir, load_rules
from auditor.engine.params import param_problems
from auditor.engine.rule import Rule
from auditor.model import App, InputError, Report, Severity, display_path
from auditor.sources import Inputs, SourceResult, org_apps, read_inputs
from auditor.sources.normalize import infer_flows
from auditor.suggest import suggestion

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget


@dataclass
class AuditOptions:
    """What a run was asked to do: the command line's choices, for every command."""

    paths: list[str] = field(default_factory=lambda: ["."])
    config_path: Path | None = None
    extra_rule_dirs: list[Path] = field(default_factory=list)
    fail_on: Severity | None = None  # overrides the config
    only: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)
    declared_flows: dict[str, list[str]] = field(default_factory=dict)  # from --flow APP=FLOW
    today: dt.date | None = None  # injectable clock for waiver expiry
    org: OrgTarget | None = None  # also audit a live org
    exclude: list[str] = field(default_factory=list)  # --exclude GLOB (gitignore syntax), for folder scans
    strict_flows: bool = False  # raise UnknownApps for a --flow app no scanned folder has (scan opts in)


class UnknownApps(ValueError):
    """--flow named apps that no scanned app has: its flows would silently not apply."""

    def __init__(self, names: list[str], known: set[str]) -> None:
        super().__init__(f"unknown app(s): {', '.join(names)}")
        self.names, self.known = names, known


class UnknownRuleIds(ValueError):
    """--only/--skip named rule ids no loaded rule has: the run cannot do what was asked."""

    def __init__(self, ids: list[str], known: set[str]) -> None:
        super().__init__(f"unknown rule id(s): {', '.join(ids)}")
        self.ids, self.known = ids, known


class Setup:
    """What the audit runs with: the config and the selected rules (or why it cannot run). A plain
    class, as AppAudit: a dataclass costs ~0.5 ms of every run's start-up."""

    __slots__ = ("config", "rules", "errors", "known")

    def __init__(self, config: Config, rules: list[Rule], errors: list[InputError], known: set[str]) -> None:
        self.config = config
        self.rules = rules
        self.errors = errors
        self.known = known  # every loaded rule's id, selected or not


def prepare(options: AuditOptions) -> Setup:
    config_path = options.config_path or find_config(Path(options.paths[0] if options.paths else "."))
    config, config_errors = load_config(config_path)
    if options.config_path and not os.path.lexists(options.config_path):
        config_errors = [InputError(str(options.config_path), None, "config file not found")]
    rules, rule_errors = load_rules([builtin_rules_dir(), *config.rule_dirs, *options.extra_rule_dirs])
    errors = config_errors + rule_errors
    known = {rule.id for rule in rules}
    if rules:  # with a pack that failed to load every id would look unknown
        unknown = sorted((options.only | options.skip) - known)
        if unknown:  # a usage mistake, not an input the audit could not read
            raise UnknownRuleIds(unknown, known)
        # A misspelt id under `rules:` would silently leave the rule on (or at its severity).
        configured = config.disabled_rules | set(config.severity_overrides) | set(config.rule_params)
        shown = config_shown(config) or "config"
        for rule_id in sorted(configured - known):
            message = f"at rules.{rule_id}: no loaded rule has this id{suggestion(rule_id, known)}"
            errors.append(InputError(shown, config_line(config, ["rules", rule_id]), message))
        by_id = {rule.id: rule for rule in rules}
        for rule_id, values in sorted(config.rule_params.items()):
            if rule_id in by_id:
                for name, problem in param_problems(by_id[rule_id], values):
                    errors.append(InputError(shown, config_line(config, ["rules", rule_id, "params", name]),
                                             f"at rules.{rule_id}.params.{problem}"))
    selected = [r for r in rules if (not options.only or r.id in options.only) and r.id not in options.skip]
    return Setup(config, selected, errors, known)


def read_sources(options: AuditOptions, config: Config, extra_users: list[str] | None = None) -> Inputs:
    """Read every source once. The org pull reads the config's integration users (and `extra_users`)."""
    wanted = {u for names in config.integration_users.values() for u in names} | set(extra_users or [])
    return read_inputs(options.paths, options.org, sorted(wanted), exclude=options.exclude)


def apps_of(inputs: Inputs, integration_users: Mapping[str, list[str]]) -> SourceResult:
    """Repository and org apps together; when both are there, each repository app is compared with
    the org (CA-24, CA-32)."""
    result = SourceResult(list(inputs.repository.apps), list(inputs.repository.errors), list(inputs.repository.notes))
    from_org = org_apps(inputs.orgs, integration_users)
    result.extend(from_org)
    if inputs.repository.apps and from_org.apps:
        from auditor.drift import compare

        compare(inputs.repository.apps, from_org.apps)
    return result


def config_shown(config: Config) -> str | None:
    """The config's path as other paths are shown: relative to the working folder, also when it
    was found in a folder above it (`../.ca-audit.yaml` when a subfolder is scanned)."""
    if config.path is None:
        return None
    path = config.path.resolve()
    if path.parent in Path.cwd().resolve().parents:
        return Path(os.path.relpath(path)).as_posix()
    return display_path(config.path)


def audit(options: AuditOptions, source: SourceResult | None = None) -> Report:
    setup = prepare(options)
    fail_on = options.fail_on if options.fail_on is not None else setup.config.fail_on
    shown = config_shown(setup.config)
    if setup.errors:
        return Report(apps=[], findings=[], input_errors=setup.errors, fail_on=fail_on, config=shown)
    if source is None:
        source = apps_of(read_sources(options, setup.config), setup.config.integration_users)
    unknown_apps = undeclared_flow_apps(options.declared_flows, source.apps, options.paths)
    if unknown_apps and options.strict_flows:  # a usage mistake: the run would silently skip what the flow declares
        raise UnknownApps(unknown_apps, {app.name for app in source.apps})
    declare(source.apps, setup.config, options.declared_flows)
    try:
        checks = run_rules(setup.rules, source.apps, setup.config)
    except MatchRefused as refused:  # a `matches` rule cannot decide in bounded time: not a pass, not a fail
        return Report(apps=source.apps, findings=[], fail_on=fail_on, config=shown,
                      input_errors=[*source.errors, InputError(refused.path or "rules", None, str(refused))])
    findings = [check.finding for check in checks if check.finding is not None]
    findings.sort(key=lambda f: (-f.severity, f.app, f.rule_id))
    ran = {rule.id for rule in active_rules(setup.rules, setup.config)}
    messages = apply_waivers(findings, setup.config.waivers, options.today or dt.date.today(),
                             not_run=setup.known - ran, ran=ran)
    messages += undeclared_apps(setup.config, source.apps, options.paths)
    messages[:0] = source.notes
    if not source.apps and not source.errors:
        where = ", ".join(options.paths) or ("the org" if options.org else "the files named")
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
        config=shown,
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


def undeclared_flow_apps(cli_flows: Mapping[str, list[str]], apps: list[App], paths: list[str]) -> list[str]:
    """--flow apps that match no scanned app (a typo would drop the flows without a word). Only
    decided when whole folders were scanned, as for `undeclared_apps`."""
    if not cli_flows or not paths or not all(Path(p).is_dir() for p in paths):
        return []
    names = {app.name for app in apps}
    return sorted(set(cli_flows) - names)


class AppAudit:
    """One app read and prepared for a flow check (preflight, explain), or why it could not be."""

    __slots__ = ("app", "rules", "config", "input_errors", "known_apps")

    def __init__(self, app: App | None, rules: list[Rule], config: Config, input_errors: list[InputError],
                 known_apps: list[str]) -> None:
        self.app = app
        self.rules = rules
        self.config = config
        self.input_errors = input_errors
        self.known_apps = known_apps


def audit_app(options: AuditOptions, app_name: str, flows: list[str], user: str | None = None) -> AppAudit:
    """Read the sources exactly as `audit` does, with `flows` declared for the app (and `user` as its only
    integration user), and pick the app by name or label. Repository and org copies of the app are merged:
    the repository says what will be deployed, the org who the users are. Sources are read once: an app
    named by its label or in other case only converts the org data again for its API name."""
    setup = prepare(options)
    if setup.errors:
        return AppAudit(None, [], setup.config, setup.errors, [])
    config = setup.config
    wanted = _app_key(app_name, [])
    declared_users = dict(config.integration_users)
    if user:  # the named user replaces the declared ones, so user rules speak about that user only
        config.integration_users = {**declared_users, app_name: [user]}
    inputs = read_sources(options, config, [user] if user else None)
    source = apps_of(inputs, config.integration_users)
    matches = [a for a in source.apps if _app_key(a.name, [a.get("label")]) & wanted]
    if user and any(a.name != app_name for a in matches):  # named by label or in other case
        config.integration_users = {**declared_users, **{a.name: [user] for a in matches}}
        source = apps_of(inputs, config.integration_users)
        matches = [a for a in source.apps if _app_key(a.name, [a.get("label")]) & wanted]
    names = sorted({a.name for a in source.apps})
    declare(source.apps, config, {a.name: flows for a in matches})
    if user:
        for app in matches:
            app.set("integration_users", [user])
    if not matches:
        return AppAudit(None, setup.rules, config, source.errors, names)
    return AppAudit(_merged(matches), setup.rules, config, source.errors, names)


def _merged(matches: list[App]) -> App:
    """The repository copy of the app, with the org fields its org copy adds."""
    repo = [a for a in matches if a.get("org.installed") is None]
    chosen = repo[0] if repo else matches[0]
    for other in matches:
        if other is not chosen:
            for name, value in other.values.items():
                if name.startswith("org.") and chosen.get(name) is None:
                    chosen.set(name, value)
    return chosen


def _app_key(name: str, labels: list[Any]) -> set[str]:
    keys = {name.lower()}
    keys |= {str(label).lower() for label in labels if label}
    return keys
