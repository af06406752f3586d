"""Output formats: one module per format, each exposing `render(report) -> str`.

Modules are imported only when their format is asked for, so adding a format costs the other
formats nothing at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from auditor.model import Report

FORMATS: dict[str, str] = {
    "table": "auditor.formats.table",
    "json": "auditor.formats.json_format",
    "sarif": "auditor.formats.sarif",
    "junit": "auditor.formats.junit",
    "markdown": "auditor.formats.markdown",
    "github": "auditor.formats.github",
    "html": "auditor.formats.html",
    "gitlab": "auditor.formats.gitlab",
    "csv": "auditor.formats.csv_format",
}


class Renderer(Protocol):
    def __call__(self, report: Report) -> str: ...


def renderer(name: str) -> Renderer:
    try:
        module_name = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}") from None
    return import_module(module_name).render


def render(name: str, report: Report) -> str:
    return renderer(name)(report)
