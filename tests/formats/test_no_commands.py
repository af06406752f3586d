"""No metadata file name can make a CI runner run a command: every format, every line.

GitHub Actions runs a printed line as a workflow command when it starts with `::` after leading
whitespace, or holds the legacy `##[name]` form anywhere (actions/runner ActionCommand.TryParseV2 and
TryParse). File names are data: `Y\\n::error file=a::pwn.connectedApp-meta.xml` is a legal name.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from auditor.formats import render
from tests.ci_support import CONNECTED_APPS, scan
from tests.conftest import SAMPLE, run_cli

MOBILE = SAMPLE / CONNECTED_APPS / "Mobile_Field_App.connectedApp-meta.xml"
HOSTILE = [
    "Y\n::error file=a::pwn\x1b[31m",  # a newline, then a command; ESC for the terminal
    "::error file=a::pwn2",  # starts a line wherever a name starts one (a heading, a path)
    "a" * 50 + " ::warning file=b::pwn3 ##[error]v1",  # wraps onto its own line; the legacy form anywhere
    "Z\r::add-mask::pwn4",  # the runner splits lines on CR too
]
OWN_COMMAND = re.compile(r"^::(error|warning|notice)( [^:]*)?::|^::group::ca-audit: \d+ more|^::endgroup::$")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """12 copies of a failing app (past GitHub's 10 annotations per level) and the hostile names."""
    project = tmp_path_factory.mktemp("hostile")
    (project / "sfdx-project.json").write_text(json.dumps({"packageDirectories": [{"path": "force-app"}]}))
    folder = project / CONNECTED_APPS
    folder.mkdir(parents=True)
    for index in range(12):
        shutil.copy(MOBILE, folder / f"A{index:02}.connectedApp-meta.xml")
    for name in HOSTILE:
        shutil.copy(MOBILE, folder / f"{name}.connectedApp-meta.xml")
    return project


def unescape(value: str) -> str:
    return value.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def runner_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def assert_inert(text: str, own_commands: bool = False) -> None:
    for line in runner_lines(text):
        assert "##[" not in line, line
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), repr(line)
        if line.lstrip().startswith("::"):
            assert own_commands and OWN_COMMAND.match(line), line
            # our own commands carry data only escaped: every property is ours, no file made up
            props = line.split("::", 2)[1].partition(" ")[2]
            for prop in filter(None, props.split(",")):
                key, _, value = prop.partition("=")
                assert key in ("file", "line", "col", "endLine", "endColumn", "title"), line
                if key == "file":
                    assert unescape(value).endswith(".connectedApp-meta.xml"), line


@pytest.mark.parametrize("name", ["github", "table", "markdown", "junit", "csv", "json", "sarif", "gitlab", "html"])
def test_no_line_of_any_format_runs_as_a_workflow_command(hostile, monkeypatch, name):
    monkeypatch.chdir(hostile)
    report = scan(Path("."))
    assert len(report.apps) == 12 + len(HOSTILE)
    assert_inert(render(name, report), own_commands=name == "github")


@pytest.mark.parametrize("name", ["github", "table", "markdown", "junit", "csv"])
def test_named_files_at_the_line_start_are_inert_too(hostile, monkeypatch, name):
    # Files named one by one are shown relative to the working folder: the name starts the path.
    monkeypatch.chdir(hostile / CONNECTED_APPS)
    report = scan(*(Path(f"{n}.connectedApp-meta.xml") for n in HOSTILE))
    assert len(report.apps) == len(HOSTILE)
    assert_inert(render(name, report), own_commands=name == "github")


def test_the_cli_table_at_80_columns_is_inert(hostile):
    done = run_cli("scan", ".", cwd=hostile)
    assert done.returncode == 1, done.stderr
    assert_inert(done.stdout)


def test_lossless_escapes_read_back_as_the_names(hostile, monkeypatch):
    import xml.etree.ElementTree as ET

    monkeypatch.chdir(hostile)
    report = scan(Path("."))
    names = {app["name"] for app in json.loads(render("json", report))["apps"]}
    assert HOSTILE[1] in names and HOSTILE[2] in names
    junit_text = "".join(ET.fromstring(render("junit", report).split("\n", 1)[1]).itertext())
    assert HOSTILE[2] in junit_text and HOSTILE[1] in junit_text


@pytest.mark.parametrize("name", ["github", "table", "markdown", "junit", "csv", "json", "sarif", "gitlab", "html"])
def test_an_input_error_about_a_hostile_file_name_is_inert(tmp_path, monkeypatch, name):
    """The path of a file that cannot be read is printed in the input errors of every format (in the
    HTML page, in its header, outside the embedded data)."""
    folder = tmp_path / CONNECTED_APPS
    folder.mkdir(parents=True)
    shutil.copy(MOBILE, folder / "Good.connectedApp-meta.xml")
    (folder / "B\n::warning::pwn ##[error]x\x1b[31m.connectedApp-meta.xml").write_text("<ConnectedApp>")
    monkeypatch.chdir(tmp_path)
    report = scan(Path("."))
    assert len(report.input_errors) == 1
    text = render(name, report)
    assert "pwn" in text  # named, escaped
    assert_inert(text, own_commands=name == "github")


@pytest.mark.parametrize("brk", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"])
def test_other_line_breaks_never_pass_raw(brk):
    # The runner splits on LF and CR; a reader that also splits here must not find a command either.
    from auditor.formats._safe import inert_json, inert_text, no_commands

    text = f"X{brk}::error file=a::pwn"
    for shown in (no_commands(text), inert_text(text)):
        assert brk not in shown and shown.endswith("::error file=a::pwn"), repr(shown)
    line = inert_json({"v": text, "w": "a ##[error] b\x9b"})
    assert brk not in line and "##[" not in line and "\x9b" not in line
    assert json.loads(line) == {"v": text, "w": "a ##[error] b\x9b"}  # lossless


def test_inert_text_keeps_tabs_and_crlf_line_ends_and_escapes_the_rest():
    from auditor.formats._safe import inert_text

    assert inert_text("a\tb\r\n  ::c\rd\x1b[2J") == "a\tb\r\n  \\::c\\rd\\x1b[2J"
