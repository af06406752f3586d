"""The diagnosis data every part of ca-audit reads: the catalogue of token-endpoint errors
(`data/errors.yaml`) and the preflight checklists (`data/checklists.yaml`).

One catalogue serves `explain` (causes of an error), `preflight` (which error a failing check
leads to) and the org login (the likely cause printed under a refused JWT login), so the module
sits below all three: it depends on the data-file loader only.
"""

from __future__ import annotations

from typing import Any

from auditor.datafile import PACKAGE_DIR, load_validated, read_files

CATALOGUE_SCHEMA = "errors.schema.json"

_loaded: dict[str, Any] = {}


class CatalogueError(Exception):
    """A packaged data file failed its schema: a broken install, never the user's input."""


def _load(name: str, schema: str) -> Any:
    if name not in _loaded:
        files, errors = read_files([(PACKAGE_DIR / "data" / name, f"auditor/data/{name}")])
        documents, load_errors = load_validated(files, schema) if files else ([], [])
        errors += load_errors
        if errors:
            raise CatalogueError("; ".join(f"{e.path}:{e.line}: {e.message}" for e in errors))
        _loaded[name] = documents[0]
    return _loaded[name]


def load_catalogue() -> list[dict[str, Any]]:
    """The validated error catalogue (validated once per content, cached like the rule pack)."""
    return _load("errors.yaml", CATALOGUE_SCHEMA)["errors"]
