"""`--format json`: the contract in DESIGN.md ("Output contract"). Keys are stable."""

from __future__ import annotations

from collections import Counter

from auditor import __version__
from auditor.formats._safe import inert_json
from auditor.model import SEVERITY_WORDS, Report


def as_data(report: Report) -> dict:
    active = report.active_findings
    by_severity = Counter(str(f.severity) for f in active)
    return {
        "tool": {"name": "ca-audit", "version": __version__},
        "summary": {
            "apps": len(report.apps),
            "findings": len(active),
            "by_severity": {s: by_severity[s] for s in SEVERITY_WORDS if by_severity[s]},
            "input_errors": len(report.input_errors),
            "waived": len(report.findings) - len(active),
            "fail_on": str(report.fail_on),
            "exit_code": report.exit_code(),
        },
        "apps": [{"name": a.name, "kind": a.kind, "path": a.path, "origin": a.origin, "notes": list(a.notes)}
                 for a in report.apps],
        "findings": [f.as_dict() for f in report.findings],
        "input_errors": [e.as_dict() for e in report.input_errors],
        "messages": list(report.messages),
        "config": report.config,
    }




def render(report: Report) -> str:
    # One line: `indent` would switch json to its pure-Python encoder, ~6x slower on a large
    # report. Pipe through `jq` or `python -m json.tool` to read it.
    # `##[` inside a string would run as a legacy CI workflow command; \u005b reads back as `[`
    return inert_json(as_data(report)) + "\n"
