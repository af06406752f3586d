"""`ca-audit access` after a review by an admin of a large org: snapshots past the 16 MiB file cap,
CSV formula injection, the config next to the snapshot, app-name mistakes, expired assignments, and
what CA-30 says of a token never used. Real inputs: the sample snapshot and the fake org."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from auditor.sources.snapshot import write
from tests.fakeorg.fixtures import invoke, trust
from tests.fakeorg.large import large_org, large_scenario
from tests.fakeorg.server import FakeSalesforce

SAMPLE = Path(__file__).resolve().parents[2] / "sample_configs"
OLD_FILE_CAP = 16 * 1024 * 1024


def sample() -> dict:
    return json.loads((SAMPLE / "org.snapshot.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------- 1. snapshot size
def test_a_snapshot_over_the_file_cap_reads(tmp_path):
    """An org the size of the issue's (20,000 users, 30,000 tokens) pulls to ~18 MB; this one holds
    70,000 extra tokens of Integration App (about 18 MB too) and must read as any other."""
    data = sample()
    extra = 70_000
    data["soql"]["OauthToken"] += [
        {"AppName": "Integration App", "CreatedDate": "2026-01-01T00:00:00.000+0000",
         "LastUsedDate": "2026-11-01T00:00:00.000+0000", "UseCount": 1,
         "User": {"Username": f"bulk{i:06d}@northwind.example.com"}, "UserId": f"0055e{i:010d}AAA"}
        for i in range(extra)]
    path = tmp_path / "big.snapshot.json"
    size = write(data, path)
    assert size > OLD_FILE_CAP
    result = invoke("access", str(path), "Integration_App", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    (app,) = json.loads(result.stdout)["apps"]
    assert app["uses"]["token_count"] == extra + 1
    assert app["uses"]["token_users"] == extra + 1
    scan = invoke("scan", str(path), "--only", "CA-30", "--format", "json", cwd=tmp_path)
    assert scan.exit_code == 0, scan.stderr
    assert json.loads(scan.stdout)["input_errors"] == []


def test_the_snapshot_cap_names_its_variable(tmp_path, monkeypatch):
    path = tmp_path / "org.snapshot.json"
    size = write(sample(), path)
    monkeypatch.setenv("CA_AUDIT_MAX_SNAPSHOT_BYTES", str(size - 1))
    result = invoke("access", str(path), cwd=tmp_path)
    assert result.exit_code == 2
    assert f"larger than {size - 1} bytes (CA_AUDIT_MAX_SNAPSHOT_BYTES)" in result.stderr
    monkeypatch.setenv("CA_AUDIT_MAX_SNAPSHOT_BYTES", str(size))
    assert invoke("access", str(path), cwd=tmp_path).exit_code == 0


def test_pull_says_when_its_snapshot_is_more_than_the_readers_take(tmp_path, monkeypatch):
    """pull → access end to end: a pull whose snapshot the readers would refuse exits 2 and says how to
    read it; with the cap it names, access reads it."""
    scenario = large_scenario(apps=12, users=600, tokens=900, big_app_tokens=100, logins=50)
    fake = FakeSalesforce(large_org(scenario)).start()
    trust(monkeypatch, fake)
    monkeypatch.setenv("CA_AUDIT_MAX_SNAPSHOT_BYTES", "100000")
    path = tmp_path / "org.snapshot.json"
    try:
        pulled = invoke("pull", "--instance-url", fake.url, "--access-token", fake.token, "-o", str(path),
                        cwd=tmp_path)
    finally:
        fake.stop()
    size = path.stat().st_size
    assert size > 100_000
    assert pulled.exit_code == 2
    assert (f"the snapshot is {size} bytes, more than the 100000 that scan and access read "
            f"(CA_AUDIT_MAX_SNAPSHOT_BYTES); read it with CA_AUDIT_MAX_SNAPSHOT_BYTES={size} set") in pulled.stderr
    refused = invoke("access", str(path), "--format", "json", cwd=tmp_path)
    assert refused.exit_code == 2 and "CA_AUDIT_MAX_SNAPSHOT_BYTES" in refused.stderr
    monkeypatch.setenv("CA_AUDIT_MAX_SNAPSHOT_BYTES", str(size))
    answer = invoke("access", str(path), "--format", "json", cwd=tmp_path)
    assert answer.exit_code == 0, answer.stderr
    apps = json.loads(answer.stdout)["apps"]
    assert sum(a["uses"]["token_count"] for a in apps) == len(scenario.tokens)
    monkeypatch.delenv("CA_AUDIT_MAX_SNAPSHOT_BYTES")
    assert invoke("access", str(path), "--format", "json", cwd=tmp_path).exit_code == 0  # the default cap


# ---------------------------------------------------------------------------- 2. CSV formula injection
def test_access_csv_cells_never_start_a_formula(tmp_path):
    """A username or app label from the org that a spreadsheet would run goes out with a leading `'`, as in
    `scan --format csv` (the same function)."""
    data = sample()
    evil_user, evil_app = "=cmd|' /C calc'!A0@evil.example", "+HYPERLINK(\"http://evil.example\")"
    data["soql"]["OauthToken"] += [
        {"AppName": "Integration App", "CreatedDate": "2026-01-01T00:00:00.000+0000", "LastUsedDate": None,
         "UseCount": 1, "User": {"Username": evil_user}, "UserId": "0055e0000000999AAA"},
        {"AppName": evil_app, "CreatedDate": "2026-01-01T00:00:00.000+0000", "LastUsedDate": None,
         "UseCount": 1, "User": {"Username": "-2+3@evil.example"}, "UserId": "0055e0000000998AAA"}]
    write(data, tmp_path / "org.snapshot.json")
    result = invoke("access", str(tmp_path / "org.snapshot.json"), "--format", "csv", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    cells = [cell for row in rows for cell in row]
    assert "'" + evil_user in cells and "'-2+3@evil.example" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    from auditor.formats import _safe, csv_format

    assert csv_format.spreadsheet_cell is _safe.spreadsheet_cell  # one definition for both CSV outputs


# ---------------------------------------------------------------------------- 3. the config beside the snapshot
def test_access_finds_the_config_next_to_the_snapshot():
    """From the repository root, as docs/org.md shows it: the integration users come from
    sample_configs/.ca-audit.yaml, not from the working directory."""
    root = SAMPLE.parent
    result = invoke("access", "sample_configs/org.snapshot.json", "Order_Sync_Service", "--format", "json",
                    cwd=root)
    assert result.exit_code == 0, result.stderr
    (app,) = json.loads(result.stdout)["apps"]
    assert app["integration_users"] == [{"username": "order.sync@northwind.example.com", "status": "ok"}]


def test_the_org_md_example_is_what_the_command_prints():
    doc = (SAMPLE.parent / "docs" / "org.md").read_text(encoding="utf-8")
    command = "ca-audit access sample_configs/org.snapshot.json Order_Sync_Service --format json"
    assert command in doc
    shown = doc.split(command, 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    result = invoke(*command.split()[1:], cwd=SAMPLE.parent)
    assert result.exit_code == 0, result.stderr
    assert shown + "\n" == result.stdout


# ---------------------------------------------------------------------------- 4. rough edges
def test_a_mistyped_app_gets_a_suggestion_not_the_list_of_apps():
    result = invoke("access", "org.snapshot.json", "Integration_Ap", cwd=SAMPLE)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("no app named 'Integration_Ap' in the org (did you mean 'Integration_App'?)")
    assert "Legacy_Reporting" not in result.stderr and "…" not in result.stderr
    far = invoke("access", "org.snapshot.json", "Zebra", cwd=SAMPLE)
    assert far.exit_code == 2
    assert "no app named 'Zebra' in the org (the org has 11 app(s)" in far.stderr
    assert "Legacy_Reporting" not in far.stderr


def test_a_missing_snapshot_is_named(tmp_path):
    result = invoke("access", "nonexist.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert "nonexist.json: cannot read the snapshot: no such file" in result.stderr
    assert "access needs an org" not in result.stderr


def test_an_expired_assignment_is_shown_not_counted():
    result = invoke("access", "org.snapshot.json", "Finance_Batch_Loader", "--format", "json", cwd=SAMPLE)
    assert result.exit_code == 0, result.stderr
    (app,) = json.loads(result.stdout)["apps"]
    assert app["can_use"]["count"] == 0 and app["can_use"]["users"] == []
    assert app["can_use"]["expired"] == [{"username": "finance.batch@northwind.example.com",
                                          "via": ["permission_set:Finance_Batch_Integration"], "active": True,
                                          "frozen": False, "expired_on": "2026-11-21"}]
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(invoke(
        "access", "org.snapshot.json", "Finance_Batch_Loader", "--format", "csv", cwd=SAMPLE).stdout))}
    lapsed = rows["finance.batch@northwind.example.com"]
    assert (lapsed["can_use"], lapsed["via"], lapsed["assignment_expired"]) == \
        ("no", "permission_set:Finance_Batch_Integration", "2026-11-21")
    # The admin holds a token of the app without a grant: the snapshot knows the admin, so say so.
    admin = rows["admin@northwind.example.com"]
    assert (admin["can_use"], admin["via"], admin["active"], admin["frozen"], admin["tokens"]) == \
        ("no", "", "true", "false", "1")
    table = invoke("access", "org.snapshot.json", cwd=SAMPLE).stdout
    assert "(1 whose assignment expired left out)" in table


# ---------------------------------------------------------------------------- 5. CA-30 on tokens never used
def test_ca30_says_never_used_rather_than_not_set(tmp_path):
    data = sample()
    for row in data["soql"]["OauthToken"]:
        if row["AppName"] == "Legacy Reporting":
            row["LastUsedDate"] = None
    write(data, tmp_path / "org.snapshot.json")
    result = invoke("scan", str(tmp_path / "org.snapshot.json"), "--only", "CA-30", "--format", "json",
                    cwd=tmp_path)
    messages = {f["app"]: f["message"] for f in json.loads(result.stdout)["findings"]}
    assert "last used: never (no token records a use);" in messages["Legacy_Reporting"]
    assert not [m for m in messages.values() if "not set" in m]
    fixture = SAMPLE.parent / "rules" / "tests" / "CA-30" / "fail" / "Web_ECA_Never_Used.json"
    result = invoke("scan", str(fixture), "--only", "CA-30", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(result.stdout)["findings"]
    assert "(tokens: 0; last used: never (no tokens);" in finding["message"]
    used = invoke("scan", str(SAMPLE / "org.snapshot.json"), "--only", "CA-30", "--format", "json", cwd=tmp_path)
    legacy = next(f for f in json.loads(used.stdout)["findings"] if f["app"] == "Legacy_Reporting")
    assert "last used: 150 days before the org was read;" in legacy["message"]


@pytest.mark.parametrize("command", ["ca-audit access org.snapshot.json",
                                     "ca-audit access org.snapshot.json Finance_Batch_Loader --format csv"])
def test_the_readme_shows_what_access_prints(command):
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Who can use an app, and who uses it: `ca-audit access`", 1)[1].split("\n## ", 1)[0]
    shown = section.split(f"{command}`)", 1)[1].split("```\n", 1)[1].split("```\n", 1)[0]
    result = invoke(*command.split()[1:], cwd=SAMPLE)
    assert result.exit_code == 0, result.stderr
    assert shown == result.stdout


# ---------------------------------------------------------------------------- hostile names in every format
@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_org_names_cannot_run_workflow_commands_or_carry_control_characters(tmp_path, output_format):
    """An app known only from its tokens is named by OauthToken.AppName, and usernames come from the
    org: neither may start a line a CI runner runs as a command (`::…`, `##[…]`) or send escapes."""
    data = sample()
    token = dict(data["soql"]["OauthToken"][0])
    token["AppName"] = "Shadow\n::error file=a::pwn ##[warning]x\x1b[31m"
    token["User"] = {"Username": "::stop-commands::##[error]tok@evil.example"}
    data["soql"]["OauthToken"].append(token)
    path = tmp_path / "hostile.snapshot.json"
    write(data, path)
    result = invoke("access", str(path), "--format", output_format)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    out = result.stdout
    assert "\x1b" not in out and "##[" not in out
    assert not [line for line in out.splitlines() if line.lstrip().startswith("::")]
    assert "Shadow" in out  # shown, escaped, not dropped
    assert output_format == "table" or "stop-commands" in out  # the table shows counts, not usernames


@pytest.mark.parametrize("value", ["garbage", 12])
def test_a_malformed_field_is_an_input_error_not_a_crash(tmp_path, value):
    """`scan` reports the field; `access` must too (it read on and crashed)."""
    data = sample()
    data["soql"]["AccessAssignments"][2]["ExpirationDate"] = value
    path = tmp_path / "bad.snapshot.json"
    write(data, path)
    result = invoke("access", str(path))
    assert result.exit_code == 2
    assert "internal error" not in result.stderr + result.stdout
    assert "AccessAssignments[2].ExpirationDate" in result.stderr + result.stdout


def test_a_field_only_access_reads_of_the_wrong_shape_is_an_input_error(tmp_path):
    data = sample()
    data["soql"]["FrozenUsers"] = [{"NotUserId": "x"}]
    path = tmp_path / "odd.snapshot.json"
    write(data, path)
    result = invoke("access", str(path))
    assert result.exit_code == 2
    assert "internal error" not in result.stderr + result.stdout
    assert "malformed snapshot" in result.stderr + result.stdout
