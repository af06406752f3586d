"""ca-audit command line. Thin: parse options, run the pipeline, render, choose the exit code.

One module per command group: `scan` (scan, pull), `rules`, `diagnose` (preflight, explain); the
org options every org command takes are defined once in `org_options`.

Exit codes are a contract (DESIGN.md): 1 means findings and nothing else. `main` is the one place
that holds it: any exception no command foresaw, and any failure to write the output (a closed or
broken pipe, a full disk), ends the run with exit 2 and one line on stderr; `--debug` (or
CA_AUDIT_DEBUG=1) shows the traceback as well.
"""

import errno
import os
import sys
import traceback
from typing import Annotated

import typer
from typer.exceptions import TyperException

from auditor import __version__
from auditor.cli import diagnose, scan
from auditor.cli.rules import rules_app

app = typer.Typer(
    name="ca-audit",
    help="Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


_DEBUG = {"on": bool(os.environ.get("CA_AUDIT_DEBUG"))}


@app.callback()
def main_options(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."""
    _DEBUG["on"] = _DEBUG["on"] or debug


def main() -> None:
    sys.exit(run())


def run() -> int:
    """Run the command line and return the exit code; never raise, never exit 1 but for findings."""
    try:
        result = app(standalone_mode=False)
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
        _flush_stdout()
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return 130
    except OSError as error:
        if isinstance(error, (_StdoutError, BrokenPipeError)) or (
                error.errno in (errno.EPIPE, errno.ENOSPC, errno.EBADF) and not error.filename):
            _silence_stdout()
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


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
    try:
        sys.stderr.write(f"ca-audit: error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    main()
