"""GitHub Actions workflow commands: one annotation per finding.

    ::error file=force-app/…/App.connectedApp-meta.xml,line=12,col=9,title=CA-01 …::message

Levels: a finding that fails the run (at or above fail_on) is an `error`; below that, medium and
above are `warning` and low/info are `notice`; waived findings are `notice`s that say so. GitHub
reads the command up to the first `::`, so data and property values are escaped exactly as the
runner's toolkit does (`%` → %25, CR → %0D, LF → %0A, and in properties also `:` → %3A,
`,` → %2C).
"""

from __future__ import annotations

from auditor.formats._ci import (
    placements,
    repo_path,
    severity_word,
    sort_key,
    waiver_text,
)
from auditor.formats._safe import visible
from auditor.model import Finding, Report, Severity


def escape_data(text: str) -> str:
    # Then any other control character (ESC, a lone CR of another kind, U+2028) is shown as an
    # escape: the log must not interpret it.
    return visible(str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: object) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value not in (None, "")
    )
    return f"::{level} {props}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


def _level(report: Report, finding: Finding) -> str:
    if finding.waived:
        return "notice"
    if report.is_failing(finding):
        return "error"
    return "warning" if finding.severity >= Severity.MEDIUM else "notice"


def render(report: Report) -> str:
    placed = placements(report)
    lines: list[str] = []
    for finding in sorted(report.findings, key=sort_key):
        place = placed[id(finding)]
        loc = place.location
        title = f"{finding.rule_id} ({severity_word(finding.severity)}) {finding.title or finding.app}".strip()
        message = finding.message
        if finding.waived:
            title = f"{title} [waived]"
            message = f"{message}\nWaived: {waiver_text(finding.waived_by)}"
        for note in finding.notes:
            message = f"{message}\nNote: {note}"
        if finding.fix:
            message = f"{message}\nFix: {finding.fix.strip()}"
        lines.append(
            command(
                _level(report, finding),
                message,
                file=place.path,
                line=loc.line or 1,
                col=loc.column,
                endLine=loc.end_line,
                endColumn=loc.end_column,
                title=title,
            )
        )
    root = report.roots[0] if len(report.roots) == 1 else None
    for error in report.input_errors:
        lines.append(
            command(
                "error",
                error.message,
                file=repo_path(root, error.path) if error.path else None,
                line=error.line,
                title="ca-audit input error",
            )
        )
    for message in report.messages:
        lines.append(command("notice", str(message), title="ca-audit"))
    active = [f for f in report.findings if not f.waived]
    failing = [f for f in active if report.is_failing(f)]
    waived = len(report.findings) - len(active)
    lines.append(
        f"ca-audit: {len(report.apps)} app(s), {len(active)} finding(s), {len(failing)} at or above "
        f"{severity_word(report.fail_on)}, {waived} waived, {len(report.input_errors)} input error(s)"
    )
    return "\n".join(lines) + "\n"
