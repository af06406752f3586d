"""`ca-audit fix`: print (or write) the metadata patch for the findings; thin, the logic is in auditor/fix/."""

from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import help_paragraphs, ids, text_or_json, usage_error, write_stderr, write_stdout
from auditor.cli.scan import _declared_flows


def fix(
    paths: Annotated[list[str] | None, typer.Argument(help="Metadata files or folders (default: .)")] = None,
    write: Annotated[bool, typer.Option("--write", help="Apply the patch to the files.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the patch as a unified diff (the default).")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Patch only these rule ids (comma-separated).")] = None,
    app_names: Annotated[list[str] | None, typer.Option("--app", help="Patch only this app (repeatable).")] = None,
    flow: Annotated[list[str] | None, typer.Option(help="Declare a flow for one run: APP=FLOW (repeatable).")] = None,
    assign_permission_set: Annotated[str | None, typer.Option(
        help="The permission set an admin-approved app is assigned (CA-02, CA-03 need it).")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
) -> None:
    """Turn findings into a minimal metadata patch: a unified diff (default) or, with --write, the edited files.

    Never talks to an org, never deploys. The patched content is audited again in memory and each
    app shows which findings the patch clears and which remain. The diff never shows a consumer key or
    secret; when one is on the line after a change, apply it with `git apply --unidiff-zero` or
    --write. Exit 0, or 2 on bad input."""
    from auditor.fix.plan import FixRequest, apply, plan

    text_or_json(output_format)
    if write and diff:
        raise usage_error("--write and --diff exclude each other")
    if assign_permission_set is not None and not assign_permission_set.strip():
        raise usage_error("--assign-permission-set takes a permission set API name")
    request = FixRequest(paths=paths or ["."], config_path=config, only=ids(only or []), apps=set(app_names or []),
                         declared_flows=_declared_flows(flow or []), choices=_choices(assign_permission_set))
    result = plan(request)
    if result.usage:
        raise usage_error(result.usage)
    unknown = request.only - {rule.id for rule in result.rules}
    if unknown and result.rules:
        raise usage_error(f"unknown rule id {', '.join(sorted(unknown))} in --only")
    written = apply(result) if write and result.exit_code() == 0 else []
    _print(result, output_format, write, written)
    raise typer.Exit(result.exit_code())


# The help shows a docstring's line breaks as written: one line per paragraph lets it wrap to the terminal.
fix.__doc__ = help_paragraphs(fix.__doc__)


def _choices(permission_set: str | None) -> dict[str, str]:
    return {"permission_set": permission_set.strip()} if permission_set else {}


def _print(result: Any, output_format: str, write: bool, written: list[str]) -> None:
    from auditor.fix.render import diff_text, summary_text
    from auditor.formats._safe import inert_json, inert_text

    if output_format == "json":
        data = result.as_dict()
        if write:
            data["written"] = written
        write_stdout(inert_json(data) + "\n")
        return
    if write:
        write_stdout(inert_text(summary_text(result, written)))
        return
    # The diff alone on stdout, so that `ca-audit fix > fix.patch && git apply fix.patch` works.
    write_stdout(inert_text(diff_text(result)))
    write_stderr(inert_text(summary_text(result)))


def preflight_fix(result: Any, sources: list[str], config: Path | None, permission_set: str | None,
                  output_format: str) -> None:
    """`preflight … --fix`: the patch for the checks that fail, and the preflight verdict on the patched files."""
    import datetime as dt

    from auditor.diagnose.preflight import FAIL, evaluate
    from auditor.diagnose.preflight import Result as PreflightResult
    from auditor.fix.plan import FixRequest, plan
    from auditor.fix.render import diff_text

    failing = {rule for line in result.lines if line.status == FAIL and line.blocking for rule in line.rules}
    request = FixRequest(paths=sources, config_path=config, only=failing, apps={result.app},
                         declared_flows={result.app: [result.flow]}, choices=_choices(permission_set))
    fixed = plan(request) if result.kind and failing else None
    after = None
    if fixed is not None and result.app in fixed.patched_apps:
        after = PreflightResult(app=result.app, flow=result.flow, kind=result.kind, path=result.path)
        evaluate(after, fixed.patched_apps[result.app], fixed.rules, fixed.config, dt.date.today())
    from auditor.formats._safe import inert_json, inert_text

    if output_format == "json":
        data = result.as_dict()
        data["fix"] = fixed.as_dict() if fixed is not None else None
        data["fix_verdict"] = after.verdict if after else None
        data["fix_needs_org_data"] = [line.label for line in after.lines if line.org and line.status == "unknown"] \
            if after else []
        write_stdout(inert_json(data) + "\n")
        raise typer.Exit(result.exit_code())
    write_stdout(inert_text(_preflight_fix_text(result, fixed, after, sources, permission_set, failing, diff_text)))
    raise typer.Exit(result.exit_code())


def _preflight_fix_text(result: Any, fixed: Any, after: Any, sources: list[str], permission_set: str | None,
                        failing: set[str], diff_text: Any) -> str:
    import shlex
    import textwrap

    from auditor.formats._safe import visible
    from auditor.model import KIND_WORDS

    lines = [f"Preflight: {result.flow} for {visible(result.app)} "
             f"({KIND_WORDS.get(result.kind or '', 'unknown kind')}, {visible(result.path)})", "",
             f"Now: {result.verdict} — {visible(result.summary)}"]
    lines += [f"  {visible(error)}" for error in result.errors]
    if fixed is None:
        return "\n".join(lines) + "\n"
    if fixed.input_errors:
        lines += ["", *[visible(e) for e in fixed.input_errors]]
        return "\n".join(lines) + "\n"
    touched = {r for o in fixed.apps for r in [*o.cleared, *(item.rule_id for item in o.remaining)]}
    command = ["ca-audit", "fix", *sources, "--app", result.app, "--only", ",".join(sorted(failing & touched)),
               "--flow", f"{result.app}={result.flow}"]
    if permission_set:
        command += ["--assign-permission-set", permission_set]
    if fixed.patches:
        lines += ["", "Patch (apply it with `" + shlex.join([*command, "--write"]) + "`):", ""]
        # For reading, not for `git apply`: long unchanged lines (a certificate) are shortened.
        lines += [line[:97] + "…" if line.startswith(" ") and len(line) > 100 else line
                  for line in diff_text(fixed).rstrip("\n").splitlines()]
    for item in fixed.remaining:
        wrapped = textwrap.wrap(f"{item.reason}: {item.rule_id} — {item.detail}", 100, initial_indent="  ",
                                subsequent_indent="    ", break_on_hyphens=False)
        lines += ["", "Not in the patch:", *wrapped] if item is fixed.remaining[0] else wrapped
    raised = [f for outcome in fixed.apps for f in outcome.new]
    if raised:
        lines += ["", "The patch raises (patch them with `ca-audit fix`):"]
        lines += [f"  {f.rule_id} ({f.severity}): {visible(f.message)}" for f in raised]
    if after is not None:
        lines += ["", f"With the patch: {after.verdict} — {after.summary}"]
        lines += [f"  {visible(error)}" for error in after.errors]
        org = [line for line in after.lines if line.org and line.status == "unknown"]
        if org:
            lines.append("Still to check with org data (--target-org ALIAS, or a snapshot from `ca-audit pull`):")
            lines += [f"  ? {visible(line.label)}" for line in org]
    notes = list(dict.fromkeys(n for p in fixed.patches for n in p.notes))
    if notes:
        lines += ["", *[f"Before deploying: {note}" for note in notes]]
    return "\n".join(lines) + "\n"
