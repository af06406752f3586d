"""No consumer key or secret reaches any output of `fix` or `preflight --fix` (text, JSON, diff), the
diff still applies (plain `git apply` when no secret follows a change, `--unidiff-zero` when one
does), and a patch that would change a key or secret line is never produced."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from auditor.fix.diff import REDACTED, SecretLineChanged, mask_line, unified_diff
from tests.conftest import run_cli
from tests.fix.test_fix import SAMPLE, SEED, SEED_FILE, project, snapshot

SECRET = "C0FFEE00DEADBEEF"
LEGACY = "force-app/main/default/connectedApps/Legacy_Reporting.connectedApp-meta.xml"


def _no_secret(text: str) -> None:
    # The element's name may appear in a fix text (CA-23: delete `<consumerSecret>`); its value never does.
    assert SECRET not in text
    assert not re.search(r"<consumer(Secret|Key)>[^`<\s]", text)


@pytest.mark.parametrize("args", [[], ["--app", "Legacy_Reporting"], ["--format", "json"],
                                  ["--app", "Legacy_Reporting", "--format", "json"]])
def test_fix_never_prints_the_committed_secret(tmp_path, args):
    folder = project(tmp_path, SAMPLE, "as-is")
    assert SECRET in (folder / LEGACY).read_text()
    done = run_cli("fix", folder.name, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _no_secret(done.stdout + done.stderr)
    assert "Legacy_Reporting" in done.stdout + done.stderr


def test_preflight_fix_never_prints_a_committed_key_or_secret(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    seed = folder / SEED_FILE
    seed.write_bytes(seed.read_bytes().replace(
        b"        <isAdminApproved>", f"        <consumerKey>3MVG9KEYVALUE</consumerKey>\n"
        f"        <consumerSecret>{SECRET}</consumerSecret>\n        <isAdminApproved>".encode()))
    for extra in ([], ["--format", "json"]):
        done = run_cli("preflight", SEED, "--flow", "saml2-bearer", folder.name, "--fix",
                       "--assign-permission-set", "Claims_Integration", *extra, cwd=tmp_path)
        assert done.returncode in (0, 1), done.stderr
        diff = json.loads(done.stdout)["fix"]["patches"][0]["diff"] if extra else done.stdout
        assert "+        <isAdminApproved>true</isAdminApproved>" in diff
        _no_secret(done.stdout + done.stderr)
        assert "3MVG9KEYVALUE" not in done.stdout + done.stderr


def test_a_diff_next_to_a_secret_applies_with_unidiff_zero_and_equals_write(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    original = snapshot(folder)
    plan = json.loads(run_cli("fix", folder.name, "--app", "Legacy_Reporting", "--format", "json",
                              cwd=tmp_path).stdout)
    [patch] = plan["patches"]
    assert patch["unidiff_zero"] is True  # the secret is the line after the callback URL change
    printed = run_cli("fix", folder.name, "--app", "Legacy_Reporting", cwd=tmp_path)
    assert "git apply --unidiff-zero" in printed.stderr
    (tmp_path / "fix.patch").write_text(printed.stdout)
    plain = subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, capture_output=True, text=True)
    assert plain.returncode != 0 and snapshot(folder) == original  # refused, never applied elsewhere
    zero = subprocess.run(["git", "apply", "--unidiff-zero", "fix.patch"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert zero.returncode == 0, zero.stderr
    by_git = snapshot(folder)
    assert SECRET in by_git[LEGACY].decode()
    for path, data in original.items():
        (folder / path).write_bytes(data)
    assert run_cli("fix", folder.name, "--app", "Legacy_Reporting", "--write", cwd=tmp_path).returncode == 0
    assert snapshot(folder) == by_git


def test_a_secret_before_a_change_leaves_the_diff_plain_git_apply_able(tmp_path):
    folder = tmp_path / "project" / "connectedApps"
    folder.mkdir(parents=True)
    app = folder / "Keyed.connectedApp-meta.xml"
    original = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                b"    <contactEmail>a@b.c</contactEmail>\n    <label>Keyed</label>\n    <oauthConfig>\n"
                b"        <callbackUrl>https://x.example.com/cb</callbackUrl>\n"
                b"        <consumerKey>3MVG9abcdefghijklmnop</consumerKey>\n"
                b"        <isAdminApproved>true</isAdminApproved>\n        <scopes>Api</scopes>\n"
                b"    </oauthConfig>\n    <permissionSetName>Keyed_Access</permissionSetName>\n</ConnectedApp>\n")
    app.write_bytes(original)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    printed = run_cli("fix", "project", "--only", "CA-01", "--flow", "Keyed=jwt-bearer", cwd=tmp_path)
    assert printed.returncode == 0 and "+        <scopes>RefreshToken</scopes>" in printed.stdout, printed.stderr
    assert "3MVG9a" not in printed.stdout and "consumerKey" not in printed.stdout
    (tmp_path / "fix.patch").write_text(printed.stdout)
    done = subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert app.read_bytes() == original.replace(b"<scopes>Api</scopes>\n",
                                                b"<scopes>Api</scopes>\n        <scopes>RefreshToken</scopes>\n")


def test_a_patch_that_changes_a_secret_line_is_never_produced():
    before = (b"<ConnectedApp>\n  <oauthConfig>\n    <consumerSecret>S3CRET-VALUE</consumerSecret>\n"
              b"  </oauthConfig>\n</ConnectedApp>\n")
    with pytest.raises(SecretLineChanged):
        unified_diff("a.xml", before, before.replace(b"S3CRET-VALUE", b"OTHER"))
    with pytest.raises(SecretLineChanged):  # a change on the same line as a key
        unified_diff("a.xml", b"<A>\n<consumerKey>K1234567</consumerKey><b>1</b>\n</A>\n",
                     b"<A>\n<consumerKey>K1234567</consumerKey><b>2</b>\n</A>\n")
    multi = b"<A>\n<consumerSecret>\nS3CRET\n</consumerSecret>\n<b>1</b>\n</A>\n"
    with pytest.raises(SecretLineChanged):  # inside a value that spans lines
        unified_diff("a.xml", multi, multi.replace(b"\nS3CRET\n", b"\nX\n"))
    shown = unified_diff("a.xml", multi, multi.replace(b"<b>1</b>", b"<b>2</b>"))
    assert "S3CRET" not in shown.text and "-<b>1</b>\n+<b>2</b>\n" in shown.text


def test_mask_line():
    masked = f"    <consumerSecret>{REDACTED}</consumerSecret>\n"
    assert mask_line("    <consumerSecret>abc123</consumerSecret>\n") == masked
    assert mask_line("  <consumerKey>3MVG9abcdef</consumerKey>\r\n") == "  <consumerKey>3MVG9a…</consumerKey>\r\n"
