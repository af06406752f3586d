"""`.forceignore`, `.gitignore` (in a git work tree) and `--exclude`, on copies of the sample project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.sources.files import scan_paths
from tests.conftest import SAMPLE, run_cli

DEFAULT = "force-app/main/default"


@pytest.fixture
def project(tmp_path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "project"))


def app_names(folder: Path, exclude: list[str] | None = None) -> set[str]:
    return {app.name for app in scan_paths([str(folder)], exclude).apps}


def test_forceignore_patterns_leave_files_out(project):
    everything = app_names(project)
    (project / ".forceignore").write_text(
        "# comments and blank lines are ignored\n\n"
        "**/Legacy_Reporting.connectedApp-meta.xml\n"  # one file, anywhere
        "force-app/main/default/externalClientApps/\n"  # a folder, anchored
        "**/extlClntAppGlobalOauthSets/**\n",  # CA-23's advice for the global OAuth settings
        encoding="utf-8")
    left = app_names(project)
    assert "Legacy_Reporting" not in left
    assert "Integration_App" in left
    # With the headers and global settings ignored, the ECAs' other parts are still audited.
    result = scan_paths([str(project)])
    ecas = [a for a in result.apps if a.kind == "external_client_app"]
    assert ecas and all(not a.path.startswith(f"{DEFAULT}/externalClientApps/") for a in ecas)
    assert all("ecaGlblOauth" not in str(loc.path) for a in ecas for loc in a.locations.values() if loc)
    assert len(everything) == len(left) + 1


def test_forceignore_negation_and_the_project_root_when_scanning_a_subfolder(project):
    (project / ".forceignore").write_text("**/connectedApps/*\n!**/connectedApps/MuleSoft_Sync*\n", encoding="utf-8")
    names = app_names(project / "force-app")  # .forceignore sits beside sfdx-project.json, one level up
    connected = {a.name for a in scan_paths([str(project / "force-app")]).apps if a.kind == "connected_app"}
    assert connected == {"MuleSoft_Sync"} and "ERP_Connector" in names


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_gitignore_applies_only_in_a_git_work_tree_with_nested_files(project):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (project / ".gitignore").write_text("*Mobile_Field_App*\n", encoding="utf-8")
    (project / DEFAULT / "connectedApps" / ".gitignore").write_text("MuleSoft_Sync.connectedApp-meta.xml\n",
                                                                   encoding="utf-8")
    outside = app_names(project)
    assert {"Mobile_Field_App", "MuleSoft_Sync"} <= outside  # not a work tree: .gitignore means nothing
    git(project, "init", "-q")
    inside = app_names(project)
    assert "Mobile_Field_App" not in inside and "MuleSoft_Sync" not in inside
    assert outside - inside == {"Mobile_Field_App", "MuleSoft_Sync"}
    # A deeper .gitignore re-includes what a shallower one ignored, as git does.
    (project / DEFAULT / "connectedApps" / ".gitignore").write_text("!Mobile_Field_App.connectedApp-meta.xml\n",
                                                                   encoding="utf-8")
    assert "Mobile_Field_App" in app_names(project)


def test_exclude_globs_on_the_command_line(project):
    done = run_cli("scan", str(project), "--format", "json", "--exclude", "**/Legacy_*",
                   "--exclude", "extlClntApp*/")
    data = json.loads(done.stdout)
    names = {a["name"] for a in data["apps"]}
    assert "Legacy_Reporting" not in names and "Integration_App" in names
    assert not any("extlClntApp" in f["location"]["path"] for f in data["findings"])


def test_pathspec_is_imported_only_when_an_ignore_rule_exists(project, tmp_path):
    code = ("import sys; from auditor.sources.files import scan_paths; "
            f"scan_paths([{str(project)!r}]); print('pathspec' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    (project / ".forceignore").write_text("**/nothing\n", encoding="utf-8")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def commit_all(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "apps")


def test_gitignore_never_hides_a_committed_file(project):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    everything = app_names(project)
    commit_all(project)
    (project / ".gitignore").write_text(f"{DEFAULT}/connectedApps/\n", encoding="utf-8")
    assert app_names(project) == everything  # git ignores only untracked files
    # An untracked app in the ignored folder is left out, and the note says by which line.
    shutil.copy(project / DEFAULT / "connectedApps" / "Mobile_Field_App.connectedApp-meta.xml",
                project / DEFAULT / "connectedApps" / "Untracked_Copy.connectedApp-meta.xml")
    result = scan_paths([str(project)])
    assert {a.name for a in result.apps} == everything
    assert result.notes == [f"1 metadata file excluded by .gitignore:1 (`{DEFAULT}/connectedApps/`, "
                            "untracked files only)"]


def test_without_git_gitignore_is_not_applied(project, tmp_path):
    (project / ".gitignore").write_text("*.connectedApp-meta.xml\n", encoding="utf-8")
    git(project, "init", "-q")
    empty = tmp_path / "no-git-bin"
    empty.mkdir()
    code = ("import sys; from auditor.sources.files import scan_paths; "
            f"r = scan_paths([{str(project)!r}]); print(len(r.apps)); print(r.notes)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PATH": str(empty), "HOME": str(tmp_path)})
    count, notes = done.stdout.splitlines()
    assert int(count) == len(app_names(SAMPLE))
    assert "git is not installed" in notes


def test_an_ignore_file_that_leaves_out_everything_is_not_a_pass(project):
    (project / ".forceignore").write_text("# everything\n**\n", encoding="utf-8")
    done = run_cli("scan", ".", "--format", "json", cwd=project)
    data = json.loads(done.stdout)
    assert done.returncode == 2 and data["summary"]["apps"] == 0
    (error,) = data["input_errors"]
    assert (error["path"], error["line"]) == (".forceignore", 2)
    assert "left out all" in error["message"] and "nothing was audited" in error["message"]
    assert any(m.endswith("metadata files excluded by .forceignore:2 (`**`)") for m in data["messages"])
    text = run_cli("scan", ".", cwd=project)
    assert text.returncode == 2 and "PASSED" not in text.stdout
    assert "excluded by .forceignore:2 (`**`)" in text.stdout


def test_partial_exclusions_are_counted_by_file_and_line(project):
    (project / ".forceignore").write_text("**/Legacy_Reporting.connectedApp-meta.xml\n", encoding="utf-8")
    done = run_cli("scan", ".", "--format", "json", "--exclude", "**/Mobile_*", cwd=project)
    data = json.loads(done.stdout)
    assert done.returncode == 1 and not data["input_errors"]
    assert "1 metadata file excluded by .forceignore:1 (`**/Legacy_Reporting.connectedApp-meta.xml`)" \
        in data["messages"]
    assert "1 metadata file excluded by --exclude (`**/Mobile_*`)" in data["messages"]


def test_line_numbers_count_blank_lines_and_comments(project):
    # The Salesforce CLI's .forceignore template has blank lines; pathspec numbers patterns only.
    (project / ".forceignore").write_text("# c\n\n**/jsconfig.json\n\n\n**/Legacy_*\n", encoding="utf-8")
    (project / ".gitignore").write_text("# c\n\n*.log\n\n**/Mobile_*\n", encoding="utf-8")
    git(project, "init", "-q")
    done = run_cli("scan", ".", "--format", "json", "--exclude", "", "--exclude", "**/Order_*", cwd=project)
    messages = json.loads(done.stdout)["messages"]
    assert "1 metadata file excluded by .forceignore:6 (`**/Legacy_*`)" in messages, messages
    assert any(m.startswith("1 metadata file excluded by .gitignore:5 (`**/Mobile_*`") for m in messages), messages
    assert "4 metadata files excluded by --exclude (`**/Order_*`)" in messages, messages
    (project / ".forceignore").write_text("# c\n\n**\n", encoding="utf-8")
    done = run_cli("scan", ".", cwd=project)
    assert done.returncode == 2 and "excluded by .forceignore:3 (`**`)" in done.stdout, done.stdout
