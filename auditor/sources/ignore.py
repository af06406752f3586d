"""Which files a folder scan leaves out: `.forceignore`, `.gitignore` and `--exclude`.

- `.forceignore` (gitignore syntax) at the SFDX project root — the folder holding
  `sfdx-project.json`, the scanned folder or one above it: what `sf project deploy` leaves out is
  not audited either (CA-23's fix tells users to add the global OAuth settings file to it).
- `.gitignore` files, when the folder is in a git work tree: those from the top of the work tree
  down to the scanned folder, and those inside it, each relative to its own folder; a deeper file's
  match (including a `!` re-include) wins, as in git.
- `--exclude GLOB` (repeatable, gitignore syntax) relative to the scanned folder.

pathspec (~15 ms to import) is imported only when one of these exists, so a scan of a folder
without them pays nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FORCEIGNORE = ".forceignore"
GITIGNORE = ".gitignore"


def _spec(lines: list[str]) -> Any:
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _read(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _work_tree_top(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _project_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / "sfdx-project.json").is_file():
            return candidate
    return None


class Ignore:
    """The ignore rules of one scanned folder; `ignored(path)` takes an absolute path (str)."""

    def __init__(self, folder: Path, exclude: list[str]) -> None:
        self.folder = folder.resolve()
        self.git: list[tuple[str, Any]] = []  # (base folder, spec), shallowest first
        self.other: list[tuple[str, Any]] = []  # .forceignore and --exclude: any match ignores
        self.in_git = False
        top = _work_tree_top(self.folder)
        if top is not None:
            self.in_git = True
            for base in reversed([self.folder, *self.folder.parents]):
                if base == top or top in base.parents:
                    self._add_gitignore(base)
            # the scanned folder's own .gitignore was added above; nested ones arrive in enter()
        project = _project_root(self.folder) or self.folder
        if (lines := _read(project / FORCEIGNORE)) is not None:
            self.other.append((str(project), _spec(lines)))
        if exclude:
            self.other.append((str(self.folder), _spec(exclude)))

    def _add_gitignore(self, base: Path) -> None:
        lines = _read(base / GITIGNORE)
        if lines is not None and any(line.strip() and not line.startswith("#") for line in lines):
            self.git.append((str(base), _spec(lines)))

    @property
    def active(self) -> bool:
        return bool(self.git or self.other)

    def enter(self, directory: str, filenames: list[str]) -> None:
        """Called for each folder of the walk below the scanned one: picks up nested .gitignore."""
        if self.in_git and GITIGNORE in filenames and Path(directory).resolve() != self.folder:
            self._add_gitignore(Path(directory).resolve())

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        for base, spec in self.other:
            relative = _relative(path, base, is_dir)
            if relative is not None and spec.match_file(relative):
                return True
        verdict = None
        for base, spec in self.git:
            relative = _relative(path, base, is_dir)
            if relative is None:
                continue
            result = spec.check_file(relative)
            if result.include is not None:
                verdict = result.include
        return bool(verdict)


def _relative(path: str, base: str, is_dir: bool) -> str | None:
    relative = os.path.relpath(path, base).replace(os.sep, "/")
    if relative == "." or relative.startswith("../"):
        return None
    return relative + "/" if is_dir else relative


def load(folder: Path, exclude: list[str]) -> Ignore | None:
    """The folder's ignore rules, or None when there are none (and pathspec stays unimported)."""
    resolved = folder.resolve()
    has_any = bool(exclude) or any(
        (base / name).is_file()
        for base in (resolved, *resolved.parents)
        for name in (FORCEIGNORE, GITIGNORE)
    )
    if not has_any and not _work_tree_top(resolved):
        return None
    rules = Ignore(resolved, exclude)
    return rules if rules.active or rules.in_git else None
