"""`--format table`: for people at a terminal. Findings grouped by app, worst app first.

Laid out by hand rather than with tabulate: this is the default format the pre-commit hook
prints, and tabulate costs ~65 ms to import.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from auditor.formats._ci import apps_by_finding, repo_path
from auditor.formats._safe import no_commands, visible
from auditor.model import KIND_WORDS, ORG, App, Finding, Location, Report, Severity

_COLOURS = {
    Severity.CRITICAL: "\033[1;35m",
    Severity.HIGH: "\033[1;31m",
    Severity.MEDIUM: "\033[33m",
    Severity.LOW: "\033[36m",
    Severity.INFO: "\033[2m",
}
_RESET, _BOLD, _DIM, _GREEN = "\033[0m", "\033[1m", "\033[2m", "\033[32m"


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour else text


def render(report: Report, color: bool = False, width: int | None = None, quiet: bool = False) -> str:
    """`width`: wrap finding messages to it, continuation lines indented under the message (the
    CLI passes the terminal's width, 80 when not a terminal); None leaves lines whole. The
    summary line is never wrapped, so scripts can find it. `quiet`: findings and input errors only.

    Printed in a CI step, no line may run as a workflow command: a name from the input can start a
    line (an app heading, a wrapped message, a path), so each such line is escaped (`\\::`)."""
    return no_commands(_render(report, color, width, quiet))


def _render(report: Report, color: bool, width: int | None, quiet: bool) -> str:
    style = _Style(color)
    lines: list[str] = []
    lines += _findings_by_app(report, style, width)
    lines += _input_errors(report, style)
    if quiet:
        return "\n".join(lines).rstrip("\n") + "\n" if lines else ""
    lines += [f"note: {visible(message)}" for message in report.messages]
    lines.append(f"config: {visible(report.config)}" if report.config
                 else "config: none found (built-in defaults)")
    lines.append("")
    lines.append(summary_line(report, style))
    return "\n".join(lines) + "\n"


def _findings_by_app(report: Report, style: _Style, width: int | None = None) -> list[str]:
    by_app: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_app[(finding.app, finding.kind, finding.origin)].append(finding)
    id_width = max((len(f.rule_id) for f in report.findings), default=5)
    owners = apps_by_finding(report)
    lines: list[str] = []
    for (app, kind, origin), findings in sorted(by_app.items(), key=_worst_first):
        findings.sort(key=lambda f: (f.waived, -f.severity, f.rule_id))
        count = sum(not f.waived for f in findings)
        noun = "finding" if count == 1 else "findings"
        where = ", in the org" if origin == ORG else ""
        lines.append(style(_BOLD, visible(app))
                     + style(_DIM, f"  ({KIND_WORDS.get(kind, kind)}{where}, {count} {noun})"))
        for finding in findings:
            lines += _finding_lines(finding, id_width, style, width, owners.get(id(finding)))
        lines.append("")
    return lines


def _worst_first(item: tuple[tuple[str, str, str], list[Finding]]) -> tuple[int, str, str]:
    (app, _kind, origin), findings = item
    active = [f.severity for f in findings if not f.waived]
    return (-(max(active) if active else -1), app, origin)


def _where(finding: Finding, app: App | None) -> str:
    """The finding's file and line as the other formats name it: relative to the working folder
    (`sf/force-app/…` when `sf` was scanned), so it can be clicked or opened from where ca-audit ran."""
    loc = finding.location
    if loc is None or not loc.path:
        return str(loc)
    return str(Location(repo_path(app.root if app else None, loc.path), loc.line))


def _finding_lines(finding: Finding, id_width: int, style: _Style, width: int | None = None,
                   app: App | None = None) -> list[str]:
    severity = f"{finding.severity!s:<8}"
    severity = style(_DIM, "waived  ") if finding.waived else style(_COLOURS[finding.severity], severity)
    indent = " " * (2 + 8 + 1 + id_width + 2)
    message = _wrap(visible(finding.message), width, indent)
    lines = [f"  {severity} {visible(finding.rule_id):<{id_width}}  {message[0]}", *message[1:],
             f"{indent}{style(_DIM, visible(_where(finding, app)))}"]
    if finding.waived_by is not None:
        reason = _wrap("waived: " + visible(finding.waived_by.get("reason", "")), width, indent)
        lines += [f"{indent}{style(_DIM, reason[0])}", *(style(_DIM, line) for line in reason[1:])]
    return lines


def _wrap(text: str, width: int | None, indent: str) -> list[str]:
    """The first line's text, then continuation lines that carry `indent` (paths are not broken)."""
    if width is None or len(indent) + len(text) <= width:
        return [text]
    import textwrap

    wrapped = textwrap.wrap(text, width=max(20, width - len(indent)), break_long_words=False,
                            break_on_hyphens=False)
    return [wrapped[0], *(indent + line for line in wrapped[1:])] if wrapped else [text]


def _input_errors(report: Report, style: _Style) -> list[str]:
    if not report.input_errors:
        return []
    lines = [style(_BOLD, f"Input errors ({len(report.input_errors)}): these inputs were not audited")]
    lines += [f"  {style(_COLOURS[Severity.HIGH], 'error')}  {visible(error)}" for error in report.input_errors]
    return lines + [""]


def summary_line(report: Report, style: _Style | None = None) -> str:
    style = style or _Style(False)
    active = report.active_findings
    counts = Counter(f.severity for f in active)
    detail = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, reverse=True))
    apps = f"{len(report.apps)} app{'s' if len(report.apps) != 1 else ''}"
    text = f"{apps} audited, {len(active)} finding{'s' if len(active) != 1 else ''}"
    text += f" ({detail})" if detail else ""
    waived = len(report.findings) - len(active)
    text += f", {waived} waived" if waived else ""
    errors = len(report.input_errors)
    text += f", {errors} input error{'s' if errors != 1 else ''}" if errors else ""
    code = report.exit_code()
    verdict = {0: style(_GREEN, "PASSED"), 1: style(_COLOURS[Severity.HIGH], "FAILED")}.get(
        code, style(_COLOURS[Severity.HIGH], "INCOMPLETE")
    )
    reason = {0: f"nothing at or above {report.fail_on}", 1: f"findings at or above {report.fail_on}",
              2: "some input could not be read; the audit cannot be trusted"}[code]
    return f"{verdict}: {text} — {reason}"
