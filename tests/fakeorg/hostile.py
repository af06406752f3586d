"""Running ca-audit against a hostile fake org: the CLI in a child process (so a hang is a bounded
failure, not a stuck test run), short limits through the environment, and the checks every
hostile answer must pass: exit 2, no traceback, bounded time, no secret printed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ca_audit_command

# Generous: the limits below end every hostile answer in a few seconds.
TIME_LIMIT = 15.0
# What the tests set: a request has 3 s in all (a byte-per-second answer cannot stretch it), a
# 2 s read timeout, 1 MB per answer, 20 pages per query, and near-instant retry backoff.
LIMITS = {
    "CA_AUDIT_HTTP_DEADLINE": "3",
    "CA_AUDIT_HTTP_TIMEOUT": "2",
    "CA_AUDIT_MAX_RESPONSE_BYTES": "1000000",
    "CA_AUDIT_MAX_PAGES": "20",
    "CA_AUDIT_RETRY_BACKOFF": "0.01",
}
QUERY = r"/services/data/v66\.0/query/\?q="
CONNECTED_APPLICATION = QUERY + r"SELECT\+Id%2C\+Name%2C\+CreatedDate"
ORGANIZATION = QUERY + r"SELECT\+Id%2C\+Name%2C\+OrganizationType"
OAUTH_TOKEN = QUERY + r"SELECT\+AppName"
SOAP = r"/services/Soap/m/"
TOKEN = r"/services/oauth2/token"


@dataclass
class Outcome:
    code: int | None  # None: killed at the time limit (a hang)
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def report(self) -> dict:
        return json.loads(self.stdout)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Outcome:
    full_env = dict(os.environ, NO_COLOR="1", **LIMITS, **(env or {}))
    started = time.monotonic()
    try:
        done = subprocess.run([*ca_audit_command(), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=TIME_LIMIT + 5)
    except subprocess.TimeoutExpired as killed:
        return Outcome(None, _text(killed.stdout), _text(killed.stderr), time.monotonic() - started)
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def scan_with_token(fake, cwd: Path, *extra: str, instance_url: str | None = None) -> Outcome:
    """`ca-audit scan --format json` of the org, the token passed as SF_ACCESS_TOKEN (never in argv)."""
    return run("scan", "--instance-url", instance_url or fake.url, "--format", "json", *extra, cwd=cwd,
               env={"SF_ACCESS_TOKEN": fake.token})


def scan_with_jwt(fake, cwd: Path, key_file: Path, *, login_url: str | None = None) -> Outcome:
    return run("scan", "--client-id", fake.data.jwt.consumer_key, "--jwt-key-file", str(key_file), "--username",
               "order.integration@northwind.example.com", "--login-url", login_url or fake.url, "--format", "json",
               cwd=cwd)


def assert_fails_closed(outcome: Outcome, *, names: str | None = None, secrets: tuple[str, ...] = ()) -> None:
    """Exit 2 within the time limit, one clear message (naming `names`), no traceback, no secret."""
    assert outcome.code is not None, f"hang: killed after {outcome.seconds:.1f} s\n{outcome.stderr[-2000:]}"
    assert outcome.seconds < TIME_LIMIT, f"took {outcome.seconds:.1f} s"
    assert "Traceback" not in outcome.output, outcome.stderr[-3000:]
    for secret in secrets:
        assert secret and secret not in outcome.output, "a secret was printed"
    assert outcome.code == 2, f"exit {outcome.code}\n{outcome.output[-1500:]}"
    if names is not None:
        assert names in outcome.output, outcome.output[-1500:]


def key_file(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "server.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def other_host(fake, monkeypatch, tmp_path: Path, *, username: str | None = None):
    """A second org on another host and port (https://localhost:PORT) that takes `fake`'s session id
    and approves `username`, but holds no apps: whatever a redirect there brings back is not the
    org asked for. Both CAs are trusted, so only ca-audit's own policy can refuse it."""
    from tests.fakeorg.org import FakeOrgData
    from tests.fakeorg.server import FakeSalesforce

    other = FakeSalesforce(FakeOrgData(org_id="00D5e000000OthrEAA", org_name="Other host")).start()
    other.valid_tokens.add(fake.token)
    if username:
        other.data.jwt.approved_users.add(username)
    bundle = tmp_path / "both-cas.pem"
    bundle.write_text(Path(fake.ca_path).read_text() + Path(other.ca_path).read_text())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    return other


def localhost_url(fake) -> str:
    return f"https://localhost:{fake.port}"
