"""Text from the input, made inert for each output.

Values ca-audit did not write (file names, labels, rule texts, baseline entries, org errors) may
hold newlines, terminal escapes or characters a format forbids. Each format passes such values
through one of these before writing them: a newline must not start a new line (where `::error`
or `::add-mask::` would become a GitHub Actions command), ESC must not reach a terminal, and
JUnit must stay well-formed XML 1.0. A CSV cell must not run as a formula in a spreadsheet.
"""

from __future__ import annotations

import json
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
# splits lines on CR as well as LF. Other readers of a log may also break lines at VT, FF, the
# information separators, NEL (U+0085) and U+2028/U+2029 (Python's str.splitlines does), and a
# terminal may take a C1 control (U+009B is CSI) for an escape sequence: those never pass raw.
_LINE_COMMAND = re.compile(r"(^|[\r\n])([^\S\r\n]*)::")
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x7f-\x9f\u2028\u2029]")
LEGACY_COMMAND = "##["


def no_commands(text: str, colon: str = "\\:", bracket: str = "\\[") -> str:
    """`text` (a whole output, or one line of it) with no line a CI runner would run as a command:
    a line's leading `::` becomes `colon` + `:`, and `##[` becomes `##` + `bracket`. The defaults are
    backslash escapes (Markdown renders them as the plain character); XML and JSON outputs pass their
    own lossless escapes (`&#58;`, `\\u005b`). The characters that may count as a line break or a
    control elsewhere (VT, FF, NEL, U+2028, C1 controls) become `\\uXXXX`, which is also the lossless
    JSON escape. Our own commands are added after this pass."""
    text = _OTHER_BREAKS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    text = _LINE_COMMAND.sub(lambda m: m.group(1) + m.group(2) + colon + ":", text)
    return text.replace(LEGACY_COMMAND, "##" + bracket)


# Controls that have no place in a text of lines: all but tab and LF, and CR but before LF (a
# file with CRLF line ends shown in a diff).
_IN_LINES = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]|\r(?!\n)")


def inert_text(text: str) -> str:
    """A whole text output (lines, tabs) made inert for terminals and CI logs: every other control
    character shown as an escape, and no line runnable as a workflow command. Values are best passed
    through `visible` first as well, so that a newline in a name does not break its line."""
    return no_commands(_IN_LINES.sub(_escape, text))


def inert_json(data: object, indent: int | None = None) -> str:
    """`data` as JSON text (one line unless `indent`) that no CI runner reads a command in: `##[`
    inside a string is written `##\\u005b`, which reads back as the same text."""
    return no_commands(json.dumps(data, ensure_ascii=False, indent=indent), bracket="\\u005b")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell on one line (control characters shown as escapes: a newline would start a line of
    the CI log, where `::error …` runs as a workflow command) that a spreadsheet will not run as a
    formula: one starting with =, +, -, @, tab or CR (OWASP's list) is prefixed with `'`. None is an
    empty cell."""
    text = "" if value is None else visible(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
