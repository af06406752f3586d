"""`ca-audit preflight` and `ca-audit explain`: thin; the logic is in auditor/diagnose/."""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.cli.common import text_or_json, usage_error, write_stdout
from auditor.cli.org_options import with_org_options
from auditor.model import PREFLIGHT_FLOWS
from auditor.suggest import suggestion

if TYPE_CHECKING:  # only the `org` annotation, which typer never evaluates (the org options replace it)
    from auditor.sources.org.target import OrgTarget


@with_org_options
def preflight(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app's API name (or label).")],
    flow: Annotated[str, typer.Option(help="jwt-bearer, saml2-bearer, client-credentials or username-password.")],
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="[PATH... | SNAPSHOT]", help="Metadata files or folders, or an org snapshot (default: .)")] = None,
    user: Annotated[str | None, typer.Option(help="The username the token is for (JWT sub, SAML subject).")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Print the metadata patch for the failing checks.")] = False,
    assign_permission_set: Annotated[str | None, typer.Option(
        help="With --fix: the permission set to assign when the app becomes admin-approved.")] = None,
    org: "OrgTarget | None" = None,
) -> None:
    """Say before the call whether a token request for APP with FLOW will work.

    Exit 0 ready, 1 will fail, 2 unknown or bad input."""
    from auditor.diagnose.preflight import preflight as run_preflight
    from auditor.diagnose.render import render_preflight

    if flow not in PREFLIGHT_FLOWS:
        raise usage_error(f"--flow takes one of {', '.join(PREFLIGHT_FLOWS)}, not {flow!r}")
    text_or_json(output_format)
    with _catalogue_errors():
        result = run_preflight(app_name, flow, sources or ([] if org else ["."]), org=org, user=user,
                               config_path=config)
    if result.kind is None and result.known_apps and not result.input_errors:
        raise usage_error(f"no app named {app_name!r} in the source ({len(result.known_apps)} app(s) found)"
                          f"{suggestion(app_name, result.known_apps)}")
    if fix:
        from auditor.cli.fix import preflight_fix

        preflight_fix(result, sources or ["."], config, assign_permission_set, output_format)
    _print_result(result, output_format, render_preflight)


@with_org_options
def explain(
    error: Annotated[str, typer.Argument(help="The error: a JSON body, 'error: description', or the description.")],
    app_name: Annotated[str | None, typer.Option("--app", help="Check each cause against this app.")] = None,
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="[PATH... | SNAPSHOT]", help="With --app: metadata files or folders, or an org snapshot.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    org: "OrgTarget | None" = None,
) -> None:
    """Explain an OAuth token error: known causes (most certain first), the rules that detect them, fixes."""
    from auditor.diagnose.explain import explain as run_explain
    from auditor.diagnose.render import render_explanation

    text_or_json(output_format)
    named_org = org is not None and (org.target_org or org.client_id)  # not SF_INSTANCE_URL set for other tools
    if (sources or named_org) and not app_name:
        raise usage_error("a source (PATH, SNAPSHOT or --target-org) is only used with --app APP")
    if not app_name:
        org = None
    with _catalogue_errors():
        result = run_explain(error, app_name, sources or ([] if org else ["."]), org=org, config_path=config)
    _print_result(result, output_format, render_explanation)


@contextlib.contextmanager
def _catalogue_errors() -> Iterator[None]:
    from auditor.catalogue import CatalogueError

    try:
        yield
    except CatalogueError as error:
        raise usage_error(f"the diagnosis data is invalid: {error}") from None


def _print_result(result: Any, output_format: str, render_text: Callable[[Any], str]) -> None:
    from auditor.formats._safe import inert_json

    if output_format == "json":
        write_stdout(inert_json(result.as_dict()) + "\n")
    else:  # the renderers make their text inert (auditor/diagnose/render.py)
        write_stdout(render_text(result))
    raise typer.Exit(result.exit_code())
