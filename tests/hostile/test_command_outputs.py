"""preflight, explain and fix print names and labels from the input on stdout and stderr: none of
them can start a line a CI runner runs as a workflow command, hold `##[`, or reach the terminal as a
control character, in text or JSON. The line breaks checked are the runner's (LF, CR) and, to be
conservative, every other one a reader may honour (VT, FF, NEL, U+2028, U+2029)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ci_support import CONNECTED_APPS
from tests.conftest import SAMPLE, run_cli

MOBILE = SAMPLE / CONNECTED_APPS / "Mobile_Field_App.connectedApp-meta.xml"
# Each becomes a file name (the app's API name) and, as a character reference, part of its label.
HOSTILE = {
    "Nl": "X\n::error file=a::pwnNL",
    "Start": "::warning::pwnSTART",
    "Cr": "Y\r::add-mask::pwnCR",
    "Legacy": "Z ##[error]pwnLEGACY",
    "Esc": "E\x1b[31mESC\x9b2J",
    "Tab": "\t::notice::pwnTAB",
    "Nbsp": "\u00a0::notice::pwnNBSP",
    "Ls": "W\u2028::error::pwnLS",
    "Nel": "V\x85::error::pwnNEL",
    "Vt": "U\x0b::error::pwnVT",
    "Ff": "T\x0c::error::pwnFF",
}
BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def bad_lines(text: str) -> list[str]:
    found = []
    for line in BREAKS.split(text):
        if line.lstrip().startswith("::") or "##[" in line or re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]", line):
            found.append(line)
    return found


def _reference(text: str) -> str:
    """`text` in XML: what XML 1.0 cannot hold raw (VT, FF, ESC) is left out."""
    kept = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
    return "".join(f"&#{ord(c)};" if c in "\t\n\r\x85\u2028" else c for c in kept.replace("&", "&amp;"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("hostile")
    (project / "sfdx-project.json").write_text(json.dumps({"packageDirectories": [{"path": "force-app"}]}))
    folder = project / CONNECTED_APPS
    folder.mkdir(parents=True)
    xml = MOBILE.read_text(encoding="utf-8")
    for key, value in HOSTILE.items():
        label = _reference(f"L{key} {value}")
        (folder / f"{value}.connectedApp-meta.xml").write_text(
            xml.replace("<label>Mobile Field App</label>", f"<label>{label}</label>"), encoding="utf-8")
    return project


def _runs() -> list[tuple[str, list[str]]]:
    runs = []
    for key, value in HOSTILE.items():
        for fmt in ("text", "json"):
            runs.append((f"preflight-{key}-{fmt}", ["preflight", value, "--flow", "jwt-bearer", ".", "-f", fmt,
                                                    "--user", value]))
            runs.append((f"preflight-fix-{key}-{fmt}", ["preflight", value, "--flow", "jwt-bearer", ".", "-f", fmt,
                                                        "--fix"]))
            runs.append((f"explain-{key}-{fmt}", ["explain", "user hasn't approved this consumer", "--app", value,
                                                  ".", "-f", fmt]))
        runs.append((f"preflight-label-{key}", ["preflight", f"L{key} {value}", "--flow", "jwt-bearer", "."]))
        runs.append((f"unknown-app-{key}", ["preflight", f"No{value}", "--flow", "jwt-bearer", "."]))
        runs.append((f"explain-error-{key}", ["explain", f"invalid_grant: {value}"]))
    for fmt in ("text", "json"):
        runs.append((f"fix-{fmt}", ["fix", ".", "-f", fmt]))
    runs.append(("rules-show", ["rules", "show", HOSTILE["Nl"]]))
    return runs


@pytest.mark.parametrize(("name", "args"), _runs(), ids=[name for name, _ in _runs()])
def test_no_output_line_runs_as_a_workflow_command(hostile, name, args):
    done = run_cli(*args, cwd=hostile)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1, 2)
    assert bad_lines(done.stdout) == [], name
    assert bad_lines(done.stderr) == [], name
    if "json" in args:
        data = json.loads(done.stdout)  # still JSON, and the value comes back whole
        if args[0] == "preflight":
            assert data["app"] == args[1] and data["kind"] == "connected_app", name


def test_the_apps_are_found_and_their_names_shown_escaped(hostile):
    done = run_cli("preflight", HOSTILE["Nl"], "--flow", "jwt-bearer", ".", cwd=hostile)
    assert done.stdout.startswith("Preflight: jwt-bearer for X\\n::error file=a::pwnNL (connected app"), done.stdout
    done = run_cli("fix", ".", cwd=hostile)
    assert done.returncode == 0, done.stderr
    assert "--- a/force-app/main/default/connectedApps/X\\n::error file=a::pwnNL.connectedApp-meta.xml\n" in done.stdout
    assert "\nV\\x85::error::pwnNEL (connected app)\n" in done.stderr


def test_the_diff_still_applies_to_a_tame_project(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(SAMPLE, project)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    done = run_cli("fix", ".", "--only", "CA-16,CA-17", cwd=project)
    assert done.returncode == 0 and done.stdout.startswith("--- a/"), done.stderr
    (tmp_path / "fix.patch").write_text(done.stdout, encoding="utf-8")
    subprocess.run(["git", "apply", "--unidiff-zero", str(tmp_path / "fix.patch")], cwd=project, check=True)
