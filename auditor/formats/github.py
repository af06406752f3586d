"""GitHub Actions workflow commands: one annotation per finding.

    ::error file=force-app/…/App.connectedApp-meta.xml,line=12,col=9,title=CA-01 …::message

Levels: a finding that fails the run (at or above fail_on) is an `error`; below that, medium and
above are `warning` and low/info are `notice`; waived findings are `notice`s that say so. GitHub
reads the command up to the first `::`, so data and property values are escaped exactly as the
runner's toolkit does (`%` → %25, CR → %0D, LF → %0A, and in properties also `:` → %3A,
`,` → %2C). Findings past GitHub's limit are plain log lines: every value in them is one line with
control characters shown as escapes, and no line holds `##[` (formats/_safe.py, `no_commands`).

GitHub shows 10 annotations of each level per step and drops the rest silently, so the worst 10
of each level become annotations, the rest are printed as plain log lines in a group, and one
notice says how many were not annotated and where the full report is.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.fixtext import fix_for_kind
from auditor.formats._ci import (
    placements,
    repo_path,
    severity_word,
    sort_key,
    waiver_text,
)
from auditor.formats._safe import LEGACY_COMMAND, no_commands, visible
from auditor.model import Finding, Report, Severity

# GitHub turns at most this many workflow commands of each level into annotations per step (and
# 50 per job); the rest show only in the log (actions/toolkit, docs/problem-matchers.md, "Limitations").
LIMITS = {"error": 10, "warning": 10, "notice": 10}


def escape_data(text: str) -> str:
    # Then any other control character (ESC, a lone CR of another kind, U+2028) is shown as an
    # escape: the log must not interpret it. `##[` (the runner's legacy command form, read anywhere
    # in a line) has no escape GitHub decodes; it is shown as `##\[`, so that no line holds it.
    text = visible(str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(LEGACY_COMMAND, "##\\[")


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


@dataclass
class _Entry:
    level: str
    message: str
    properties: dict[str, object]

    def annotation(self) -> str:
        return command(self.level, self.message, **self.properties)

    def log_line(self) -> str:
        """The same entry as a plain log line, for those past GitHub's per-step limit."""
        # Every piece comes from the input: one line, no control character, no command (the line
        # starts with the level, so only the legacy `##[` form could still be read as one).
        where = visible(self.properties.get("file") or "")
        if where and self.properties.get("line"):
            where = f"{where}:{self.properties['line']}"
        title = visible(self.properties.get("title") or "ca-audit")
        text = visible(" ".join(self.message.split("\n", 1)[0].split()))
        return no_commands(f"{self.level}: {where + ': ' if where else ''}{title}: {text}")


def _finding_entries(report: Report) -> list[_Entry]:
    placed = placements(report)
    entries = []
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
            message = f"{message}\nFix: {fix_for_kind(finding.fix, finding.kind)}"
        if place.org is not None:  # no repository file: a plain annotation that names the org
            entries.append(_Entry(_level(report, finding), message, {"title": f"org {place.org}: {title}"}))
            continue
        entries.append(_Entry(_level(report, finding), message, {
            "file": place.path, "line": loc.line or 1, "col": loc.column, "endLine": loc.end_line,
            "endColumn": loc.end_column, "title": title}))
    return entries


def render(report: Report) -> str:
    root = report.roots[0] if len(report.roots) == 1 else None
    # Worst first within each level: input errors (nothing can be trusted), then findings by
    # severity, then the run's own notes.
    entries = [
        _Entry("error", error.message, {"file": repo_path(root, error.path) if error.path else None,
                                        "line": error.line, "title": "ca-audit input error"})
        for error in report.input_errors
    ]
    entries += _finding_entries(report)
    entries += [_Entry("notice", str(message), {"title": "ca-audit"}) for message in report.messages]

    by_level = {level: [e for e in entries if e.level == level] for level in LIMITS}
    over = sum(max(0, len(found) - LIMITS[level]) for level, found in by_level.items())
    if over and len(by_level["notice"]) >= LIMITS["notice"]:
        over += 1  # one notice slot goes to the "N more" notice itself
    shown: list[_Entry] = []
    hidden: list[_Entry] = []
    for level, found in by_level.items():
        room = LIMITS[level] - (1 if over and level == "notice" else 0)
        shown += found[:room]
        hidden += found[room:]
    lines = [entry.annotation() for entry in shown]
    if hidden:
        counts = ", ".join(f"{n} {level}{'s' if n != 1 else ''}" for level in LIMITS
                           if (n := sum(e.level == level for e in hidden)))
        lines.append(f"::group::ca-audit: {len(hidden)} more (not annotated: {counts})")
        lines += [entry.log_line() for entry in hidden]
        lines.append("::endgroup::")
        lines.append(command(
            "notice",
            f"{len(hidden)} more not shown as annotations ({counts}): GitHub shows {LIMITS['error']} errors, "
            f"{LIMITS['warning']} warnings and {LIMITS['notice']} notices per step, worst first here. Every "
            "finding is listed in this step's log; the full report is in the job summary and in code "
            "scanning (SARIF) when the workflow writes them.",
            title=f"ca-audit: {len(hidden)} more",
        ))
    active = [f for f in report.findings if not f.waived]
    failing = [f for f in active if report.is_failing(f)]
    waived = len(report.findings) - len(active)
    lines.append(
        f"ca-audit: {len(report.apps)} app(s), {len(active)} finding(s), {len(failing)} at or above "
        f"{severity_word(report.fail_on)}, {waived} waived, {len(report.input_errors)} input error(s)"
    )
    return "\n".join(lines) + "\n"
