"""Find metadata files under the paths the user named and read them.

A folder with an `sfdx-project.json` is scanned through its package directories (that is what
`sf project deploy` would deploy); any other folder is walked whole. Suffixes are matched
case-insensitively because old projects spell them `.connectedapp` (salesforce-facts.md §1.1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from auditor import safeio
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
    """Each folder is read on its own (two projects may each hold an app of one name); the files
    named one by one are read together, so the parts of one External Client App named side by
    side are joined into one app, as when their folder is scanned."""
    result = SourceResult()
    kept, result.notes = without_overlaps(paths)
    files = [raw for raw in kept if Path(raw).exists() and not Path(raw).is_dir()]
    for raw in kept:
        if raw not in files:
            result.extend(scan_path(raw, exclude or []))
        elif raw == files[0]:
            result.extend(_scan_files(files))
    return result


def without_overlaps(paths: list[str]) -> tuple[list[str], list[str]]:
    """Drop a path named twice, or a file the scan of a folder also named reads, so no app is
    audited twice. A file named inside an SFDX project folder but outside its packageDirectories
    is not read by the folder scan (`sf project deploy` would not deploy it): it is read as named,
    and a note says so, rather than passing unaudited."""
    resolved = [(raw, Path(raw).resolve()) for raw in paths]
    folders = [path for _raw, path in resolved if path.is_dir()]
    kept, seen, notes = [], set(), []
    for raw, path in resolved:
        holders = [folder for folder in folders if folder != path and folder in path.parents]
        if path in seen:
            continue
        if holders and all(_folder_reads(folder, path) for folder in holders):
            continue
        if holders and is_metadata_file(path.name):
            project = display_path(holders[0] / "sfdx-project.json")
            notes.append(f"{safeio.display(display_path(path))} is outside the packageDirectories of "
                         f"{safeio.display(project)} (`sf project deploy` would not deploy it); audited as named")
        seen.add(path)
        kept.append(raw)
    return kept, notes


def _folder_reads(folder: Path, file: Path) -> bool:
    """Whether a scan of `folder` reads `file` (inside it): under a package directory, and not in a
    folder the walk skips. Ignore rules are left to the folder scan, which counts what they leave out."""
    inside = file.relative_to(folder).parts[:-1]
    if any(part in SKIPPED_DIRS for part in inside):
        return False
    package_dirs, errors = _package_directories(folder)
    if errors or not package_dirs:
        return True  # the whole folder is walked
    return any(directory.resolve() == file.parent or directory.resolve() in file.parents
               for directory in package_dirs)


def scan_path(raw: str, exclude: list[str] | None = None) -> SourceResult:
    path = Path(raw)
    if path.is_dir():
        files, errors, notes = discover_noting(path, exclude or [])
        root = raw
        documents, read_errors = _read_all(files, inside=path)
    elif path.exists():  # a FIFO or device too: the reader refuses it with a reason
        return _scan_files([raw])
    else:
        return SourceResult(errors=[InputError(raw, None, "no such file or folder")])
    result = _apps(documents, errors + read_errors, root)
    result.notes.extend(notes)
    return result


def _scan_files(raws: list[str]) -> SourceResult:
    """Files named one by one, read as one set of documents (shown relative to the working folder)."""
    named: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for raw in raws:
        path = Path(raw)
        shown = display_path(path)
        if not is_metadata_file(path.name):
            message = "not a ConnectedApp or External Client App metadata file (expected a name ending in " \
                      ".connectedApp-meta.xml, .connectedApp, .eca-meta.xml, .ecaGlblOauth-meta.xml, …)"
            errors.append(InputError(shown, None, message))
        else:
            named.append((str(path), safeio.display(shown)))
    documents, read_errors = _read_all(named)
    return _apps(documents, errors + read_errors, ".")


def _apps(documents: list[tuple[str, bytes]], errors: list[InputError], root: str) -> SourceResult:
    result = apps_from_documents(documents)
    result.errors[:0] = errors
    for app in result.apps:
        app.root = root
    return result


def discover(folder: Path, exclude: list[str] | None = None) -> tuple[list[tuple[str, str]], list[InputError]]:
    """(file system path, path shown relative to `folder`) of every metadata file under it,
    honouring sfdx-project.json package directories and the ignore files (sources/ignore.py)."""
    files, errors, _notes = discover_noting(folder, exclude)
    return files, errors


def discover_noting(folder: Path, exclude: list[str] | None = None) -> tuple[list[tuple[str, str]],
                                                                             list[InputError], list[str]]:
    """`discover`, and notes saying how many metadata files each ignore file (and line) left out.

    When the ignore rules left out every metadata file there was, nothing was audited though there
    was something to audit: that is an input error (exit 2), not a pass. A gate that a one-line
    `**` in .forceignore turns green would not be a gate; the error names the file and line."""
    from auditor.sources.ignore import load

    package_dirs, errors = _package_directories(folder)
    ignore = load(folder, exclude or [])
    files: dict[str, str] = {}
    for directory in package_dirs or [folder]:
        found, walk_errors = _walk(str(directory), str(folder), ignore)
        files.update(found)
        errors.extend(walk_errors)
    notes: list[str] = []
    if ignore is not None:
        notes = ignore.notes()
        left_out = sum(ignore.counts.values())
        if left_out and not files:
            from auditor.sources.ignore import label

            reasons = ignore.counts.most_common()
            shown, line, _detail = reasons[0][0]
            errors.append(InputError(shown, line, (
                f"ignore rules left out all {left_out} Connected App / External Client App metadata file(s) found "
                f"({'; '.join(f'{count} by {label(why)}' for why, count in reasons)}): nothing was audited. "
                "Narrow the rule, or scan without it")))
    return sorted(files.items(), key=lambda item: item[1]), errors, notes


def _package_directories(folder: Path) -> tuple[list[Path], list[InputError]]:
    project_file = folder / "sfdx-project.json"
    if not project_file.exists():
        return [], []
    shown = display_path(project_file, folder)
    try:
        project = safeio.json_loads(safeio.read_text(project_file, inside=folder))
    except safeio.Refused as refused:
        return [], [InputError(shown, None, f"{refused.message}; scanning the whole folder instead")]
    except ValueError as error:
        line = getattr(error, "lineno", None)
        problem = getattr(error, "msg", None) or str(error)
        return [], [InputError(shown, line, f"invalid JSON ({problem}); scanning the whole folder instead")]
    entries = project.get("packageDirectories") if isinstance(project, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str)
                                                for e in entries):
        message = "no usable packageDirectories (a list of objects with a \"path\" string expected); " \
                  "scanning the whole folder instead"
        return [], [InputError(shown, None, message)]
    dirs, errors = [], []
    for index, entry in enumerate(entries):
        directory = folder / entry["path"]
        if safeio.outside(directory, folder):
            errors.append(InputError(shown, None, f"packageDirectories[{index}] leaves the scanned folder; not read"))
        elif directory.is_dir():
            dirs.append(directory)
    return dirs, errors


def _walk(directory: str, root: str, ignore: Ignore | None = None) -> tuple[dict[str, str], list[InputError]]:
    # Strings, not Path objects, and one relpath per folder: this loop sees every file of a
    # large repository. A folder that cannot be listed is an input error: the apps in it would
    # otherwise pass unseen.
    found = {}
    errors: list[InputError] = []

    def unreadable(error: OSError) -> None:
        where = safeio.display(os.path.relpath(error.filename or directory, root).replace(os.sep, "/"))
        errors.append(InputError(where, None, f"cannot read the folder: {error.strerror or error}"))

    # Ignored folders are walked too (the package directories, or the folder named): each metadata
    # file left out is counted against the rule that left it out.
    resolved_root = str(Path(root).resolve())
    for current, dirnames, filenames in os.walk(directory, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
        if ignore is not None:
            ignore.enter(filenames)
        relative = os.path.relpath(current, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        absolute = os.path.normpath(os.path.join(resolved_root, relative)) if ignore is not None else current
        for name in filenames:
            if is_metadata_file(name) and not (ignore is not None and ignore.excluded(os.path.join(absolute, name))):
                found[os.path.join(current, name)] = safeio.display(prefix + name)
    return found, errors


def _read_all(files: list[tuple[str, str]], inside: Path | None = None) -> tuple[list[tuple[str, bytes]],
                                                                                 list[InputError]]:
    documents: list[tuple[str, bytes]] = []
    errors: list[InputError] = []
    for file, shown in files:
        try:
            documents.append((shown, safeio.read_bytes(file, inside=inside)))
        except safeio.Refused as refused:
            errors.append(InputError(shown, None, refused.message))
    return documents, errors

