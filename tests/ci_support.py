"""Shared helpers for the CI-format tests: schema loading and report building."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = REPO.parent / "shared" / "reference" / "sarif-schema-2.1.0.json"


def sarif_validator():
    """The official SARIF 2.1.0 schema, read from ../shared next to the repository."""
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"official SARIF schema not found at {SARIF_SCHEMA}")
    from jsonschema import Draft4Validator

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def assert_valid_sarif(document: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


CONNECTED_APP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>admin@example.com</contactEmail>
    <label>{name}</label>
    <oauthConfig>
        <callbackUrl>https://login.salesforce.com/services/oauth2/callback</callbackUrl>
        <certificate>MIIC...</certificate>
        <scopes>Api</scopes>
    </oauthConfig>
</ConnectedApp>
"""


def handmade_report(root: Path, fail_on: str = "high"):
    """A report built from model objects over real files: two apps, findings of each level."""
    from auditor.engine.rule import Rule
    from auditor.model import App, Check, Finding, Location, Report, Severity

    folder = root / "force-app" / "main" / "default" / "connectedApps"
    folder.mkdir(parents=True, exist_ok=True)
    apps = []
    for name in ("Integration_App", "Clean_App", "Legacy, App: 100%"):
        rel = f"force-app/main/default/connectedApps/{name}.connectedApp-meta.xml"
        (root / rel).write_text(CONNECTED_APP_XML.format(name=name), encoding="utf-8")
        app = App("connected_app", name, rel, root=str(root))
        app.set("oauth.scopes", ["Api"], Location(rel, 8, None))
        apps.append(app)
    integration, clean, legacy = apps

    rules = {
        "CA-01": Rule(
            "CA-01",
            "Bearer-capable app lacks the refresh_token scope",
            Severity.HIGH,
            "m",
            {},
            "r",
            why="invalid_grant: user hasn't approved this consumer",
            fix="Add <scopes>RefreshToken</scopes>",
            references=["https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm"],
            tags=["bearer", "oauth"],
        ),
        "CA-07": Rule(
            "CA-07",
            "Self-authorized permitted users",
            Severity.MEDIUM,
            "m",
            {},
            "r",
            why="Users must approve the app",
            fix="Set isAdminApproved to true",
            tags=["oauth"],
        ),
        "CA-20": Rule("CA-20", "Certificate inline", Severity.LOW, "m", {}, "r", fix="Rotate it"),
        "CA-30": Rule("CA-30", "Critical thing", Severity.CRITICAL, "m", {}, "r", fix="Fix it now"),
    }

    def finding(rule_id, app, message, line=8, waived_by=None, field="oauth.scopes"):
        rule = rules[rule_id]
        return Finding(
            rule_id,
            rule.severity,
            app.name,
            app.kind,
            message,
            rule.fix,
            Location(app.path, line, None),
            field=field,
            title=rule.title,
            waived_by=waived_by,
        )

    f1 = finding(
        "CA-01", integration, "Integration_App can run a bearer flow but lacks the refresh_token scope"
    )
    f2 = finding(
        "CA-07",
        integration,
        "Integration_App lets users self-authorize",
        line=None,
        field="oauth.permitted_users",
    )
    f3 = finding(
        "CA-20", legacy, "Legacy, App: 100% has a cert:\nline two", line=7, field="oauth.has_certificate"
    )
    f4 = finding(
        "CA-30",
        legacy,
        "Legacy is critical",
        waived_by={
            "rule": "CA-30",
            "app": legacy.name,
            "reason": "vendor cannot rotate",
            "owner": "sec-team",
            "ticket": "SEC-42",
            "expires": "2027-03-31",
        },
    )
    findings = [f1, f2, f3, f4]
    checks = [
        Check(integration, "CA-01", f1),
        Check(integration, "CA-07", f2),
        Check(integration, "CA-20"),
        Check(clean, "CA-01"),
        Check(clean, "CA-07"),
        Check(clean, "CA-20"),
        Check(legacy, "CA-01"),
        Check(legacy, "CA-20", f3),
        Check(legacy, "CA-30", f4),
    ]
    return Report(
        apps=apps,
        findings=findings,
        input_errors=[],
        fail_on=Severity.parse(fail_on),
        rules=rules,
        roots=[str(root)],
        checks=checks,
    )
