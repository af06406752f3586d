"""The hooks as pre-commit runs them: `pre-commit try-repo` on temporary git repositories.

try-repo installs this checkout (uncommitted changes included) into a fresh pre-commit
environment, so each call costs a package install (~20 s); the three calls cover the first commit
(no HEAD yet), a normal commit touching one ECA part, and `--all-files` in a shallow clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_support import sample_copy
from tests.conftest import REPO, SAMPLE_APPS

PART = "force-app/main/default/extlClntAppOauthPolicies/ERP_Connector_oauthPlcy.ecaOauthPlcy-meta.xml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
         "-c", "init.defaultBranch=main", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )
    return done.stdout


def try_repo(repo: Path, *args: str) -> subprocess.CompletedProcess:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.fail("pre-commit is not installed: pip install -e '.[test]'")
    env = dict(os.environ, NO_COLOR="1", PRE_COMMIT_COLOR="never")
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(pre_commit), "try-repo", str(REPO), *args, "--verbose"], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def project(tmp_path) -> Path:
    repo = sample_copy(tmp_path / "project", odd_app=False)
    git(repo, "init", "-q")
    return repo


def test_first_commit_audits_every_staged_app_with_both_hooks(project):
    git(project, "add", ".")
    done = try_repo(project)  # no commit yet: HEAD does not exist
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "fetch-depth" not in out
    assert out.count(f"{SAMPLE_APPS} apps audited") == 2, out  # ca-audit (the staged files) and ca-audit-all
    assert "FAILED" in out and "CA-21" in out


def test_normal_commit_audits_the_changed_app_with_its_sibling_parts(project):
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "initial", "--no-verify")
    policy = project / PART
    policy.write_text(policy.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    git(project, "add", PART)
    done = try_repo(project, "ca-audit")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 app audited" in out and "ERP_Connector" in out
    # A finding on another part of the same External Client App: its siblings were read.
    assert "ERP_Connector_glbloauth.ecaGlblOauth-meta.xml" in out


def test_all_files_in_a_shallow_clone_audits_everything(project, tmp_path):
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "initial", "--no-verify")
    policy = project / PART
    policy.write_text(policy.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    git(project, "commit", "-qam", "second", "--no-verify")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", project.as_uri(), str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    done = try_repo(clone, "ca-audit", "--all-files")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert f"{SAMPLE_APPS} apps audited" in out and "findings at or above high" in out
