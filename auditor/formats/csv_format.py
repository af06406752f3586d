"""`--format csv`: one row per finding, and one per input error, for spreadsheets and quick scripts.

Columns: record (`finding` or `input_error`), severity, rule_id, app, kind, path, line, column,
message, fix (the part for the app's kind), waived (the waiver's reason, empty when not waived),
fingerprint. An input error is a row of its own (record `input_error`, with path, line and message)
rather than a section after the findings: a spreadsheet or `csv.DictReader` reads one table with one
header, and a filter or pivot on `record` shows that the audit was incomplete (the exit code is 2),
where a trailing section would be sorted into the findings or dropped. A cell a spreadsheet would
run as a formula (starting with =, +, -, @, tab or CR) is prefixed with `'`. Control characters in
values are shown as escapes (`\\n`), and `##[` as `##\\[`, so no line runs as a CI workflow command.
"""

from __future__ import annotations

import csv
import io

from auditor.fixtext import fix_for_kind
from auditor.formats._ci import placements, severity_word, sort_key, waiver_text
from auditor.formats._safe import no_commands, spreadsheet_cell
from auditor.model import Report

COLUMNS = ["record", "severity", "rule_id", "app", "kind", "path", "line", "column", "message", "fix", "waived",
           "fingerprint"]


def render(report: Report) -> str:
    placed = placements(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for finding in sorted(report.findings, key=sort_key):
        place = placed[id(finding)]
        writer.writerow([spreadsheet_cell(v) for v in (
            "finding", severity_word(finding.severity), finding.rule_id, finding.app, finding.kind, place.path,
            place.location.line, place.location.column, finding.message, fix_for_kind(finding.fix or "", finding.kind),
            waiver_text(finding.waived_by) if finding.waived else "", finding.fingerprint)])
    for error in report.input_errors:
        writer.writerow([spreadsheet_cell(v) for v in (
            "input_error", "", "", "", "", error.path, error.line, "", error.message, "", "", "")])
    return no_commands(out.getvalue())
