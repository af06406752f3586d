"""The org options, defined once: every command that can read an org takes exactly these
(`--target-org`, `--instance-url` + `--access-token` or their environment variables, the JWT
options, `--api-version`) through `@with_org_options`, and receives them as one `org` argument.

Nothing here imports simple-salesforce: `OrgTarget` only says which org to read and how.
"""

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.sources.org import DEFAULT_API_VERSION, DEFAULT_LOGIN_URL

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget

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

# (parameter name, annotation, default), in the order --help lists them.
_ORG_PARAMETERS = (
    ("target_org", TargetOrg, None),
    ("instance_url", InstanceUrl, None),
    ("access_token", AccessToken, None),
    ("client_id", ClientId, None),
    ("jwt_key_file", JwtKeyFile, None),
    ("username", Username, None),
    ("login_url", LoginUrl, DEFAULT_LOGIN_URL),
    ("api_version", ApiVersion, DEFAULT_API_VERSION),
)


def org_target(target_org: str | None = None, instance_url: str | None = None, access_token: str | None = None,
               client_id: str | None = None, jwt_key_file: Path | None = None, username: str | None = None,
               login_url: str = DEFAULT_LOGIN_URL, api_version: str = DEFAULT_API_VERSION) -> "OrgTarget | None":
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
    from auditor.sources.org.target import OrgTarget

    return OrgTarget(target_org, instance_url, access_token, client_id, jwt_key_file, username, login_url, version)


def with_org_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` the org options; it receives them as `org` (an OrgTarget, or None when none was
    given). Misuse is a usage error (exit 2) before the command runs."""
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "org"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
             for name, annotation, default in _ORG_PARAMETERS]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name, _annotation, _default in _ORG_PARAMETERS}
        return command(*args, org=org_target(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**{k: v for k, v in command.__annotations__.items() if k != "org"},
                               **{name: annotation for name, annotation, _default in _ORG_PARAMETERS}}
    return wrapper
