"""`ca-audit access` after a review by an admin of a large org: snapshots past the 16 MiB file cap,
CSV formula injection, the config next to the snapshot, app-name mistakes, expired assignments, and
what CA-30 says of a token never used. Real inputs: the sample snapshot and the fake org."""

from __future__ import annotations

import json
from pathlib import Path

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
