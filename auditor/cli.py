"""ca-audit command line. Thin: parse options, run the pipeline, render, choose the exit code."""


import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor import __version__, orgcli
from auditor.formats import FORMATS
from auditor.model import FLOW_NAMES, SEVERITY_WORDS, Report, Severity

app = typer.Typer(
    name="ca-audit",
    help="Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="List, show, validate and test rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ca-audit {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Audit Salesforce Connected Apps and External Client Apps before OAuth flows fail."""


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"ca-audit: error: {message}", err=True)
    return typer.Exit(2)


def _severity(word: str | None, option: str) -> Severity | None:
    if word is None:
        return None
    try:
        return Severity.parse(word)
    except KeyError:
        raise _usage_error(f"{option} takes one of {', '.join(SEVERITY_WORDS)}, not {word!r}") from None


def _declared_flows(values: list[str]) -> dict[str, list[str]]:
    flows: dict[str, list[str]] = {}
    for value in values:
        app_name, _, flow = value.partition("=")
        if not app_name or flow not in FLOW_NAMES:
            raise _usage_error(f"--flow takes APP=FLOW with FLOW one of {', '.join(FLOW_NAMES)}; got {value!r}")
        flows.setdefault(app_name, []).append(flow)
    return flows


def _ids(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _outputs(values: list[str], main_format: str) -> list[tuple[str, Path]]:
    """`--output PATH` writes the main format; `--output FORMAT=PATH` writes another format."""
    outputs = []
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name in FORMATS:
            outputs.append((name, Path(path)))
        elif sep and name.isidentifier() and len(name) > 1:
            raise _usage_error(f"unknown format {name!r} in --output; choose from {', '.join(FORMATS)}")
        else:
            outputs.append((main_format, Path(value)))
    return outputs


@app.command()
def scan(
    paths: Annotated[list[str] | None, typer.Argument(help="Files or folders to audit (default: .)")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")] = "table",
    output: Annotated[
        list[str] | None,
        typer.Option("--output", "-o", help="Write the report to PATH, or FORMAT=PATH for another format "
                     "(repeatable)."),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(help=f"Lowest severity that fails the run: {', '.join(SEVERITY_WORDS)} "
                                 "(default from .ca-audit.yaml, else high).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule folder (repeatable).")] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only these rule ids (comma-separated).")] = None,
    skip: Annotated[list[str] | None, typer.Option(help="Skip these rule ids (comma-separated).")] = None,
    flow: Annotated[
        list[str] | None, typer.Option(help="Declare a flow for one run: APP=FLOW (repeatable).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Report only findings not recorded in this baseline file.")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option(help="Record the current findings in this baseline file.")
    ] = None,
    changed_since: Annotated[
        str | None, typer.Option(help="Audit only apps whose files changed in git since this revision.")
    ] = None,
    target_org: orgcli.TargetOrg = None,
    instance_url: orgcli.InstanceUrl = None,
    access_token: orgcli.AccessToken = None,
    client_id: orgcli.ClientId = None,
    jwt_key_file: orgcli.JwtKeyFile = None,
    username: orgcli.Username = None,
    login_url: orgcli.LoginUrl = orgcli.DEFAULT_LOGIN_URL,
    api_version: orgcli.ApiVersion = orgcli.DEFAULT_API_VERSION,
) -> None:
    """Audit connected apps and external client apps in metadata files, org snapshots or a live org."""
    from auditor.audit import AuditOptions, audit

    if output_format not in FORMATS:
        raise _usage_error(f"unknown format {output_format!r}; choose from {', '.join(FORMATS)}")
    org = orgcli.org_target(target_org, instance_url, access_token, client_id, jwt_key_file, username, login_url,
                            api_version)
    options = AuditOptions(
        org=org,
        paths=paths or ([] if org else ["."]),
        config_path=config,
        extra_rule_dirs=list(rules or []),
        fail_on=_severity(fail_on, "--fail-on"),
        only=_ids(only or []),
        skip=_ids(skip or []),
        declared_flows=_declared_flows(flow or []),
    )
    outputs = _outputs(output or [], output_format)
    changed = _changed_files(changed_since, options.paths) if changed_since else None
    report = audit(options)
    _ci_steps(report, changed_since, changed, baseline, write_baseline)
    emit(report, output_format, outputs)
    raise typer.Exit(report.exit_code())


def _changed_files(rev: str, paths: list[str]):
    from auditor.changed import ChangedError, changed_files

    if not paths:
        raise _usage_error("--changed-since compares metadata files in git; name the folders to scan")
    try:
        return set().union(*(changed_files(rev, path) for path in paths))
    except ChangedError as error:
        raise _usage_error(str(error)) from None


def _ci_steps(report: Report, rev: str | None, changed, baseline: Path | None, write_to: Path | None) -> None:
    """Changed-only filtering, then baselines: write the current findings, report only new ones."""
    if rev is not None and write_to is not None:
        raise _usage_error("--write-baseline records every finding; run it without --changed-since")
    if rev is not None:
        from auditor.changed import restrict

        restrict(report, changed, rev)
    if write_to is None and baseline is None:
        return
    from auditor import baseline as baselines

    if write_to is not None:
        if report.input_errors:  # a baseline from an incomplete audit would hide nothing it should
            typer.echo(f"ca-audit: not writing {write_to}: some input could not be read", err=True)
        else:
            count = baselines.write(report, write_to)
            typer.echo(f"ca-audit: wrote {count} finding(s) to the baseline {write_to}", err=True)
    if baseline is not None:
        try:
            loaded = baselines.load(baseline)
        except baselines.BaselineError as error:
            raise _usage_error(str(error)) from None
        baselines.apply(report, loaded, partial=rev is not None)


def emit(report: Report, output_format: str, outputs: list[tuple[str, Path]]) -> None:
    """Write every requested output; the main format goes to stdout unless it was sent to a file."""
    for name, path in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(name, report, colour=False), encoding="utf-8")
    if not any(name == output_format for name, _ in outputs):
        sys.stdout.write(_render(output_format, report, colour=_colour_wanted()))
    elif output_format != "table":
        from auditor.formats.table import summary_line

        typer.echo(summary_line(report), err=True)


def _render(name: str, report: Report, colour: bool) -> str:
    from auditor.formats import render

    if name == "table":
        from auditor.formats.table import render as render_table

        return render_table(report, color=colour)
    return render(name, report)


def _colour_wanted() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


# --- rules -----------------------------------------------------------------------------------


def _load_rule_dirs(dirs: list[Path] | None):
    from auditor.engine.loader import builtin_rules_dir, load_rules

    rules, errors = load_rules(list(dirs) if dirs else [builtin_rules_dir()])
    for error in errors:
        where = f"{error.path}:{error.line}" if error.line else error.path
        typer.echo(f"{where}: {error.message}", err=True)
    if errors:
        raise typer.Exit(2)
    return rules


@rules_app.command("list")
def rules_list(
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule folder (repeatable).")] = None,
) -> None:
    """List the rules: id, severity, kinds, title."""
    from tabulate import tabulate

    from auditor.engine.loader import builtin_rules_dir

    loaded = _load_rule_dirs([builtin_rules_dir(), *(rules or [])])
    rows = [(r.id, str(r.severity), ", ".join(_short_kind(k) for k in r.applies_to), r.title) for r in loaded]
    typer.echo(tabulate(rows, headers=["id", "severity", "applies to", "title"]))


def _short_kind(kind: str) -> str:
    return {"connected_app": "CA", "external_client_app": "ECA"}.get(kind, kind)


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. CA-01")],
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule folder (repeatable).")] = None,
) -> None:
    """Show one rule: title, why, fix, references."""
    from auditor.engine.loader import builtin_rules_dir

    loaded = {r.id.upper(): r for r in _load_rule_dirs([builtin_rules_dir(), *(rules or [])])}
    rule = loaded.get(rule_id.upper())
    if rule is None:
        raise _usage_error(f"no rule {rule_id!r}; `ca-audit rules list` shows them")
    kinds = ", ".join(rule.applies_to)
    parts = [f"{rule.id}  {rule.title}", f"severity: {rule.severity}    applies to: {kinds}",
             f"tags: {', '.join(rule.tags)}" if rule.tags else "", "", "Why", _indent(rule.why), "", "Fix",
             _indent(rule.fix)]
    if rule.references:
        parts += ["", "References", *(f"  {ref}" for ref in rule.references)]
    typer.echo("\n".join(p for p in parts if p is not None))


def _indent(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.fill(p, width=96, initial_indent="  ", subsequent_indent="  ")
                     for p in text.split("\n") if p.strip())


@rules_app.command("validate")
def rules_validate(
    dirs: Annotated[list[Path] | None, typer.Argument(help="Rule folders (default: the built-in pack)")] = None,
) -> None:
    """Validate rule files against the rule schema; exit 2 on any problem."""
    loaded = _load_rule_dirs(dirs)
    typer.echo(f"{len(loaded)} rule{'s' if len(loaded) != 1 else ''} valid")


@rules_app.command("test")
def rules_test(
    dirs: Annotated[list[Path] | None, typer.Argument(help="Rule folders (default: the built-in pack)")] = None,
) -> None:
    """Run the `tests` of every rule and its file fixtures (tests/<RULE-ID>/{pass,fail}/); exit 1 on any failure."""
    from auditor.engine.testing import run_rule_tests
    from auditor.rulefixtures import run_file_fixtures

    loaded = _load_rule_dirs(dirs)
    results = run_rule_tests(loaded)
    failures = [r for r in results if not r.ok]
    for result in failures:
        typer.echo(f"FAIL {result.rule_id} tests[{result.index}] ({result.expected}): {result.detail}")
    untested = [r.id for r in loaded if not any(c for c in r.tests if "pass" in c)
                or not any(c for c in r.tests if "fail" in c)]
    for rule_id in untested:
        typer.echo(f"FAIL {rule_id}: needs at least one pass and one fail test")
    cases = run_file_fixtures(loaded)
    case_failures = [c for c in cases if not c.ok]
    for case in case_failures:
        typer.echo(case.line())
    passed = len(results) - len(failures) + len(cases) - len(case_failures)
    failed = len(failures) + len(untested) + len(case_failures)
    typer.echo(f"{passed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


@rules_app.command("docs")
def rules_docs(
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write, or - for stdout.")
    ] = "docs/rules.md",
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the file is not current.")
    ] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule folder (repeatable).")] = None,
) -> None:
    """Write the rule reference (docs/rules.md): id, severity, title, why, fix, references."""
    from auditor.engine.loader import builtin_rules_dir
    from auditor.rulesdoc import render_rules

    text = render_rules(_load_rule_dirs([builtin_rules_dir(), *(rules or [])]))
    if output == "-":
        sys.stdout.write(text)
        return
    target = Path(output)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            typer.echo(f"{target} is not current; run `ca-audit rules docs --output {target}`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{target} is current")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {target}")


app.command("pull")(orgcli.pull)


# --- preflight and explain (thin: the logic is in auditor/preflight.py and auditor/explain.py) ------


@app.command()
def preflight(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app's API name (or label).")],
    flow: Annotated[str, typer.Option(help="jwt-bearer, saml2-bearer, client-credentials or username-password.")],
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="[PATH... | SNAPSHOT]", help="Metadata files or folders, or an org snapshot (default: .)")] = None,
    user: Annotated[str | None, typer.Option(help="The username the token is for (JWT sub, SAML subject).")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    target_org: orgcli.TargetOrg = None,
    api_version: orgcli.ApiVersion = orgcli.DEFAULT_API_VERSION,
) -> None:
    """Say before the call whether a token request for APP with FLOW will work.

    Exit 0 ready, 1 will fail, 2 unknown or bad input."""
    from auditor.preflight import PREFLIGHT_FLOWS, render_text
    from auditor.preflight import preflight as run_preflight

    if flow not in PREFLIGHT_FLOWS:
        raise _usage_error(f"--flow takes one of {', '.join(PREFLIGHT_FLOWS)}, not {flow!r}")
    if output_format not in ("text", "json"):
        raise _usage_error(f"--format takes text or json, not {output_format!r}")
    org = orgcli.org_target(target_org, None, None, None, None, None, api_version=api_version)
    with _catalogue_errors():
        result = run_preflight(app_name, flow, sources or ([] if org else ["."]), org=org, user=user,
                               config_path=config)
    _print_result(result, output_format, render_text)


@app.command()
def explain(
    error: Annotated[str, typer.Argument(help="The error: a JSON body, 'error: description', or the description.")],
    app_name: Annotated[str | None, typer.Option("--app", help="Check each cause against this app.")] = None,
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="[PATH... | SNAPSHOT]", help="With --app: metadata files or folders, or an org snapshot.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    target_org: orgcli.TargetOrg = None,
    api_version: orgcli.ApiVersion = orgcli.DEFAULT_API_VERSION,
) -> None:
    """Explain an OAuth token error: known causes (most certain first), the rules that detect them, fixes."""
    from auditor.explain import explain as run_explain
    from auditor.explain import render_text

    if output_format not in ("text", "json"):
        raise _usage_error(f"--format takes text or json, not {output_format!r}")
    if (sources or target_org) and not app_name:
        raise _usage_error("a source (PATH, SNAPSHOT or --target-org) is only used with --app APP")
    org = orgcli.org_target(target_org, None, None, None, None, None, api_version=api_version)
    with _catalogue_errors():
        result = run_explain(error, app_name, sources or ([] if org else ["."]), org=org, config_path=config)
    _print_result(result, output_format, render_text)


@contextlib.contextmanager
def _catalogue_errors():
    from auditor.explain import CatalogueError

    try:
        yield
    except CatalogueError as error:
        raise _usage_error(f"the error catalogue is invalid: {error}") from None


def _print_result(result, output_format: str, render_text) -> None:
    if output_format == "json":
        import json

        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(result))
    raise typer.Exit(result.exit_code())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
