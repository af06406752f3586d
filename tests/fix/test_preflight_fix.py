"""`preflight … --fix`: the patch that clears every failing check of the seed case, proven by running
the command it names and preflight again; and the README shows a real run. From files alone the
patched app is UNKNOWN, not READY: the user checks could block the flow and need org data."""

from __future__ import annotations

import json
import shlex
import shutil

from tests.conftest import REPO, SAMPLE, run_cli

SEED = "SAML_Bearer_Integration"
COMMAND = (f"ca-audit preflight {SEED} --flow saml2-bearer sample_configs --fix "
           "--assign-permission-set Claims_Integration")


def _readme_block(command: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"$ {command}\n") + len(command) + 3
    return text[start:text.index("\n```", start)]


def test_readme_ends_the_walkthrough_with_a_real_fix_run():
    shown = _readme_block(COMMAND)
    assert run_cli(*shlex.split(COMMAND)[1:]).stdout.rstrip("\n") == shown, \
        "README 'My bearer flow fails' shows outdated `preflight --fix` output: run it and paste what it prints"


def test_the_named_command_leaves_only_the_org_checks(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "sample_configs", ignore=shutil.ignore_patterns("org.snapshot.json"))
    shown = run_cli(*shlex.split(COMMAND)[1:], cwd=tmp_path)
    assert shown.returncode == 1, shown.stderr  # the files still fail until the patch is applied
    assert "With the patch: UNKNOWN" in shown.stdout
    assert "  ? The user holds one of the app's profiles or permission sets" in shown.stdout
    apply = shown.stdout.split("apply it with `", 1)[1].split("`", 1)[0]
    done = run_cli(*shlex.split(apply)[1:], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    again = run_cli("preflight", SEED, "--flow", "saml2-bearer", "sample_configs", cwd=tmp_path)
    assert again.returncode == 2 and "UNKNOWN — 2 prerequisite(s) cannot be judged" in again.stdout, again.stdout
    assert "✗" not in again.stdout
    unknown = [line for line in again.stdout.splitlines() if line.startswith("  ? ")]
    assert unknown and all("user" in line.lower() or "CA-11" in line for line in unknown), unknown


def test_without_the_choice_the_patch_says_what_it_needs(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "sample_configs", ignore=shutil.ignore_patterns("org.snapshot.json"))
    shown = run_cli("preflight", SEED, "--flow", "saml2-bearer", "sample_configs", "--fix", cwd=tmp_path)
    assert "+        <scopes>RefreshToken</scopes>" in shown.stdout and "isAdminApproved>true" not in shown.stdout
    assert "needs a choice: CA-02 — give --assign-permission-set NAME" in shown.stdout
    # Still self-authorized: whether the user approved the app cannot be seen in files (evidence rule)
    assert "With the patch: UNKNOWN" in shown.stdout and "? The user has approved the app before" in shown.stdout
    data = json.loads(run_cli("preflight", SEED, "--flow", "saml2-bearer", "sample_configs", "--fix",
                              "--format", "json", cwd=tmp_path).stdout)
    assert data["verdict"] == "WILL FAIL" and data["fix_verdict"] == "UNKNOWN"
    assert data["fix"]["patches"][0]["needs_choice"][0]["rule_id"] == "CA-02"


def test_a_ready_app_has_no_patch():
    shown = run_cli("preflight", "Integration_App", "--flow", "jwt-bearer", "sample_configs",
                    "sample_configs/org.snapshot.json", "--user", "order.integration@northwind.example.com", "--fix")
    assert shown.returncode == 0 and "Now: READY" in shown.stdout and "Patch" not in shown.stdout


def test_an_app_unknown_only_for_org_checks_has_no_patch():
    shown = run_cli("preflight", "Integration_App", "--flow", "jwt-bearer", "sample_configs", "--fix")
    assert shown.returncode == 2 and "Now: UNKNOWN" in shown.stdout and "Patch" not in shown.stdout
