"""pytest fixtures for org tests: a running fake org trusted through REQUESTS_CA_BUNDLE, a
stand-in `sf` executable on PATH, and an in-process CLI runner.

Import them explicitly in a test module: ``from tests.fakeorg.fixtures import fake_org_fixture``; the
fixture is then requested as ``fake_org`` (likewise ``project``, ``sf_cli``).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .sample import SAMPLE_CONFIG, sample_org
from .server import FakeSalesforce


@pytest.fixture(name="fake_org")
def fake_org_fixture(monkeypatch):
    """The sample org on https://127.0.0.1:PORT, with short timeouts and backoff for fast fault tests."""
    fake = FakeSalesforce(sample_org(), page_size=2).start()
    trust(monkeypatch, fake)
    yield fake
    fake.stop()


def trust(monkeypatch, fake: FakeSalesforce) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_path)  # every call, Metadata SOAP included
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("CA_AUDIT_HTTP_TIMEOUT", "2")
    monkeypatch.setenv("CA_AUDIT_RETRY_BACKOFF", "0.01")
    for name in ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(name="project")
def project_fixture(tmp_path) -> Path:
    """A folder with the sample org's .ca-audit.yaml (declared flows and integration users)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".ca-audit.yaml").write_text(SAMPLE_CONFIG, encoding="utf-8")
    return folder


STAND_IN = '''\
import json, os, sys
config = json.load(open(os.environ["FAKE_SF_CONFIG"]))
args = sys.argv[1:]
with open(config["log"], "a") as log:
    log.write(json.dumps(args) + "\\n")
alias = args[args.index("--target-org") + 1] if "--target-org" in args else None
org = config["orgs"].get(alias)
def fail(name, message, code=1):
    print(json.dumps({"status": code, "name": name, "message": message, "exitCode": code,
                      "commandName": "OrgDisplayCommand", "warnings": []}))
    sys.exit(code)
if org is None:
    fail("NamedOrgNotFoundError", f"No authorization information found for {alias}.")
if org.get("expired"):
    fail("RefreshTokenAuthError", "Error authenticating with the refresh token due to: expired access/refresh token")
if args[:2] == ["org", "display"]:
    token = "[REDACTED] Use 'sf org auth show-access-token' to view" if org.get("redacted") else org["token"]
    result = {"id": org["org_id"], "apiVersion": "66.0", "accessToken": token, "instanceUrl": org["url"],
              "username": org["username"], "clientId": "PlatformCLI", "connectedStatus": "Connected",
              "alias": alias}
elif args[:3] == ["org", "auth", "show-access-token"]:
    result = {"accessToken": org["token"]}
else:
    fail("UnexpectedCommand", " ".join(args))
print(json.dumps({"status": 0, "result": result, "warnings": []}))
'''


@dataclass
class StandInSf:
    folder: Path
    config_path: Path
    log_path: Path

    def add(self, alias: str, fake: FakeSalesforce, *, redacted: bool = True, expired: bool = False) -> None:
        config = json.loads(self.config_path.read_text())
        config["orgs"][alias] = {"url": fake.url, "token": fake.token, "org_id": fake.data.org_id,
                                 "username": "admin@acme.example", "redacted": redacted, "expired": expired}
        self.config_path.write_text(json.dumps(config))

    def calls(self) -> list[list[str]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


@pytest.fixture(name="sf_cli")
def sf_cli_fixture(tmp_path, monkeypatch) -> StandInSf:
    """A stand-in `sf` first on PATH that answers `org display` / `org auth show-access-token` like
    plugin-org ≥ 5.11 (token redacted in display)."""
    folder = tmp_path / "sf-bin"
    folder.mkdir()
    script = folder / "sf"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    config = tmp_path / "sf-config.json"
    log = tmp_path / "sf-calls.log"
    config.write_text(json.dumps({"orgs": {}, "log": str(log)}))
    monkeypatch.setenv("FAKE_SF_CONFIG", str(config))
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return StandInSf(folder, config, log)


def invoke(*args: str, cwd: Path | None = None):
    """Run the ca-audit CLI in this process (the fake org lives here too); returns the runner result."""
    from typer.testing import CliRunner

    from auditor.cli import app

    runner = CliRunner()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
