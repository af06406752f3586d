"""A committed OauthOidc.settings file: org-wide PKCE and blocked legacy flows (salesforce-facts.md §1.4)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from auditor.diagnose.preflight import preflight
from auditor.model import UNKNOWN, WILL_FAIL
from auditor.sources.files import scan_paths
from tests.conftest import SAMPLE, run_json

SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<OauthOidcSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <blockOAuthUnPwFlow>{block}</blockOAuthUnPwFlow>
    <blockOAuthUsrAgtFlow>true</blockOAuthUsrAgtFlow>
    <isPkceRequired>{pkce}</isPkceRequired>
</OauthOidcSettings>
"""


def project_with_settings(tmp_path: Path, *, pkce: bool, block: bool) -> Path:
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("org.snapshot.json"))
    settings = project / "force-app" / "main" / "default" / "settings"
    settings.mkdir()
    (settings / "OauthOidc.settings-meta.xml").write_text(
        SETTINGS.format(pkce=str(pkce).lower(), block=str(block).lower()), encoding="utf-8")
    return project


def test_settings_apply_to_the_apps_of_their_folder(tmp_path: Path):
    project = project_with_settings(tmp_path, pkce=True, block=False)
    result = scan_paths([str(project)])
    assert result.errors == []
    app = next(a for a in result.apps if a.name == "Legacy_Reporting")
    assert app.values["org_settings.pkce_required"] is True
    assert app.values["org_settings.username_password_blocked"] is False
    assert app.values["org_settings.user_agent_blocked"] is True
    location = app.locations["org_settings.pkce_required"]
    assert location.path == "force-app/main/default/settings/OauthOidc.settings-meta.xml" and location.line == 5
    # Without the file the org-wide settings are unknown, not false.
    plain = next(a for a in scan_paths([str(SAMPLE)]).apps if a.name == "Legacy_Reporting")
    assert plain.values["org_settings.pkce_required"] is None


def test_org_wide_pkce_silences_the_pkce_rules(tmp_path: Path):
    _code, before = run_json("scan", str(SAMPLE))
    _code, after = run_json("scan", str(project_with_settings(tmp_path, pkce=True, block=False)))
    fired = {(f["app"], f["rule_id"]) for f in before["findings"] if not f.get("waived")}
    assert ("Legacy_Reporting", "CA-16") in fired and ("Mobile_Field_App", "CA-15") in fired
    remaining = {f["rule_id"] for f in after["findings"]}
    assert "CA-15" not in remaining and "CA-16" not in remaining


def test_preflight_username_password_reads_the_org_setting(tmp_path: Path):
    today = dt.date(2026, 11, 28)
    allowed = preflight("Integration_App", "username-password",
                        [str(project_with_settings(tmp_path / "a", pkce=False, block=False))], today=today)
    line = next(line for line in allowed.lines if line.key == "org-allows")
    # allowed by the settings; the user still needs org data, and could block: UNKNOWN, never READY
    assert line.status == "pass" and allowed.verdict == UNKNOWN
    assert allowed.summary == ("1 prerequisite(s) cannot be judged from the source: The user exists in the org "
                               "and is active")
    blocked = preflight("Integration_App", "username-password",
                        [str(project_with_settings(tmp_path / "b", pkce=False, block=True))], today=today)
    assert blocked.verdict == WILL_FAIL
    line = next(line for line in blocked.lines if line.key == "org-allows")
    assert line.status == "fail" and "blockOAuthUnPwFlow" in line.reason
    unknown = preflight("Integration_App", "username-password", [str(SAMPLE)], today=today)
    line = next(line for line in unknown.lines if line.key == "org-allows")
    assert line.status == "unknown" and "OauthOidc settings (settings/OauthOidc.settings-meta.xml) do not say" \
        in line.reason and "Summer '23" in line.reason
