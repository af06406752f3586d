"""The org side of the command line: the options `scan` and `pull` share, and `pull` itself.

Kept apart from cli.py so that the command module stays thin; nothing here imports
simple-salesforce until an org is actually read.
"""


import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from auditor.orgauth import DEFAULT_API_VERSION, DEFAULT_LOGIN_URL

_PANEL = "Org"
TargetOrg = Annotated[str | None, typer.Option(
    "--target-org", help="Audit this org, reusing the Salesforce CLI login of this alias or username.",
    rich_help_panel=_PANEL)]
InstanceUrl = Annotated[str | None, typer.Option(
    "--instance-url", envvar="SF_INSTANCE_URL", help="Org URL, with --access-token.", rich_help_panel=_PANEL)]
AccessToken = Annotated[str | None, typer.Option(
    "--access-token", envvar="SF_ACCESS_TOKEN", show_default=False,
    help="Session id / OAuth access token for --instance-url (prefer the SF_ACCESS_TOKEN variable).",
    rich_help_panel=_PANEL)]
ClientId = Annotated[str | None, typer.Option(
    "--client-id", help="JWT bearer: the app's consumer key.", rich_help_panel=_PANEL)]
JwtKeyFile = Annotated[Path | None, typer.Option(
    "--jwt-key-file", help="JWT bearer: PEM private key whose certificate is on the app.", rich_help_panel=_PANEL)]
Username = Annotated[str | None, typer.Option(
    "--username", help="JWT bearer: the user to log in as.", rich_help_panel=_PANEL)]
LoginUrl = Annotated[str, typer.Option(
    "--login-url", help="JWT bearer: login host (https://test.salesforce.com for sandboxes, or My Domain).",
    rich_help_panel=_PANEL)]
ApiVersion = Annotated[str, typer.Option(
    "--api-version", help="Salesforce API version used for every call.", rich_help_panel=_PANEL)]


@dataclass
class OrgTarget:
    """Which org to read and how to log in; the token is never shown."""

    target_org: str | None = None
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    jwt_key_file: Path | None = None
    username: str | None = None
    login_url: str = DEFAULT_LOGIN_URL
    api_version: str = DEFAULT_API_VERSION

    @property
    def shown(self) -> str:
        """How messages and reports name the org."""
        return self.target_org or self.instance_url or (f"{self.username} via JWT" if self.username else "org")


def org_target(target_org: str | None, instance_url: str | None, access_token: str | None, client_id: str | None,
               jwt_key_file: Path | None, username: str | None, login_url: str = DEFAULT_LOGIN_URL,
               api_version: str = DEFAULT_API_VERSION) -> OrgTarget | None:
    """The org to audit, or None when no org option was given. Raises typer.BadParameter on misuse."""
    jwt = [client_id, jwt_key_file, username]
    if not target_org and not instance_url and not any(jwt):
        if access_token and not instance_url:
            raise typer.BadParameter("--access-token (SF_ACCESS_TOKEN) needs --instance-url (SF_INSTANCE_URL)")
        return None
    version = api_version.lstrip("vV")
    if not version.replace(".", "", 1).isdigit() or "." not in version:
        raise typer.BadParameter(f"--api-version takes a version like 66.0, got {api_version!r}")
    if not target_org and any(jwt) and not all(jwt):
        raise typer.BadParameter("JWT bearer login needs --client-id, --jwt-key-file and --username together")
    if not target_org and not any(jwt) and instance_url and not access_token:
        raise typer.BadParameter("--instance-url needs --access-token (or SF_ACCESS_TOKEN)")
    return OrgTarget(target_org, instance_url, access_token, client_id, jwt_key_file, username, login_url, version)


def read_org(target: OrgTarget, integration_users: list[str], progress: bool | None = None):
    """Log in and pull. Returns (snapshot or None, [InputError]) — login and read failures are errors,
    never exceptions, so the audit reports them and exits 2."""
    import warnings

    from auditor import orgauth
    from auditor.model import InputError
    from auditor.sources import org

    session = org.make_session()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # simple-salesforce warns on approval errors; we explain them
            if target.target_org:
                credentials = orgauth.from_sf_cli(target.target_org)
            elif target.client_id:
                credentials = orgauth.from_jwt(session, client_id=target.client_id,
                                               key_file=str(target.jwt_key_file), username=target.username or "",
                                               login_url=target.login_url)
            else:
                credentials = orgauth.from_access_token(target.instance_url or "", target.access_token or "")
            settings = org.PullSettings(api_version=target.api_version, integration_users=integration_users,
                                        progress=progress)
            return org.pull(credentials, settings, session), []
    except (orgauth.AuthError, org.OrgReadError) as error:
        return None, [InputError(target.shown, None, str(error))]


def pull(
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the snapshot to this file.")] = Path(
        "org.snapshot.json"),
    config: Annotated[Path | None, typer.Option(help="Config whose integration users to read "
                                                "(default: .ca-audit.yaml found upward).")] = None,
    target_org: TargetOrg = None,
    instance_url: InstanceUrl = None,
    access_token: AccessToken = None,
    client_id: ClientId = None,
    jwt_key_file: JwtKeyFile = None,
    username: Username = None,
    login_url: LoginUrl = DEFAULT_LOGIN_URL,
    api_version: ApiVersion = DEFAULT_API_VERSION,
) -> None:
    """Read an org's connected apps, ECAs, assignments and usage into a snapshot for offline scans."""
    from auditor.engine.config import find_config, load_config
    from auditor.sources.snapshot import write

    try:
        target = org_target(target_org, instance_url, access_token, client_id, jwt_key_file, username, login_url,
                            api_version)
    except typer.BadParameter as error:
        typer.echo(f"ca-audit: error: {error}", err=True)
        raise typer.Exit(2) from None
    if target is None:
        typer.echo("ca-audit: error: pull needs an org: --target-org ALIAS, --instance-url with --access-token, "
                   "or --client-id/--jwt-key-file/--username", err=True)
        raise typer.Exit(2)
    cfg, errors = load_config(config or find_config(Path(".")))
    for error in errors:
        typer.echo(f"ca-audit: error: {error.path}: {error.message}", err=True)
    if errors:
        raise typer.Exit(2)
    users = sorted({u for names in cfg.integration_users.values() for u in names})
    snapshot, problems = read_org(target, users)
    if snapshot is None:
        for problem in problems:
            typer.echo(f"ca-audit: error: {problem.path}: {problem.message}", err=True)
        raise typer.Exit(2)
    write(snapshot, output)
    counts = {t: len(v["listed"]) for t, v in snapshot["metadata"].items()}
    typer.echo(f"ca-audit: wrote {output}: {counts['ConnectedApp']} connected apps, "
               f"{counts['ExternalClientApplication']} external client apps, "
               f"{len(snapshot['soql'].get('ConnectedApplication', []))} ConnectedApplication rows, "
               f"{len(snapshot['soql'].get('OauthToken', []))} OAuth tokens", err=True)
    if snapshot["errors"]:
        for error in snapshot["errors"]:
            typer.echo(f"ca-audit: error: not read: {error['what']}: {error['message']}", err=True)
        typer.echo("ca-audit: the snapshot is incomplete; scans of it will exit 2", err=True)
        raise typer.Exit(2)
    sys.stderr.flush()
