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

from auditor.sources.org import DEFAULT_API_VERSION, DEFAULT_LOGIN_URL  # noqa: F401 - also read from here

SF_CLI_TIMEOUT = 120  # seconds; `sf` refreshes the token before printing it

class AuthError(Exception):
    """Could not obtain a session. The message is for the user and never contains a secret."""


def check_org_url(url: object, what: str) -> str:
    """An org or login URL we will send a secret to: https, a host, no user name or password in it
    (those would be stored with the snapshot and printed in messages). Returns it; raises AuthError
    naming `what` (with the URL's password masked) otherwise."""
    from urllib.parse import urlsplit

    from auditor.sources.org.redact import has_userinfo, redact_url

    if not isinstance(url, str):
        raise AuthError(f"{what} is not a URL")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        host = None
    shown = redact_url(url)
    if parts.scheme.lower() != "https" or not host:
        raise AuthError(f"{what} must be an https:// URL, got {shown!r}")
    if has_userinfo(url):
        raise AuthError(f"{what} must not hold a user name or password, got {shown!r}")
    return url


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
    check_org_url(instance_url, f"the instance URL `sf org display` gave for {alias!r}")
    if not isinstance(token, str):
        raise AuthError(f"`sf org display` gave an access token for {alias!r} that is not a string")
    connected = result.get("connectedStatus")
    if connected and connected != "Connected" and connected != "Unknown":
        raise AuthError(f"the Salesforce CLI login for {alias!r} is not usable ({connected}); "
                        f"log in again with `sf org login web --alias {alias}`")
    if not token or token.startswith("[REDACTED"):
        # plugin-org ≥ 5.11 redacts the token in `org display`.
        shown = _run_sf([executable, "org", "auth", "show-access-token", "--target-org", alias, "--json"], alias)
        token = (shown.get("result") or {}).get("accessToken") or ""
    if not isinstance(token, str) or not token or token.startswith("[REDACTED"):
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
    check_org_url(instance_url, "--instance-url")
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

    check_org_url(login_url, "--login-url")
    key_pem = _read_key_file(key_file)
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
        # The session refuses redirects, slow and huge answers and wrong content types with a message.
        reason = str(error) if type(error).__module__ == "auditor.sources.org.client" else type(error).__name__
        raise AuthError(f"JWT bearer token request to {token_url} failed: {reason}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        from auditor.sources.org.redact import redact

        raise AuthError(redact(token_error_message(response.status_code, body, username), [assertion]))
    token = body["access_token"]
    if not isinstance(token, str) or not token:
        raise AuthError("the token endpoint answered HTTP 200 with an access_token that is not a string")
    instance_url = body.get("instance_url", login_url)
    check_org_url(instance_url, "the instance_url the token endpoint returned")
    return OrgCredentials(instance_url, token, "JWT bearer", username, target=instance_url)


KEY_FILE_LIMIT = 1 << 20  # a PEM private key is a few KB


def _read_key_file(key_file: str) -> bytes:
    """The key file's bytes: a regular file of at most KEY_FILE_LIMIT bytes (never a FIFO or a device
    that would block or never end)."""
    import stat

    try:
        descriptor = os.open(key_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise AuthError(f"cannot read --jwt-key-file {key_file}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AuthError(f"--jwt-key-file {key_file} is not a regular file")
        if info.st_size > KEY_FILE_LIMIT:
            raise AuthError(f"--jwt-key-file {key_file} is larger than {KEY_FILE_LIMIT} bytes: not a PEM key")
        return handle.read(KEY_FILE_LIMIT + 1)


def token_error_message(status: int, body: object, username: str) -> str:
    if not isinstance(body, dict) or "error" not in body:
        return f"the token endpoint answered HTTP {status} without an OAuth error body"
    error = str(body.get("error"))
    description = str(body.get("error_description") or "")
    message = f"JWT bearer login for {username} failed: {error}: {description}"
    from auditor.catalogue import login_hint  # only a refused login reads the error catalogue

    hint = login_hint(error, description)
    if hint:
        message += f"\n  likely cause: {hint}"
    return message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
