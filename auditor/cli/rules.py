"""`ca-audit rules …`: list, show, validate, test and document rule packs."""

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import usage_error, write_stderr, write_stdout
from auditor.engine.rule import Rule
from auditor.formats._safe import inert_text, visible
from auditor.model import short_kind
from auditor.suggest import suggestion

rules_app = typer.Typer(help="List, show, validate and test rules.", no_args_is_help=True)


def _load_rule_dirs(dirs: list[Path] | None) -> list[Rule]:
    from auditor.engine.loader import builtin_rules_dir, load_rules

    rules, errors = load_rules(list(dirs) if dirs else [builtin_rules_dir()])
    for error in errors:
        where = f"{error.path}:{error.line}" if error.line else error.path
        write_stderr(_inert(f"{visible(where)}: {visible(error.message)}"))
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
    rows = [(r.id, str(r.severity), ", ".join(short_kind(k) for k in r.applies_to), r.title) for r in loaded]
    _out(tabulate(rows, headers=["id", "severity", "applies to", "title"]))



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
        hint = suggestion(rule_id, {r.id for r in loaded.values()}) or " (`ca-audit rules list` shows them)"
        raise usage_error(f"no rule {rule_id!r}{hint}")
    kinds = ", ".join(rule.applies_to)
    parts = [f"{rule.id}  {rule.title}", f"severity: {rule.severity}    applies to: {kinds}",
             f"tags: {', '.join(rule.tags)}" if rule.tags else "", "", "Why", _indent(rule.why), "", "Fix",
             _indent(rule.fix)]
    if rule.references:
        parts += ["", "References", *(f"  {ref}" for ref in rule.references)]
    _out("\n".join(p for p in parts if p is not None))


def _inert(line: str) -> str:
    return inert_text(line + "\n")


def _out(text: str) -> None:
    """One output of a rules command on stdout: written whole (or exit 2), no line from a rule file
    runnable as a CI workflow command, no control character."""
    write_stdout(_inert(text))


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
    _out(f"{len(loaded)} rule{'s' if len(loaded) != 1 else ''} valid")


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
        _out(f"FAIL {result.rule_id} tests[{result.index}] ({result.expected}): {result.detail}")
    untested = [r.id for r in loaded if not any(c for c in r.tests if "pass" in c)
                or not any(c for c in r.tests if "fail" in c)]
    for rule_id in untested:
        _out(f"FAIL {rule_id}: needs at least one pass and one fail test")
    cases = run_file_fixtures(loaded)
    case_failures = [c for c in cases if not c.ok]
    for case in case_failures:
        _out(case.line())
    passed = len(results) - len(failures) + len(cases) - len(case_failures)
    failed = len(failures) + len(untested) + len(case_failures)
    _out(f"{passed} passed, {failed} failed")
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
    from auditor.engine.rulesdoc import render_rules

    text = render_rules(_load_rule_dirs([builtin_rules_dir(), *(rules or [])]))
    if output == "-":
        write_stdout(inert_text(text))
        return
    target = Path(output)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            shown = visible(target)
            write_stderr(_inert(f"{shown} is not current; run `ca-audit rules docs --output {shown}`"))
            raise typer.Exit(1)
        _out(f"{target} is current")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _out(f"wrote {target}")
