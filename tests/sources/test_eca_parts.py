"""External Client Apps assembled from the parts that are there: a missing OAuth settings file
(`.ecaOauth`) leaves the scopes unknown rather than empty, and parts named one by one on the
command line are joined into one app as when their folder is scanned."""

from __future__ import annotations

import shutil
from pathlib import Path

from auditor.sources.files import scan_paths
from tests.conftest import SAMPLE, run_json

DEFAULT = "force-app/main/default"
ORDER_SETTINGS = f"{DEFAULT}/extlClntAppOauthSettings/Order_Sync_Service_oauth.ecaOauth-meta.xml"
HEROKU_SETTINGS = SAMPLE / DEFAULT / "extlClntAppOauthSettings/Heroku_Event_Relay_oauth.ecaOauth-meta.xml"
HEROKU_GLOBAL = SAMPLE / DEFAULT / "extlClntAppGlobalOauthSets/Heroku_Event_Relay_glbloauth.ecaGlblOauth-meta.xml"
HEROKU_POLICIES = SAMPLE / DEFAULT / "extlClntAppOauthPolicies/Heroku_Event_Relay_oauthPlcy.ecaOauthPlcy-meta.xml"


def _sample_without_order_settings(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project)
    (project / ORDER_SETTINGS).unlink()
    return project


def test_without_the_oauth_settings_file_the_scopes_are_unknown(tmp_path):
    project = _sample_without_order_settings(tmp_path)
    app = next(a for a in scan_paths([str(project)]).apps if a.name == "Order_Sync_Service")
    assert app.get("oauth.scopes") is None
    assert "no OAuth settings file (.ecaOauth): scopes unknown" in app.notes
    # with the file, the scopes are read (the sample grants Api and RefreshToken)
    with_file = next(a for a in scan_paths([str(SAMPLE)]).apps if a.name == "Order_Sync_Service")
    assert with_file.get("oauth.scopes") and "RefreshToken" in with_file.get("oauth.scopes")


def test_unknown_scopes_raise_no_scope_finding(tmp_path):
    project = _sample_without_order_settings(tmp_path)
    _code, report = run_json("scan", str(project))
    assert report["input_errors"] == []
    order = next(a for a in report["apps"] if a["name"] == "Order_Sync_Service")
    assert "no OAuth settings file (.ecaOauth): scopes unknown" in order["notes"]
    rules = {f["rule_id"] for f in report["findings"] if f["app"] == "Order_Sync_Service"}
    assert not rules & {"CA-01", "CA-06", "CA-14", "CA-17", "CA-18", "CA-20", "CA-27"}, rules
    # the same rule still fires where the scopes are known and lack refresh_token
    _code, report = run_json("scan", str(SAMPLE / "force-app"))
    assert any(f["rule_id"] == "CA-01" for f in report["findings"])


def test_preflight_says_unknown_not_ready_without_the_oauth_settings_file(tmp_path):
    project = _sample_without_order_settings(tmp_path)
    _code, result = run_json("preflight", "Order_Sync_Service", "--flow", "jwt-bearer", str(project),
                             str(project / "org.snapshot.json"))
    assert result["verdict"] == "UNKNOWN", result["summary"]
    status = {check["key"]: check["status"] for check in result["checks"]}
    assert status["standard-scope"] == "unknown" and status["refresh-scope"] == "unknown"
    assert "no OAuth settings file (.ecaOauth): scopes unknown" in result["notes"]
    # the complete sample app passes both scope checks
    _code, result = run_json("preflight", "Order_Sync_Service", "--flow", "jwt-bearer", str(SAMPLE),
                             str(SAMPLE / "org.snapshot.json"))
    status = {check["key"]: check["status"] for check in result["checks"]}
    assert status["standard-scope"] == "pass" and status["refresh-scope"] == "pass"


def test_parts_named_one_by_one_are_one_app():
    named = [str(p.relative_to(SAMPLE.parent)) for p in (HEROKU_SETTINGS, HEROKU_GLOBAL, HEROKU_POLICIES)]
    _code, report = run_json("scan", *named)
    assert report["input_errors"] == []
    assert [a["name"] for a in report["apps"]] == ["Heroku_Event_Relay"]
    app = report["apps"][0]
    assert app["path"] == str(HEROKU_GLOBAL.relative_to(SAMPLE.parent))  # shown as the user named it
    assert not any("global OAuth settings" in n or "OAuth settings file" in n or "policies file" in n
                   for n in app["notes"]), app["notes"]
    # the joined app is audited as it is when its folder is scanned
    _code, whole = run_json("scan", str(SAMPLE))
    from_folder = sorted(f["rule_id"] for f in whole["findings"] if f["app"] == "Heroku_Event_Relay")
    assert sorted(f["rule_id"] for f in report["findings"]) == from_folder


def test_named_parts_join_the_way_a_folder_scan_does():
    result = scan_paths([str(HEROKU_SETTINGS), str(HEROKU_GLOBAL)])
    assert result.errors == [] and len(result.apps) == 1
    app = result.apps[0]
    assert app.get("oauth.scopes") and app.get("oauth.callback_urls")
    assert app.root == "."


def test_a_part_named_twice_or_inside_a_named_folder_is_read_once():
    folder = SAMPLE / DEFAULT / "extlClntAppOauthSettings"
    result = scan_paths([str(HEROKU_SETTINGS), str(HEROKU_GLOBAL), str(HEROKU_GLOBAL), str(folder)])
    assert result.errors == []
    in_folder = sorted(p.name.split("_oauth.")[0] for p in folder.glob("*.ecaOauth-meta.xml"))
    assert "Heroku_Event_Relay" in in_folder and len(in_folder) > 1
    # the settings file is read with its folder; the global settings file, named twice, once
    from_folder = sorted(a.name for a in result.apps if a.root == str(folder))
    assert from_folder == in_folder
    assert [(a.name, a.root) for a in result.apps if a.root != str(folder)] == [("Heroku_Event_Relay", ".")]


def test_apps_of_one_name_in_two_projects_stay_apart(tmp_path):
    for project in ("one", "two"):
        shutil.copytree(SAMPLE / "force-app", tmp_path / project / "force-app")
    named = [str(tmp_path / project / DEFAULT / "extlClntAppOauthSettings" / HEROKU_SETTINGS.name)
             for project in ("one", "two")]
    result = scan_paths(named)
    assert result.errors == []
    assert [a.name for a in result.apps] == ["Heroku_Event_Relay", "Heroku_Event_Relay"]


def test_a_named_file_that_is_not_metadata_is_still_refused_beside_parts(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not metadata", encoding="utf-8")
    result = scan_paths([str(other), str(HEROKU_SETTINGS), str(HEROKU_GLOBAL)])
    assert [e.message.startswith("not a ConnectedApp") for e in result.errors] == [True]
    assert [a.name for a in result.apps] == ["Heroku_Event_Relay"]
