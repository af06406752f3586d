"""Shared test helpers: where the repo, the shared corpus and the installed console script are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "public-metadata"
SAMPLE = REPO / "sample_configs"
SAMPLE_APPS = 13  # apps under sample_configs/force-app; tests/engine/test_builtin_rules.py checks it
# Small metadata projects written for the tests (tests/fixtures/README.md): any-app inputs that
# do not depend on the public corpus.
FIXTURES = REPO / "tests" / "fixtures"
MDAPI_APP = FIXTURES / "mdapi" / "connectedApps" / "Rest_Client.connectedApp"
CI_APPS = FIXTURES / "ci-apps"
ECA_APPS = FIXTURES / "eca-apps"
JENKINS = CI_APPS / "force-app" / "main" / "default" / "connectedApps" / "Jenkins.connectedApp-meta.xml"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    # Each test session validates rules afresh in its own cache folder, never the user's: set for the
    # whole session, so that module-scoped fixtures (which run before function-scoped ones) see it too.
    previous = os.environ.get("CA_AUDIT_CACHE_DIR")
    os.environ["CA_AUDIT_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "cache")
    yield
    if previous is None:
        os.environ.pop("CA_AUDIT_CACHE_DIR", None)
    else:
        os.environ["CA_AUDIT_CACHE_DIR"] = previous


def corpus_file(relative: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS} (tests read it from ../shared/corpus)")
    return CORPUS / relative


def ca_audit_command() -> list[str]:
    """The installed console script when there is one (as users run it), else `python -m auditor`."""
    script = Path(sys.executable).parent / "ca-audit"
    if script.exists():
        return [str(script)]
    found = shutil.which("ca-audit")
    return [found] if found else [sys.executable, "-m", "auditor"]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
    return subprocess.run([*ca_audit_command(), *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=120)


def run_json(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    done = run_cli(*args, "--format", "json", cwd=cwd)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)
