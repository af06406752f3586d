"""What `scan PATH` reads: sfdx-project.json package directories, skipped folders, suffixes in any
case, the config found upward, and colour only on a terminal."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
from pathlib import Path

from tests.conftest import MDAPI_APP, SAMPLE, ca_audit_command, run_json


def _place(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MDAPI_APP, folder / name)


def test_package_directories_limit_what_is_scanned(tmp_path: Path):
    _place(tmp_path / "force-app" / "main" / "default" / "connectedApps", "In_Package.connectedApp-meta.xml")
    _place(tmp_path / "scripts" / "templates", "Template.connectedApp-meta.xml")
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app", "default": true}]}')
    _code, report = run_json("scan", str(tmp_path))
    assert [a["name"] for a in report["apps"]] == ["In_Package"]
    (tmp_path / "sfdx-project.json").unlink()
    _code, report = run_json("scan", str(tmp_path))
    assert sorted(a["name"] for a in report["apps"]) == ["In_Package", "Template"]


def test_a_broken_sfdx_project_file_is_reported_and_the_tree_still_scanned(tmp_path: Path):
    _place(tmp_path / "src", "App.connectedApp")
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": [\n  {"path": "force-app"},\n  {"path": }\n]}')
    code, report = run_json("scan", str(tmp_path))
    assert code == 2
    assert report["input_errors"][0]["path"] == "sfdx-project.json"
    assert report["input_errors"][0]["line"] == 3
    assert [a["name"] for a in report["apps"]] == ["App"]


def test_vcs_and_tool_folders_are_skipped_and_suffixes_match_in_any_case(tmp_path: Path):
    for skipped in (".git", "node_modules", ".sfdx", ".sf"):
        _place(tmp_path / skipped / "connectedApps", f"Hidden{skipped.strip('.')}.connectedApp-meta.xml")
    _place(tmp_path / "old" / "connectedapps", "Lower_Case.connectedapp")
    _place(tmp_path / "mdapi" / "connectedApps", "Mixed_Case.ConnectedApp")
    _code, report = run_json("scan", str(tmp_path))
    assert sorted(a["name"] for a in report["apps"]) == ["Lower_Case", "Mixed_Case"]


def test_config_is_found_in_a_parent_folder():
    _code, report = run_json("scan", str(SAMPLE / "force-app"))
    waived = [f for f in report["findings"] if f.get("waived")]
    assert waived and waived[0]["app"] == "MuleSoft_Sync"  # the waiver lives in sample_configs/.ca-audit.yaml


def _run_on_terminal(*args: str, env: dict) -> str:
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*ca_audit_command(), *args], stdout=terminal, stderr=subprocess.DEVNULL, env=env)
    os.close(terminal)  # read while it writes: a full terminal buffer would otherwise block it
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 1
    return output.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    assert "\033[" in _run_on_terminal("scan", str(SAMPLE), env=env)
    assert "\033[" not in _run_on_terminal("scan", str(SAMPLE), env=dict(env, NO_COLOR="1"))


def test_a_file_inside_a_scanned_folder_is_audited_once():
    app_file = SAMPLE / "force-app" / "main" / "default" / "connectedApps" / "Integration_App.connectedApp-meta.xml"
    _code, report = run_json("scan", str(SAMPLE), str(app_file), str(SAMPLE))
    assert [a["name"] for a in report["apps"]].count("Integration_App") == 1
    assert report["summary"]["apps"] == 13
