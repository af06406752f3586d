"""The habits of ruff, semgrep and checkov users: -h, --exit-zero, --quiet, --color, choices in
help, "did you mean", config keys at their own line, a table that fits the terminal, CSV."""

from __future__ import annotations

import csv
import io
import os
import re

import pytest

from tests.conftest import SAMPLE, SAMPLE_APPS, ca_audit_command, run_cli

CONNECTED = SAMPLE / "force-app" / "main" / "default" / "connectedApps"
CLEAN_APP = CONNECTED / "Integration_App.connectedApp-meta.xml"


def run_plain(*args: str, **env: str):
    """Like run_cli, without its NO_COLOR=1: colour and width come from `env` only."""
    import subprocess

    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")} | env
    return subprocess.run([*ca_audit_command(), *args], env=full, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["-h"], ["scan", "-h"], ["rules", "show", "-h"], ["preflight", "-h"]])
def test_dash_h_is_help(args):
    done = run_cli(*args)
    assert done.returncode == 0 and "Usage: ca-audit" in done.stdout


@pytest.mark.parametrize("columns", ["200", "80"])
def test_help_shows_the_choices_whole(columns):
    # piped help is 80 columns wide: a choice must never be split across lines (`git|lab`, `lo|w`)
    out = run_cli("scan", "--help", env={"COLUMNS": columns}).stdout
    words = set(re.findall(r"[\w-]+", out))
    assert {"table", "json", "sarif", "junit", "markdown", "github", "html", "gitlab", "csv"} <= words
    assert {"critical", "high", "medium", "low", "info", "auto", "always", "never"} <= words
    assert {"jwt-bearer", "saml2-bearer"} <= words and "APP=FLOW" in out
    if columns == "80":
        return  # the panel's borders sit between wrapped lines
    text = " ".join(out.split())
    assert "table, json, sarif, junit, markdown, github, html, gitlab, csv" in text
    assert "critical, high, medium, low, info" in text and "auto, always or never" in text


def test_exit_zero_reports_but_never_fails_and_never_hides_exit_2(tmp_path):
    done = run_cli("scan", str(SAMPLE), "--exit-zero")
    assert done.returncode == 0 and "FAILED" in done.stdout  # the verdict is still printed
    broken = tmp_path / "Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><label>x", encoding="utf-8")
    assert run_cli("scan", str(broken), "--exit-zero").returncode == 2


def test_quiet_prints_findings_only():
    done = run_cli("scan", str(SAMPLE), "--quiet")
    assert done.returncode == 1
    assert "CA-23" in done.stdout and "FAILED" not in done.stdout and "note:" not in done.stdout
    clean = run_cli("scan", str(CLEAN_APP), "-q")
    assert clean.returncode == 0 and clean.stdout == ""
    to_file = run_cli("scan", str(SAMPLE), "-q", "-f", "json", "-o", os.devnull)
    assert to_file.stderr == ""  # no summary on stderr either


@pytest.mark.parametrize(("args", "env", "coloured"), [
    (["--color", "always"], {}, True),
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ([], {"FORCE_COLOR": "1"}, True),
    ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as in CPython
    ([], {}, False),  # not a terminal
])
def test_colour_choice(args, env, coloured):
    done = run_plain("scan", str(SAMPLE), *args, **env)
    assert ("\033[" in done.stdout) is coloured


def test_bad_colour_choice_is_a_usage_error():
    done = run_cli("scan", str(SAMPLE), "--color", "sometimes")
    assert done.returncode == 2 and "--color takes auto, always or never" in done.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["scan", str(SAMPLE), "--only", "CA-1"], "--only/--skip: no rule 'CA-1' (did you mean 'CA-01'?)"),
    (["scan", str(SAMPLE), "--skip", "ca21"], "--only/--skip: no rule 'ca21' (did you mean 'CA-21'?)"),
    (["rules", "show", "CA-1"], "no rule 'CA-1' (did you mean 'CA-01'?)"),
    (["preflight", "Integration_Ap", str(SAMPLE), "--flow", "jwt-bearer"],
     f"no app named 'Integration_Ap' in the source ({SAMPLE_APPS} app(s) found) (did you mean 'Integration_App'?)"),
])
def test_did_you_mean_once_on_stderr_with_exit_2(args, expected):
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.strip() == f"ca-audit: error: {expected}"
    assert done.stdout == ""  # not an input error in a report
    assert "Warehouse_Scanner" not in done.stderr  # no list of every app


def test_unknown_config_key_is_reported_at_its_own_line(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("fail_on: high\n\n# the rules\nrulez:\n  CA-01: off\napps:\n  X:\n    flows: []\n"
                      "    integraton_users: [a@b.c]\n", encoding="utf-8")
    done = run_cli("scan", str(CLEAN_APP), "--config", str(config), "-f", "json")
    errors = {e["line"]: e["message"] for e in __import__("json").loads(done.stdout)["input_errors"]}
    assert done.returncode == 2
    assert errors[4] == "at (top level): unknown key 'rulez' (did you mean 'rules'?)"


def test_nested_unknown_config_key_line(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("apps:\n  X:\n    flows: []\n    integraton_users: [a@b.c]\n", encoding="utf-8")
    done = run_cli("scan", str(CLEAN_APP), "--config", str(config), "-f", "json")
    (error,) = __import__("json").loads(done.stdout)["input_errors"]
    assert error["line"] == 4 and "unknown key 'integraton_users' (did you mean 'integration_users'?)" in \
        error["message"]


def test_table_wraps_to_80_columns_when_not_a_terminal_with_indented_continuations():
    lines = run_plain("scan", str(SAMPLE)).stdout.splitlines()
    indent = " " * len("  critical CA-23  ")
    for line in lines:
        if len(line) > 80:  # only a path (never broken) or the one-line summary may be longer
            assert line.startswith(indent + "sample_configs/force-app/") or line.startswith("FAILED:"), line
    continuations = [line for line in lines
                     if line.startswith(indent) and not line.strip().startswith("sample_configs/")]
    assert continuations  # the sample has messages longer than one line
    wide = run_plain("scan", str(SAMPLE), COLUMNS="200").stdout.splitlines()
    assert len(wide) < len(lines) and any(len(line) > 100 and "CA-" in line[:20] for line in wide)


def test_csv_one_row_per_finding():
    done = run_cli("scan", str(SAMPLE), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    json_done = run_cli("scan", str(SAMPLE), "-f", "json")
    findings = __import__("json").loads(json_done.stdout)["findings"]
    assert done.returncode == 1 and len(rows) == len(findings)
    assert list(rows[0]) == ["record", "severity", "rule_id", "app", "kind", "path", "line", "column", "message", "fix",
                             "waived", "fingerprint"]
    assert {r["fingerprint"] for r in rows} == {f["fingerprint"] for f in findings}
    eca = next(r for r in rows if r["kind"] == "external_client_app" and r["rule_id"] == "CA-03")
    assert eca["fix"].startswith("External client app:") and "Connected app:" not in eca["fix"]
    assert any(r["waived"] for r in rows)
    assert all(re.fullmatch(r"\d+", r["line"]) for r in rows)
    assert {r["record"] for r in rows} == {"finding"}


def test_csv_has_a_row_for_each_input_error(tmp_path):
    (tmp_path / "=Broken.connectedApp-meta.xml").write_text("<ConnectedApp><label>x", encoding="utf-8")
    done = run_cli("scan", str(tmp_path), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert done.returncode == 2
    (error,) = [r for r in rows if r["record"] == "input_error"]
    assert error["path"].startswith("'=Broken") and error["message"] and not error["rule_id"]


def test_csv_neutralises_formula_cells():
    from auditor.formats.csv_format import spreadsheet_cell as _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@SUM") == "'@SUM" and _cell("App") == "App"
