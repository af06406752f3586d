"""Text output of `ca-audit preflight` and `ca-audit explain`: the deciding is in preflight.py and
explain.py; this only lays their results out (JSON is each result's `as_dict`)."""

from __future__ import annotations

import textwrap

from auditor.diagnose.explain import DOES_NOT_HOLD, HOLDS, NOT_CHECKABLE, UNKNOWN, Explanation
from auditor.diagnose.preflight import FAIL, MAY_FAIL, NOT_NEEDED, PASS, UNKNOWN_STATUS, WARN, Result, group_errors
from auditor.engine.conditions import fields_named
from auditor.formats._safe import inert_text, visible
from auditor.model import EVIDENCE_WORDS, KIND_WORDS, PREFLIGHT_FLOWS, WILL_FAIL

WIDTH = 96
MARKS = {PASS: "✓", FAIL: "✗", WARN: "!", UNKNOWN_STATUS: "?", MAY_FAIL: "?", NOT_NEEDED: "–"}
CAUSE_STATUS_WORDS = {HOLDS: "HOLDS", DOES_NOT_HOLD: "does not hold", UNKNOWN: "unknown",
                      NOT_CHECKABLE: "cannot be checked from configuration"}


# ------------------------------------------------------------------------------------ preflight
def render_preflight(result: Result) -> str:
    """The preflight as text: values from the input shown with their control characters escaped, and
    (inert_text) no line a CI runner would run as a workflow command."""
    return inert_text(_preflight_text(result))


def _preflight_text(result: Result) -> str:
    out: list[str] = []
    if result.kind is None:
        out.append(f"ca-audit preflight: {result.summary}")
        out += [f"  {visible(error)}" for error in result.input_errors]
        out.append(f"UNKNOWN — {result.summary}")
        return "\n".join(out) + "\n"
    kind = KIND_WORDS[result.kind]
    who = f", user {visible(result.user)}" if result.user else ""
    out.append(f"Preflight: {result.flow} for {visible(result.app)} ({kind}, {visible(result.path)}{who})")
    out.append("")
    for line in result.lines:
        mark = MARKS[line.status]
        status = {WARN: " (does not block)", MAY_FAIL: " (may fail)"}.get(line.status, "")
        out.append(f"  {mark} {visible(line.label)}{status}")
        for part in textwrap.wrap(visible(line.reason), width=WIDTH, initial_indent="      ",
                                  subsequent_indent="      ", break_on_hyphens=False):
            out.append(part)
    out.append("")
    out.append(f"{result.verdict} — {result.summary}")
    if result.verdict == WILL_FAIL:
        errors = result.errors
        if errors:
            out.append("")
            out.append("The token endpoint will answer:" if len(errors) == 1 else
                       "The token endpoint will answer one of:")
            out += [f"  {visible(e)}" for e in errors]
        if result.unmapped:
            out.append("")
            out.append("Also blocking:" if errors else "Blocking:")
            for text in result.unmapped:
                out += textwrap.wrap(text, width=WIDTH, initial_indent="  ", subsequent_indent="    ")
        out.append("")
        out.append("Fix, in this order:")
        for number, fix in enumerate(result.fixes, 1):
            out += textwrap.wrap(fix, width=WIDTH, initial_indent=f"  {number}. ", subsequent_indent="     ",
                                 break_on_hyphens=False)
        out.append("")
        out.append("Then run the same preflight again.")
    may_fail = [line for line in result.lines if line.status == MAY_FAIL]
    if result.verdict != WILL_FAIL and may_fail:
        errors = group_errors([c for line in may_fail for c in line.causes])
        if errors:
            out.append("")
            out.append("If it fails, the token endpoint may answer:")
            out += [f"  {e}" for e in errors]
        out.append("")
        out.append("To remove the doubt:")
        fixes = list(dict.fromkeys(f for line in may_fail for f in line.fixes))
        for number, fix in enumerate(fixes, 1):
            out += textwrap.wrap(fix, width=WIDTH, initial_indent=f"  {number}. ", subsequent_indent="     ",
                                 break_on_hyphens=False)
    if result.input_errors:
        out.append("")
        out.append("Input problems:")
        out += [f"  {visible(error)}" for error in result.input_errors]
    if result.notes:
        out.append("")
        for note in result.notes:
            out += textwrap.wrap(note, width=WIDTH, initial_indent="Note: ", subsequent_indent="      ")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------ explain
def render_explanation(result: Explanation) -> str:
    """The explanation as text, inert as the preflight's is."""
    return inert_text(_explanation_text(result))


def _explanation_text(result: Explanation) -> str:
    def wrap(text: str, first: str, rest: str) -> list[str]:
        return textwrap.wrap(text, width=WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)

    out: list[str] = []
    if not result.known:
        shown = ": ".join(p for p in (result.error, result.description) if p) or result.raw
        out.append(f"ca-audit does not know the error {shown!r}.")
        out += wrap("It is not in the catalogue of token-endpoint errors (auditor/data/errors.yaml), so there is no "
                    "list of causes to give. Check the app's prerequisites for the flow you used instead:", "", "")
        out.append(f"  ca-audit preflight APP --flow {'|'.join(PREFLIGHT_FLOWS)}")
        return "\n".join(out) + "\n"
    if result.how:
        out += wrap(f"Note: {result.how}.", "", "      ")
        out.append("")
    for number, entry in enumerate(result.entries):
        if number:
            out += ["", "-" * WIDTH, ""]
        code = entry["error"] or "(error code not reported)"
        out.append(f"{code}: {entry['error_description'][0]}")
        confidence = EVIDENCE_WORDS.get(entry.get("string_confidence", ""), "")
        out += wrap(f"Flows: {', '.join(entry['flows'])}." + (f" Error string: {confidence}." if confidence else ""),
                    "", "")
        if entry.get("note"):
            out += wrap(f"Note: {entry['note']}", "", "      ")
        out.append("")
        out.append("Known causes, most certain first:")
        for rank, (index, cause) in enumerate(result.ranked(entry), 1):
            out += wrap(f"[{EVIDENCE_WORDS[cause['confidence']]}] {cause['cause']}", f"  {rank}. ", "     ")
            if cause["rules"]:
                detected = ", ".join(cause["rules"])
            elif cause.get("condition"):
                detected = "no rule; checked directly against " + ", ".join(fields_named(cause["condition"]))
            else:
                detected = "no rule: not visible in configuration"
            out += wrap(f"Detected by: {detected}", "     ", "       ")
            if cause.get("fix"):
                out += wrap(f"Fix: {cause['fix']}", "     ", "       ")
            check = result.checks.get((entry["id"], index))
            if check is not None and result.app is not None:
                verdict = CAUSE_STATUS_WORDS[check.status]
                detail = f" — {'; '.join(check.details)}" if check.details else ""
                out += wrap(visible(f"{result.app.name}: {verdict}{detail}"), "     → ", "       ")
        out.append("")
        out.append("Fixes, in the order to apply them:")
        for step, fix in enumerate(entry["fixes"], 1):
            out += wrap(fix, f"  {step}. ", "     ")
        if entry.get("see_also"):
            out.append(f"See also: {', '.join(entry['see_also'])} (`ca-audit rules show ID`)")
        out.append("References:")
        out += [f"  {ref}" for ref in entry["references"]]
    if result.app is not None:
        out.append("")
        held = sum(1 for c in result.checks.values() if c.status == HOLDS)
        rules = [r for (eid, index), c in result.checks.items() if c.status == HOLDS
                 for e in result.entries if e["id"] == eid for r in e["causes"][index]["rules"]]
        found = (f" (found by {', '.join(dict.fromkeys(rules))}; `ca-audit rules show ID` gives each fix)"
                 if rules else "")
        out.append(f"{visible(result.app.name)}: {held} of {len(result.checks)} known cause(s) hold{found}.")
    if result.problem:
        out.append("")
        out.append(f"ca-audit explain: {visible(result.problem)}")
    if result.input_errors:
        out.append("")
        out.append("Input problems:")
        out += [f"  {visible(error)}" for error in result.input_errors]
    candidates = [f for e in result.entries for f in e["flows"] if f in PREFLIGHT_FLOWS]
    declared = [f for f in result.config_flows if f in candidates]
    flow = next(iter(declared or candidates), None)
    if flow:
        out.append("")
        app = visible(result.app.name) if result.app else "APP"
        # Nothing in the metadata tells a SAML bearer client from a JWT one: unless the config declares
        # the flow, name both.
        other = " (or --flow saml2-bearer if the client sends a SAML assertion)" \
            if not declared and flow == "jwt-bearer" and "saml2-bearer" in candidates else ""
        out.append(f"Next: ca-audit preflight {app} --flow {flow}{other}")
    return "\n".join(out) + "\n"
