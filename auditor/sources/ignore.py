"""Which files a folder scan leaves out: `.forceignore`, `.gitignore` and `--exclude`, and by which line.

- `.forceignore` (gitignore syntax) at the SFDX project root — the folder holding
  `sfdx-project.json`, the scanned folder or one above it: what `sf project deploy` leaves out is
  not audited either (CA-23's fix tells users to add the global OAuth settings file to it). It
  applies to committed files too, as it does for the Salesforce CLI.
- `.gitignore`, when the folder is in a git work tree: git ignores only *untracked* files, so git
  itself is asked which untracked files it ignores (`git ls-files --others --ignored
  --exclude-standard --directory`, one call for the scanned folder, bounded because ignored folders
  are listed whole). A committed file is audited whatever `.gitignore` says. Without git (not
  installed, or it refuses the repository) `.gitignore` is not applied at all rather than guessed.
- `--exclude GLOB` (repeatable, gitignore syntax) relative to the scanned folder.

Every metadata file left out is counted against the file and line that left it out
(`.forceignore:1` with its pattern), so a report can say what it did not audit, and a scan that
an ignore rule emptied is not mistaken for a clean one (sources/files.py).

pathspec (~15 ms to import) is imported only when a `.forceignore` or `--exclude` exists, and git is
run only when a `.gitignore` exists, so a scan of a folder without them pays nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from auditor.model import display_path

FORCEIGNORE = ".forceignore"
GITIGNORE = ".gitignore"


def _spec(lines: list[str]) -> tuple[Any, list[int]]:
    """The spec of an ignore file's lines, and for each of its patterns the line (0-based) it came
    from. pathspec numbers patterns, not lines, and drops blank lines (1.1.1): the Salesforce CLI's
    .forceignore template has blank lines, so its numbers would name the wrong line. Each line is
    turned into a pattern on its own, and the spec is made of those that are patterns."""
    from pathspec import GitIgnoreSpec

    patterns, numbers = [], []
    for number, line in enumerate(lines):
        for pattern in GitIgnoreSpec.from_lines([line]).patterns:
            patterns.append(pattern)
            numbers.append(number)
    return GitIgnoreSpec(patterns), numbers


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


Reason = tuple[str, "int | None", str]  # the ignore file (or --exclude), its line, the pattern


def label(reason: Reason) -> str:
    """`.forceignore:1 (`**`)`"""
    shown, line, detail = reason
    return f"{shown}:{line} ({detail})" if line else f"{shown} ({detail})"


class _Rules:
    """One ignore file (or the --exclude globs): its spec, its lines, and how messages name it."""

    def __init__(self, shown: str, base: str, lines: list[str], line_numbers: bool = True) -> None:
        self.shown, self.base, self.lines, self.line_numbers = shown, base, lines, line_numbers
        self.spec, self.numbers = _spec(lines)

    def why(self, path: str) -> Reason | None:
        relative = _relative(path, self.base)
        if relative is None:
            return None
        result = self.spec.check_file(relative)
        if not result.include:
            return None
        number = self.numbers[result.index] if result.index is not None else None
        pattern = self.lines[number].strip() if number is not None else "?"
        line = number + 1 if self.line_numbers and number is not None else None
        return (self.shown, line, f"`{pattern}`")


class Ignore:
    """The ignore rules of one scanned folder. `excluded(path)` takes an absolute path (str) and
    counts what it leaves out; `notes()` says what was left out, by file and line."""

    def __init__(self, folder: Path, exclude: list[str]) -> None:
        self.folder = folder.resolve()
        self.rules: list[_Rules] = []
        project = _project_root(self.folder) or self.folder
        if (lines := _read(project / FORCEIGNORE)) is not None:
            self.rules.append(_Rules(display_path(project / FORCEIGNORE), str(project), lines))
        if exclude:
            self.rules.append(_Rules("--exclude", str(self.folder), list(exclude), line_numbers=False))
        self.top = _work_tree_top(self.folder)
        self.gitignore_seen = self.top is not None and any(
            (base / GITIGNORE).is_file() for base in (self.folder, *self.folder.parents)
            if base == self.top or self.top in base.parents)
        self._git: tuple[set[str], tuple[str, ...]] | None = None  # ignored files, ignored folders (end in /)
        self.problems: list[str] = []
        self.counts: Counter[Reason] = Counter()
        self._by_git: list[str] = []

    def enter(self, filenames: list[str]) -> None:
        """Called for each folder of the walk: a nested .gitignore makes git's answer needed."""
        if self.top is not None and GITIGNORE in filenames:
            self.gitignore_seen = True

    def excluded(self, path: str) -> bool:
        for rules in self.rules:
            why = rules.why(path)
            if why is not None:
                self.counts[why] += 1
                return True
        if self.gitignore_seen and self._git_ignores(path):
            self._by_git.append(path)
            return True
        return False

    def _git_ignores(self, path: str) -> bool:
        if self._git is None:
            self._git = self._ask_git()
        files, folders = self._git
        return path in files or path.startswith(folders)

    def _ask_git(self) -> tuple[set[str], tuple[str, ...]]:
        names, problem = git_ignored(self.folder)
        if problem is not None:
            self.problems.append(f".gitignore not applied: {problem}")
        files, folders = set(), []
        for name in names:
            absolute = os.path.join(str(self.folder), name)
            if absolute.endswith("/"):
                folders.append(os.path.normpath(absolute) + os.sep)
            else:
                files.add(os.path.normpath(absolute))
        return files, tuple(folders)

    def _attribute_git(self) -> None:
        """Which .gitignore line left each untracked file out (git check-ignore -v, one call)."""
        import subprocess

        paths, self._by_git = self._by_git, []
        if not paths:
            return
        names = b"".join(os.fsencode(os.path.relpath(p, self.folder)) + b"\0" for p in paths)
        try:
            done = subprocess.run(["git", "check-ignore", "-v", "-z", "--stdin"], input=names,
                                  cwd=self.folder, capture_output=True, check=False, timeout=GIT_TIMEOUT)
            fields = done.stdout.split(b"\0")
        except (OSError, subprocess.SubprocessError):
            fields = []
        explained = 0
        for index in range(0, len(fields) - 3, 4):
            source, line, pattern = (os.fsdecode(f) for f in fields[index:index + 3])
            if source:
                number = int(line) if line.isdigit() else None
                self.counts[(source, number, f"`{pattern}`, untracked files only")] += 1
                explained += 1
        if len(paths) > explained:
            self.counts[(GITIGNORE, None, "untracked files only")] += len(paths) - explained

    def notes(self) -> list[str]:
        """What was left out, most first (call once, after the walk)."""
        self._attribute_git()
        return [*self.problems, *(f"{count} metadata file{'s' if count != 1 else ''} excluded by {label(why)}"
                                  for why, count in self.counts.most_common())]


GIT_TIMEOUT = 60  # seconds for one git call: a scan must end, whatever the work tree holds


def git_ignored(folder: Path) -> tuple[list[str], str | None]:
    """The untracked files and folders (ending in `/`) git ignores under `folder`, relative to it
    (`git ls-files --others --ignored --exclude-standard --directory`: ignored folders are listed
    whole), and why git could not say, if it could not (then the list is empty)."""
    import subprocess

    try:
        done = subprocess.run(["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"],
                              cwd=folder, capture_output=True, check=False, timeout=GIT_TIMEOUT)
    except OSError:
        return [], "git is not installed or cannot run"
    except subprocess.TimeoutExpired:
        return [], f"git ls-files took more than {GIT_TIMEOUT} s"
    if done.returncode != 0:
        return [], f"git ls-files failed ({' '.join(done.stderr.decode(errors='replace').split())[:200]})"
    return [os.fsdecode(name) for name in done.stdout.split(b"\0") if name], None


def _relative(path: str, base: str) -> str | None:
    relative = os.path.relpath(path, base).replace(os.sep, "/")
    if relative == "." or relative.startswith("../"):
        return None
    return relative


def load(folder: Path, exclude: list[str]) -> Ignore | None:
    """The folder's ignore rules, or None when there can be none (and pathspec stays unimported)."""
    resolved = folder.resolve()
    project = _project_root(resolved) or resolved
    if not exclude and not (project / FORCEIGNORE).is_file() and _work_tree_top(resolved) is None:
        return None
    return Ignore(resolved, exclude)
