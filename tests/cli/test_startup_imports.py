"""The pre-commit path (`ca-audit scan <one file>`, rule cache warm) imports none of the heavy modules:
they cost tens of milliseconds each, on every commit (bench/startup.py times the path; no timing here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SAMPLE

ONE_FILE = SAMPLE / "force-app" / "main" / "default" / "connectedApps" / "Data_Warehouse_Admin.connectedApp-meta.xml"
HEAVY = ("yaml", "jsonschema", "cryptography", "simple_salesforce", "requests", "tabulate", "pathspec")
# Packages of ca-audit that only other commands need: the org package's face (its defaults, for the
# options) is imported, nothing under it; diagnosis is preflight's and explain's.
OURS = ("auditor.sources.org.", "auditor.diagnose", "auditor.gate", "auditor.fix", "auditor.access", "auditor.drift")

# Runs the CLI in process as the console script does, then lists every module it imported.
PROBE = """
import json, sys
from auditor.cli import run
listing = sys.argv.pop(1)
sys.argv[0] = "ca-audit"
code = run()
with open(listing, "w", encoding="utf-8") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _scan_modules(tmp_path: Path, cache: Path) -> tuple[int, dict, set[str]]:
    """(exit code, the JSON report, the modules imported) of `ca-audit scan ONE_FILE --format json`."""
    listing = tmp_path / "modules.json"
    env = dict(os.environ, CA_AUDIT_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", PROBE, str(listing), "scan", str(ONE_FILE), "--format", "json"],
                          cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(listing.read_text(encoding="utf-8"))
    return found["code"], json.loads(done.stdout), set(found["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(OURS))


def test_a_warm_scan_of_one_file_imports_no_heavy_module(tmp_path):
    cache = tmp_path / "cache"
    code, report, cold = _scan_modules(tmp_path, cache)
    # The first run validates the rule pack and parses the app's certificate: the probe sees those imports.
    assert {"yaml", "jsonschema", "cryptography"} <= cold
    assert (code, len(report["findings"])) == (0, 1)  # one medium finding (fingerprinted)
    code, warm_report, warm = _scan_modules(tmp_path, cache)
    assert warm_report == report
    assert _heavy(warm) == []
    assert "auditor.pipeline" in warm and "auditor.sources.org" in warm
