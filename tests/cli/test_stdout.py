"""A report that cannot reach standard output is exit 2 with a message, never a silent 1 or 0."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ci_support import CONNECTED_APPS
from tests.conftest import SAMPLE, ca_audit_command


@pytest.fixture(scope="module")
def big_project(tmp_path_factory) -> Path:
    """Enough apps for a JSON report far larger than a pipe's buffer (64 KiB on Linux)."""
    project = tmp_path_factory.mktemp("big")
    shutil.copy(SAMPLE / "sfdx-project.json", project)
    folder = project / CONNECTED_APPS
    folder.mkdir(parents=True)
    source = SAMPLE / CONNECTED_APPS / "Legacy_Reporting.connectedApp-meta.xml"
    for index in range(300):
        shutil.copy(source, folder / f"App_{index:03}.connectedApp-meta.xml")
    return project


def test_a_pipe_closed_by_its_reader_is_exit_2_with_a_message(big_project):
    with subprocess.Popen([*ca_audit_command(), "scan", ".", "--format", "json"], cwd=big_project,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1")) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10) == b'{"tool": {'
        proc.stdout.close()  # as `| head -c 10` does
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 2, err
    assert "cannot write the report to standard output: Broken pipe" in err
    assert "internal error" not in err and "Traceback" not in err


def test_a_closed_stdout_is_exit_2_with_the_intended_message():
    done = subprocess.run([*ca_audit_command(), "scan", str(SAMPLE)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, close_fds=True, timeout=120,
                          preexec_fn=lambda: os.close(1))  # noqa: PLW1509 - `>&-` in a shell
    assert done.returncode == 2, done.stderr
    assert "cannot write the report: standard output is closed (use --output PATH)" in done.stderr
    assert "internal error" not in done.stderr


# Every command group writes its stdout through the same writer (cli/common.py, write_stdout).
SNAPSHOT = str(SAMPLE / "org.snapshot.json")
COMMANDS = {
    "access": ["access", SNAPSHOT],
    "access-json": ["access", SNAPSHOT, "--format", "json"],
    "fix": ["fix", str(SAMPLE)],
    "fix-json": ["fix", str(SAMPLE), "--format", "json"],
    "preflight": ["preflight", "Integration_App", "--flow", "jwt-bearer", str(SAMPLE)],
    "preflight-json": ["preflight", "Integration_App", "--flow", "jwt-bearer", str(SAMPLE), "--format", "json"],
    "explain": ["explain", "user hasn't approved this consumer"],
    "rules-list": ["rules", "list"],
    "rules-show": ["rules", "show", "CA-01"],
    "rules-validate": ["rules", "validate"],
    "rules-docs": ["rules", "docs", "--output", "-"],
    "help": ["--help"],
    "scan-help": ["scan", "--help"],
    "version": ["--version"],
}


def _assert_exit_2_with_one_line(code: int, err: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ca-audit: error: cannot write the"), err
    assert "standard output" in err and "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_with_stdout_closed_is_exit_2(name):
    done = subprocess.run([*ca_audit_command(), *COMMANDS[name]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, close_fds=True, timeout=120, cwd=SAMPLE,
                          preexec_fn=lambda: os.close(1))  # noqa: PLW1509 - `>&-` in a shell
    _assert_exit_2_with_one_line(done.returncode, done.stderr)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_into_a_pipe_nobody_reads_is_exit_2(name):
    # `| head -c 0`: the reader is gone before the first byte, whatever the output's size
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([*ca_audit_command(), *COMMANDS[name]], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=120, cwd=SAMPLE, env=dict(os.environ, NO_COLOR="1"))
    finally:
        os.close(write_end)
    _assert_exit_2_with_one_line(done.returncode, done.stderr)


def test_a_large_fix_diff_cut_short_by_its_reader_is_exit_2(big_project):
    with subprocess.Popen([*ca_audit_command(), "fix", "."], cwd=big_project, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1")) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(6) == b"--- a/"
        proc.stdout.close()  # as `| head -c 6` does
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 2, err
    assert "cannot write the output to standard output: Broken pipe" in err
    assert "internal error" not in err


def test_a_closed_stdout_does_not_stop_commands_that_print_nothing_there(tmp_path):
    # `rules docs --output FILE` and `scan --output FILE` need no stdout
    done = subprocess.run([*ca_audit_command(), "scan", str(SAMPLE), "--format", "json", "--output",
                           str(tmp_path / "r.json")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          close_fds=True, timeout=120, preexec_fn=lambda: os.close(1))  # noqa: PLW1509
    assert done.returncode == 1, done.stderr  # the sample's findings
    assert (tmp_path / "r.json").stat().st_size > 1000


def test_access_help_wraps_whole_paragraphs():
    done = subprocess.run([*ca_audit_command(), "access", "-h"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, COLUMNS="200", NO_COLOR="1"))
    assert done.returncode == 0, done.stderr
    assert "who does: OAuth tokens, last use" in done.stdout
