"""Crashes: inputs that used to end in a traceback (and exit 1, the code for findings). Each is now
an input error with its file and line, or a plain message, and exit 2 — or a normal run where the
input is in fact fine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.kit import APPS, POLICY, SELF_AUTHORIZED, app_xml, check, project, run, well_formed

BASE_CONFIG = "fail_on: high\n"


def _config(tmp_path: Path, text: str) -> Path:
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").write_text(text, encoding="utf-8")
    return root


def _waiver(expires: str) -> str:
    return f"waivers:\n  - {{rule: CA-07, app: Plain, reason: vendor, expires: {expires}}}\n"


@pytest.mark.parametrize("date", ["2027-02-30", "2027-13-01", "0000-01-01"])
def test_impossible_waiver_date(tmp_path, date):
    root = _config(tmp_path, _waiver(date))
    check(run("scan", root), 2, says=".ca-audit.yaml:2")


def test_yaml_timestamp_where_a_string_is_expected(tmp_path):
    # An impossible date is still a fine ticket name: it is a string, not a crash.
    root = _config(tmp_path, "waivers:\n  - {rule: CA-07, app: Plain, reason: vendor, ticket: 2027-02-30}\n")
    check(run("scan", root), 0)


def test_integer_too_long_in_config(tmp_path):
    root = _config(tmp_path, "fail_on: " + "9" * 5000 + "\n")
    check(run("scan", root), 2, says=".ca-audit.yaml:1")


def test_integer_too_long_in_a_rule(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(
        "id: X-1\ntitle: t\nseverity: low\nmessage: m\nrequire: {field: oauth.certificate.key_bits, less_than: "
        + "9" * 5000 + "}\n", encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="X-1.yaml")


@pytest.mark.parametrize("policy", ["specific_lifetime:" + "9" * 400 + ":HOURS",
                                    "specific_lifetime:" + "9" * 5000 + ":DAYS"])
def test_refresh_policy_number_that_overflows(tmp_path, policy):
    extra = POLICY.replace("specific_lifetime:90:DAYS", policy)
    root = project(tmp_path / "p", {"Huge.connectedApp-meta.xml": app_xml(SELF_AUTHORIZED.format(admin="true"),
                                                                           extra=extra)})
    result = check(run("scan", root, "--format", "json"), 1)  # CA-19: an invalid refresh-token policy
    assert any(f["rule_id"] == "CA-19" for f in json.loads(result.out)["findings"])


def test_conditions_nested_150_deep(tmp_path):
    condition = "{field: label, exists: true}"
    for _ in range(150):
        condition = "{not: " + condition + "}"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-2.yaml").write_text(f"id: X-2\ntitle: t\nseverity: low\nmessage: m\nrequire: {condition}\n",
                                    encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="X-2.yaml")


def _deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_sfdx_project_json(tmp_path):
    root = project(tmp_path / "p")
    (root / "sfdx-project.json").write_text('{"packageDirectories": ' + _deep_json() + "}", encoding="utf-8")
    check(run("scan", root), 2, says="sfdx-project.json")


def test_deeply_nested_snapshot(tmp_path):
    snapshot = tmp_path / "deep.json"
    snapshot.write_text('{"format": "ca-audit-snapshot", "format_version": 1, "soql": ' + _deep_json() + "}")
    check(run("scan", snapshot), 2, says="deep.json")


def test_deeply_nested_baseline(tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"tool": "ca-audit", "baseline_version": 1, "findings": ' + _deep_json() + "}")
    check(run("scan", project(tmp_path / "p"), "--baseline", baseline), 2, says="baseline.json")


def _snapshot(tmp_path: Path, **changes) -> Path:
    data = json.loads((Path(__file__).parents[2] / "sample_configs" / "org.snapshot.json").read_text())
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    path = tmp_path / "org.snapshot.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


MALFORMED_SNAPSHOTS = {
    "rows-not-a-list": {"soql__ConnectedApplication": "rows"},
    "row-not-an-object": {"soql__ConnectedApplication": ["row"]},
    "id-not-a-string": {"soql__ConnectedApplication__0__Id": {"nested": 1}},
    "date-not-a-date": {"soql__OauthToken__0__LastUsedDate": "yesterday"},
    "date-a-number": {"soql__OauthToken__0__LastUsedDate": 12},
    "user-without-username": {"soql__User": [{"IsActive": True}]},
    "use-count-not-a-number": {"soql__OauthToken__0__UseCount": "many"},
    "records-not-an-object": {"metadata__ConnectedApp__records": ["doc"]},
    "record-not-a-string": {"metadata__ConnectedApp__records__Integration_App": 5},
    "listed-not-a-list": {"metadata__ConnectedApp__listed": 5},
    "pulled-at-not-a-date": {"provenance__pulled_at": "2027-02-30T00:00:00Z"},
    "errors-not-objects": {"errors": ["x"]},
    "users-read-not-a-list": {"integration_users_read": 5},
    "metadata-not-an-object": {"metadata": []},
}


@pytest.mark.parametrize("case", sorted(MALFORMED_SNAPSHOTS))
def test_malformed_snapshot_field(tmp_path, case):
    check(run("scan", _snapshot(tmp_path, **MALFORMED_SNAPSHOTS[case])), 2, says="org.snapshot.json")


@pytest.mark.parametrize("entry", ['{"not": "a list"}', "[1, 2, 3]", '[{"id": 5}]', "null"])
def test_wrong_shaped_cache_entries_are_dropped(tmp_path, entry):
    cache = tmp_path / "cache"
    root = project(tmp_path / "p", {"Oauth.connectedApp-meta.xml": app_xml(SELF_AUTHORIZED.format(admin="false"),
                                                                            extra=POLICY)})
    (root / ".ca-audit.yaml").write_text("fail_on: medium\n", encoding="utf-8")
    env = {"CA_AUDIT_CACHE_DIR": str(cache)}
    check(run("scan", root, env=env), 1)
    entries = list(cache.rglob("*.json"))
    assert entries
    for path in entries:
        path.write_text(entry, encoding="utf-8")
    check(run("scan", root, env=env), 1)  # the same findings: the entries were parsed again, not trusted


def test_output_path_that_is_a_folder(tmp_path):
    check(run("scan", project(tmp_path / "p"), "--output", tmp_path), 2, says="cannot write")


def test_output_to_dev_full(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    check(run("scan", project(tmp_path / "p"), "--output", "/dev/full"), 2, says="cannot write")


def test_stdout_is_dev_full(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        check(run("scan", project(tmp_path / "p"), stdout=full.fileno()), 2, says="cannot write")


def test_stdout_closed(tmp_path):
    root = project(tmp_path / "p")
    started = subprocess.run(["bash", "-c", '"$@" >&-', "_", *run_argv("scan", str(root))],
                             capture_output=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
    assert b"Traceback" not in started.stderr, started.stderr
    assert started.returncode == 2, (started.returncode, started.stderr)
    assert b"standard output" in started.stderr


def test_broken_pipe(tmp_path):
    files = {f"App{i}.connectedApp-meta.xml": app_xml(SELF_AUTHORIZED.format(admin="false"), label=f"App{i}",
                                                       extra=POLICY) for i in range(300)}
    root = project(tmp_path / "p", files)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = run("scan", root, "--fail-on", "medium", stdout=write_end)
    finally:
        os.close(write_end)
    check(result, 2, says="standard output")


def run_argv(*args: str) -> list[str]:
    from tests.conftest import ca_audit_command

    return [*ca_audit_command(), *args]


def test_unexpected_exception_is_exit_2_with_one_line(tmp_path):
    """Any exception nobody foresaw: one line, exit 2; the traceback only with --debug. Forced by breaking
    the standard library's json.dumps (not one of ca-audit's functions)."""
    script = ("import json, sys\n"
              "def broken(*a, **k):\n    raise RuntimeError('boom')\n"
              "json.dumps = broken\n"
              "from auditor.cli import main\n"
              "sys.argv = ['ca-audit', *sys.argv[1:]]\nmain()\n")
    root = project(tmp_path / "p")
    plain = subprocess.run([sys.executable, "-c", script, "scan", str(root), "--format", "json"],
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2, plain.stderr
    assert "Traceback" not in plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1 and "internal error" in plain.stderr
    debug = subprocess.run([sys.executable, "-c", script, "--debug", "scan", str(root), "--format", "json"],
                           capture_output=True, text=True, timeout=60)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


@pytest.mark.parametrize("output_format", ["table", "json", "sarif", "junit", "markdown", "github"])
def test_file_name_not_utf8(tmp_path, output_format):
    root = project(tmp_path / "p")
    name = os.fsencode(str(root / APPS)) + b"/Caf\xe9\xff.connectedApp-meta.xml"
    with open(name, "wb") as handle:
        handle.write(app_xml(SELF_AUTHORIZED.format(admin="false"), extra=POLICY).encode())
    result = check(run("scan", root, "--format", output_format, "--fail-on", "medium"), 1)
    well_formed(output_format, result.out)
    assert "\ufffd" not in result.out  # the name is shown escaped, not mangled
