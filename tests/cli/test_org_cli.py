"""`ca-audit scan` / `pull` against the HTTPS fake org: every way of logging in, live versus snapshot,
repository versus org, and the exit code and message of each fault."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from auditor.sources.org.auth import from_access_token
from auditor.sources.org.pull import PullSettings, pull
from tests.conftest import SAMPLE, run_cli
from tests.fakeorg.fixtures import fake_org_fixture, invoke, project_fixture, sf_cli_fixture  # noqa: F401
from tests.fakeorg.server import UNKNOWN_EXCEPTION

ORG_RULES = {"CA-10", "CA-11", "CA-12", "CA-13", "CA-24", "CA-28", "CA-29", "CA-30", "CA-32", "CA-33"}
# What the org rules find in the sample org (tests/fakeorg/sample.py says why).
EXPECTED_ORG_FINDINGS = {
    ("CA-10", "MuleSoft_Sync"), ("CA-12", "MuleSoft_Sync"), ("CA-13", "MuleSoft_Sync"),
    ("CA-13", "Finance_Batch_Loader"), ("CA-11", "Heroku_Event_Relay"), ("CA-33", "SAML_Bearer_Integration"),
    ("CA-28", "Data_Loader_Pro"), ("CA-29", "Data_Loader_Pro"), ("CA-30", "Legacy_Reporting"),
}
EXPECTED_COMPARE_FINDINGS = EXPECTED_ORG_FINDINGS | {
    ("CA-24", "GitHub_Actions_Deploy"), ("CA-32", "ERP_Connector"), ("CA-32", "Mobile_Field_App"),
    ("CA-32", "MuleSoft_Sync"),
    # new in the repository, not in the org: deploying them would create connected apps
    ("CA-24", "Partner_Portal"), ("CA-24", "Data_Warehouse_Admin"),
}


def token_args(fake) -> list[str]:
    return ["--instance-url", fake.url, "--access-token", fake.token]


def scan_json(*args: str, cwd: Path):
    result = invoke("scan", *args, "--format", "json", cwd=cwd)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def org_findings(report: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["app"]) for f in report["findings"] if f["rule_id"] in ORG_RULES}


def comparable(report: dict) -> list[tuple]:
    return sorted((f["rule_id"], f["app"], f["kind"], f["severity"], f["message"], f["location"]["path"],
                   f["location"]["line"] or 0, f["fingerprint"], bool(f.get("waived"))) for f in report["findings"])


def test_scan_live_org_with_an_access_token(fake_org, project):
    code, report, stderr = scan_json(*token_args(fake_org), cwd=project)
    assert report["input_errors"] == []
    assert code == 1
    assert org_findings(report) == EXPECTED_ORG_FINDINGS
    paths = {a["name"]: a["path"] for a in report["apps"]}
    assert paths["psync__Partner_Sync"] == \
        "force-app/main/default/connectedApps/psync__Partner_Sync.connectedApp-meta.xml"
    assert all(f["location"]["line"] is None for f in report["findings"])
    assert fake_org.token not in json.dumps(report) + stderr
    assert fake_org.writes() == []


def test_access_token_from_the_environment(fake_org, project, monkeypatch):
    monkeypatch.setenv("SF_INSTANCE_URL", fake_org.url)
    monkeypatch.setenv("SF_ACCESS_TOKEN", fake_org.token)
    code, report, _ = scan_json(cwd=project)
    assert code == 1 and org_findings(report) == EXPECTED_ORG_FINDINGS


def test_access_token_without_instance_url_is_bad_usage(fake_org, project):
    result = invoke("scan", "--access-token", fake_org.token, cwd=project)
    assert result.exit_code == 2
    assert fake_org.token not in result.stdout + result.stderr


def test_installed_app_is_audited_on_what_is_known(fake_org, project):
    _, report, _ = scan_json(*token_args(fake_org), "--format", "json", cwd=project)
    partner = [f for f in report["findings"] if f["app"] == "psync__Partner_Sync"]
    assert partner == []  # used recently, admin-approved with a profile: nothing to report
    from auditor.sources.org.convert import apps_from_snapshot

    snap = pull(from_access_token(fake_org.url, fake_org.token), PullSettings())
    app = next(a for a in apps_from_snapshot(snap, origin="org").apps if a.name == "psync__Partner_Sync")
    assert app.get("oauth.permitted_users") == "admin_approved"
    assert app.get("assignments.profiles") == ["Standard User"]
    assert "read from SOQL only" in app.notes[0]


def test_scan_through_the_salesforce_cli(fake_org, project, sf_cli):
    sf_cli.add("northwind", fake_org, redacted=True)
    code, report, stderr = scan_json("--target-org", "northwind", cwd=project)
    assert report["input_errors"] == [] and code == 1
    assert org_findings(report) == EXPECTED_ORG_FINDINGS
    assert sf_cli.calls() == [["org", "display", "--target-org", "northwind", "--json"],
                              ["org", "auth", "show-access-token", "--target-org", "northwind", "--json"]]
    assert fake_org.token not in stderr + json.dumps(report)


def test_older_cli_with_the_token_in_org_display(fake_org, project, sf_cli):
    sf_cli.add("northwind", fake_org, redacted=False)
    code, report, _ = scan_json("--target-org", "northwind", cwd=project)
    assert code == 1 and org_findings(report) == EXPECTED_ORG_FINDINGS
    assert len(sf_cli.calls()) == 1


def test_console_script_with_the_salesforce_cli(fake_org, project, sf_cli):
    sf_cli.add("northwind", fake_org)
    done = run_cli("scan", "--target-org", "northwind", "--format", "json", cwd=project)
    report = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr
    assert org_findings(report) == EXPECTED_ORG_FINDINGS


@pytest.mark.parametrize("expired", [False, True])
def test_salesforce_cli_problems_exit_2(fake_org, project, sf_cli, expired):
    if expired:
        sf_cli.add("northwind", fake_org, expired=True)
    code, report, _ = scan_json("--target-org", "northwind", cwd=project)
    assert code == 2
    message = report["input_errors"][0]["message"]
    if expired:
        assert "RefreshTokenAuthError" in message and "sf org login web --alias northwind" in message
    else:
        assert "No authorization information found for northwind" in message


def test_missing_salesforce_cli(project, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, report, _ = scan_json("--target-org", "northwind", cwd=project)
    assert code == 2
    assert "needs the Salesforce CLI (`sf`), which is not on PATH" in report["input_errors"][0]["message"]


def test_pull_then_offline_scan_gives_identical_findings(fake_org, project):
    code_live, live, _ = scan_json(*token_args(fake_org), cwd=project)
    pulled = invoke("pull", *token_args(fake_org), "-o", "org.snapshot.json", cwd=project)
    assert pulled.exit_code == 0, pulled.stderr
    assert "wrote org.snapshot.json: 7 connected apps, 3 external client apps" in pulled.stderr
    snapshot = (project / "org.snapshot.json").read_text()
    assert fake_org.token not in snapshot and "consumerSecret" not in snapshot
    code_offline, offline, _ = scan_json("org.snapshot.json", cwd=project)
    assert code_offline == code_live == 1
    assert comparable(offline) == comparable(live)
    assert offline["summary"] == live["summary"]


def test_repository_against_the_org(fake_org, project):
    shutil.copytree(SAMPLE / "force-app", project / "force-app")
    shutil.copy(SAMPLE / "sfdx-project.json", project)
    code, report, _ = scan_json(".", *token_args(fake_org), cwd=project)
    assert report["input_errors"] == [] and code == 1
    assert org_findings(report) == EXPECTED_COMPARE_FINDINGS
    by_app = {(f["rule_id"], f["app"]): f for f in report["findings"]}
    assert by_app[("CA-32", "ERP_Connector")]["message"].endswith(
        "assignments.permission_sets (repository: []; org: [ERP_Integration])")
    assert by_app[("CA-24", "GitHub_Actions_Deploy")]["location"]["line"] is not None  # points at the file
    # The same comparison offline, from a snapshot.
    assert invoke("pull", *token_args(fake_org), "-o", "org.snapshot.json", cwd=project).exit_code == 0
    code_offline, offline, _ = scan_json(".", "org.snapshot.json", cwd=project)
    assert code_offline == 1 and comparable(offline) == comparable(report)


def test_jwt_bearer_login(fake_org, project, tmp_path):
    key = _key_file(tmp_path)
    code, report, stderr = scan_json("--client-id", fake_org.data.jwt.consumer_key, "--jwt-key-file", str(key),
                                     "--username", "order.integration@northwind.example.com",
                                     "--login-url", fake_org.url, cwd=project)
    assert report["input_errors"] == [] and code == 1
    assert org_findings(report) == EXPECTED_ORG_FINDINGS
    token_calls = [r for r in fake_org.requests if r.path == "/services/oauth2/token"]
    assert len(token_calls) == 1
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token_calls[0].body
    assert "BEGIN" not in stderr + json.dumps(report)


@pytest.mark.parametrize(("username", "client_id", "expected"), [
    ("claims.integration@northwind.example.com", None,
     "invalid_grant: user hasn't approved this consumer\n  likely cause: the user has no prior approval"),
    ("finance.batch@northwind.example.com", None,
     "invalid_app_access: user is not admin approved to access this app\n  likely cause: the app is admin-approved"),
    ("order.integration@northwind.example.com", "3MVG9WrongKey", "invalid_client_id: client identifier invalid"),
])
def test_jwt_bearer_errors_are_explained(fake_org, project, tmp_path, username, client_id, expected):
    key = _key_file(tmp_path)
    code, report, _ = scan_json("--client-id", client_id or fake_org.data.jwt.consumer_key, "--jwt-key-file",
                                str(key), "--username", username, "--login-url", fake_org.url, cwd=project)
    assert code == 2
    assert report["findings"] == []
    assert expected in report["input_errors"][0]["message"]


def test_jwt_signature_must_match_the_certificate(fake_org, project, tmp_path):
    fake_org.data.jwt.certificate_pem = _certificate(_key_file(tmp_path / "a"))
    other_key = _key_file(tmp_path / "b")
    code, report, _ = scan_json("--client-id", fake_org.data.jwt.consumer_key, "--jwt-key-file", str(other_key),
                                "--username", "order.integration@northwind.example.com", "--login-url", fake_org.url,
                                cwd=project)
    assert code == 2
    assert "invalid_grant: invalid assertion\n  likely cause: the signature did not verify" in \
        report["input_errors"][0]["message"]
    code, report, _ = scan_json("--client-id", fake_org.data.jwt.consumer_key, "--jwt-key-file",
                                str(tmp_path / "a" / "server.key"), "--username",
                                "order.integration@northwind.example.com", "--login-url", fake_org.url, cwd=project)
    assert code == 1 and report["input_errors"] == []


def test_jwt_token_request_timeout(fake_org, project, tmp_path, monkeypatch):
    monkeypatch.setenv("CA_AUDIT_HTTP_TIMEOUT", "0.3")
    fake_org.delay("POST", r"/services/oauth2/token", 1.0)
    code, report, _ = scan_json("--client-id", fake_org.data.jwt.consumer_key, "--jwt-key-file",
                                str(_key_file(tmp_path)), "--username", "order.integration@northwind.example.com",
                                "--login-url", fake_org.url, cwd=project)
    assert code == 2 and "timed out after 0.3 s" in report["input_errors"][0]["message"]


def test_unread_part_exits_2_and_names_it(fake_org, project):
    fake_org.inject("GET", r"/query/\?q=SELECT\+AppName", 500, UNKNOWN_EXCEPTION, times=None)
    code, report, _ = scan_json(*token_args(fake_org), cwd=project)
    assert code == 2
    messages = [e["message"] for e in report["input_errors"]]
    assert len(messages) == 1
    assert messages[0].startswith("not read from the org: SOQL OauthToken: tokens of all apps: HTTP 500")
    assert report["summary"]["apps"] > 0  # the rest was still audited


def test_unreadable_app_exits_2_and_the_others_are_audited(fake_org, project):
    fake_org.data.poison.add(("ConnectedApp", "Legacy_Reporting"))
    code, report, _ = scan_json(*token_args(fake_org), cwd=project)
    assert code == 2
    assert "readMetadata ConnectedApp Legacy_Reporting" in report["input_errors"][0]["message"]
    assert ("CA-33", "SAML_Bearer_Integration") in org_findings(report)
    # What is known from SOQL is still audited, and says why the rest is missing.
    assert ("CA-30", "Legacy_Reporting") in org_findings(report)
    from auditor.sources.org.convert import apps_from_snapshot

    snap = pull(from_access_token(fake_org.url, fake_org.token), PullSettings())
    app = next(a for a in apps_from_snapshot(snap, origin="org").apps if a.name == "Legacy_Reporting")
    assert app.notes[0].startswith("read from SOQL only: its metadata could not be read (see the errors)")


def test_expired_session_exits_2(fake_org, project):
    fake_org.expire_tokens()
    code, report, _ = scan_json(*token_args(fake_org), cwd=project)
    assert code == 2
    assert "expired or invalid (INVALID_SESSION_ID)" in report["input_errors"][0]["message"]
    assert report["findings"] == []


def test_pull_with_errors_writes_the_snapshot_and_exits_2(fake_org, project):
    fake_org.inject("GET", r"/query/\?q=SELECT\+AppName", 500, UNKNOWN_EXCEPTION, times=None)
    pulled = invoke("pull", *token_args(fake_org), "-o", "org.snapshot.json", cwd=project)
    assert pulled.exit_code == 2
    assert "not read: SOQL OauthToken" in pulled.stderr
    code, report, _ = scan_json("org.snapshot.json", cwd=project)
    assert code == 2 and "SOQL OauthToken" in report["input_errors"][0]["message"]


def test_snapshot_needs_the_users_the_config_declares(fake_org, project):
    assert invoke("pull", *token_args(fake_org), "-o", "org.snapshot.json", cwd=project).exit_code == 0
    config = project / ".ca-audit.yaml"
    data = yaml.safe_load(config.read_text())
    data["apps"]["Legacy_Reporting"] = {"integration_users": ["new.user@northwind.example.com"]}
    config.write_text(yaml.safe_dump(data))
    code, report, _ = scan_json("org.snapshot.json", cwd=project)
    assert code == 2
    assert "new.user@northwind.example.com were not read from the org" in report["input_errors"][0]["message"]


def test_not_a_snapshot(project):
    (project / "other.json").write_text('{"hello": 1}')
    code, report, _ = scan_json("other.json", cwd=project)
    assert code == 2 and report["input_errors"]


def test_progress_only_on_a_terminal(fake_org, capsys):
    pull(from_access_token(fake_org.url, fake_org.token), PullSettings(progress=False))
    assert capsys.readouterr().err == ""
    pull(from_access_token(fake_org.url, fake_org.token), PullSettings(progress=True))
    err = capsys.readouterr().err
    assert err.endswith("\n")
    last = err.rstrip("\n").rsplit("\r", 1)[-1]  # the status line as the terminal shows it at the end
    # Every phase, complete: metadata, the SOQL objects, token slices, login windows, users by Id.
    for phase in ("apps 10/10", "queries ", "tokens 11/11", "logins 6/6", "users 1/1"):
        assert phase in last, (phase, last)


def _key_file(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "server.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _certificate(key_file: Path) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_pull_needs_an_org(project):
    result = invoke("pull", cwd=project)
    assert result.exit_code == 2 and "pull needs an org" in result.stderr


def test_pull_login_failure_exits_2_without_a_snapshot(fake_org, project, sf_cli):
    sf_cli.add("northwind", fake_org, expired=True)
    result = invoke("pull", "--target-org", "northwind", "-o", "org.snapshot.json", cwd=project)
    assert result.exit_code == 2
    assert "the login has expired" in result.stderr
    assert not (project / "org.snapshot.json").exists()


def test_pull_through_the_salesforce_cli_records_provenance(fake_org, project, sf_cli):
    sf_cli.add("northwind", fake_org)
    result = invoke("pull", "--target-org", "northwind", "--api-version", "v65.0", "-o", "snap.json", cwd=project)
    assert result.exit_code == 0, result.stderr
    provenance = json.loads((project / "snap.json").read_text())["provenance"]
    assert provenance["target"] == "northwind" and provenance["api_version"] == "65.0"
    assert provenance["org_id"] == fake_org.data.org_id and provenance["tool"].startswith("ca-audit ")
    assert all("/v65.0/" in r.path or "/Soap/m/65.0" in r.path for r in fake_org.requests)
