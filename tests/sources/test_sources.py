"""Model mapping, field by field, on real corpus files (DESIGN.md 'The normalized model')."""

from __future__ import annotations

from auditor.sources.files import scan_paths
from tests.conftest import CORPUS, corpus_file


def only_app(relative: str):
    result = scan_paths([str(corpus_file(relative))])
    assert result.errors == []
    assert len(result.apps) == 1
    return result.apps[0]


def apps_under(relative: str):
    result = scan_paths([str(corpus_file(relative))])
    assert result.errors == []
    return {app.name: app for app in result.apps}


def test_self_authorized_connected_app_without_policy_block():
    app = only_app("bobbywhitesfdc__GREENORG/src/connectedApps/Postman.connectedApp")  # MDAPI format
    v = app.values
    assert (app.kind, app.name, v["label"]) == ("connected_app", "Postman", "Postman")
    assert v["oauth.enabled"] is True
    assert v["oauth.scopes"] == ["Basic", "Api", "Chatter", "RefreshToken"]
    assert v["oauth.callback_urls"] == ["https://www.getpostman.com/oauth2/callback"]
    assert v["oauth.permitted_users"] == "self_authorized"  # isAdminApproved absent
    assert v["oauth.has_certificate"] is False
    assert v["oauth.consumer_key_in_source"] is True
    assert v["oauth.consumer_secret_in_source"] is False
    assert v["oauth.pkce_required"] is False and v["oauth.secret_required_for_refresh"] is True
    # No <oauthPolicy>: the documented default refresh policy is infinite.
    assert (v["policy.refresh_token.kind"], v["policy.refresh_token.raw"]) == ("infinite", None)
    assert v["policy.ip_relaxation"] is None and v["policy.incomplete"] is False
    assert v["flows"] == ["web-server", "user-agent", "refresh-token"]
    assert app.locations["oauth.scopes"].line == 9
    assert app.path.endswith("src/connectedApps/Postman.connectedApp")


def test_admin_approved_app_with_43_profiles():
    app = only_app("Ahmed-Elawad__diff/force-app/main/default/connectedApps/OracleCPQ.connectedApp-meta.xml")
    v = app.values
    assert v["oauth.permitted_users"] == "admin_approved"
    assert len(v["assignments.profiles"]) == 43
    assert "System Administrator" in v["assignments.profiles"]
    assert v["oauth.introspect_all_tokens"] is True
    first_profile_line = app.locations["assignments.profiles"].line
    assert first_profile_line > app.locations["oauth.enabled"].line


def test_crlf_inside_callback_url_splits_into_two_urls():
    app = only_app("Ahmed-Elawad__diff/force-app/main/default/connectedApps/Azure_Data_Factory.connectedApp-meta.xml")
    assert app.values["oauth.callback_urls"] == ["https://adf.azure.com/", "https://*.azure.com"]
    assert app.values["oauth.client_credentials.enabled"] is True
    assert app.values["oauth.pkce_required"] is True
    assert "client-credentials" in app.values["flows"]
    assert app.locations["oauth.callback_urls"].line == 7


def test_certificate_is_parsed_for_expiry_key_and_hash():
    app = only_app("arturocpd__MFP-Test-1-March-25/force-app/main/default/connectedApps/"
                   "Copado_DX.connectedApp-meta.xml")
    v = app.values
    assert v["oauth.has_certificate"] is True and v["oauth.certificate.parseable"] is True
    assert v["oauth.certificate.key_bits"] == 2048 and v["oauth.certificate.key_type"] == "RSA"
    assert v["oauth.certificate.signature_hash"] == "sha256"
    assert v["oauth.certificate.expires_in_days"] > 30_000  # valid until 2131
    assert {"jwt-bearer", "saml2-bearer"} <= set(v["flows"])
    assert v["policy.ip_relaxation"] == "ENFORCE"
    assert v["assignments.profiles"] == ["System Administrator"]


def test_offline_access_counts_as_refresh_token_and_unknown_scopes_are_kept():
    app = only_app("PatrickDennisSFDC__agentforce-thespis-sfdc-app/force-app/main/default/connectedApps/"
                   "Thespis.connectedApp-meta.xml")
    scopes = app.values["oauth.scopes"]
    assert scopes.count("RefreshToken") == 1 and "OfflineAccess" not in scopes
    assert "SfapApi" in scopes  # not in the enum: kept as written rather than guessed


def test_eca_bundle_joins_four_parts():
    apps = apps_under("chanduvadlapatlaintapp__qtcdevcpq-sandbox")
    app = apps["Copilot_Studio_Portfolio_Analysis"]
    v = app.values
    assert app.kind == "external_client_app"
    assert app.path.endswith("externalClientApps/Copilot_Studio_Portfolio_Analysis.eca-meta.xml")
    assert v["label"] == "Copilot Studio Portfolio Analysis"
    assert v["oauth.scopes"] == ["Api", "RefreshToken"]
    assert v["oauth.permitted_users"] == "self_authorized"
    assert v["policy.ip_relaxation"] == "BYPASS"  # ECA `Bypass`, mapped to the connected-app spelling
    assert v["policy.refresh_token.kind"] == "infinite"
    assert v["oauth.client_credentials.enabled"] is True
    assert v["oauth.client_credentials.user"] == "vignesh.prabhudoss@intapp.com.uat"
    assert v["oauth.pkce_required"] is False  # explicitly false (the ECA default is true)
    assert v["policy.session_level"] == "STANDARD"
    assert app.locations["oauth.scopes"].path.endswith(".ecaOauth-meta.xml")
    assert app.locations["oauth.permitted_users"].path.endswith(".ecaOauthPlcy-meta.xml")
    assert app.locations["oauth.client_credentials.user"].line == 3


def test_namespaced_eca_policy_without_header_still_yields_an_app():
    apps = apps_under("Transition-Trails__TT_Salesforce_Devops")
    app = apps["Linear__Linear"]
    assert app.path.endswith("extlClntAppOauthPolicies/Linear_oauth_defaultPolicy.ecaOauthPlcy-meta.xml")
    assert app.values["oauth.permitted_users"] == "self_authorized"
    assert any("no header" in note for note in app.notes)


def test_eca_refresh_policy_with_period_and_unit():
    apps = apps_under("eelywasa__sf-bulk-loader")
    v = apps["SfblE2ECiDevHub"].values
    assert v["oauth.permitted_users"] == "admin_approved"
    assert v["policy.refresh_token.kind"] == "lifetime"
    assert isinstance(v["policy.refresh_token.days"], int)


def test_whole_corpus_loads_without_errors():
    if not CORPUS.is_dir():
        corpus_file("")
    result = scan_paths([str(CORPUS)])
    assert result.errors == []
    kinds = {app.kind for app in result.apps}
    assert kinds == {"connected_app", "external_client_app"}
    assert sum(app.kind == "connected_app" for app in result.apps) == 164
