"""Every YAML example in the README is YAML a user can paste."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO

BLOCKS = re.findall(r"^```yaml\n(.*?)^```", (REPO / "README.md").read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_has_yaml_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_every_yaml_block_parses(block):
    yaml.safe_load(block)


def test_every_command_has_a_one_line_summary_in_help():
    # typer shows a command's first docstring paragraph in `ca-audit --help`: one line, one sentence
    from auditor.cli import app

    group = __import__("typer").main.get_group(app)
    for name, command in group.commands.items():
        first = (command.help or "").strip().split("\n\n")[0]
        assert "\n" not in first and first.endswith("."), (name, first)
