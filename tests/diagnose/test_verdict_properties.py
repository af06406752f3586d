"""Properties of every preflight verdict, over every sample app (files, and the sample org snapshot)
and every app of the public corpus when it is there:

- READY never coexists with a confirmed blocking cause: an active finding at or above the blocking
  threshold of a rule tied to the flow, unless the checklist says why it does not block (an
  unconfirmed prerequisite, an advisory rule, or org data that overrides the inference);
- any unknown input that could block makes the verdict UNKNOWN (or WILL FAIL, when something else
  certainly blocks), never READY;
- WILL FAIL only from a confirmed or practitioner cause.

The scan side is computed by the engine's `run_rules`, independently of how preflight groups it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from auditor.diagnose.preflight import FAIL, MAY_FAIL, PASS, UNKNOWN_STATUS, Result, checklist, evaluate, preflight
from auditor.engine.conditions import holds
from auditor.engine.evaluate import run_rules
from auditor.model import PREFLIGHT_FLOWS, READY, UNCONFIRMED, UNKNOWN, WILL_FAIL, Severity
from auditor.pipeline import AuditOptions, apps_of, declare, prepare, read_sources
from tests.conftest import CORPUS, SAMPLE

TODAY = dt.date(2026, 11, 28)  # before the username-password retirement


def confirmed_blocking_causes(app, flow, rules, config) -> list[str]:
    """The rule ids whose findings certainly block the flow, by the engine and the checklist data alone."""
    threshold = min(Severity.HIGH, config.fail_on)
    flow_rules = [r for r in rules if flow in r.flows]
    items = [i for i in checklist(flow) if not i.kinds or app.kind in i.kinds]
    causes = []
    for check in run_rules(flow_rules, [app], config):
        finding = check.finding
        if finding is None or finding.waived or finding.severity < threshold:
            continue
        owners = [i for i in items if finding.rule_id in i.rules]
        if any(i.evidence == UNCONFIRMED or finding.rule_id in i.advisory
               or any(holds(o["when"], app.values) for o in i.override_if) for i in owners):
            continue
        causes.append(finding.rule_id)
    return causes


def check(result: Result, app, rules, config) -> None:
    where = f"{app.name} ({app.kind}, {app.path}) {result.flow}: {result.verdict} — {result.summary}"
    statuses = [(line.key, line.status, line.could_block) for line in result.lines]
    if result.verdict == READY:
        assert confirmed_blocking_causes(app, result.flow, rules, config) == [], where
        assert not any(line.status in (FAIL, MAY_FAIL) for line in result.lines), (where, statuses)
    if any(line.status == UNKNOWN_STATUS and line.could_block for line in result.lines) or \
            any(line.status == MAY_FAIL for line in result.lines):
        assert result.verdict in (UNKNOWN, WILL_FAIL), (where, statuses)
        if not any(line.blocking for line in result.lines):
            assert result.verdict == UNKNOWN, (where, statuses)
    if result.verdict == WILL_FAIL:
        blocking = [line for line in result.lines if line.blocking]
        assert blocking and all(line.evidence != UNCONFIRMED for line in blocking), (where, statuses)
    for line in result.lines:  # a ✓ about users only with those users read from the org
        if line.status == PASS and line.org:
            assert app.get("org.integration_users") and not app.get("org.unread_integration_users"), where


@pytest.mark.parametrize("source", ["files", "snapshot"])
def test_every_sample_app_and_flow(source):
    paths = [str(SAMPLE)] if source == "files" else [str(SAMPLE / "org.snapshot.json")]
    if source == "snapshot" and not (SAMPLE / "org.snapshot.json").is_file():
        pytest.skip("sample_configs/org.snapshot.json is not there")
    setup = prepare(AuditOptions(paths=paths))
    names = sorted({a.name for a in apps_of(read_sources(AuditOptions(paths=paths), setup.config),
                                            setup.config.integration_users).apps})
    verdicts: Counter[str] = Counter()
    for name in names:
        for flow in PREFLIGHT_FLOWS:
            result = preflight(name, flow, paths, today=TODAY)
            if result.input_errors:
                continue
            from auditor.pipeline import audit_app

            loaded = audit_app(AuditOptions(paths=paths), name, [flow])
            assert loaded.app is not None
            check(result, loaded.app, loaded.rules, loaded.config)
            verdicts[result.verdict] += 1
    # not vacuous: files alone leave user checks unknown; the snapshot can make a flow READY
    assert verdicts[UNKNOWN] >= 5 and verdicts[WILL_FAIL] >= 10, verdicts
    if source == "snapshot":
        assert verdicts[READY] >= 3, verdicts


def test_every_corpus_app_and_flow():
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS} (tests read it from ../shared/corpus)")
    options = AuditOptions(paths=[str(CORPUS)])
    setup = prepare(options)
    assert setup.errors == []
    apps = apps_of(read_sources(options, setup.config), setup.config.integration_users).apps
    assert len(apps) >= 50
    verdicts: Counter[str] = Counter()
    for flow in PREFLIGHT_FLOWS:
        declare(apps, setup.config, {app.name: [flow] for app in apps})
        for app in apps:
            result = Result(app=app.name, flow=flow, kind=app.kind, path=app.path)
            evaluate(result, app, setup.rules, setup.config, TODAY)
            check(result, app, setup.rules, setup.config)
            verdicts[result.verdict] += 1
    # files only: nothing is READY for a flow whose user checks need the org
    assert verdicts[WILL_FAIL] > 0 and verdicts[UNKNOWN] > 0, verdicts
