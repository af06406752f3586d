"""ca-audit command line. Thin: parse options, run the pipeline, render, choose the exit code.

One module per command group: `scan` (scan, pull), `rules`, `diagnose` (preflight, explain); the
org options every org command takes are defined once in `org_options`.
"""

from typing import Annotated

import typer

from auditor import __version__
from auditor.cli import diagnose, scan
from auditor.cli.rules import rules_app

app = typer.Typer(
    name="ca-audit",
    help="Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # subcommands inherit it
)
app.command()(scan.scan)
app.add_typer(rules_app, name="rules")
app.command("pull")(scan.pull)
app.command()(diagnose.preflight)
app.command()(diagnose.explain)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ca-audit {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
