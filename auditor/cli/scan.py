"""`ca-audit scan` and `ca-audit pull`: audit metadata, snapshots or an org, and write reports."""

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.common import ids, say, severity, stdout_closed, usage_error, write_stdout
from auditor.cli.org_options import with_org_options
from auditor.formats import FORMATS
from auditor.model import FLOW_NAMES, SEVERITY_WORDS, Report
from auditor.safeio import display as safe_display
from auditor.suggest import suggestion

if TYPE_CHECKING:  # annotations only: typer never evaluates `org` (the org options replace it)
    from auditor.gate.changed import Targets
    from auditor.sources.org.target import OrgTarget


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
    output_format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                               help=f"What to print: {', '.join(FORMATS)}.")] = "table",
    output: Annotated[
        list[str] | None,
        typer.Option("--output", "-o", help="Write the report to PATH, or FORMAT=PATH for another format "
                     "(repeatable)."),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(metavar="SEVERITY", help=f"Lowest severity that fails the run: "
                                 f"{', '.join(SEVERITY_WORDS)} (default from .ca-audit.yaml, else high).")
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even with findings at or above fail-on (an audit that "
                           "could not be trusted still exits 2).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print the findings and input errors only: no notes, no summary.")
    ] = False,
    color: Annotated[
        str, typer.Option("--color", metavar="WHEN", help="Colour the table: auto, always or never; auto = on a "
                          "terminal, unless NO_COLOR is set; FORCE_COLOR turns it on.")
    ] = "auto",
    config: Annotated[Path | None, typer.Option(help="Config file (default: .ca-audit.yaml found upward).")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra rule folder (repeatable).")] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only these rule ids (comma-separated).")] = None,
    skip: Annotated[list[str] | None, typer.Option(help="Skip these rule ids (comma-separated).")] = None,
    flow: Annotated[
        list[str] | None, typer.Option(metavar="APP=FLOW", help="Declare a flow for one run (repeatable); FLOW: "
                                       f"{', '.join(FLOW_NAMES)}.")
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
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave out files matching GLOB (gitignore syntax, relative to the "
                                       "scanned folder; repeatable). .forceignore and .gitignore apply too.",
                                       metavar="GLOB")
    ] = None,
    changed_files: Annotated[
        bool, typer.Option("--changed-files", help="The paths are changed files (as a pre-commit hook passes "
                           "them): read the SFDX project each belongs to, audit the apps they belong to.")
    ] = False,
    org: "OrgTarget | None" = None,
) -> None:
    """Audit connected apps and external client apps in metadata files, org snapshots or a live org."""
    from auditor.pipeline import AuditOptions, UnknownApps, UnknownRuleIds, audit

    if output_format not in FORMATS:
        raise usage_error(f"unknown format {output_format!r}; choose from {', '.join(FORMATS)}")
    if color not in ("auto", "always", "never"):
        raise usage_error(f"--color takes auto, always or never, not {color!r}")
    targets: Targets | None = None
    if changed_files:
        if changed_since:
            raise usage_error("--changed-files and --changed-since are two ways to pick apps; use one")
        targets = _named_files(paths or [], explicit_config=config is not None)
    options = AuditOptions(
        org=org,
        # With --changed-files there may be nothing to scan: the files named govern no project or metadata.
        paths=targets.paths if targets is not None else (paths or ([] if org else ["."])),
        config_path=config,
        extra_rule_dirs=list(rules or []),
        fail_on=severity(fail_on, "--fail-on"),
        only=ids(only or []),
        skip=ids(skip or []),
        declared_flows=_declared_flows(flow or []),
        exclude=list(exclude or []),
        strict_flows=True,
    )
    outputs = _outputs(output or [], output_format)
    changed = _changed_files(changed_since, options.paths) if changed_since else None
    try:
        report = audit(options)
    except UnknownApps as error:
        raise usage_error("--flow: " + ", ".join(f"no scanned app {name!r}{suggestion(name, error.known)}"
                                                 for name in error.names)) from None
    except UnknownRuleIds as error:
        raise usage_error("--only/--skip: " + ", ".join(f"no rule {rule_id!r}{suggestion(rule_id, error.known)}"
                                                        for rule_id in error.ids)) from None
    if targets is not None:
        from auditor.gate.changed import restrict

        restrict(report, targets.named, "files named", targets.folders)
    _ci_steps(report, changed_since, changed, baseline, write_baseline, partial=changed_files)
    emit(report, output_format, outputs, colour=_colour_wanted(color), quiet=quiet)
    code = report.exit_code()
    raise typer.Exit(0 if exit_zero and code == 1 else code)


def _named_files(names: list[str], explicit_config: bool) -> "Targets":
    """What to scan for the named files, and which of its apps to keep."""
    from auditor.gate.changed import ChangedError, scan_targets

    try:
        return scan_targets(names, explicit_config)
    except ChangedError as error:
        raise usage_error(str(error)) from None


def _changed_files(rev: str, paths: list[str]) -> set[Path]:
    from auditor.gate.changed import ChangedError, changed_files

    if not paths:
        raise usage_error("--changed-since compares metadata files in git; name the folders to scan")
    try:
        return set().union(*(changed_files(rev, path) for path in paths))
    except ChangedError as error:
        raise usage_error(str(error)) from None


def _ci_steps(report: Report, rev: str | None, changed: set[Path] | None, baseline: Path | None,
              write_to: Path | None, partial: bool = False) -> None:
    """Changed-only filtering, then baselines: write the current findings, report only new ones."""
    partial = partial or rev is not None
    if partial and write_to is not None:
        raise usage_error("--write-baseline records every finding; run it without --changed-since/--changed-files")
    if rev is not None and changed is not None:
        from auditor.gate.changed import restrict

        restrict(report, changed, f"changed since {rev}")
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
        baselines.apply(report, loaded, partial=partial)


def emit(report: Report, output_format: str, outputs: list[tuple[str, Path]], colour: bool = False,
         quiet: bool = False) -> None:
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
        if stdout_closed():
            raise usage_error("cannot write the report: standard output is closed (use --output PATH)")
        write_stdout(_render(output_format, report, colour=colour, quiet=quiet, terminal=True), "report")
    elif output_format != "table" and not quiet:
        from auditor.formats.table import summary_line

        typer.echo(summary_line(report), err=True)


def _render(name: str, report: Report, colour: bool, quiet: bool = False, terminal: bool = False) -> str:
    from auditor.formats import render

    if name == "table":
        from auditor.formats.table import render as render_table

        return render_table(report, color=colour, width=_width() if terminal else None, quiet=quiet)
    return render(name, report)


def _width() -> int:
    """The terminal's width (COLUMNS wins, as for every tool), 80 when stdout is not a terminal."""
    import shutil

    if "COLUMNS" not in os.environ and (sys.stdout is None or not sys.stdout.isatty()):
        return 80
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _colour_wanted(choice: str = "auto") -> bool:
    """--color always/never decide; in auto, NO_COLOR turns colour off and FORCE_COLOR on (NO_COLOR wins
    when both are set, as in CPython 3.13), else colour on a terminal that is not `dumb`."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout is not None and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


@with_org_options
def pull(
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the snapshot to this file.")] = Path(
        "org.snapshot.json"),
    config: Annotated[Path | None, typer.Option(help="Config whose integration users to read "
                                                "(default: .ca-audit.yaml found upward).")] = None,
    org: "OrgTarget | None" = None,
) -> None:
    """Read an org's connected apps, ECAs, assignments and usage into a snapshot for offline scans."""
    from auditor.config import find_config, load_config
    from auditor.sources.org.pull import read_org
    from auditor.sources.snapshot import over_cap, write

    if org is None:
        typer.echo("ca-audit: error: pull needs an org: --target-org ALIAS, --instance-url with --access-token, "
                   "or --client-id/--jwt-key-file/--username", err=True)
        raise typer.Exit(2)
    cfg, errors = load_config(config or find_config(Path(".")))
    for error in errors:
        say(f"ca-audit: error: {error.path}: {error.message}")
    if errors:
        raise typer.Exit(2)
    users = sorted({u for names in cfg.integration_users.values() for u in names})
    snapshot, problems = read_org(org, users)
    if snapshot is None:
        for problem in problems:
            say(f"ca-audit: error: {problem.path}: {problem.message}")
        raise typer.Exit(2)
    try:
        size = write(snapshot, output)
    except OSError as failure:
        raise usage_error(f"cannot write {safe_display(output)}: {failure.strerror or failure}") from None
    too_large = over_cap(size)
    counts = {t: len(v["listed"]) for t, v in snapshot["metadata"].items()}
    say(f"ca-audit: wrote {output}: {counts['ConnectedApp']} connected apps, "
        f"{counts['ExternalClientApplication']} external client apps, "
        f"{len(snapshot['soql'].get('ConnectedApplication', []))} ConnectedApplication rows, "
        f"{len(snapshot['soql'].get('OauthToken', []))} OAuth tokens")
    if too_large:  # written all the same: the pull may have taken long, and the variable lets it be read
        say(f"ca-audit: error: {safe_display(output)}: {too_large}")
    if snapshot["errors"]:
        for error in snapshot["errors"]:
            say(f"ca-audit: error: not read: {error['what']}: {error['message']}")
        say("ca-audit: the snapshot is incomplete; scans of it will exit 2")
    if too_large or snapshot["errors"]:
        raise typer.Exit(2)
    sys.stderr.flush()
