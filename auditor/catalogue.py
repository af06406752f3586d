"""The diagnosis data every part of ca-audit reads: the catalogue of token-endpoint errors
(`data/errors.yaml`) and the preflight checklists (`data/checklists.yaml`).

One catalogue serves `explain` (causes of an error), `preflight` (which error a failing check
leads to) and the org login (the likely cause printed under a refused JWT login), so the module
sits below all three: it depends on the data-file loader and the model's vocabulary only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.datafile import PACKAGE_DIR, Problem, load_validated, read_files
from auditor.model import PREFLIGHT_FLOWS

CATALOGUE_SCHEMA = "errors.schema.json"
CHECKLISTS_SCHEMA = "checklists.schema.json"

_loaded: dict[str, Any] = {}


class CatalogueError(Exception):
    """A packaged data file failed its schema: a broken install, never the user's input."""


def read_data_file(path: Path, shown: str, schema: str, check: Callable[[Any], list[Problem]] | None = None) -> Any:
    """One diagnosis data file, parsed and validated (schema, then `check`); CatalogueError names
    the file, the line where known, and the place in the document."""
    files, errors = read_files([(path, shown)])
    documents, load_errors = load_validated(files, schema, check) if files else ([], [])
    errors += load_errors
    if errors:
        raise CatalogueError("; ".join(str(e) for e in errors))
    return documents[0]


def _load(name: str, schema: str, check: Callable[[Any], list[Problem]] | None = None) -> Any:
    if name not in _loaded:
        _loaded[name] = read_data_file(PACKAGE_DIR / "data" / name, f"auditor/data/{name}", schema, check)
    return _loaded[name]


def load_catalogue() -> list[dict[str, Any]]:
    """The validated error catalogue (validated once per content, cached like the rule pack)."""
    return _load("errors.yaml", CATALOGUE_SCHEMA)["errors"]


def load_checklists() -> dict[str, Any]:
    """The validated preflight checklists: `items` by id, `flows` (each flow's item ids in order),
    and the texts preflight shows (`messages`, `notes`, `retirement`)."""
    return _load("checklists.yaml", CHECKLISTS_SCHEMA, check_checklists)


def read_checklists(path: Path, shown: str | None = None) -> dict[str, Any]:
    """A checklists file other than the packaged one (tests, and anyone editing the data)."""
    return read_data_file(path, shown or path.as_posix(), CHECKLISTS_SCHEMA, check_checklists)


def check_checklists(document: dict[str, Any]) -> list[Problem]:
    """What the schema cannot say: the flows are exactly the preflight flows, every listed item
    exists, and every `error` names a catalogue entry."""
    problems: list[Problem] = []
    flows, items = document.get("flows", {}), document.get("items", {})
    if sorted(flows) != sorted(PREFLIGHT_FLOWS):
        problems.append(f"at flows: the flows must be exactly {', '.join(PREFLIGHT_FLOWS)}, not "
                        f"{', '.join(flows) or 'none'}")
    for flow, keys in flows.items():
        for index, key in enumerate(keys):
            if key not in items:
                problems.append(f"at flows.{flow}.{index}: no item {key!r} under items")
    known = {entry["id"] for entry in load_catalogue()}
    for key, item in items.items():
        if "error" in item and item["error"] not in known:
            problems.append(f"at items.{key}.error: {item['error']!r} is not an entry of auditor/data/errors.yaml")
    return problems


def login_hint(error: str | None, description: str) -> str | None:
    """The likely cause of a refused JWT bearer login, from the catalogue entry its description
    matches (an entry with the same `error` first)."""
    wanted = description.strip().lower()
    if not wanted:
        return None
    found = [entry for entry in load_catalogue() if entry.get("login_hint")
             and any(pattern.lower() in wanted for pattern in entry["error_description"])]
    found.sort(key=lambda entry: (entry["error"] or "").lower() != (error or "").lower())
    return found[0]["login_hint"] if found else None
