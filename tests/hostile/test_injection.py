"""Injection: values ca-audit did not write (file names, labels, baseline entries, snapshot errors)
cannot start a line, print a workflow command or a terminal escape, or break a format."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.hostile.kit import APPS, POLICY, SELF_AUTHORIZED, app_xml, check, github_lines_ok, project, run, well_formed

FORMATS = ["table", "json", "sarif", "junit", "markdown", "github"]
EVIL = "Evil\n::error::pwned\n::add-mask::x\x1b]0;title\x07\x1b[2J`\r|<b>"


def _evil_file(tmp_path):
    root = project(tmp_path / "p")
    name = os.path.join(os.fsencode(str(root / APPS)), (EVIL.replace("\n", "\n") + ".connectedApp-meta.xml").encode())
    with open(name, "wb") as handle:
        handle.write(app_xml(SELF_AUTHORIZED.format(admin="false"), extra=POLICY).encode())
    return root


def _assert_neutral(output_format: str, text: str) -> None:
    well_formed(output_format, text)
    assert "\x1b" not in text
    if output_format == "github":
        github_lines_ok(text)  # every line a command ca-audit wrote
        return
    for line in text.splitlines():
        assert not line.lstrip("> -").startswith("::"), line


@pytest.mark.parametrize("output_format", FORMATS)
def test_file_name_with_newlines_and_escapes(tmp_path, output_format):
    result = check(run("scan", _evil_file(tmp_path), "--format", output_format, "--fail-on", "medium"), 1)
    _assert_neutral(output_format, result.out)
    _assert_neutral("table", result.err)


def test_table_shows_escapes_visibly(tmp_path):
    result = check(run("scan", _evil_file(tmp_path), "--fail-on", "medium"), 1)
    assert "\\n::error::pwned" in result.out and "\\x1b" in result.out


def test_markdown_code_span_is_not_broken(tmp_path):
    result = check(run("scan", _evil_file(tmp_path), "--format", "markdown", "--fail-on", "medium"), 1)
    for line in result.out.splitlines():
        assert len(re.findall(r"(?<!\\)`", line)) % 2 == 0, line


@pytest.mark.parametrize("output_format", FORMATS)
def test_baseline_entries_with_newlines(tmp_path, output_format):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"tool": "ca-audit", "baseline_version": 1, "findings": [
        {"rule_id": "CA-07", "kind": "connected_app", "app": EVIL, "field": "x\n::warning::y"}]}))
    result = check(run("scan", project(tmp_path / "p"), "--baseline", baseline, "--format", output_format), 0)
    _assert_neutral(output_format, result.out)


@pytest.mark.parametrize("output_format", FORMATS)
def test_snapshot_error_texts_with_newlines(tmp_path, output_format):
    snapshot = tmp_path / "org.json"
    snapshot.write_text(json.dumps({"format": "ca-audit-snapshot", "format_version": 1, "metadata": {}, "soql": {},
                                    "errors": [{"what": EVIL, "message": "\x1b[31m\n::error::owned"}]}))
    result = check(run("scan", snapshot, "--format", output_format), 2)
    _assert_neutral(output_format, result.out)


@pytest.mark.parametrize("output_format", FORMATS)
def test_control_characters_in_a_label(tmp_path, output_format):
    label = "Lab&#10;::error::x&#13;::warning::y&#9;z"  # XML 1.0 allows no other control character
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text("id: X-1\ntitle: t\nseverity: high\nmessage: 'label {label}'\n"
                                    "require: {field: label, equals: nothing}\n", encoding="utf-8")
    root = project(tmp_path / "p", {"Plain.connectedApp-meta.xml": app_xml(label=label)})
    result = check(run("scan", root, "--rules", rules, "--format", output_format), 1)
    _assert_neutral(output_format, result.out)
