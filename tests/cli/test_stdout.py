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
