"""`ca-audit scan` and `ca-audit pull`: audit metadata, snapshots or an org, and write reports."""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import ids, severity, usage_error
from auditor.cli.org_options import with_org_options
from auditor.formats import FORMATS
from auditor.model import FLOW_NAMES, SEVERITY_WORDS, Report
from auditor.safeio import display as safe_display
from auditor.sources.org import OrgTarget


def _declared_flows(values: list[str]) -> dict[str, list[str]]:
    flows: dict[str, list[str]] = {}
    for value in values:
        app_name, _, flow = value.partition("=")
        if not app_name or flow not in FLOW_NAMES:
            raise usage_error(f"--flow takes APP=FLOW with FLOW one of {', '.join(FLOW_NAMES)}; got {value!r}")
        flows.setdefault(app_name, []).append(flow)
    return flows


def _outputs(values: list[str], main_format: str) -> list[tuple[str, Path]]:
    """`--output PATH` writes the main format; `--output FORMAT=PATH` writes another format."""
    outputs = []
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name in FORMATS:
            outputs.append((name, Path(path)))
        elif sep and name.isidentifier() and len(name) > 1:
            raise usage_error(f"unknown format {name!r} in --output; choose from {', '.join(FORMATS)}")
        else:
            outputs.append((main_format, Path(value)))
    return outputs


@with_org_options
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
    org: OrgTarget | None = None,
) -> None:
    """Audit connected apps and external client apps in metadata files, org snapshots or a live org."""
    from auditor.pipeline import AuditOptions, audit

    if output_format not in FORMATS:
        raise usage_error(f"unknown format {output_format!r}; choose from {', '.join(FORMATS)}")
    options = AuditOptions(
        org=org,
        paths=paths or ([] if org else ["."]),
        config_path=config,
        extra_rule_dirs=list(rules or []),
        fail_on=severity(fail_on, "--fail-on"),
        only=ids(only or []),
        skip=ids(skip or []),
        declared_flows=_declared_flows(flow or []),
    )
    outputs = _outputs(output or [], output_format)
    changed = _changed_files(changed_since, options.paths) if changed_since else None
    report = audit(options)
    _ci_steps(report, changed_since, changed, baseline, write_baseline)
    emit(report, output_format, outputs)
    raise typer.Exit(report.exit_code())


def _changed_files(rev: str, paths: list[str]) -> set[Path]:
    from auditor.gate.changed import ChangedError, changed_files

    if not paths:
        raise usage_error("--changed-since compares metadata files in git; name the folders to scan")
    try:
        return set().union(*(changed_files(rev, path) for path in paths))
    except ChangedError as error:
        raise usage_error(str(error)) from None


def _ci_steps(report: Report, rev: str | None, changed: set[Path] | None, baseline: Path | None,
              write_to: Path | None) -> None:
    """Changed-only filtering, then baselines: write the current findings, report only new ones."""
    if rev is not None and write_to is not None:
        raise usage_error("--write-baseline records every finding; run it without --changed-since")
    if rev is not None and changed is not None:
        from auditor.gate.changed import restrict

        restrict(report, changed, rev)
    if write_to is None and baseline is None:
        return
    from auditor.gate import baseline as baselines

    if write_to is not None:
        if report.input_errors:  # a baseline from an incomplete audit would hide nothing it should
            typer.echo(f"ca-audit: not writing {write_to}: some input could not be read", err=True)
        else:
            try:
                count = baselines.write(report, write_to)
            except OSError as error:
                raise usage_error(f"cannot write {safe_display(write_to)}: {error.strerror or error}") from None
            typer.echo(f"ca-audit: wrote {count} finding(s) to the baseline {write_to}", err=True)
    if baseline is not None:
        try:
            loaded = baselines.load(baseline)
        except baselines.BaselineError as error:
            raise usage_error(str(error)) from None
        baselines.apply(report, loaded, partial=rev is not None)


def emit(report: Report, output_format: str, outputs: list[tuple[str, Path]]) -> None:
    """Write every requested output; the main format goes to stdout unless it was sent to a file.
    An output that cannot be written (a folder, a full disk, a closed or broken stdout) is exit 2:
    a CI step must not read a missing report as a pass."""
    for name, path in outputs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(_render(name, report, colour=False))
        except OSError as error:
            raise usage_error(f"cannot write {safe_display(path)}: {error.strerror or error}") from None
    if not any(name == output_format for name, _ in outputs):
        if sys.stdout is None:
            raise usage_error("cannot write the report: standard output is closed (use --output PATH)")
        text = _render(output_format, report, colour=_colour_wanted())
        try:
            if hasattr(sys.stdout, "reconfigure"):  # a name that is not UTF-8 must not stop the report
                sys.stdout.reconfigure(errors="backslashreplace")
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as error:
            _silence_stdout()
            raise usage_error(f"cannot write the report to standard output: {error.strerror or error}") from None
    elif output_format != "table":
        from auditor.formats.table import summary_line

        typer.echo(summary_line(report), err=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _render(name: str, report: Report, colour: bool) -> str:
    from auditor.formats import render

    if name == "table":
        from auditor.formats.table import render as render_table

        return render_table(report, color=colour)
    return render(name, report)


def _colour_wanted() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


@with_org_options
def pull(
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the snapshot to this file.")] = Path(
        "org.snapshot.json"),
    config: Annotated[Path | None, typer.Option(help="Config whose integration users to read "
                                                "(default: .ca-audit.yaml found upward).")] = None,
    org: OrgTarget | None = None,
) -> None:
    """Read an org's connected apps, ECAs, assignments and usage into a snapshot for offline scans."""
    from auditor.config import find_config, load_config
    from auditor.sources.org import read_org
    from auditor.sources.snapshot import write

    if org is None:
        typer.echo("ca-audit: error: pull needs an org: --target-org ALIAS, --instance-url with --access-token, "
                   "or --client-id/--jwt-key-file/--username", err=True)
        raise typer.Exit(2)
    cfg, errors = load_config(config or find_config(Path(".")))
    for error in errors:
        typer.echo(f"ca-audit: error: {error.path}: {error.message}", err=True)
    if errors:
        raise typer.Exit(2)
    users = sorted({u for names in cfg.integration_users.values() for u in names})
    snapshot, problems = read_org(org, users)
    if snapshot is None:
        for problem in problems:
            typer.echo(f"ca-audit: error: {problem.path}: {problem.message}", err=True)
        raise typer.Exit(2)
    try:
        write(snapshot, output)
    except OSError as failure:
        raise usage_error(f"cannot write {safe_display(output)}: {failure.strerror or failure}") from None
    counts = {t: len(v["listed"]) for t, v in snapshot["metadata"].items()}
    typer.echo(f"ca-audit: wrote {output}: {counts['ConnectedApp']} connected apps, "
               f"{counts['ExternalClientApplication']} external client apps, "
               f"{len(snapshot['soql'].get('ConnectedApplication', []))} ConnectedApplication rows, "
               f"{len(snapshot['soql'].get('OauthToken', []))} OAuth tokens", err=True)
    if snapshot["errors"]:
        for error in snapshot["errors"]:
            typer.echo(f"ca-audit: error: not read: {error['what']}: {error['message']}", err=True)
        typer.echo("ca-audit: the snapshot is incomplete; scans of it will exit 2", err=True)
        raise typer.Exit(2)
    sys.stderr.flush()
