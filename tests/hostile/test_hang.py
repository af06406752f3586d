"""Hangs and blow-ups: work bounded by the input's size, never by its shape. Inputs of about 1 MB
run through the real CLI in a generous time budget; a FIFO or a device is refused, never read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.hostile.kit import POLICY, SELF_AUTHORIZED, app_xml, check, project, run

MB = 1 << 20


def _app_with(tmp_path: Path, oauth_extra: str) -> Path:
    oauth = SELF_AUTHORIZED.format(admin="true") + oauth_extra
    return project(tmp_path / "p", {"Big.connectedApp-meta.xml": app_xml(oauth, extra=POLICY)})


@pytest.mark.parametrize(("value", "code"), [(" " * MB + "x", 1), ("{" * MB + "x", 1),
                                             ("your " + " " * MB + "}" * 10, 0), ("{" * MB + "SECRET" + "}" * MB, 0)],
                         ids=["spaces", "braces", "your-then-spaces", "braced"])
def test_consumer_secret_placeholder_check_is_linear(tmp_path, value, code):
    # A real committed secret is CA-23 (critical, exit 1); a placeholder is not.
    check(run("scan", _app_with(tmp_path, f"        <consumerSecret>{value}</consumerSecret>\n")), code, budget=10)


@pytest.mark.parametrize("value", ["-----BEGIN CERTIFICATE-----\n" * (MB // 28), " " * MB + "x",
                                   "-----BEGIN CERTIFICATE-----" + " " * MB],
                         ids=["begin-lines", "spaces", "begin-then-spaces"])
def test_certificate_matcher_is_linear(tmp_path, value):
    # An unreadable certificate is CA-05 (medium here): exit 1 with --fail-on medium, quickly.
    check(run("scan", _app_with(tmp_path, f"        <certificate>{value}</certificate>\n"), "--fail-on", "medium"), 1,
          budget=10)


def _fifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(path)
    return path


def test_metadata_file_that_is_a_fifo(tmp_path):
    root = project(tmp_path / "p")
    _fifo(root / "force-app/main/default/connectedApps/Pipe.connectedApp-meta.xml")
    check(run("scan", root), 2, says="not a regular file")


def test_metadata_file_that_links_to_dev_zero(tmp_path):
    root = project(tmp_path / "p")
    (root / "force-app/main/default/connectedApps/Zero.connectedApp-meta.xml").symlink_to("/dev/zero")
    check(run("scan", root), 2, says="Zero.connectedApp-meta.xml")


def test_metadata_file_named_directly_that_is_a_fifo(tmp_path):
    pipe = _fifo(tmp_path / "Pipe.connectedApp-meta.xml")
    check(run("scan", pipe), 2, says="not a regular file")


def test_metadata_file_over_the_size_cap(tmp_path):
    root = project(tmp_path / "p")
    big = root / "force-app/main/default/connectedApps/Big.connectedApp-meta.xml"
    with open(big, "wb") as handle:  # sparse: 17 MB that take no disk space
        handle.truncate(17 * MB)
    check(run("scan", root), 2, says="larger than")


def test_size_cap_is_configurable(tmp_path):
    root = project(tmp_path / "p")
    check(run("scan", root, env={"CA_AUDIT_MAX_FILE_BYTES": "100"}), 2, says="larger than")


def test_baseline_that_is_a_fifo(tmp_path):
    check(run("scan", project(tmp_path / "p"), "--baseline", _fifo(tmp_path / "b.json")), 2, says="not a regular file")


def test_baseline_that_is_dev_zero(tmp_path):
    check(run("scan", project(tmp_path / "p"), "--baseline", "/dev/zero"), 2, says="not a regular file")


def test_config_that_is_a_fifo(tmp_path):
    check(run("scan", project(tmp_path / "p"), "--config", _fifo(tmp_path / "c.yaml")), 2, says="not a regular file")


def test_config_found_upward_that_is_a_fifo(tmp_path):
    root = project(tmp_path / "p")
    _fifo(root / ".ca-audit.yaml")
    check(run("scan", root), 2, says="not a regular file")


def test_rule_file_that_is_a_fifo(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    _fifo(rules / "X-1.yaml")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="not a regular file")


def test_snapshot_that_is_a_fifo(tmp_path):
    check(run("scan", _fifo(tmp_path / "org.json")), 2, says="org.json")


def test_jwt_key_file_that_is_a_fifo(tmp_path):
    pipe = _fifo(tmp_path / "key.pem")
    result = run("pull", "--client-id", "x", "--jwt-key-file", pipe, "--username", "u@example.com",
                 "--login-url", "https://127.0.0.1:9", "--output", tmp_path / "s.json")
    check(result, 2, says="not a regular file")


ALIAS_BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              + "".join(f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                        for p, n in zip("abcdefgh", "bcdefghi", strict=True)))


def test_yaml_alias_bomb_in_config(tmp_path):
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    check(run("scan", root), 2, says=".ca-audit.yaml")


def test_yaml_alias_bomb_in_a_rule(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="X-1.yaml")


def test_yaml_nested_very_deep(tmp_path):
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    check(run("scan", root), 2, says=".ca-audit.yaml")


def test_yaml_config_over_the_size_cap(tmp_path):
    root = project(tmp_path / "p")
    (root / ".ca-audit.yaml").write_text("# padding\n" * 20, encoding="utf-8")
    check(run("scan", root, env={"CA_AUDIT_MAX_FILE_BYTES": "100"}), 2, says="larger than")


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|a)*$", "(a*)*b", "(.*a){20}"])
def test_catastrophic_user_regex_is_a_rule_error(tmp_path, pattern):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(
        f"id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire: {{not: {{field: label, matches: '{pattern}'}}}}\n",
        encoding="utf-8")
    root = project(tmp_path / "p", {"Plain.connectedApp-meta.xml": app_xml(label="a" * 40 + "!")})
    check(run("scan", root, "--rules", rules), 2, says="X-1.yaml")


def test_user_regex_over_the_length_limit_is_a_rule_error(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(
        f"id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire: {{not: {{field: label, matches: '{'a' * 2000}'}}}}\n",
        encoding="utf-8")
    check(run("scan", project(tmp_path / "p"), "--rules", rules), 2, says="X-1.yaml")


def test_user_regex_on_a_huge_value_is_bounded(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "X-1.yaml").write_text(
        "id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire: {not: {field: label, matches: 'a.*a.*z'}}\n",
        encoding="utf-8")
    root = project(tmp_path / "p", {"Plain.connectedApp-meta.xml": app_xml(label="a" * MB)})
    check(run("scan", root, "--rules", rules), 2, budget=10, says="longer than")


# The tool's own regular expressions and matchers, called directly on ~1 MB of the input shapes that
# made them backtrack: each must finish well within 2 s (the quadratic versions took minutes).
LINEAR_CASES = {
    "placeholder-spaces": ("placeholder", " " * MB + "x"),
    "placeholder-braces": ("placeholder", "{" * MB + "x"),
    "placeholder-nested-braces": ("placeholder", "{" * MB + "a" + "}" * MB + "b"),
    "placeholder-your": ("placeholder", "your " + " " * MB + "\n"),
    "pem-begin-lines": ("certificate", "-----BEGIN CERTIFICATE-----\n" * (MB // 28)),
    "pem-spaces": ("certificate", " " * MB + "-"),
    "pem-begin-then-spaces": ("certificate", "-----BEGIN CERTIFICATE-----" + " " * MB + "-----END"),
    "xml-declaration": ("xml", b'<?xml version="1.0" encoding' + b" " * MB + b"x"),
    "refresh-policy": ("refresh", "specific_lifetime:" + "9" * MB + ":DAYS"),
}


@pytest.mark.parametrize("case", sorted(LINEAR_CASES))
def test_tool_matchers_are_linear_on_1_mb(case):
    import time

    from auditor.certificates import certificate_der
    from auditor.sources.fieldwriter import is_placeholder
    from auditor.sources.normalize import connected_app_refresh_policy
    from auditor.sources.xmldoc import XmlError, parse

    kind, value = LINEAR_CASES[case]
    started = time.monotonic()
    if kind == "placeholder":
        is_placeholder(value)
    elif kind == "certificate":
        assert certificate_der(value) is None
    elif kind == "xml":
        with pytest.raises(XmlError):
            parse(value)
    else:
        assert connected_app_refresh_policy(value, True)["policy.refresh_token.kind"] == "invalid"
    assert time.monotonic() - started < 2.0


def test_cache_entry_that_is_a_fifo(tmp_path):
    cache = tmp_path / "cache"
    root = project(tmp_path / "p")
    env = {"CA_AUDIT_CACHE_DIR": str(cache)}
    check(run("scan", root, env=env), 0)
    entries = list(cache.rglob("*.json"))
    assert entries
    for path in entries:
        path.unlink()
        _fifo(path)
    check(run("scan", root, env=env), 0)  # not cached: read again, never waited for


@pytest.mark.parametrize("value", ["200MB", "-5", "0"])
def test_a_size_cap_that_is_not_a_number_of_bytes_is_said_and_the_default_applies(value):
    done = run("scan", str(SAMPLE / "org.snapshot.json"), "--format", "json",
               env={"CA_AUDIT_MAX_SNAPSHOT_BYTES": value})
    assert done.code == 1  # the sample snapshot's findings: the default cap read it
    assert "CA_AUDIT_MAX_SNAPSHOT_BYTES must be a positive number of bytes" in done.err
