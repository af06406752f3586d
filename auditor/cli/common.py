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


def suggestion(word: str, candidates: list[str] | set[str]) -> str:
    """` (did you mean 'CA-01'?)` for a near miss, else ``: never a list of every candidate (a
    project may hold thousands of apps)."""
    import difflib
    import re

    known = sorted(candidates)
    id_form = re.fullmatch(r"([A-Za-z]+)-?0*(\d+)", word.strip())
    if id_form:  # CA-1, ca1, CA-001 → CA-01
        canonical = f"{id_form.group(1).upper()}-{int(id_form.group(2)):02d}"
        if canonical in known:
            return f" (did you mean {canonical!r}?)"
    lowered = {name.lower(): name for name in known}
    if word.lower() in lowered:
        return f" (did you mean {lowered[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(name) for name in close) + "?)"
