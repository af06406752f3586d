"""Find metadata files under the paths the user named and read them.

A folder with an `sfdx-project.json` is scanned through its package directories (that is what
`sf project deploy` would deploy); any other folder is walked whole. Suffixes are matched
case-insensitively because old projects spell them `.connectedapp` (salesforce-facts.md §1.1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.model import InputError, display_path
from auditor.sources import SourceResult, org_settings
from auditor.sources.connected_app import CONNECTED_APP_SUFFIXES
from auditor.sources.documents import apps_from_documents
from auditor.sources.external_client_app import ECA_SUFFIXES

if TYPE_CHECKING:
    from auditor.sources.ignore import Ignore

METADATA_SUFFIXES = CONNECTED_APP_SUFFIXES + tuple(ECA_SUFFIXES) + org_settings.SUFFIXES
SKIPPED_DIRS = {".git", "node_modules", ".sfdx", ".sf", "__pycache__", ".venv"}


def is_metadata_file(name: str) -> bool:
    return name.lower().endswith(METADATA_SUFFIXES)


def scan_paths(paths: list[str], exclude: list[str] | None = None) -> SourceResult:
    result = SourceResult()
    for raw in without_overlaps(paths):
        result.extend(scan_path(raw, exclude or []))
    return result


def without_overlaps(paths: list[str]) -> list[str]:
    """Drop a path named twice, or inside a folder also named, so no app is audited twice."""
    resolved = [(raw, Path(raw).resolve()) for raw in paths]
    folders = [path for _raw, path in resolved if path.is_dir()]
    kept, seen = [], set()
    for raw, path in resolved:
        inside = any(folder != path and folder in path.parents for folder in folders)
        if path in seen or inside:
            continue
        seen.add(path)
        kept.append(raw)
    return kept


def scan_path(raw: str, exclude: list[str] | None = None) -> SourceResult:
    path = Path(raw)
    if path.is_dir():
        files, errors = discover(path, exclude or [])
        root = raw
        documents, read_errors = _read_all(files)
    elif path.is_file():
        root = "."
        shown = display_path(path)
        if not is_metadata_file(path.name):
            message = "not a ConnectedApp or External Client App metadata file (expected a name ending in " \
                      ".connectedApp-meta.xml, .connectedApp, .eca-meta.xml, .ecaGlblOauth-meta.xml, …)"
            return SourceResult(errors=[InputError(shown, None, message)])
        errors = []
        documents, read_errors = _read_all([(str(path), shown)])
    else:
        return SourceResult(errors=[InputError(raw, None, "no such file or folder")])
    result = apps_from_documents(documents)
    result.errors[:0] = errors + read_errors
    for app in result.apps:
        app.root = root
    return result


def discover(folder: Path, exclude: list[str] | None = None) -> tuple[list[tuple[str, str]], list[InputError]]:
    """(file system path, path shown relative to `folder`) of every metadata file under it,
    honouring sfdx-project.json package directories and the ignore files (sources/ignore.py)."""
    from auditor.sources.ignore import load

    package_dirs, errors = _package_directories(folder)
    ignore = load(folder, exclude or [])
    files: dict[str, str] = {}
    for directory in package_dirs or [folder]:
        files.update(_walk(str(directory), str(folder), ignore))
    return sorted(files.items(), key=lambda item: item[1]), errors


def _package_directories(folder: Path) -> tuple[list[Path], list[InputError]]:
    project_file = folder / "sfdx-project.json"
    if not project_file.is_file():
        return [], []
    try:
        project = json.loads(project_file.read_text(encoding="utf-8"))
        entries = project["packageDirectories"]
        dirs = [folder / entry["path"] for entry in entries]
    except json.JSONDecodeError as error:
        message = f"invalid JSON ({error.msg}); scanning the whole folder instead"
        return [], [InputError(display_path(project_file, folder), error.lineno, message)]
    except (KeyError, TypeError, OSError, UnicodeDecodeError) as error:
        message = f"no usable packageDirectories ({error}); scanning the whole folder instead"
        return [], [InputError(display_path(project_file, folder), None, message)]
    return [d for d in dirs if d.is_dir()], []


def _walk(directory: str, root: str, ignore: Ignore | None = None) -> dict[str, str]:
    # Strings, not Path objects, and one relpath per folder: this loop sees every file of a
    # large repository.
    found = {}
    for current, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        rules = None
        if ignore is not None:
            ignore.enter(current, filenames)
            rules = ignore if ignore.active else None
        absolute = os.path.abspath(current) if rules else current
        if rules:
            dirnames[:] = [d for d in dirnames if not rules.ignored(os.path.join(absolute, d), is_dir=True)]
        relative = os.path.relpath(current, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        for name in filenames:
            if is_metadata_file(name) and not (rules and rules.ignored(os.path.join(absolute, name))):
                found[os.path.join(current, name)] = prefix + name
    return found


def _read_all(files: list[tuple[str, str]]) -> tuple[list[tuple[str, bytes]], list[InputError]]:
    documents: list[tuple[str, bytes]] = []
    errors: list[InputError] = []
    for file, shown in files:
        try:
            with open(file, "rb") as handle:
                documents.append((shown, handle.read()))
        except OSError as error:
            errors.append(InputError(shown, None, f"cannot read the file: {error.strerror or error}"))
    return documents, errors

