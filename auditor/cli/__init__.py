"""ca-audit command line. Thin: parse options, run the pipeline, render, choose the exit code.

One module per command group: `scan` (scan, pull), `rules`, `diagnose` (preflight, explain), `fix`,
`access`; the org options every org command takes are defined once in `org_options`.

Start-up: typer inspects the signature of every registered command before it runs one, and the
command modules import their own dependencies. `main()` therefore builds the app with only the
command named on the command line when it is one of ours (a pre-commit hook runs `scan` on every
commit); help, completion of a mistyped name and every other case get the whole app.

Start-up: `main` (the console script; `run` is what tests drive in process) also spares a short run
the garbage collector's work, which was a fifth of a pre-commit run's own time: collections are
rarer while it runs (a collection still comes every GC_THRESHOLD allocations, so a long scan stays
bounded), and the objects still alive at exit are frozen, so the interpreter's final collections
do not walk them one by one before the process ends anyway. Output is flushed and closed by then;
atexit handlers (thread pools, temporary folders) still run.

Exit codes are a contract (DESIGN.md): 1 means findings and nothing else. `run` is the one place
that holds it: any exception no command foresaw, and any failure to write the output (a closed or
broken pipe, a full disk), ends the run with exit 2 and one line on stderr; `--debug` (or
CA_AUDIT_DEBUG=1) shows the traceback as well.
"""

import errno
import gc
import os
import sys
import traceback
from collections.abc import Callable
from typing import Annotated

import typer
from typer.exceptions import TyperException

from auditor import __version__

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


_DEBUG = {"on": bool(os.environ.get("CA_AUDIT_DEBUG"))}


def main_options(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."""
    _DEBUG["on"] = _DEBUG["on"] or debug


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


GC_THRESHOLD = 50_000  # allocations between collections of the youngest generation (Python's default: 700)


def main() -> None:
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    code = run()
    gc.freeze()
    sys.exit(code)


def run() -> int:
    """Run the command line and return the exit code; never raise, never exit 1 but for findings."""
    from auditor.cli.common import ClosedStdout, silence_stdout

    if sys.stdout is None:  # started with stdout closed: what would be printed must fail, not vanish
        sys.stdout = ClosedStdout()
    try:
        result = build_app(_invoked(sys.argv[1:]))(standalone_mode=False)
        code = result if isinstance(result, int) else 0
        _flush_stdout()
        return code
    except TyperException as error:  # usage errors, with typer's own message
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            _say(error.format_message())
        return 2 if error.exit_code == 1 else error.exit_code  # 1 is for findings only
    except typer.Exit as done:  # raised outside a command's frame
        try:
            _flush_stdout()
        except OSError as error:
            silence_stdout()
            _say(f"cannot write the output to standard output: {error.strerror or error}")
            return 2
        return done.exit_code
    except SystemExit as done:
        # rich (help) and typer end a run whose stdout pipe broke with SystemExit(1) after pointing
        # stdout at /dev/null; no command of ours raises SystemExit, and 1 means findings only.
        if done.code in (0, None):
            return 0
        if done.code == 1:
            _say("cannot write the output to standard output: Broken pipe")
            return 2
        return done.code if isinstance(done.code, int) else 2
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return 130
    except OSError as error:
        if isinstance(error, (_StdoutError, BrokenPipeError)) or (
                error.errno in (errno.EPIPE, errno.ENOSPC, errno.EBADF) and not error.filename):
            silence_stdout()
            _say(f"cannot write the output to standard output: {error.strerror or error}")
            return 2
        return _internal(error)
    except Exception as error:  # noqa: BLE001 - the fail-closed contract
        return _internal(error)


def _flush_stdout() -> None:
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except OSError as error:
        raise _StdoutError(error.errno, error.strerror) from None


class _StdoutError(OSError):
    """Writing or flushing standard output failed."""


def _internal(error: BaseException) -> int:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f"{os.sep}auditor{os.sep}" in f.filename]
    where = ""
    if frames:
        path = frames[-1].filename
        where = f" at auditor{path.rsplit(f'{os.sep}auditor', 1)[-1]}:{frames[-1].lineno}".replace(os.sep, "/")
    if _DEBUG["on"] or "--debug" in sys.argv[1:2]:
        traceback.print_exception(error, file=sys.stderr)
    # The exception's own text is not printed: it may hold a value from the input.
    _say(f"internal error ({type(error).__name__}{where}); the audit could not be completed. "
         "Rerun with --debug for the traceback, and report it.")
    return 2


def _say(message: str) -> None:
    """`ca-audit: error: …` on stderr, as every command says it (click's messages quote the arguments)."""
    from auditor.cli.common import say

    say(f"ca-audit: error: {message}")


if __name__ == "__main__":
    main()
