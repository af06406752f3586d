"""`ca-audit access`: thin; the inventory is built in auditor/access.py."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.common import help_paragraphs, usage_error, write_stderr, write_stdout
from auditor.cli.org_options import with_org_options

if TYPE_CHECKING:  # only the `org` annotation, which typer never evaluates (the org options replace it)
    from auditor.sources.org.target import OrgTarget


@with_org_options
def access(
    names: Annotated[list[str] | None, typer.Argument(
        metavar="[SNAPSHOT] [APP...]", help="An org snapshot (.json) instead of an org option; then the apps to "
        "show, by API name or label (default: every app).")] = None,
    output_format: Annotated[str, typer.Option(
        "--format", "-f", help="table, json, csv or html (one self-contained page).")] = "table",
    config: Annotated[Path | None, typer.Option(help="Config whose integration users to check (default: "
                                                ".ca-audit.yaml found upward from the snapshot's folder).")] = None,
    org: "OrgTarget | None" = None,
) -> None:
    """Who can use each app and who uses it: assignments, active users, OAuth tokens and logins.

    Who can: profiles, permission sets and groups, with their active, unfrozen users; who does: OAuth
    tokens, last use and last OAuth login. Exit 0, or 2 when the org could not be read completely."""
    from auditor.access import ACCESS_FORMATS, render
    from auditor.access import access as run_access

    if output_format not in ACCESS_FORMATS:
        raise usage_error(f"--format takes one of {', '.join(ACCESS_FORMATS)}, not {output_format!r}")
    values = list(names or [])
    sources = [v for v in values if v.lower().endswith(".json") and Path(v).is_file()]
    apps = [v for v in values if v not in sources]
    for value in apps:
        if value.lower().endswith(".json"):  # app names hold no dots: a snapshot that is not there
            from auditor.safeio import display

            missing = "no such file" if not Path(value).exists() else "not a file"
            raise usage_error(f"{display(value)}: cannot read the snapshot: {missing}")
    if org is not None and org.target_org is None and org.client_id is None and sources:
        org = None  # SF_INSTANCE_URL set for other tools: the snapshot named here wins
    if not sources and org is None:
        raise usage_error("access needs an org (--target-org ALIAS, --instance-url with --access-token, or JWT) "
                          "or a snapshot file written by ca-audit pull")
    result = run_access(sources, org, apps, config)
    from auditor.formats._safe import inert_text, visible

    for error in result.errors:
        where = f"{error.path}:{error.line}" if error.line else error.path
        write_stderr(inert_text(f"ca-audit: error: {visible(where)}: {visible(error.message)}\n"))
    if result.apps or not result.errors:
        write_stdout(render(result, output_format))
    raise typer.Exit(result.exit_code())


# The help shows a docstring's line breaks as written: one line per paragraph lets it wrap to the terminal.
access.__doc__ = help_paragraphs(access.__doc__)
