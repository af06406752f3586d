"""Text output of `ca-audit fix`: the diff, and per app what the patch clears and what remains."""

from __future__ import annotations

import textwrap

from auditor.fix.plan import FixPlan, kind_word
from auditor.formats._safe import visible


def diff_text(result: FixPlan) -> str:
    return "".join(patch.diff for patch in result.patches)


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False) or [indent]


def summary_text(result: FixPlan, written: list[str] | None = None) -> str:
    lines: list[str] = [visible(error) for error in result.input_errors]
    for path in written or []:
        lines.append(f"wrote {visible(path)}")
    for outcome in result.apps:
        lines.append(f"{visible(outcome.name)} ({kind_word(outcome.kind)})")
        if outcome.cleared:
            lines.append(f"  clears: {', '.join(outcome.cleared)}")
        for finding in outcome.new:
            lines.extend(_wrap(f"raised by the patch: {finding.rule_id} ({finding.severity}) — {finding.message}",
                               "  "))
        for item in outcome.remaining:
            lines.extend(_wrap(f"{item.reason}: {item.rule_id} ({item.severity}) — {item.detail}", "  "))
    for patch in result.patches:
        if patch.unidiff_zero:
            lines.extend(_wrap(f"{visible(patch.path)}: a consumer key or secret is on the line after a change and is "
                               "left out of the diff, so plain `git apply` refuses it: use `git apply --unidiff-zero`, "
                               "or `--write`", ""))
    for note in dict.fromkeys(n for p in result.patches for n in p.notes):
        lines.extend(_wrap(f"before deploying: {note}", ""))
    if not result.patches and not result.input_errors:
        lines.append("nothing to patch")
    return "\n".join(lines) + "\n" if lines else ""
