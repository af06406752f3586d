"""What a plain `pip install .` ships: every package folder under auditor/."""

from __future__ import annotations

import re

from tests.conftest import REPO


def declared_packages() -> set[str]:
    # tomllib is Python 3.11+ and the project supports 3.10: read the one list it needs.
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    listed = re.search(r"^packages = \[(.*?)\]", text, re.M | re.S)
    assert listed, "pyproject.toml lists no [tool.setuptools] packages"
    return set(re.findall(r'"([^"]+)"', listed.group(1)))


def test_every_package_folder_is_installed():
    folders = {".".join(path.parent.relative_to(REPO).parts) for path in (REPO / "auditor").rglob("__init__.py")}
    assert folders - declared_packages() == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
