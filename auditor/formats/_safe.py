"""Text from the input, made inert for each output.

Values ca-audit did not write (file names, labels, rule texts, baseline entries, org errors) may
hold newlines, terminal escapes or characters a format forbids. Each format passes such values
through one of these before writing them: a newline must not start a new line (where `::error`
or `::add-mask::` would become a GitHub Actions command), ESC must not reach a terminal, and
JUnit must stay well-formed XML 1.0. A CSV cell must not run as a formula in a spreadsheet.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and lone surrogates
# (a file name that is not UTF-8, as Python decodes it).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What XML 1.0 does not allow (and CR, which parsers rewrite, and the C1 controls, which it
# discourages); tab and LF are kept.
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def visible(text: object) -> str:
    """Control characters shown as escapes (`\\n`, `\\x1b`): for text read by people and terminals."""
    return _CONTROL.sub(_escape, str(text))


def xml_text(text: object) -> str:
    """Characters XML 1.0 forbids, shown as escapes; newlines and tabs are kept (they are legal)."""
    return _NOT_XML.sub(_escape, str(text))


# A CI runner reads every line a step prints. GitHub Actions runs a line as a workflow command
# when it starts with `::` after leading whitespace (actions/runner, ActionCommand.TryParseV2 trims
# first; `::add-mask::`, `::stop-commands::`, `::error file=…::`), or when it holds `##[name]`
# anywhere (the legacy form, ActionCommand.TryParse, tried whenever V2 does not match). The runner
# splits lines on CR as well as LF.
_LINE_COMMAND = re.compile(r"(^|[\r\n])([^\S\r\n]*)::")
LEGACY_COMMAND = "##["


def no_commands(text: str, colon: str = "\\:", bracket: str = "\\[") -> str:
    """`text` (a whole output, or one line of it) with no line a CI runner would run as a command:
    a line's leading `::` becomes `colon` + `:`, and `##[` becomes `##` + `bracket`. The defaults are
    backslash escapes (Markdown renders them as the plain character); XML and JSON outputs pass their
    own lossless escapes (`&#58;`, `\\u005b`). Our own commands are added after this pass."""
    text = _LINE_COMMAND.sub(lambda m: m.group(1) + m.group(2) + colon + ":", text)
    return text.replace(LEGACY_COMMAND, "##" + bracket)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell on one line (control characters shown as escapes: a newline would start a line of
    the CI log, where `::error …` runs as a workflow command) that a spreadsheet will not run as a
    formula: one starting with =, +, -, @, tab or CR (OWASP's list) is prefixed with `'`. None is an
    empty cell."""
    text = "" if value is None else visible(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
