"""`ca-audit fix` on temporary copies of the sample project and of the fixture projects, also rewritten
with tabs, two-space indentation, CRLF line endings and elements out of schema order: the diff applies
with `git apply`, only changed lines differ, the patched files parse, a rescan shows the cleared
findings gone and nothing new, a second `--write` changes nothing, and connected-app files keep the
Metadata API element order. Never talks to an org."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.fix.schema import CONNECTED_APP, CONNECTED_APP_OAUTH_CONFIG, CONNECTED_APP_OAUTH_POLICY, ROOT_ORDER
from auditor.fix.xmltext import locate
from auditor.sources.xmldoc import parse
from tests.conftest import CI_APPS, ECA_APPS, FIXTURES, SAMPLE, ca_audit_command, run_cli

SEED = "SAML_Bearer_Integration"
SEED_FILE = "force-app/main/default/connectedApps/SAML_Bearer_Integration.connectedApp-meta.xml"
ERP_POLICY = "force-app/main/default/extlClntAppOauthPolicies/ERP_Connector_oauthPlcy.ecaOauthPlcy-meta.xml"


def _variant(data: bytes, indent: bytes | None, crlf: bool) -> bytes:
    if indent is not None:
        data = re.sub(rb"(?m)^((?:    )+)", lambda m: indent * (len(m.group(1)) // 4), data)
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data


VARIANTS = {"as-is": (None, False), "tabs-crlf": (b"\t", True), "two-spaces": (b"  ", False),
            "two-spaces-crlf": (b"  ", True)}


def project(tmp_path: Path, source: Path, variant: str) -> Path:
    """A copy of `source` as `tmp_path/project`, every metadata file rewritten per the variant."""
    target = tmp_path / "project"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("org.snapshot.json"))
    indent, crlf = VARIANTS[variant]
    for file in target.rglob("*"):
        if file.is_file() and (file.name.endswith("-meta.xml") or file.suffix == ".connectedApp"):
            file.write_bytes(_variant(file.read_bytes(), indent, crlf))
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def findings(folder: Path, cwd: Path) -> set[tuple[str, str]]:
    done = run_cli("scan", str(folder.relative_to(cwd)), "--format", "json", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return {(f["app"], f["rule_id"]) for f in json.loads(done.stdout)["findings"]}


def fix_json(folder: Path, cwd: Path, *args: str) -> dict:
    done = run_cli("fix", str(folder.relative_to(cwd)), "--format", "json", *args, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def only_changed_lines(before: bytes, after: bytes) -> None:
    """Every difference is a whole line: a value changed in place (same indentation, same element) or
    inserted lines; no line is deleted, re-indented or re-terminated."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ending = b"\r\n" if b"\r\n" in before else b"\n"
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        assert op in ("replace", "insert"), (op, old[i1:i2], new[j1:j2])
        if op == "replace":
            assert i2 - i1 <= j2 - j1
            for line in old[i1:i2]:  # a value changed in place: the same element at the same indentation
                tag = re.match(rb"\s*<(\w+)>", line)
                assert tag and any(changed.startswith(tag.group(0)) for changed in new[j1:j2]), (line, new[j1:j2])
        for line in new[j1:j2]:
            assert line.endswith(ending) and (ending == b"\r\n" or not line.endswith(b"\r\n")), line
            assert line.strip().startswith(b"<"), line


def schema_ordered(data: bytes) -> bool:
    root = locate(data)
    groups = [(root, ROOT_ORDER.get(root.tag))]
    if root.tag == "ConnectedApp":
        groups += [(root.find("oauthConfig"), CONNECTED_APP_OAUTH_CONFIG),
                   (root.find("oauthPolicy"), CONNECTED_APP_OAUTH_POLICY)]
    for parent, order in groups:
        if parent is None or order is None:
            continue
        ranks = [order.index(c.tag) for c in parent.children if c.tag in order]
        if ranks != sorted(ranks):
            return False
    return True


# ---------------------------------------------------------------------------- the whole round trip
@pytest.mark.parametrize(("source", "variant"), [
    (SAMPLE, "as-is"), (SAMPLE, "tabs-crlf"), (SAMPLE, "two-spaces"), (CI_APPS, "two-spaces-crlf"),
    (ECA_APPS, "as-is"), (ECA_APPS, "tabs-crlf"), (FIXTURES / "mdapi", "two-spaces-crlf"),
], ids=lambda value: value if isinstance(value, str) else value.name)
def test_round_trip(tmp_path, source, variant):
    folder = project(tmp_path, source, variant)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    original = snapshot(folder)
    before = findings(folder, tmp_path)
    plan = fix_json(folder, tmp_path, "--assign-permission-set", "Integration_Access")
    assert plan["patches"], "the fixture has patchable findings"
    cleared = {(app["name"], rule) for app in plan["apps"] for rule in app["clears"]}

    # the diff applies with git apply, and gives exactly the bytes --write would
    patch_file = tmp_path / "fix.patch"
    printed = subprocess.run([*ca_audit_command(), "fix", folder.name, "--assign-permission-set",
                              "Integration_Access"], cwd=tmp_path, capture_output=True)  # bytes: CRLF kept
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "".join(p["diff"] for p in plan["patches"]).encode("utf-8")
    patch_file.write_bytes(printed.stdout)
    # plain `git apply` unless a consumer key or secret follows a change (the sample's Legacy_Reporting)
    zero = ["--unidiff-zero"] if any(p["unidiff_zero"] for p in plan["patches"]) else []
    assert zero == (["--unidiff-zero"] if source == SAMPLE else [])
    applied = subprocess.run(["git", "apply", "--whitespace=nowarn", *zero, str(patch_file)], cwd=tmp_path,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    by_git = snapshot(folder)

    for path in original:  # restore, then --write
        (folder / path).write_bytes(original[path])
    wrote = run_cli("fix", folder.name, "--write", "--assign-permission-set", "Integration_Access", cwd=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    written = snapshot(folder)
    assert written == by_git

    changed = [path for path in original if original[path] != written[path]]
    assert sorted(changed) == sorted(p["path"].split("/", 1)[1] for p in plan["patches"])
    for path in changed:
        only_changed_lines(original[path], written[path])
        parse(written[path])  # the patched file parses
        if schema_ordered(original[path]):
            assert schema_ordered(written[path]), path

    after = findings(folder, tmp_path)
    assert after <= before, f"new findings after the patch: {after - before}"
    assert before - after == cleared

    again = run_cli("fix", folder.name, "--write", "--assign-permission-set", "Integration_Access", cwd=tmp_path)
    assert again.returncode == 0 and snapshot(folder) == written, "a second --write changed files"
    assert run_cli("fix", folder.name, "--assign-permission-set", "Integration_Access", cwd=tmp_path).stdout == ""


# ---------------------------------------------------------------------------- specific edits
def test_seed_patch_is_the_walkthrough_change(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    plan = fix_json(folder, tmp_path, "--app", SEED, "--only", "CA-01,CA-02", "--assign-permission-set",
                    "Claims_Integration")
    [patch] = plan["patches"]
    assert patch["path"] == f"project/{SEED_FILE}" and sorted(patch["clears"]) == ["CA-01", "CA-02"]
    added = [line for line in patch["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+        <isAdminApproved>true</isAdminApproved>", "+        <scopes>RefreshToken</scopes>",
                     "+    <permissionSetName>Claims_Integration</permissionSetName>"]
    # --only narrowed the run: what the patch raises is shown, not patched
    [seed] = [a for a in plan["apps"] if a["name"] == SEED]
    assert seed["new"] == ["CA-17"]


def test_a_fix_needing_a_choice_makes_no_edit(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    plan = fix_json(folder, tmp_path, "--app", SEED, "--only", "CA-01,CA-02")
    [patch] = plan["patches"]
    assert "isAdminApproved" not in patch["diff"] and "<scopes>RefreshToken</scopes>" in patch["diff"]
    assert patch["needs_choice"] == [{"rule_id": "CA-02", "app": SEED, "option": "--assign-permission-set NAME",
                                      "setup": patch["needs_choice"][0]["setup"]}]
    assert "Permitted Users" in patch["needs_choice"][0]["setup"]
    [remaining] = [r for r in plan["remaining"] if r["rule_id"] == "CA-02"]
    assert remaining["reason"] == "needs a choice"


def test_metadata_fixes_without_a_patch_are_to_edit_by_hand(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    plan = fix_json(folder, tmp_path, "--app", "Partner_Portal")
    assert plan["patches"] == []
    reasons = {r["rule_id"]: r for r in plan["remaining"]}
    assert {r["reason"] for r in reasons.values()} == {"no patch yet"}
    assert reasons["CA-34"]["detail"] == (
        "edit by hand: Setup → App Manager → app row ▼ → Edit → Web App Settings (SAML) → Signing Algorithm for "
        "SAML Messages: SHA256 → Save; in source set `<samlSigningAlgoType>SHA256</samlSigningAlgoType>` under "
        "`<samlConfig>`")
    text = run_cli("fix", folder.name, "--app", "Partner_Portal", cwd=tmp_path)
    assert "no patch yet: CA-34 (medium) — edit by hand: Setup" in text.stderr
    assert "not expressible in metadata" not in text.stderr


@pytest.mark.parametrize(("app", "rule"), [("MuleSoft_Sync", "CA-09"), ("MuleSoft_Sync", "CA-26"),
                                           ("Legacy_Reporting", "CA-14"), ("Data_Warehouse_Admin", "CA-36"),
                                           ("Partner_Portal", "CA-34"), ("Warehouse_Scanner", "CA-26")])
def test_the_reviewed_metadata_edits_are_not_called_org_only(tmp_path, app, rule):
    folder = project(tmp_path, SAMPLE, "as-is")
    plan = fix_json(folder, tmp_path, "--app", app)
    [item] = [r for r in plan["remaining"] if r["rule_id"] == rule]
    assert item["reason"] == "no patch yet" and "in source" in item["detail"], item


def test_a_metadata_fix_ca_audit_does_not_write_is_left_to_the_owner(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    plan = fix_json(folder, tmp_path, "--app", "Legacy_Reporting")
    # CA-23: rotate the secret in the org, then delete the element by hand; ca-audit never edits a secret line
    [item] = [r for r in plan["remaining"] if r["rule_id"] == "CA-23"]
    assert item["reason"] == "no patch yet"
    assert item["detail"].startswith("edit by hand: Setup → App Manager") and "<consumerSecret>" in item["detail"]


def test_eca_permission_set_goes_into_the_policies_file_in_schema_order(tmp_path):
    folder = project(tmp_path, SAMPLE, "tabs-crlf")
    fix_json(folder, tmp_path, "--app", "ERP_Connector", "--assign-permission-set", "ERP_Access", "--write")
    text = (folder / ERP_POLICY).read_bytes()
    assert b"\r\n\t<commaSeparatedPermissionSet>ERP_Access</commaSeparatedPermissionSet>\r\n" \
           b"\t<externalClientApplication>" in text
    assert schema_ordered(text)


def test_eca_scopes_follow_the_file_spelling(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    oauth = folder / "force-app/main/default/extlClntAppOauthSettings/Heroku_Event_Relay_oauth.ecaOauth-meta.xml"
    oauth.write_bytes(oauth.read_bytes().replace(b">RefreshToken<", b">refresh_token<"))
    fix_json(folder, tmp_path, "--app", "Heroku_Event_Relay", "--only", "CA-06", "--write")
    assert b"<commaSeparatedOauthScopes>refresh_token, api</commaSeparatedOauthScopes>" in oauth.read_bytes()


def test_elements_out_of_schema_order_and_an_xml_comment(tmp_path):
    folder = tmp_path / "project" / "connectedApps"
    folder.mkdir(parents=True)
    app = folder / "Odd.connectedApp-meta.xml"
    app.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- kept -->\n'
                    b'<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                    b"  <label>Odd</label>\n  <oauthConfig>\n    <scopes>Api</scopes>\n"
                    b"    <certificate>NOT-A-PEM</certificate>\n    <callbackUrl>https://x.example.com/cb</callbackUrl>\n"
                    b"    <!-- self-authorized on purpose -->\n  </oauthConfig>\n  <contactEmail>a@b.c</contactEmail>\n"
                    b"</ConnectedApp>")  # no final newline
    before = app.read_bytes()
    plan = fix_json(folder.parent, tmp_path, "--only", "CA-01", "--write")
    after = app.read_bytes()
    assert plan["apps"][0]["clears"] == ["CA-01"]
    only_changed_lines(before, after)
    assert b"<!-- kept -->" in after and b"<!-- self-authorized on purpose -->" in after
    assert after.endswith(b"</ConnectedApp>")
    assert b"    <scopes>Api</scopes>\n    <scopes>RefreshToken</scopes>\n" in after
    done = subprocess.run(["git", "apply", "--check", "-R", "-"], input=plan["patches"][0]["diff"].encode(),
                          cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_character_references_in_a_rewritten_value_keep_their_meaning(tmp_path):
    """A callback list may separate its URLs with `&#10;` and carry `&amp;` and `&#13;`: rewriting
    one URL must leave every other character as the XML reader sees it."""
    folder = tmp_path / "project" / "connectedApps"
    folder.mkdir(parents=True)
    app = folder / "Refs.connectedApp-meta.xml"
    app.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                    b'<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                    b"    <contactEmail>a@b.c</contactEmail>\n    <label>Refs</label>\n    <oauthConfig>\n"
                    b"        <callbackUrl>http://app.example.com/cb?a=1&amp;b=2&#10;https://two.example.com/cb&#13;\n"
                    b"https://three.example.com/cb</callbackUrl>\n        <scopes>Api</scopes>\n    </oauthConfig>\n"
                    b"</ConnectedApp>\n")

    def urls() -> str:
        return next(e for e in parse(app.read_bytes()).find("oauthConfig").children if e.tag == "callbackUrl").text

    before = urls()
    fix_json(folder.parent, tmp_path, "--only", "CA-31", "--write")
    assert urls() == before.replace("http://app.example.com", "https://app.example.com", 1)
    assert b"&amp;#" not in app.read_bytes()


def test_connected_app_oauth_policy_is_created_where_salesforce_puts_it(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    fix_json(folder, tmp_path, "--app", "Legacy_Reporting", "--only", "CA-18", "--write")
    data = (folder / "force-app/main/default/connectedApps/Legacy_Reporting.connectedApp-meta.xml").read_bytes()
    root = locate(data)
    tags = [c.tag for c in root.children]
    assert tags.index("oauthConfig") + 1 == tags.index("oauthPolicy") < tags.index("profileName")
    assert [c.tag for c in root.find("oauthPolicy").children] == ["ipRelaxation", "refreshTokenPolicy"]
    assert list(CONNECTED_APP).index("oauthPolicy") < list(CONNECTED_APP).index("profileName")


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    folder = project(tmp_path, SAMPLE, "as-is")
    broken = folder / SEED_FILE
    broken.write_bytes(broken.read_bytes().replace(b"</oauthConfig>", b""))
    original = snapshot(folder)
    done = run_cli("fix", folder.name, "--write", cwd=tmp_path)
    assert done.returncode == 2 and "malformed XML" in done.stdout + done.stderr
    assert snapshot(folder) == original
    fine = project(tmp_path / "fine", SAMPLE, "as-is")
    nope = run_cli("fix", str(fine.relative_to(tmp_path)), "--app", "Nope", cwd=tmp_path)
    assert nope.returncode == 2 and nope.stdout == ""
    assert nope.stderr.startswith("ca-audit: error: --app: no app named Nope in the source (apps found: ")
    assert run_cli("fix", folder.name, "--only", "CA-99", cwd=tmp_path).returncode == 2
    assert run_cli("fix", folder.name, "--format", "sarif", cwd=tmp_path).returncode == 2


@pytest.mark.parametrize(("app", "rule", "path", "old", "new"), [
    ("Finance_Batch_Loader", "CA-08", "force-app/main/default/connectedApps/Finance_Batch_Loader.connectedApp-meta.xml",
     b"<sessionLevel>HIGH_ASSURANCE</sessionLevel>", b"<sessionLevel>STANDARD</sessionLevel>"),
    ("ERP_Connector", "CA-08", ERP_POLICY,
     b"<requiredSessionLevel>HIGH_ASSURANCE</requiredSessionLevel>",
     b"<requiredSessionLevel>STANDARD</requiredSessionLevel>"),
    ("Mobile_Field_App", "CA-20", "force-app/main/default/connectedApps/Mobile_Field_App.connectedApp-meta.xml",
     b"<refreshTokenPolicy>zero</refreshTokenPolicy>",
     b"<refreshTokenPolicy>specific_lifetime:90:DAYS</refreshTokenPolicy>"),
])
def test_session_level_and_zero_refresh_policy_patches_round_trip(tmp_path, app, rule, path, old, new):
    folder = project(tmp_path, SAMPLE, "tabs-crlf")
    file = folder / path
    if rule == "CA-08" and app == "ERP_Connector":  # the sample's external client app asks for STANDARD
        file.write_bytes(file.read_bytes().replace(new, old))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    original = file.read_bytes()
    assert old in original and (app, rule) in findings(folder, tmp_path)
    printed = subprocess.run([*ca_audit_command(), "fix", folder.name, "--app", app, "--only", rule],
                             cwd=tmp_path, capture_output=True)
    assert printed.returncode == 0, printed.stderr
    (tmp_path / "fix.patch").write_bytes(printed.stdout)
    applied = subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    assert file.read_bytes() == original.replace(old, new)
    only_changed_lines(original, file.read_bytes())
    assert (app, rule) not in findings(folder, tmp_path)
    assert run_cli("fix", folder.name, "--app", app, "--only", rule, cwd=tmp_path).stdout == ""
