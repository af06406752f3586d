"""--changed-since on a real temporary git repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.gate.changed import ChangedError, changed_files
from tests.conftest import CI_APPS, ECA_APPS, run_cli

DEFAULT = "force-app/main/default"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    shutil.copytree(ECA_APPS, root / "eca-project")
    shutil.copytree(CI_APPS, root / "ca-project")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def scan_json(repo: Path, *args: str) -> tuple[int, dict]:
    done = run_cli("scan", *args, "--format", "json", cwd=repo)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_nothing_changed_audits_nothing(repo):
    code, result = scan_json(repo, "eca-project", "ca-project", "--changed-since", "main")
    assert code == 0
    assert result["apps"] == [] and result["findings"] == []
    assert any("changed since main" in m for m in result["messages"])


def test_a_changed_eca_part_selects_the_whole_app(repo):
    policy = (
        repo
        / "eca-project"
        / DEFAULT
        / "extlClntAppOauthPolicies/Assessment_Portal_oauthPlcy.ecaOauthPlcy-meta.xml"
    )
    edit(policy, "<ipRelaxationPolicyType>Bypass<", "<ipRelaxationPolicyType>Enforce<")
    git(repo, "commit", "-qam", "tighten IP policy")
    app_file = repo / "ca-project" / DEFAULT / "connectedApps/AzureConnectedApp.connectedApp-meta.xml"
    edit(app_file, "<scopes>Web</scopes>", "<scopes>Web</scopes>\n        <scopes>Full</scopes>")  # uncommitted

    code, result = scan_json(repo, "eca-project", "ca-project", "--changed-since", "main")
    assert sorted(a["name"] for a in result["apps"]) == ["Assessment_Portal", "AzureConnectedApp"]
    assert {f["app"] for f in result["findings"]} == {"AzureConnectedApp", "Assessment_Portal"}
    # the ECA is audited whole: its header and settings files did not change, their findings still show
    assert {f["rule_id"] for f in result["findings"] if f["app"] == "Assessment_Portal"} >= {"CA-14", "CA-17"}
    assert "CA-21" not in {f["rule_id"] for f in result["findings"] if f["app"] == "Assessment_Portal"}


def test_untracked_new_app_counts_and_main_moving_on_does_not(repo):
    new_app = repo / "ca-project" / DEFAULT / "connectedApps/New_App.connectedApp-meta.xml"
    shutil.copy(repo / "ca-project" / DEFAULT / "connectedApps/PROD_KEY.connectedApp-meta.xml", new_app)
    # a commit on main after the branch was cut is not this branch's change (merge base)
    git(repo, "checkout", "-q", "main")
    edit(repo / "ca-project" / DEFAULT / "connectedApps/Jenkins.connectedApp-meta.xml", "<label>", "<label>x")
    git(repo, "commit", "-qam", "on main")
    git(repo, "checkout", "-q", "feature")
    files = changed_files("main", repo / "ca-project")
    assert new_app.resolve() in files
    assert not any(p.name.startswith("Jenkins") for p in files)
    code, result = scan_json(repo, "ca-project", "--changed-since", "main")
    assert [a["name"] for a in result["apps"]] == ["New_App"]


def test_outside_a_git_work_tree_is_a_clear_error(tmp_path):
    plain = Path(shutil.copytree(CI_APPS, tmp_path / "plain"))
    with pytest.raises(ChangedError, match="not inside one"):
        changed_files("main", plain)
    done = run_cli("scan", str(plain), "--changed-since", "main", cwd=tmp_path)
    assert done.returncode == 2
    assert "needs a git work tree" in done.stderr


def test_unknown_revision_is_a_clear_error(repo):
    done = run_cli("scan", "ca-project", "--changed-since", "no-such-branch", cwd=repo)
    assert done.returncode == 2
    assert "'no-such-branch' is not a commit" in done.stderr


def test_baseline_in_changed_mode_prunes_only_audited_apps(repo):
    done = run_cli("scan", "eca-project", "ca-project", "--write-baseline", "base.json", cwd=repo)
    assert (repo / "base.json").is_file(), done.stderr
    app_file = repo / "ca-project" / DEFAULT / "connectedApps/AzureConnectedApp.connectedApp-meta.xml"
    edit(app_file, "<isPkceRequired>false</isPkceRequired>", "<isPkceRequired>true</isPkceRequired>")
    code, result = scan_json(repo, "eca-project", "ca-project", "--changed-since", "main", "--baseline", "base.json")
    assert code == 0 and result["findings"] == []
    gone = [m for m in result["messages"] if "no longer occur" in m]
    assert len(gone) == 1 and "CA-16 AzureConnectedApp" in gone[0] and "1 entry" in gone[0]


def test_write_baseline_needs_a_full_run(repo):
    done = run_cli("scan", "ca-project", "--changed-since", "main", "--write-baseline", "base.json", cwd=repo)
    assert done.returncode == 2 and "without --changed-since" in done.stderr
    assert not (repo / "base.json").exists()


def test_config_error_still_fails_in_changed_mode(repo):
    (repo / "ca-project" / ".ca-audit.yaml").write_text("fail_on: severe\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "config")  # committed on the branch, then judged against HEAD: unchanged
    done = run_cli("scan", "ca-project", "--changed-since", "HEAD", cwd=repo)
    assert done.returncode == 2, done.stdout + done.stderr


def test_input_errors_count_even_in_unchanged_files(repo):
    broken = repo / "ca-project" / DEFAULT / "connectedApps/Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><label>x</label>", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "broken file")
    code, result = scan_json(repo, "ca-project", "--changed-since", "HEAD")
    assert code == 2 and any("Broken" in e["path"] for e in result["input_errors"])
    assert result["apps"] == []


def test_changed_since_head_before_the_first_commit_counts_every_file(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "fresh"
    shutil.copytree(CI_APPS, root)
    git(root, "init", "-q")
    git(root, "add", ".")
    code, result = scan_json(root, ".", "--changed-since", "HEAD")
    assert result["apps"] and code in (0, 1)
    assert any("changed since HEAD" in m and "0 unchanged" in m for m in result["messages"])


def test_an_unknown_revision_in_a_shallow_clone_says_to_fetch_history(repo, tmp_path):
    git(repo, "checkout", "-q", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    with pytest.raises(ChangedError, match="shallow clone.*fetch-depth: 0"):
        changed_files("HEAD~1", clone)
    with pytest.raises(ChangedError, match="check the name"):
        changed_files("no-such-branch", repo)


@pytest.mark.parametrize("name", [".forceignore", "sub/.gitignore", ".gitignore", ".ca-audit.yaml",
                                  "sf/.ca-audit.yml", "sfdx-project.json", "sf/sfdx-project.json"])
def test_the_hooks_run_when_only_an_ignore_file_config_or_project_file_changes(name):
    import yaml

    from tests.conftest import REPO

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:  # pre-commit matches `files` with Python's re.search
        assert re.search(hook["files"], name), (hook["id"], name)
    assert not re.search(hooks[0]["files"], "README.md")
    workflow = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    (paths,) = re.findall(r"^    paths: (\[.*\])$", workflow, flags=re.M)
    assert {".forceignore", "**/.gitignore", ".ca-audit.yaml", "sfdx-project.json"} <= set(json.loads(paths))


def test_a_named_ignore_file_audits_the_whole_project(tmp_path):
    project = shutil.copytree(CI_APPS, tmp_path / "project")
    (project / ".forceignore").write_text("**\n", encoding="utf-8")
    code, data = scan_json(project, "--changed-files", ".forceignore")
    assert code == 2 and data["input_errors"][0]["path"] == ".forceignore"


def sf_repo(tmp_path: Path) -> Path:
    """A repository holding its SFDX project in sf/, with the project's config beside it."""
    from tests.ci_support import sample_copy

    root = tmp_path / "repo"
    root.mkdir()
    sample_copy(root / "sf", odd_app=False)
    git(root, "init", "-q")
    return root


LEGACY = "sf/force-app/main/default/connectedApps/Legacy_Reporting.connectedApp-meta.xml"


def test_changed_files_find_the_projects_config_in_a_subfolder(tmp_path):
    root = sf_repo(tmp_path)
    (root / "sf" / ".ca-audit.yaml").write_text("fail_on: critical\nrules:\n  CA-23: off\n", encoding="utf-8")
    code, data = scan_json(root, "--changed-files", LEGACY)
    assert [a["name"] for a in data["apps"]] == ["Legacy_Reporting"]
    assert data["summary"]["fail_on"] == "critical" and code == 0  # CA-23 (critical) is off in sf/.ca-audit.yaml
    assert "CA-23" not in {f["rule_id"] for f in data["findings"]} and data["findings"]
    text = run_cli("scan", "--changed-files", LEGACY, cwd=root).stdout
    assert "config: sf/.ca-audit.yaml" in text


def test_changed_files_in_projects_with_different_configs_is_a_usage_error(tmp_path):
    root = sf_repo(tmp_path)
    shutil.copytree(root / "sf", root / "other")
    (root / "other" / ".ca-audit.yaml").write_text("fail_on: low\n", encoding="utf-8")
    other = LEGACY.replace("sf/", "other/", 1)
    done = run_cli("scan", "--changed-files", LEGACY, other, cwd=root)
    assert done.returncode == 2 and "different configs" in done.stderr
    assert "sf/.ca-audit.yaml" in done.stderr and "other/.ca-audit.yaml" in done.stderr
    code, data = scan_json(root, "--changed-files", LEGACY, other, "--config", "other/.ca-audit.yaml")
    assert code == 1 and len(data["apps"]) == 2


def test_a_named_file_outside_the_package_directories_is_audited_and_named(tmp_path):
    root = sf_repo(tmp_path)
    outside = root / "sf" / "unpackaged" / "connectedApps"
    outside.mkdir(parents=True)
    shutil.copy(root / LEGACY, outside / "Evil.connectedApp-meta.xml")
    named = "sf/unpackaged/connectedApps/Evil.connectedApp-meta.xml"
    code, data = scan_json(root, "--changed-files", named)
    assert code == 1 and [a["name"] for a in data["apps"]] == ["Evil"]
    assert any(f["app"] == "Evil" and f["severity"] == "critical" for f in data["findings"])
    assert f"{named} is outside the packageDirectories of sf/sfdx-project.json (`sf project deploy` would not " \
           "deploy it); audited as named" in data["messages"]
    # Named beside its project folder, the file is read once, and the note is the same.
    code, data = scan_json(root, "sf", named)
    assert code == 1 and sorted(a["name"] for a in data["apps"]).count("Evil") == 1
    assert any("outside the packageDirectories" in m for m in data["messages"])


def hook_files(root: Path) -> list[str]:
    """What `pre-commit run ca-audit --all-files` passes: every tracked file the hook's `files` matches."""
    import yaml

    from tests.conftest import REPO

    pattern = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]["files"]
    git(root, "add", ".")
    return [n for n in git(root, "ls-files").splitlines() if re.search(pattern, n)]


def test_a_root_gitignore_selects_the_project_below_it_with_that_projects_config(tmp_path):
    root = sf_repo(tmp_path)
    (root / ".gitignore").write_text("node_modules/\n*.log\n", encoding="utf-8")
    (root / "sf" / ".ca-audit.yaml").write_text("fail_on: critical\nrules:\n  CA-23: off\n", encoding="utf-8")
    code, data = scan_json(root, "--changed-files", ".gitignore")
    assert data["config"] == "sf/.ca-audit.yaml" and code == 0  # read as sf/ reads itself, not as a bare folder
    assert len(data["apps"]) == 13 and "CA-23" not in {f["rule_id"] for f in data["findings"]}
    assert data["findings"] and all(f["location"]["path"].startswith("force-app/") for f in data["findings"])
    # --all-files passes the root .gitignore, the project's files and its config: one project, one config.
    names = hook_files(root)
    assert ".gitignore" in names and "sf/.ca-audit.yaml" in names
    code, every = scan_json(root, "--changed-files", *names)
    assert code == 0 and len(every["apps"]) == 13 and every["config"] == "sf/.ca-audit.yaml"


def test_a_root_file_that_governs_no_project_and_no_metadata_adds_nothing(tmp_path):
    root = sf_repo(tmp_path)
    (root / "docs").mkdir()
    (root / "docs" / ".gitignore").write_text("*.tmp\n", encoding="utf-8")
    (root / ".ca-audit.yaml").write_text("fail_on: low\n", encoding="utf-8")  # sf/ has its own config
    (root / ".forceignore").write_text("**\n", encoding="utf-8")  # only a project root's .forceignore counts
    for name in ("docs/.gitignore", ".ca-audit.yaml", ".forceignore"):
        code, data = scan_json(root, "--changed-files", name)
        assert (code, data["apps"], data["input_errors"]) == (0, [], []), name
    code, data = scan_json(root, "--changed-files", ".forceignore", LEGACY)
    assert code == 1 and [a["name"] for a in data["apps"]] == ["Legacy_Reporting"]
    assert data["config"] == "sf/.ca-audit.yaml"
    # A root config that a project without its own config finds governs that project.
    (root / "sf" / ".ca-audit.yaml").unlink()
    code, data = scan_json(root, "--changed-files", ".ca-audit.yaml")
    assert data["config"] == ".ca-audit.yaml" and len(data["apps"]) == 13 and data["summary"]["fail_on"] == "low"


def test_a_root_file_over_loose_metadata_scans_its_folder(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(CI_APPS / "force-app", root / "apps")
    git(root, "init", "-q")
    (root / ".gitignore").write_text("*.log\n", encoding="utf-8")
    code, data = scan_json(root, "--changed-files", ".gitignore")
    assert data["apps"] and code == 1


def test_projects_whose_configs_have_the_same_content_are_one_config(tmp_path):
    root = sf_repo(tmp_path)
    shutil.copytree(root / "sf", root / "other")
    other = LEGACY.replace("sf/", "other/", 1)
    assert (root / "sf/.ca-audit.yaml").read_bytes() == (root / "other/.ca-audit.yaml").read_bytes()
    code, data = scan_json(root, "--changed-files", LEGACY, other)
    assert code == 1 and len(data["apps"]) == 2
    # The same words naming rule folders name different folders: different configs.
    for project in ("sf", "other"):
        (root / project / "extra").mkdir()
        with (root / project / ".ca-audit.yaml").open("a", encoding="utf-8") as config:
            config.write("rule_dirs: [extra]\n")
    done = run_cli("scan", "--changed-files", LEGACY, other, cwd=root)
    assert done.returncode == 2 and "different configs (other/.ca-audit.yaml, sf/.ca-audit.yaml)" in done.stderr


def test_the_table_names_files_as_the_ci_formats_do_and_the_config_relative_to_the_working_folder(tmp_path):
    root = sf_repo(tmp_path)
    table = run_cli("scan", "--changed-files", LEGACY, cwd=root).stdout
    csv_text = run_cli("scan", "--changed-files", LEGACY, "--format", "csv", cwd=root).stdout
    assert f"{LEGACY}:9" in table and f",{LEGACY},9," in csv_text  # CA-23, the committed secret
    assert "\n                  force-app/" not in table
    below = run_cli("scan", ".", cwd=root / "sf" / "force-app").stdout
    assert "config: ../.ca-audit.yaml\n" in below and str(root) not in below
