"""`--format csv`: one row per finding, for spreadsheets and quick scripts.

Columns: severity, rule_id, app, kind, path, line, column, message, fix (the part for the app's
kind), waived (the waiver's reason, empty when not waived), fingerprint. Input errors are not
findings and are not rows: they go to stderr with the summary, and the exit code (2) says so.
A cell a spreadsheet would run as a formula (starting with =, +, - or @) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import io

from auditor.formats._ci import fix_for_kind, placements, severity_word, sort_key, waiver_text
from auditor.model import Report

COLUMNS = ["severity", "rule_id", "app", "kind", "path", "line", "column", "message", "fix", "waived", "fingerprint"]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render(report: Report) -> str:
    placed = placements(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for finding in sorted(report.findings, key=sort_key):
        place = placed[id(finding)]
        writer.writerow([_cell(v) for v in (
            severity_word(finding.severity), finding.rule_id, finding.app, finding.kind, place.path,
            place.location.line, place.location.column, finding.message, fix_for_kind(finding.fix or "", finding.kind),
            waiver_text(finding.waived_by) if finding.waived else "", finding.fingerprint)])
    return out.getvalue()
