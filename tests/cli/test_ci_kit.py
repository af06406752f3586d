"""The adoption kit works as documented: the composite action's scripts and the pre-commit hooks."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auditor.sources.files import METADATA_SUFFIXES
from tests.ci_support import assert_valid_sarif, sample_copy
from tests.conftest import REPO, SAMPLE_APPS

ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def step(step_id_or_name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if step_id_or_name in (s.get("id"), s.get("name")))


def run_step(name: str, inputs: dict[str, str], tmp_path: Path, cwd: Path, extra_env: dict | None = None):
    """Run one `run:` step with bash the way the runner does: inputs reach it through `env:`."""
    spec = step(name)
    values = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
    env = dict(os.environ, NO_COLOR="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]  # the installed ca-audit
    for key, expression in spec.get("env", {}).items():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", str(expression))
        env[key] = values[match.group(1)] if match else (extra_env or {}).get(key, "")
    env.update(extra_env or {})
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    env |= {
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary"),
        "RUNNER_TEMP": str(runner),
    }
    script = runner / "step.sh"
    script.write_text(spec["run"], encoding="utf-8")
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def outputs(tmp_path: Path) -> dict[str, str]:
    text = (tmp_path / "runner" / "output").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.fixture
def checkout(tmp_path) -> Path:
    workspace = tmp_path / "workspace"
    sample_copy(workspace / "sample", odd_app=False)
    return workspace


def test_action_inputs_are_used_by_the_scan_step():
    scan_env = step("scan")["env"]
    used = {m.group(1) for v in scan_env.values() for m in [re.search(r"inputs\.([\w-]+)", str(v))] if m}
    assert used == set(ACTION["inputs"]) - {"upload-sarif", "category", "python-version", "pip-cache",
                                            "github-token"}
    assert "${{" not in step("scan")["run"]  # no input is pasted into the script (injection)


def test_action_scan_step_writes_sarif_summary_annotations_and_exit_code(checkout, tmp_path):
    done = run_step("scan", {"paths": "sample"}, tmp_path, checkout)
    assert done.returncode == 0, done.stderr  # the step records the code; the Gate step fails the job
    assert outputs(tmp_path)["exit-code"] == "1"
    assert_valid_sarif(json.loads((checkout / "ca-audit.sarif").read_text(encoding="utf-8")))
    summary = (tmp_path / "runner" / "summary").read_text(encoding="utf-8")
    assert summary.startswith("## ca-audit") and summary.index("| Rule |") < summary.index("| Severity |")
    assert "Integration_App" not in summary  # passing apps are only counted
    assert re.search(r"^::error file=sample/force-app/", done.stdout, re.M)
    # GitHub's per-step limit: 10 error annotations, then one notice says how many more.
    assert len(re.findall(r"^::error file=", done.stdout, re.M)) == 10
    assert re.search(r"^::notice title=ca-audit%3A \d+ more::", done.stdout, re.M)
    assert outputs(tmp_path)["markdown"].endswith("ca-audit-summary.md")


def test_third_party_actions_are_pinned_by_commit_sha():
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses), uses
    text = (REPO / "action.yml").read_text(encoding="utf-8")
    assert all(re.search(re.escape(u) + r" # v\d+\.\d+\.\d+$", text, re.M) for u in uses)


def test_sarif_upload_is_skipped_on_pull_requests_from_forks():
    condition = " ".join(step("Upload SARIF to code scanning")["if"].split())
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "github.event.pull_request == null" in condition


FAKE_GH = """#!/bin/bash
echo "$*" >> "$GH_LOG"
case "$*" in
  *"--jq"*) [ -n "${GH_EXISTING:-}" ] && echo "$GH_EXISTING" ;;
  *"body=@"*) all="$*"; cp "${all##*body=@}" "$GH_LOG.body" ;;
esac
"""


def run_comment(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    report = tmp_path / "report.md"
    report.write_text("## ca-audit\n\nreport body\n", encoding="utf-8")
    log = tmp_path / "gh.log"
    extra = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GH_LOG": str(log), "CA_REPORT": str(report),
             "CA_REPO": "acme/force", "CA_PR": "7", "CA_HEAD_REPO": "acme/force", "GH_TOKEN": "t"} | env
    done = run_step("Pull-request comment", {}, tmp_path, tmp_path, extra_env=extra)
    return done, log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_pr_comment_is_posted_once_then_updated_in_place(tmp_path):
    done, calls = run_comment(tmp_path)
    assert done.returncode == 0, done.stderr
    assert calls[0].startswith("api --paginate repos/acme/force/issues/7/comments --jq")
    assert calls[1].startswith("api --method POST repos/acme/force/issues/7/comments -F body=@")
    body = (tmp_path / "gh.log.body").read_text(encoding="utf-8")
    assert body.startswith("<!-- ca-audit report -->\n## ca-audit") and "report body" in body
    (tmp_path / "gh.log").unlink()
    done, calls = run_comment(tmp_path, GH_EXISTING="4242")
    assert calls[1].startswith("api --method PATCH repos/acme/force/issues/comments/4242 -F body=@"), calls
    assert "updated comment 4242" in done.stdout


@pytest.mark.parametrize(("env", "says"), [({"CA_HEAD_REPO": "someone/fork"}, "from a fork"),
                                           ({"CA_PR": ""}, "not a pull request")])
def test_pr_comment_is_skipped_on_forks_and_outside_pull_requests(tmp_path, env, says):
    done, calls = run_comment(tmp_path, **env)
    assert done.returncode == 0 and says in done.stdout and calls == []


def test_action_baseline_and_extra_args(checkout, tmp_path):
    subprocess.run(
        [
            shutil.which("ca-audit", path=str(Path(sys.executable).parent)) or "ca-audit",
            "scan",
            "sample",
            "--write-baseline",
            "base.json",
        ],
        cwd=checkout,
        capture_output=True,
        check=False,
    )
    done = run_step(
        "scan",
        {"paths": "sample", "baseline": "base.json", "extra-args": "--fail-on low", "job-summary": "false"},
        tmp_path,
        checkout,
    )
    assert done.returncode == 0, done.stderr
    assert outputs(tmp_path)["exit-code"] == "0"
    assert not (tmp_path / "runner" / "summary").exists()


def test_action_bad_input_is_exit_code_2(checkout, tmp_path):
    done = run_step("scan", {"paths": "sample", "fail-on": "severe"}, tmp_path, checkout)
    assert outputs(tmp_path)["exit-code"] == "2"
    assert "--fail-on takes one of" in done.stderr


@pytest.mark.parametrize(("code", "expected"), [("0", 0), ("1", 1), ("2", 2), ("", 2)])
def test_action_gate_step(tmp_path, code, expected):
    done = run_step("Gate", {}, tmp_path, tmp_path, extra_env={"CODE": code})
    assert done.returncode == expected


def test_hook_files_pattern_matches_every_metadata_suffix():
    for hook in HOOKS:
        pattern = re.compile(hook["files"])
        for suffix in METADATA_SUFFIXES:
            # ".connectedApp" style suffixes follow an app name; the settings file has a fixed name.
            name = f"force-app/main/default/x/My_App{suffix}" if suffix.startswith(".") else \
                f"force-app/main/default/settings/{suffix}"
            assert pattern.search(name) and pattern.search(name.upper()), (hook["id"], suffix)
        assert not pattern.search("force-app/main/default/settings/Account.settings-meta.xml")
        assert pattern.search(".ca-audit.yaml")
        assert not pattern.search("force-app/main/default/classes/Foo.cls-meta.xml")
        assert hook["language"] == "python"
    by_id = {hook["id"]: hook for hook in HOOKS}
    assert by_id["ca-audit"]["pass_filenames"] is True and "--changed-since" not in by_id["ca-audit"]["entry"]
    assert by_id["ca-audit-all"]["pass_filenames"] is False


def hook_command(hook_id: str, *names: str) -> list[str]:
    """What pre-commit runs for a hook: `entry` + `args` + the file names it passes."""
    hook = next(h for h in HOOKS if h["id"] == hook_id)
    command = shlex.split(hook["entry"]) + hook.get("args", []) + list(names)
    command[0] = str(Path(sys.executable).parent / command[0])
    return command


def test_hook_audits_the_apps_of_the_files_it_is_given(tmp_path):
    repo = sample_copy(tmp_path / "repo", odd_app=False)
    env = dict(os.environ, NO_COLOR="1")
    part = "force-app/main/default/extlClntAppOauthPolicies/ERP_Connector_oauthPlcy.ecaOauthPlcy-meta.xml"
    one = subprocess.run(hook_command("ca-audit", part), cwd=repo, capture_output=True, text=True, env=env)
    assert one.returncode == 1 and "1 app audited" in one.stdout, one.stdout + one.stderr
    # CA-05 is about the certificate in a sibling part (global OAuth settings), not the file named.
    assert "ERP_Connector_glbloauth.ecaGlblOauth-meta.xml" in one.stdout and "CA-05" in one.stdout
    config = subprocess.run(hook_command("ca-audit", ".ca-audit.yaml"), cwd=repo, capture_output=True, text=True,
                            env=env)
    assert f"{SAMPLE_APPS} apps audited" in config.stdout, config.stdout + config.stderr
    clean = f"{CONNECTED}/Integration_App.connectedApp-meta.xml"  # passes every rule
    passing = subprocess.run(hook_command("ca-audit", clean), cwd=repo, capture_output=True, text=True, env=env)
    assert passing.returncode == 0 and "1 app audited" in passing.stdout, passing.stdout + passing.stderr


CONNECTED = "force-app/main/default/connectedApps"


GITLAB_TEMPLATE = yaml.safe_load((REPO / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))


def test_gitlab_template_runs_as_written_and_its_reports_match_the_artifacts(checkout, tmp_path):
    job = GITLAB_TEMPLATE["ca-audit"]
    reports = job["artifacts"]["reports"]
    script = [line for line in job["script"] if "pip install" not in line]  # ca-audit is installed here
    env = dict(os.environ, NO_COLOR="1", CA_AUDIT_SOURCE="./ca-audit", CA_AUDIT_PATHS="sample", CA_AUDIT_ARGS="")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=checkout, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr  # the sample has findings at or above high
    issues = json.loads((checkout / reports["codequality"]).read_text(encoding="utf-8"))
    assert issues and all(i["location"]["path"].startswith("sample/force-app/") for i in issues)
    assert (checkout / reports["junit"]).is_file()
    assert set(job["artifacts"]["paths"]) >= {reports["codequality"], reports["junit"]}


def test_gitlab_template_stops_without_an_install_source(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CA_AUDIT_SOURCE"}
    done = subprocess.run(["bash", "-c", GITLAB_TEMPLATE["ca-audit"]["script"][0]], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 2 and "not on PyPI" in done.stdout


def test_documented_install_commands_install_from_a_url_or_a_path():
    """`connected-app-auditor` is on no package index: every pip install names a git URL or a path."""
    for doc in ("README.md", "docs/ci.md", "ci/gitlab-ci.yml", "action.yml"):
        text = (REPO / doc).read_text(encoding="utf-8")
        for match in re.finditer(r"pip install ([^\n#`]*)", text):
            args = [a.strip('"\'') for a in shlex.split(match.group(1).replace("\\", "")) if not a.startswith("-")]
            target = args[0] if args else ""
            assert target.startswith(("git+https://", ".", "/", "$")), (doc, match.group(0))
