"""What every command module shares: the usage-error exit and the parsing of small option values."""

import typer

from auditor.model import SEVERITY_WORDS, Severity


def usage_error(message: str) -> typer.Exit:
    """Print `ca-audit: error: …` and return the exit to raise: 2, the audit could not be run."""
    typer.echo(f"ca-audit: error: {message}", err=True)
    return typer.Exit(2)


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
