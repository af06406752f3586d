"""What every hostile-input case shares: a project written at test time, one run of the installed
`ca-audit`, and the checks every case makes (exit code, no traceback, bounded time, no secret,
well-formed output)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO, ca_audit_command

APPS = "force-app/main/default/connectedApps"
NS = "http://soap.sforce.com/2006/04/metadata"
# A secret that must never be printed: what a private key or token looks like in a message.
SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretkeymaterial"
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
BUDGET = 20.0  # seconds: generous on a shared 2-core machine; the hangs this suite catches take minutes


def app_xml(oauth: str = "", label: str = "Plain", extra: str = "", declaration: str = "") -> str:
    """A connected app that passes every rule unless `oauth` says otherwise."""
    head = declaration or '<?xml version="1.0" encoding="UTF-8"?>'
    oauth_block = f"    <oauthConfig>\n{oauth}    </oauthConfig>\n" if oauth else ""
    return (f'{head}\n<ConnectedApp xmlns="{NS}">\n    <contactEmail>a@example.com</contactEmail>\n'
            f"    <label>{label}</label>\n{oauth_block}{extra}</ConnectedApp>\n")


# Self-authorized with a profile assigned: CA-07 (medium), so `--fail-on medium` makes it exit 1.
SELF_AUTHORIZED = ("        <callbackUrl>https://example.com/cb</callbackUrl>\n"
                   "        <isAdminApproved>{admin}</isAdminApproved>\n        <isPkceRequired>true</isPkceRequired>\n"
                   "        <scopes>Api</scopes>\n")
POLICY = ("    <oauthPolicy>\n        <ipRelaxation>ENFORCE</ipRelaxation>\n"
          "        <refreshTokenPolicy>specific_lifetime:90:DAYS</refreshTokenPolicy>\n    </oauthPolicy>\n"
          "    <profileName>Integration</profileName>\n")


def project(root: Path, files: dict[str, str | bytes] | None = None, git: bool = True) -> Path:
    """A project folder with metadata files (relative to the connectedApps folder unless the name
    holds a `/` at its start) and a `.git` folder so that no config above it is used."""
    apps = root / APPS
    apps.mkdir(parents=True, exist_ok=True)
    if git:
        (root / ".git").mkdir(exist_ok=True)
    for name, content in (files or {"Plain.connectedApp-meta.xml": app_xml()}).items():
        target = root / name[1:] if name.startswith("/") else apps / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


def run(*args: str | os.PathLike, cwd: Path | None = None, env: dict[str, str] | None = None,
        stdout: int | None = subprocess.PIPE, prefix: list[str] | None = None, timeout: float = BUDGET * 3) -> Run:
    """One `ca-audit` run. Output is read as bytes and decoded leniently, so a report that is not
    UTF-8 shows up as a failed check, not as a crash of the test."""
    full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
    started = time.monotonic()
    try:
        done = subprocess.run([*(prefix or []), *ca_audit_command(), *map(os.fsdecode, args)], cwd=cwd or REPO,
                              env=full_env, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"ca-audit did not finish in {timeout} s: {list(map(os.fsdecode, args))}") from expired
    seconds = time.monotonic() - started
    out = done.stdout.decode("utf-8", "replace") if done.stdout is not None else ""
    return Run(done.returncode, out, done.stderr.decode("utf-8", "replace"), seconds)


def check(result: Run, code: int, *, secret: str | None = SECRET, budget: float = BUDGET,
          says: str | None = None) -> Run:
    """The contract every case holds to."""
    assert "Traceback" not in result.err, result.err
    assert result.code == code, \
        f"exit {result.code}, expected {code}\nstdout: {result.out[-2000:]}\nstderr: {result.err}"
    assert result.seconds < budget, f"took {result.seconds:.1f} s"
    if secret:
        assert secret not in result.out and secret not in result.err
    if says is not None:
        assert says.lower() in (result.out + result.err).lower(), result.out + result.err
    return result


def well_formed(output_format: str, text: str) -> None:
    """The report parses as its format, and carries no raw control character from the data."""
    if output_format in ("json", "sarif"):
        json.loads(text)
    elif output_format == "junit":
        ET.fromstring(text.encode("utf-8"))
    controls = [c for c in text if ord(c) < 32 and c not in "\n\t" or ord(c) == 127]
    assert not controls, f"raw control characters in the {output_format} output: {controls[:5]!r}"
    for line in text.splitlines():
        if output_format != "github":
            assert not line.startswith("::"), f"a workflow command from data: {line!r}"


def github_lines_ok(text: str) -> None:
    """Every GitHub line is a command ca-audit wrote (known levels) or its own summary line."""
    for line in text.splitlines():
        assert line.startswith(("::error ", "::error::", "::warning ", "::warning::", "::notice ", "::notice::",
                                "ca-audit: ")), line


def without_root_bypass() -> list[str]:
    """A command prefix under which a folder with mode 000 cannot be read, even by root (which
    otherwise reads through any permission): root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH."""
    import pytest

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a folder cannot be made unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]
