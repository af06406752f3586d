"""Shared helpers for the CI-format tests: the official SARIF schema, real projects to scan.

Reports come from the real pipeline (`auditor.pipeline.audit`) over a temporary copy of
sample_configs/, so the formats are tested on what users get.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

# Vendored, unmodified copy of the official OASIS schema (origin and licence: tests/data/README.md).
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
MD_NS = "http://soap.sforce.com/2006/04/metadata"
CONNECTED_APPS = "force-app/main/default/connectedApps"
# An app name with every character GitHub's annotation syntax must escape.
ODD_NAME = "Odd, Name: 100%"


def sarif_validator():
    """The official SARIF 2.1.0 schema, vendored under tests/data/ so these tests never skip."""
    from jsonschema import Draft4Validator

    return Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


def assert_valid_sarif(document: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def sample_copy(target: Path, odd_app: bool = True) -> Path:
    """A copy of sample_configs/, plus (optionally) an app whose name needs escaping everywhere."""
    if not (SAMPLE / CONNECTED_APPS).is_dir():
        pytest.skip("sample_configs/ has no connected apps yet")
    project = Path(shutil.copytree(SAMPLE, target))
    if odd_app:
        candidates = sorted((project / CONNECTED_APPS).glob("*.connectedApp-meta.xml"))
        # Legacy_Reporting's findings come from the file alone (secret, Full scope, http callback)
        source = next((p for p in candidates if p.name.startswith("Legacy_Reporting")), candidates[0])
        shutil.copy(source, project / CONNECTED_APPS / f"{ODD_NAME}.connectedApp-meta.xml")
    return project


def add_waiver(project: Path, rule: str, app: str, **extra: str) -> None:
    lines = [f"  - rule: {rule}", f"    app: {json.dumps(app)}"]
    lines += [f"    {key}: {json.dumps(value)}" for key, value in extra.items()]
    config = project / ".ca-audit.yaml"
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    if "\nwaivers:" not in "\n" + text:
        text += "\nwaivers:\n"
    config.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def scan(*paths: Path, fail_on: str | None = None, today: dt.date | None = None):
    from auditor.model import Severity
    from auditor.pipeline import AuditOptions, audit

    options = AuditOptions(
        paths=[str(p) for p in paths],
        fail_on=Severity.parse(fail_on) if fail_on else None,
        today=today or dt.date(2026, 1, 15),
    )
    return audit(options)


def metadata_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*-meta.xml") if "/settings/" not in p.as_posix())


def reformat(folder: Path) -> None:
    """Reindent with tabs, reverse the order of every element's children, write CRLF."""
    ET.register_namespace("", MD_NS)

    def reverse(element: ET.Element) -> None:
        children = list(element)
        for child in children:
            element.remove(child)
            reverse(child)
        for child in reversed(children):
            element.append(child)

    for path in metadata_files(folder):
        tree = ET.parse(path)
        reverse(tree.getroot())
        for element in tree.iter():
            element.tail = None
            if len(element):
                element.text = None
        ET.indent(tree, space="\t")
        text = '<?xml version="1.0" encoding="UTF-8"?>\n\n' + ET.tostring(tree.getroot(), encoding="unicode")
        path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
