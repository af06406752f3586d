"""Getting an access token for an org, in the order the README documents:

1. ``--target-org ALIAS``: reuse the Salesforce CLI's login (``sf org display --json``; since
   plugin-org 5.11 the token there is redacted, so fall back to ``sf org auth show-access-token``);
2. ``--instance-url`` + ``--access-token`` (or SF_INSTANCE_URL / SF_ACCESS_TOKEN);
3. JWT bearer: ``--client-id``, ``--jwt-key-file``, ``--username``, ``--login-url``.

We obtain the token ourselves rather than through simple-salesforce's login helpers: those have
no timeout, hard-code ``*.salesforce.com`` hosts and hide the token endpoint's HTTP answer.
Nothing here ever prints or stores a token or a key.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "66.0"  # Spring '26, pinned: simple-salesforce would default to 59.0
SF_CLI_TIMEOUT = 120  # seconds; `sf` refreshes the token before printing it

# Likely configuration causes for token-endpoint errors (salesforce-facts.md §4.5).
TOKEN_ERROR_HINTS = {
    "user hasn't approved this consumer": (
        "the user has no prior approval for this app: either its Permitted Users policy is \"All users may "
        "self-authorize\" and the user never approved it interactively (with the refresh_token scope), or the "
        "app lacks the refresh_token scope. Set Permitted Users to \"Admin approved users are pre-authorized\" "
        "and assign the user's profile or a permission set to the app. A wrong --login-url (sandbox vs "
        "production) or a consumer key from another org can give the same message."
    ),
    "user is not admin approved to access this app": (
        "the app is admin-approved but the user holds none of its profiles or permission sets; add one under "
        "the app's Manage Profiles / Manage Permission Sets and assign it to the user."
    ),
    "audience is invalid": (
        "the JWT audience does not match the login host: use --login-url https://test.salesforce.com for a "
        "sandbox and https://login.salesforce.com for production."
    ),
    "invalid assertion": (
        "the signature did not verify: the certificate uploaded to the app must be the public part of "
        "--jwt-key-file, signed RS256."
    ),
    "client identifier invalid": (
        "wrong consumer key (--client-id), an app from another org, or an app created minutes ago that has "
        "not propagated yet."
    ),
    "ip restricted or invalid login hours": (
        "the app enforces IP restrictions and this machine's address is outside the user's profile Login IP "
        "Ranges (or outside Login Hours)."
    ),
    "user is inactive": "the user is deactivated; reactivate it or use another integration user.",
}


class AuthError(Exception):
    """Could not obtain a session. The message is for the user and never contains a secret."""


@dataclass
class OrgCredentials:
    instance_url: str
    access_token: str = field(repr=False)
    source: str  # how they were obtained, for messages: "sf CLI alias dev", "access token", "JWT bearer"
    username: str | None = None
    org_id: str | None = None
    target: str = ""  # how the user named the org (alias or instance URL), used as the scan root

    def __post_init__(self) -> None:
        self.instance_url = self.instance_url.rstrip("/")
        if not self.target:
            self.target = self.instance_url


# ---------------------------------------------------------------------------- sf CLI
def from_sf_cli(alias: str, *, executable: str = "sf") -> OrgCredentials:
    import shutil

    if shutil.which(executable) is None:
        raise AuthError(
            "--target-org needs the Salesforce CLI (`sf`), which is not on PATH; install it "
            "(https://developer.salesforce.com/tools/salesforcecli) or use --instance-url with --access-token"
        )
    display = _run_sf([executable, "org", "display", "--target-org", alias, "--json"], alias)
    result = display.get("result") or {}
    instance_url = result.get("instanceUrl")
    token = result.get("accessToken") or ""
    if not instance_url:
        raise AuthError(f"`sf org display` gave no instance URL for {alias!r}")
    connected = result.get("connectedStatus")
    if connected and connected != "Connected" and connected != "Unknown":
        raise AuthError(f"the Salesforce CLI login for {alias!r} is not usable ({connected}); "
                        f"log in again with `sf org login web --alias {alias}`")
    if not token or token.startswith("[REDACTED"):
        # plugin-org ≥ 5.11 redacts the token in `org display`.
        shown = _run_sf([executable, "org", "auth", "show-access-token", "--target-org", alias, "--json"], alias)
        token = (shown.get("result") or {}).get("accessToken") or ""
    if not token or token.startswith("[REDACTED"):
        raise AuthError(f"the Salesforce CLI did not give an access token for {alias!r}")
    return OrgCredentials(instance_url, token, f"Salesforce CLI alias {alias}", result.get("username"),
                          result.get("id"), target=alias)


def _run_sf(command: list[str], alias: str) -> dict:
    import subprocess  # org code only; this module is imported for its defaults on every run

    shown = " ".join(command[:-1])
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=SF_CLI_TIMEOUT,
                                   env={**os.environ, "SF_JSON_TO_STDOUT": "true"}, check=False)
    except subprocess.TimeoutExpired:
        raise AuthError(f"`{shown}` did not answer within {SF_CLI_TIMEOUT} s") from None
    except OSError as error:
        raise AuthError(f"could not run `{shown}`: {error.strerror or error}") from None
    text = completed.stdout.strip() or completed.stderr.strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise AuthError(f"`{shown}` did not print JSON (exit {completed.returncode})") from None
    if not isinstance(data, dict) or data.get("status") != 0:
        data = data if isinstance(data, dict) else {}
        name = data.get("name") or "error"
        message = (data.get("message") or "").strip() or f"exit {completed.returncode}"
        hint = ""
        if "NamedOrgNotFound" in name or "No authorization information" in message:
            hint = f"; run `sf org login web --alias {alias}` or check `sf org list`"
        elif "expired" in message.lower() or "RefreshToken" in name or "invalid_grant" in message:
            hint = f"; the login has expired: run `sf org login web --alias {alias}` again"
        raise AuthError(f"`{shown}` failed for {alias!r}: {name}: {message}{hint}")
    return data


# ---------------------------------------------------------------------------- access token
def from_access_token(instance_url: str, access_token: str) -> OrgCredentials:
    from urllib.parse import urlsplit

    parts = urlsplit(instance_url)
    if parts.scheme != "https" or not parts.hostname:
        raise AuthError(f"--instance-url must be an https:// URL, got {instance_url!r}")
    if not access_token:
        raise AuthError("--instance-url needs --access-token (or SF_ACCESS_TOKEN)")
    return OrgCredentials(instance_url, access_token, "access token")


# ---------------------------------------------------------------------------- JWT bearer
def jwt_audience(login_url: str) -> str:
    """`aud` must be the login host (login/test) or an Experience Cloud site URL; a My Domain token
    URL still takes login/test as audience (simple-salesforce PR #711)."""
    from urllib.parse import urlsplit

    host = (urlsplit(login_url).hostname or "").lower()
    if host in ("login.salesforce.com", "test.salesforce.com"):
        return f"https://{host}"
    if ".sandbox.my.salesforce.com" in host or host.endswith(".sandbox.my.salesforce.mil"):
        return "https://test.salesforce.com"
    if host.endswith(".my.salesforce.com"):
        return "https://login.salesforce.com"
    return login_url.rstrip("/")  # an Experience Cloud site, or a test double


def jwt_assertion(client_id: str, username: str, audience: str, key_pem: bytes, *, now: float | None = None) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise AuthError(f"--jwt-key-file is not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError("--jwt-key-file must hold an RSA private key (Salesforce signs JWT bearer with RS256)")
    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iss": client_id, "sub": username, "aud": audience, "exp": issued + 180}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def from_jwt(session, *, client_id: str, key_file: str, username: str, login_url: str = DEFAULT_LOGIN_URL,
             timeout: float | None = None) -> OrgCredentials:
    import requests

    if timeout is None:
        timeout = float(os.environ.get("CA_AUDIT_HTTP_TIMEOUT", "60"))

    from auditor import safeio

    try:  # a regular file of bounded size: a FIFO or /dev/zero given as the key must not hang the run
        key_pem = safeio.read_bytes(key_file, limit=1024 * 1024)
    except safeio.Refused as refused:
        raise AuthError(f"cannot read --jwt-key-file {key_file}: {refused.message}") from None
    assertion = jwt_assertion(client_id, username, jwt_audience(login_url), key_pem)
    token_url = login_url.rstrip("/") + "/services/oauth2/token"
    try:
        response = session.post(
            token_url,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            timeout=timeout,
        )
    except requests.Timeout:
        raise AuthError(f"JWT bearer token request to {token_url} timed out after {timeout:g} s") from None
    except requests.RequestException as error:
        raise AuthError(f"JWT bearer token request to {token_url} failed: {type(error).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise AuthError(token_error_message(response.status_code, body, username))
    return OrgCredentials(body.get("instance_url") or login_url, body["access_token"], "JWT bearer", username,
                          target=body.get("instance_url") or login_url)


def token_error_message(status: int, body: object, username: str) -> str:
    if not isinstance(body, dict) or "error" not in body:
        return f"the token endpoint answered HTTP {status} without an OAuth error body"
    error = str(body.get("error"))
    description = str(body.get("error_description") or "")
    message = f"JWT bearer login for {username} failed: {error}: {description}"
    hint = TOKEN_ERROR_HINTS.get(description.strip().lower())
    if hint:
        message += f"\n  likely cause: {hint}"
    return message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
