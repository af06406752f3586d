"""ca-audit command line. Thin: parse options, run the pipeline, render, choose the exit code.

One module per command group: `scan` (scan, pull), `rules`, `diagnose` (preflight, explain), `fix`,
`access`; the org options every org command takes are defined once in `org_options`.

Start-up: typer inspects the signature of every registered command before it runs one, and the
command modules import their own dependencies. `main()` therefore builds the app with only the
command named on the command line when it is one of ours (a pre-commit hook runs `scan` on every
commit); help, completion of a mistyped name and every other case get the whole app.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from auditor import __version__

if TYPE_CHECKING:
    from collections.abc import Callable

HELP = "Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."


def _scan(app: typer.Typer) -> None:
    from auditor.cli import scan

    app.command()(scan.scan)


def _pull(app: typer.Typer) -> None:
    from auditor.cli import scan

    app.command("pull")(scan.pull)


def _rules(app: typer.Typer) -> None:
    from auditor.cli.rules import rules_app

    app.add_typer(rules_app, name="rules")


def _preflight(app: typer.Typer) -> None:
    from auditor.cli import diagnose

    app.command()(diagnose.preflight)


def _explain(app: typer.Typer) -> None:
    from auditor.cli import diagnose

    app.command()(diagnose.explain)


def _fix(app: typer.Typer) -> None:
    from auditor.cli import fix

    app.command()(fix.fix)


def _access(app: typer.Typer) -> None:
    from auditor.cli import access

    app.command()(access.access)


# In the order `ca-audit --help` lists them.
COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "scan": _scan, "rules": _rules, "pull": _pull, "preflight": _preflight, "explain": _explain, "fix": _fix,
    "access": _access,
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ca-audit {__version__}")
        raise typer.Exit()


def main_options(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."""


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with the one command `only` (the rest are never imported)."""
    app = typer.Typer(
        name="ca-audit",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},  # subcommands inherit it
    )
    for name, register in COMMANDS.items():
        if only is None or name == only:
            register(app)
    app.callback()(main_options)
    return app


def _invoked(argv: list[str]) -> str | None:
    """The command named first on the command line, when nothing before it is an option."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole app, for tests and tools that drive it in process
        return build_app()
    raise AttributeError(name)


def main() -> None:
    build_app(_invoked(sys.argv[1:]))()


if __name__ == "__main__":
    main()
