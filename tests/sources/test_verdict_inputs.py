"""What the sources make of the inputs issue 9's verdicts depend on: certificates stored the way a PEM file
upload leaves them, placeholders and names in the certificate field, both client credentials switches of
an external client app, SAML signing algorithms, callback hosts, and an OauthOidc settings file that does
not say whether the username-password flow is blocked. The shapes are those of real public files (named
below); the inputs are built here, so the tests run without the corpus."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

from auditor.pipeline import AuditOptions, audit
from auditor.sources.normalize import callback_hosts
from tests.scenarios import GOOD_CERT, connected_app, external_client_app, oauth_oidc


def apps(*paths: Path) -> dict:
    report = audit(AuditOptions(paths=[str(p) for p in paths]))
    assert report.input_errors == []
    return {app.name: app for app in report.apps}


def pem_upload(body: str) -> str:
    """What Salesforce stores after a PEM file exported by OpenSSL from a PKCS#12 is uploaded: the base64
    of the whole text, "Bag Attributes" lines included (as in the public corpus's
    mishradeepak453__crm-sf-zrd-crma XFAIR_EMS.connectedApp-meta.xml)."""
    pem = ("Bag Attributes\n    localKeyID: 01 00 00 00\n    friendlyName: xfair\nsubject=/CN=xfair\nissuer=/CN=xfair\n"
           "-----BEGIN CERTIFICATE-----\n" + "\n".join(textwrap.wrap(body, 64)) + "\n-----END CERTIFICATE-----\n")
    return base64.b64encode(pem.encode()).decode()


def test_a_pem_upload_stored_as_base64_with_bag_attributes_is_read(tmp_path):
    path = connected_app(tmp_path, "XFAIR_EMS", cert=pem_upload(GOOD_CERT))
    assert "<certificate>QmFnIEF0dHJpYnV0ZXM" in path.read_text(encoding="utf-8")  # base64 of "Bag Attributes"
    app = apps(path)["XFAIR_EMS"]
    assert app.get("oauth.certificate.form") == "pem"
    assert app.get("oauth.certificate.parseable") is True and app.get("oauth.certificate.key_type") == "RSA"
    assert isinstance(app.get("oauth.certificate.expires_in_days"), int)


def test_a_template_placeholder_is_not_an_unreadable_certificate(tmp_path):
    # As in Salesforce's own Slack starter kit (developerforce/salesforce-slack-starter-kit-s2s,
    # scripts/templates/slackApp.connectedApp-meta.xml): a placeholder certificate and an oauthPolicy
    # without ipRelaxation.
    path = connected_app(tmp_path, "slackApp", cert="{CERTIFICATE}",
                         policy="<refreshTokenPolicy>infinite</refreshTokenPolicy>")
    app = apps(path)["slackApp"]
    assert app.get("oauth.has_certificate") is True and app.get("oauth.certificate.form") == "placeholder"
    assert app.get("oauth.certificate.parseable") is None and app.get("oauth.certificate.problems") is None
    # Salesforce's own starter kit commits an oauthPolicy without ipRelaxation (CA-19 medium, not high)
    assert app.get("policy.incomplete") is True and app.get("policy.ip_relaxation") is None


def test_a_certificate_record_name_is_a_name(tmp_path):
    connected_app(tmp_path, "Named", cert="JWT_Signing_Cert")
    app = apps(tmp_path)["Named"]
    assert app.get("oauth.certificate.form") == "name" and app.get("oauth.certificate.parseable") is None
    assert app.get("oauth.certificate.problems") == ["a name, not a certificate (PEM-encoded certificate expected)"]


def test_both_client_credentials_switches_of_an_external_client_app(tmp_path):
    external_client_app(tmp_path, "Both", global_cc=True, policy_cc=True)
    external_client_app(tmp_path, "Global_Only", global_cc=True, policy_cc=False)
    external_client_app(tmp_path, "Policy_Default", global_cc=True, policy_cc=None)
    external_client_app(tmp_path, "No_Policies", global_cc=True, with_policies=False)
    external_client_app(tmp_path, "No_Global", policy_cc=True, with_global=False)
    external_client_app(tmp_path, "No_Global_Off", policy_cc=False, with_global=False)
    found = apps(tmp_path)
    enabled = {name: (app.get("oauth.client_credentials.settings_enabled"),
                      app.get("oauth.client_credentials.policy_enabled"),
                      app.get("oauth.client_credentials.enabled")) for name, app in found.items()}
    assert enabled == {
        "Both": (True, True, True),
        "Global_Only": (True, False, False),
        "Policy_Default": (True, False, False),  # the policies' switch defaults to false (S4)
        "No_Policies": (True, None, None),
        "No_Global": (None, True, None),
        "No_Global_Off": (None, False, False),
    }
    assert "client-credentials" in found["Both"].get("flows")
    assert "client-credentials" not in found["Global_Only"].get("flows")
    assert found["No_Global"].get("oauth.refresh_token_rotation") is None  # CA-17 stays quiet
    # the finding points at the switch that is off
    assert found["Global_Only"].location_of("oauth.client_credentials.enabled").path.endswith(".ecaOauthPlcy-meta.xml")


def test_saml_signing_algorithm(tmp_path):
    # As in 13 public corpus apps, e.g. ZB-IT-Sales-Effectiveness/AutoRabit-Training Quip_Connection.
    path = connected_app(tmp_path / "saml", "Quip_Connection")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("</ConnectedApp>", "    <samlConfig>\n        <acsUrl>https://quip.example.com/saml</acsUrl>\n"
                                 "        <certificate>Quip_Cert</certificate>\n"
                                 "        <encryptionType>AES_128</encryptionType>\n"
                                 "        <entityUrl>https://quip.example.com</entityUrl>\n"
                                 "        <issuer>https://northwind.my.salesforce.com</issuer>\n"
                                 "        <samlNameIdFormat>Unspecified</samlNameIdFormat>\n"
                                 "        <samlSigningAlgoType>SHA1</samlSigningAlgoType>\n"
                                 "        <samlSubjectType>Username</samlSubjectType>\n"
                                 "    </samlConfig>\n</ConnectedApp>"), encoding="utf-8")
    app = apps(path)["Quip_Connection"]
    assert app.get("saml.enabled") is True and app.get("saml.signing_algorithm") == "SHA1"
    connected_app(tmp_path, "No_Saml")
    assert apps(tmp_path)["No_Saml"].get("saml.enabled") is False


def test_callback_hosts():
    assert callback_hosts(["https://App.Example.com:8443/cb?x=1", "http://user@localhost:1717/OauthRedirect",
                           "nwfield://oauth/success", "https://[::1]:80/cb", "not a url",
                           "https://*.partners.example.com/cb", "https://app.example.com/other"]) == \
        ["app.example.com", "localhost", "::1", "*.partners.example.com"]


def test_a_settings_file_without_the_username_password_flag_leaves_it_unknown(tmp_path):
    connected_app(tmp_path, "Password_App", cert=None)
    oauth_oidc(tmp_path, None)
    app = apps(tmp_path)["Password_App"]
    # orgs created in Summer '23 or later block the flow by default: absent is not "allowed"
    assert app.get("org_settings.username_password_blocked") is None
    assert app.get("org_settings.pkce_required") is True
    oauth_oidc(tmp_path, "false")
    assert apps(tmp_path)["Password_App"].get("org_settings.username_password_blocked") is False
