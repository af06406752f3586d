"""Bad input is reported (path, line, plain message), the rest is still audited, exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import JENKINS, SAMPLE, run_cli, run_json

APPS = "force-app/main/default/connectedApps"

BAD_FILES = {
    "Malformed.connectedApp-meta.xml": (b'<?xml version="1.0"?>\n<ConnectedApp>\n  <label>x</lab>\n</ConnectedApp>\n',
                                        3, "malformed XML: mismatched tag"),
    "Doctype.connectedApp-meta.xml": (b'<?xml version="1.0"?>\n<!DOCTYPE ConnectedApp [<!ENTITY x "y">]>\n'
                                      b"<ConnectedApp><label>&x;</label></ConnectedApp>\n", 2, "DOCTYPE"),
    "Latin1.connectedApp-meta.xml": ("<ConnectedApp><label>Caf\u00e9</label></ConnectedApp>".encode("latin-1"),
                                     1, "not valid UTF-8"),
    "Empty.connectedApp-meta.xml": (b"", 1, "empty"),
    "Wrong.connectedApp-meta.xml": (b'<?xml version="1.0"?>\n<Profile xmlns="http://soap.sforce.com/2006/04/'
                                    b'metadata"/>\n', 2, "unexpected root element <Profile>"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / APPS
    folder.mkdir(parents=True)
    shutil.copy(JENKINS, folder / "Jenkins.connectedApp-meta.xml")
    for name, (content, _line, _message) in BAD_FILES.items():
        (folder / name).write_bytes(content)
    (folder / "Gone.connectedApp-meta.xml").symlink_to(tmp_path / "does-not-exist")
    return tmp_path / "project"


def test_each_bad_file_is_an_input_error_and_the_good_one_is_still_audited(project: Path):
    code, report = run_json("scan", str(project))
    assert code == 2
    errors = {Path(e["path"]).name: e for e in report["input_errors"]}
    for name, (_content, line, message) in BAD_FILES.items():
        assert errors[name]["path"] == f"{APPS}/{name}"
        assert errors[name]["line"] == line, name
        assert message in errors[name]["message"], errors[name]
    assert "cannot read" in errors["Gone.connectedApp-meta.xml"]["message"]
    assert [app["name"] for app in report["apps"]] == ["Jenkins"]
    assert report["summary"]["input_errors"] == 6


def test_doctype_entity_is_never_expanded(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    evil = tmp_path / "Evil.connectedApp-meta.xml"
    evil.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY s SYSTEM "file://{secret}">]>\n'
                    "<ConnectedApp><label>&s;</label></ConnectedApp>\n")
    done = run_cli("scan", str(evil), "--format", "json")
    assert done.returncode == 2
    assert "TOP-SECRET" not in done.stdout + done.stderr


def test_missing_path_is_an_input_error_not_a_pass(tmp_path: Path):
    code, report = run_json("scan", str(tmp_path / "nope"))
    assert code == 2
    assert report["input_errors"][0]["message"] == "no such file or folder"


def test_table_names_file_and_line(project: Path):
    done = run_cli("scan", str(project))
    assert done.returncode == 2
    assert f"{APPS}/Malformed.connectedApp-meta.xml:3: malformed XML" in done.stdout
    assert "INCOMPLETE" in done.stdout


def test_bad_rule_file_stops_the_scan_with_file_and_path(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(
        "id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire:\n  field: oauth.scopez\n  contains: Api\n")
    done = run_cli("scan", str(SAMPLE), "--rules", str(rules), "--format", "json")
    assert done.returncode == 2
    import json

    report = json.loads(done.stdout)
    assert report["apps"] == [] and report["findings"] == []
    error = report["input_errors"][0]
    assert error["path"].endswith("X-1.yaml") and error["line"] == 6
    assert "require.field" in error["message"] and "must be one of" in error["message"]
    assert "oauth.scopez" not in error["message"]  # messages never quote the value


def test_unknown_operator_and_bad_regex_are_load_errors(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-2.yaml").write_text(
        "id: X-2\ntitle: t\nseverity: high\nmessage: m\nrequire: {field: name, looks_like: x}\n")
    (rules / "X-3.yaml").write_text(
        "id: X-3\ntitle: t\nseverity: high\nmessage: '{nam}'\nrequire: {field: name, matches: '(['}\n")
    done = run_cli("rules", "validate", str(rules))
    assert done.returncode == 2
    assert "X-2.yaml" in done.stderr and "looks_like" in done.stderr
    assert "X-3.yaml" in done.stderr and "regular expression is refused" in done.stderr
    assert "unknown field {nam}" in done.stderr


def test_bad_config_is_reported_before_any_scan(tmp_path: Path):
    config = tmp_path / ".ca-audit.yaml"
    config.write_text("fail_on: hgh\nwaivers:\n  - {rule: CA-18, app: X}\n")
    code, report = run_json("scan", str(SAMPLE), "--config", str(config))
    assert code == 2
    messages = [e["message"] for e in report["input_errors"]]
    assert any("fail_on" in m for m in messages)
    assert any("reason" in m for m in messages)  # a waiver without a reason is a config error
    assert report["apps"] == []


def test_invalid_yaml_config_names_the_line(tmp_path: Path):
    config = tmp_path / ".ca-audit.yaml"
    config.write_text("fail_on: high\nrules:\n  CA-01: [\n")
    code, report = run_json("scan", str(SAMPLE), "--config", str(config))
    assert code == 2
    assert report["input_errors"][0]["message"].startswith("invalid YAML")
    assert report["input_errors"][0]["line"] is not None


def test_config_naming_an_unknown_rule_is_an_error(tmp_path: Path):
    config = tmp_path / ".ca-audit.yaml"
    config.write_text("rules:\n  CA-99: off\n  CA-14: {severity: low}\n  CA-3:\n    severity: low\n")
    code, report = run_json("scan", str(SAMPLE), "--config", str(config))
    assert code == 2
    errors = {e["message"].partition(" (")[0]: e for e in report["input_errors"]}
    assert sorted(errors) == ["at rules.CA-3: no loaded rule has this id", "at rules.CA-99: no loaded rule has this id"]
    # each at the line of its own key, with the id it most likely meant
    assert errors["at rules.CA-3: no loaded rule has this id"]["line"] == 4
    assert errors["at rules.CA-3: no loaded rule has this id"]["message"].endswith("(did you mean 'CA-03'?)")
    assert errors["at rules.CA-99: no loaded rule has this id"]["line"] == 2


def test_a_missing_config_rule_folder_is_named_at_its_line_relative_to_the_config(tmp_path: Path):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "policies").mkdir()
    config = project / ".ca-audit.yaml"
    config.write_text("fail_on: high\nrule_dirs:\n  - policies\n  - policis\n")
    code, report = run_json("scan", str(SAMPLE), "--config", str(config))
    assert code == 2
    [error] = report["input_errors"]
    assert error["line"] == 4 and error["message"].startswith("at rule_dirs.1: rule folder not found: ")
    assert error["message"].endswith("project/policis")


def test_config_app_that_matches_nothing_is_noted(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("org.snapshot.json"))
    config = project / ".ca-audit.yaml"
    config.write_text(config.read_text().replace("SAML_Bearer_Integration:", "SAML_Bearer_Integratoin:", 1))
    _code, report = run_json("scan", str(project))
    assert (".ca-audit.yaml: apps.SAML_Bearer_Integratoin matches no scanned app; its flows and integration "
            "users are not applied") in report["messages"]
