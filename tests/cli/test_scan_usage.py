"""Usage mistakes `scan` must not swallow, and run notes that must not mislead."""

from __future__ import annotations

import json

from tests.conftest import SAMPLE, run_cli


def test_a_mistyped_flow_app_is_a_usage_error_with_a_suggestion():
    done = run_cli("scan", str(SAMPLE), "--flow", "Integration_Ap=jwt-bearer", "--format", "json")
    assert done.returncode == 2
    assert done.stdout == ""  # no report that silently left the flow out
    assert "--flow: no scanned app 'Integration_Ap' (did you mean 'Integration_App'?)" in done.stderr


def test_a_flow_for_a_scanned_app_applies():
    done = run_cli("scan", str(SAMPLE), "--flow", "Integration_App=jwt-bearer", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    assert "--flow" not in done.stderr and json.loads(done.stdout)["summary"]


def test_a_flow_app_is_not_judged_when_single_files_are_scanned():
    # a file scan sees one app: another app's flow is not a mistake (as for config `apps:`)
    file = next((SAMPLE / "force-app/main/default/connectedApps").glob("Integration_App.*"))
    done = run_cli("scan", str(file), "--flow", "Other_App=jwt-bearer", "--format", "json")
    assert done.returncode in (0, 1), done.stderr


def test_a_waiver_whose_rule_did_not_run_is_not_called_unmatched():
    # sample_configs/.ca-audit.yaml waives CA-16 on MuleSoft_Sync, and the waiver matches in a full run
    full = run_cli("scan", str(SAMPLE), "--format", "json")
    waived = [f for f in json.loads(full.stdout)["findings"] if f["rule_id"] == "CA-16" and f.get("waived")]
    assert waived and "matches no finding" not in full.stderr + full.stdout
    for option in (["--only", "CA-01,CA-02"], ["--skip", "CA-16"]):
        done = run_cli("scan", str(SAMPLE), *option)
        assert "waiver for CA-16" not in done.stdout + done.stderr, option


def test_a_waiver_for_a_rule_that_ran_and_matched_nothing_is_still_reported(tmp_path):
    config = (SAMPLE / ".ca-audit.yaml").read_text(encoding="utf-8").replace("app: MuleSoft_Sync",
                                                                           "app: Partner_Portal", 1)
    (tmp_path / ".ca-audit.yaml").write_text(config, encoding="utf-8")
    done = run_cli("scan", str(SAMPLE), "--config", str(tmp_path / ".ca-audit.yaml"), "--only", "CA-16")
    assert "waiver for CA-16 on Partner_Portal matches no finding; remove it" in done.stdout + done.stderr


def test_org_only_findings_name_no_repository_file_in_ci_formats():
    snapshot = "sample_configs/org.snapshot.json"
    github = run_cli("scan", "sample_configs", snapshot, "--format", "github").stdout
    org_only = [line for line in github.splitlines() if "Data Loader Pro" in line and line.startswith("::")]
    assert org_only, github
    for line in org_only:  # a plain annotation titled with the org, no file= that does not exist
        assert "file=" not in line.split("::")[1] and f"title=org {snapshot.replace(':', '%3A')}%3A CA-" in line
    in_repo = [line for line in github.splitlines() if "file=" in line]
    assert in_repo and all(line.split("file=")[1].startswith("sample_configs/") for line in in_repo)

    sarif = json.loads(run_cli("scan", "sample_configs", snapshot, "--format", "sarif").stdout)
    for result in sarif["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (SAMPLE.parent / uri).is_file(), uri  # every artifact exists in the checkout
    results = [r for r in sarif["runs"][0]["results"] if r["properties"]["app"] == "Data_Loader_Pro"]
    assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == snapshot
                           for r in results)
    csv = run_cli("scan", "sample_configs", snapshot, "--format", "csv").stdout
    assert "force-app/main/default/connectedApps/Data_Loader_Pro" not in csv
