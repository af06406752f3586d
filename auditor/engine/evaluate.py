"""Apply rules to apps: `when` selects, `require` must hold, `severity_if` and config adjust."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fnmatch import fnmatchcase

from auditor.config import Config, Waiver
from auditor.engine.conditions import MatchRefused, compile_condition, holds
from auditor.engine.params import bind
from auditor.engine.rule import Rule
from auditor.engine.templating import render
from auditor.model import App, Check, Finding, Severity


def applies(rule: Rule, app: App) -> bool:
    return app.kind in rule.applies_to and (rule.when is None or holds(rule.when, app.values))


def evaluate_rule(rule: Rule, app: App) -> Finding | None:
    """The finding this rule raises on this app, or None when it passes."""
    if holds(rule.require, app.values):
        return None
    return Finding(
        rule_id=rule.id,
        severity=severity_for(rule, app),
        app=app.name,
        kind=app.kind,
        message=render(rule.message, app.values),
        fix=rule.fix,
        location=app.location_of(rule.location),
        field=rule.location,
        title=rule.title,
        notes=list(app.notes),
        origin=app.origin,
    )


def severity_for(rule: Rule, app: App) -> Severity:
    for entry in rule.severity_if:
        if holds(entry["when"], app.values):
            return Severity.parse(entry["severity"])
    return rule.severity


def active_rules(rules: Iterable[Rule], config: Config) -> list[Rule]:
    """The rules that run: not turned off in the config, with parameters filled in from it (a rule
    whose required parameter is not set is off)."""
    bound = (bind(r, config.rule_params.get(r.id)) for r in rules if r.id not in config.disabled_rules)
    return [r for r in bound if r is not None]


def run_rules(rules: Iterable[Rule], apps: Iterable[App], config: Config) -> list[Check]:
    active = active_rules(rules, config)
    # The same test as `applies`, compiled once per rule: this loop runs rules × apps times.
    selectors = [(rule, compile_condition(rule.when) if rule.when else None) for rule in active]
    checks = []
    for app in apps:
        for rule, selects in selectors:
            try:
                if app.kind not in rule.applies_to or (selects is not None and not selects(app.values)):
                    continue
                finding = evaluate_rule(rule, app)
            except MatchRefused as refused:
                raise MatchRefused(f"{rule.id} cannot check {app.name}: {refused}", app.path) from None
            if finding is not None and rule.id in config.severity_overrides:
                finding.severity = config.severity_overrides[rule.id]
            checks.append(Check(app, rule.id, finding))
    return checks


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: dt.date,
                  not_run: Iterable[str] = (), ran: Iterable[str] = ()) -> list[str]:
    """Mark waived findings; return the run-level messages (expired and unmatched waivers).

    `not_run` is the ids of loaded rules that did not run (--only, --skip, turned off), `ran` those
    that did: a waiver only for rules that did not run could not have matched anything, and is not
    called unmatched. A waiver for an id no rule has still is."""
    messages = []
    not_run, ran = set(not_run), set(ran)
    for waiver in waivers:
        matching = [f for f in findings if _waiver_matches(waiver, f)]
        if (not matching and any(fnmatchcase(i, waiver.rule) for i in not_run)
                and not any(fnmatchcase(i, waiver.rule) for i in ran)):
            continue  # its rule did not run: nothing to say about it
        if waiver.expires is not None and waiver.expired(today):
            since = waiver.expires.isoformat()
            if matching:
                messages.append(f"waiver for {waiver.rule} on {waiver.app} expired on "
                                f"{since}: its findings count again")
            else:
                messages.append(f"waiver for {waiver.rule} on {waiver.app} expired on {since} "
                                "and matches no finding; remove it")
            for finding in matching:  # each format shows the finding's notes next to it
                finding.notes.append(f"waiver expired on {since} ({waiver.reason})")
            continue
        for finding in matching:
            finding.waived_by = waiver.as_dict()
        waiver.matched = bool(matching)
        if not matching:
            messages.append(f"waiver for {waiver.rule} on {waiver.app} matches no finding; remove it")
    return messages


def _waiver_matches(waiver: Waiver, finding: Finding) -> bool:
    return fnmatchcase(finding.rule_id, waiver.rule) and fnmatchcase(finding.app, waiver.app)
