"""What every command module shares: the usage-error exit, the parsing of small option values, and
the writing of standard output."""

import errno
import io
import os
import sys

import typer

from auditor.model import SEVERITY_WORDS, Severity


def usage_error(message: str) -> typer.Exit:
    """Print `ca-audit: error: …` and return the exit to raise: 2, the audit could not be run."""
    say(f"ca-audit: error: {message}")
    return typer.Exit(2)


def say(line: str) -> None:
    """One line on stderr; a value it quotes from the input or the org cannot break it, print a
    terminal escape or run as a CI workflow command."""
    from auditor.formats._safe import inert_text, visible

    write_stderr(inert_text(visible(line) + "\n"))


def help_paragraphs(doc: str | None) -> str:
    """A command's docstring with each paragraph on one line: the help shows a docstring's line
    breaks as written, so a paragraph broken in the source would break mid-sentence on screen."""
    return "\n\n".join(" ".join(part.split()) for part in (doc or "").split("\n\n"))


def severity(word: str | None, option: str) -> Severity | None:
    if word is None:
        return None
    try:
        return Severity.parse(word)
    except KeyError:
        raise usage_error(f"{option} takes one of {', '.join(SEVERITY_WORDS)}, not {word!r}") from None


def ids(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def text_or_json(output_format: str) -> None:
    if output_format not in ("text", "json"):
        raise usage_error(f"--format takes text or json, not {output_format!r}")


# ------------------------------------------------------------------------------------ output
# Every command writes its standard output through `write_stdout`: a report that could not be
# written whole (a pipe its reader closed early, a closed stdout, a full disk) is exit 2 with one
# line on stderr, never a silent 0 and never 1 (which means findings).


STDOUT_CLOSED = "standard output is closed"


class ClosedStdout(io.TextIOBase):
    """Stands for a standard output the process was started without (`>&-`; Python then has
    `sys.stdout = None`, and click and rich would print nothing and succeed): every write fails."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, STDOUT_CLOSED)

    def fileno(self) -> int:
        raise io.UnsupportedOperation("standard output is closed")



def stdout_closed() -> bool:
    return sys.stdout is None or isinstance(sys.stdout, ClosedStdout)


def write_stdout(text: str, what: str = "output") -> None:
    """Write `text` whole to standard output, or raise the exit 2 that says it could not be written."""
    if stdout_closed():
        raise usage_error(f"cannot write the {what} to standard output: {STDOUT_CLOSED}")
    try:
        _write_all(text)
    except (OSError, ValueError) as error:  # ValueError: a stdout closed in process
        silence_stdout()
        reason = getattr(error, "strerror", None) or STDOUT_CLOSED
        raise usage_error(f"cannot write the {what} to standard output: {reason}") from None


def write_stderr(text: str) -> None:
    """Headings and summaries on stderr: a closed or broken stderr has no one to tell, and must not
    turn a written report into an internal error."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def _write_all(text: str) -> None:
    """A pipe its reader closed early can take part of a large write and report success to
    TextIOWrapper (the rest is lost without an error), so the bytes go to the file descriptor until
    every one is written; EPIPE then surfaces."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (tests that capture output in process)
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    sys.stdout.flush()
    # a name that is not UTF-8 must not stop the report
    data = memoryview(text.encode(getattr(sys.stdout, "encoding", None) or "utf-8", errors="backslashreplace"))
    while data:
        data = data[os.write(fd, data):]


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    if stdout_closed():
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        return
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
