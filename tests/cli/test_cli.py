"""The installed console script, run as users run it: exit codes, JSON contract, table, rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from auditor import __version__
from tests.conftest import JENKINS, MDAPI_APP, SAMPLE, run_cli, run_json


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"ca-audit {__version__}"


def test_exit_0_when_nothing_reaches_fail_on(tmp_path: Path):
    shutil.copy(MDAPI_APP, tmp_path)
    code, report = run_json("scan", str(tmp_path), "--fail-on", "critical")
    assert code == 0
    assert report["summary"]["findings"] > 0  # medium findings exist, but below the gate
    assert report["summary"]["exit_code"] == 0


def test_exit_1_when_a_finding_reaches_fail_on(tmp_path: Path):
    shutil.copy(MDAPI_APP, tmp_path)
    code, _report = run_json("scan", str(tmp_path), "--fail-on", "medium")
    assert code == 1


def test_exit_2_on_bad_usage():
    assert run_cli("scan", "--format", "yaml").returncode == 2
    assert run_cli("scan", "--fail-on", "severe").returncode == 2
    assert run_cli("scan", "--flow", "App=teleport").returncode == 2
    assert run_cli("scan", "--only", "CA-999", str(SAMPLE)).returncode == 2


def test_json_output_follows_the_contract(tmp_path: Path):
    folder = tmp_path / "force-app" / "main" / "default" / "connectedApps"
    folder.mkdir(parents=True)
    shutil.copy(JENKINS, folder)
    code, report = run_json("scan", str(tmp_path), "--fail-on", "medium")
    assert code == 1
    assert report["tool"] == {"name": "ca-audit", "version": __version__}
    assert set(report) >= {"tool", "summary", "apps", "findings", "input_errors"}
    assert report["apps"] == [{"name": "Jenkins", "kind": "connected_app",
                               "path": "force-app/main/default/connectedApps/Jenkins.connectedApp-meta.xml",
                               "origin": "files", "notes": []}]
    summary = report["summary"]
    assert summary["apps"] == 1 and summary["input_errors"] == 0
    assert summary["findings"] == len(report["findings"]) == sum(summary["by_severity"].values())
    for finding in report["findings"]:
        assert set(finding) >= {"rule_id", "severity", "app", "kind", "message", "fix", "location", "fingerprint"}
        assert finding["location"]["path"] == report["apps"][0]["path"]
        assert isinstance(finding["location"]["line"], int) and finding["location"]["line"] >= 1
    # The consumer key in this file is never printed, not even in part of a message.
    assert "3MVG9fixture.ConsumerKey.Jenkins.0123456789abcdefABCDEF0123456789abcdefABCDEF" not in json.dumps(report)


def test_flow_option_declares_a_flow_for_one_run(tmp_path: Path):
    shutil.copy(MDAPI_APP, tmp_path)
    _code, plain = run_json("scan", str(tmp_path))
    _code, declared = run_json("scan", str(tmp_path), "--flow", "Rest_Client=jwt-bearer")
    before = {f["rule_id"] for f in plain["findings"]}
    after = {f["rule_id"] for f in declared["findings"]}
    assert "CA-04" not in before and "CA-04" in after  # declared JWT use without a certificate


def test_only_and_skip_select_rules(tmp_path: Path):
    shutil.copy(MDAPI_APP, tmp_path)
    _code, only = run_json("scan", str(tmp_path), "--only", "CA-17,CA-18")
    assert {f["rule_id"] for f in only["findings"]} <= {"CA-17", "CA-18"}
    _code, skipped = run_json("scan", str(tmp_path), "--skip", "CA-17")
    assert "CA-17" not in {f["rule_id"] for f in skipped["findings"]}


def test_output_file_and_table_on_stdout(tmp_path: Path):
    shutil.copy(JENKINS, tmp_path)
    target = tmp_path / "out" / "report.json"
    done = run_cli("scan", str(tmp_path), "--output", f"json={target}")
    assert json.loads(target.read_text())["summary"]["apps"] == 1
    assert "Jenkins" in done.stdout and "\033[" not in done.stdout  # no colour off a terminal


def test_table_groups_by_app_with_path_and_line(tmp_path: Path):
    shutil.copy(JENKINS, tmp_path)
    shutil.copy(MDAPI_APP, tmp_path)
    done = run_cli("scan", str(tmp_path))
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Jenkins") or lines[0].startswith("Rest_Client")
    # Named as the CI formats name it, from the working folder: the scanned folder, then the file.
    assert any(line.strip().startswith(f"{tmp_path.as_posix()}/Rest_Client.connectedApp:") for line in lines)
    assert lines[-1].startswith(("PASSED", "FAILED"))
    assert "2 apps audited" in lines[-1]


def test_rules_list_show_validate_test():
    listed = run_cli("rules", "list")
    assert listed.returncode == 0 and "CA-01" in listed.stdout
    shown = run_cli("rules", "show", "ca-01")
    assert shown.returncode == 0
    assert "Why" in shown.stdout and "Fix" in shown.stdout and "https://" in shown.stdout
    assert run_cli("rules", "show", "CA-404").returncode == 2
    validated = run_cli("rules", "validate")
    assert validated.returncode == 0 and "rules valid" in validated.stdout
    tested = run_cli("rules", "test")
    assert tested.returncode == 0, tested.stdout
    assert " 0 failed" in tested.stdout


def test_rules_test_fails_on_a_wrong_fixture(tmp_path: Path):
    (tmp_path / "X-1.yaml").write_text(
        "id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire: {field: oauth.scopes, contains: Api}\n"
        "tests:\n  - pass: {oauth: {scopes: [Web]}}\n  - fail: {oauth: {scopes: [Web]}}\n")
    done = run_cli("rules", "test", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL X-1 tests[0] (pass)" in done.stdout


def test_installed_script_finds_the_rule_pack_from_another_folder(tmp_path: Path):
    from auditor.engine.loader import builtin_rules_dir, rule_files

    done = run_cli("rules", "validate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{len(rule_files(builtin_rules_dir()))} rules valid"
    scanned = run_cli("scan", str(SAMPLE), "--format", "json", cwd=tmp_path)
    assert json.loads(scanned.stdout)["summary"]["apps"] == 13


def test_repository_and_org_copies_of_an_app_are_distinct_findings():
    code, report = run_json("scan", str(SAMPLE), str(SAMPLE / "org.snapshot.json"))
    assert code == 1
    ca01 = [f for f in report["findings"] if f["rule_id"] == "CA-01" and f["app"] == "SAML_Bearer_Integration"]
    assert sorted(f["origin"] for f in ca01) == ["files", "org"]
    assert len({f["fingerprint"] for f in ca01}) == 2


def test_a_folder_without_apps_passes_but_says_so(tmp_path: Path):
    code, report = run_json("scan", str(tmp_path))
    assert code == 0 and report["summary"]["apps"] == 0
    assert report["messages"] == [f"no Connected App or External Client App metadata found in {tmp_path}"]
