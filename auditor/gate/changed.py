"""Changed-only mode: audit only apps whose metadata files changed in git since a revision.

For pull-request gates. "Changed since REV" means what the branch changed: files that differ
between the merge base of REV and HEAD and the working tree (committed, staged or not), plus
untracked files. Using the merge base keeps commits that landed on REV after the branch was
cut from counting as changes of this branch. An External Client App is one app made of several
files (header, global OAuth settings, OAuth settings, policies): a change to any part selects it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from auditor.model import App, Report

# A change to one of these means every app is audited (the hooks' `files:` pattern names them too).
WHOLE_PROJECT_FILES = (".ca-audit.yaml", ".ca-audit.yml", ".forceignore", ".gitignore", "sfdx-project.json")


class ChangedError(Exception):
    """Changed-only mode cannot work here (no git, not a work tree, unknown revision): exit 2."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=False, check=False)
    except FileNotFoundError as error:
        raise ChangedError("--changed-since needs git, and git is not installed or not on PATH") from error


def _folder(path: str | Path) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent if str(folder.parent) else Path(".")
    return folder.resolve()


def work_tree(path: str | Path) -> Path:
    """The top of the git work tree holding `path`, or a ChangedError that says so."""
    folder = _folder(path)
    if not folder.exists():
        raise ChangedError(f"--changed-since: {path} does not exist")
    done = _git(["rev-parse", "--show-toplevel"], folder)
    if done.returncode != 0:
        raise ChangedError(
            f"--changed-since needs a git work tree, and {path} is not inside one "
            "(run the scan from a clone, or drop --changed-since)"
        )
    return Path(os.fsdecode(done.stdout.strip())).resolve()


def _unborn(top: Path) -> bool:
    """True before the repository's first commit: HEAD names a branch with no commit yet."""
    return _git(["rev-parse", "--verify", "--quiet", "HEAD"], top).returncode != 0


def _missing_revision(rev: str, top: Path) -> ChangedError:
    shallow = _git(["rev-parse", "--is-shallow-repository"], top).stdout.strip() == b"true"
    hint = ("this is a shallow clone: fetch enough history (actions/checkout with fetch-depth: 0, "
            "GIT_DEPTH: 0 in GitLab), or fetch the revision" if shallow else
            "check the name; a remote branch needs `git fetch` first")
    return ChangedError(f"--changed-since: {rev!r} is not a commit in {top} ({hint})")


def changed_files(rev: str, path: str | Path = ".") -> set[Path]:
    """Absolute paths of files changed since `rev` in the work tree that holds `path`.

    Before the first commit there is no `HEAD` to compare with: every file in the index or the
    work tree is new, so every one counts as changed (a pre-commit hook on a fresh repository).
    """
    top = work_tree(path)
    commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top)
    if commit.returncode != 0:
        if rev == "HEAD" and _unborn(top):
            return _all_files(top)
        raise _missing_revision(rev, top)
    base = commit.stdout.strip().decode()
    merge_base = _git(["merge-base", base, "HEAD"], top)
    if merge_base.returncode == 0 and merge_base.stdout.strip():
        base = merge_base.stdout.strip().decode()
    diff = _git(["diff", "--name-only", "--no-renames", "-z", base, "--"], top)
    if diff.returncode != 0:
        raise ChangedError(f"--changed-since: git diff failed: {diff.stderr.decode(errors='replace').strip()}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    names = [n for n in diff.stdout.split(b"\0") if n]
    names += [n for n in untracked.stdout.split(b"\0") if n] if untracked.returncode == 0 else []
    return {(top / os.fsdecode(name)).resolve() for name in names}


def _all_files(top: Path) -> set[Path]:
    listed = _git(["ls-files", "--cached", "--others", "--exclude-standard", "-z"], top)
    if listed.returncode != 0:
        raise ChangedError(f"--changed-since: git ls-files failed: {listed.stderr.decode(errors='replace').strip()}")
    return {(top / os.fsdecode(name)).resolve() for name in listed.stdout.split(b"\0") if name}


def named_files(names: list[str]) -> tuple[set[Path], bool]:
    """The files a pre-commit hook passes (`pass_filenames`), and whether they touch every app.

    A config file or the org-wide OAuth settings change what every app is judged by, and an ignore
    file or sfdx-project.json what is audited at all, so any of them among the names means the
    whole project is audited.
    """
    from auditor.sources.org_settings import SUFFIXES as SETTINGS_SUFFIXES

    whole = any(Path(name).name.lower() in WHOLE_PROJECT_FILES or name.lower().endswith(SETTINGS_SUFFIXES)
                for name in names)
    return {Path(name).resolve() for name in names}, whole


def app_files(app: App) -> set[Path]:
    """Every file an app was read from: its main file and each file a field came from."""
    root = Path(app.root or ".")
    paths = {app.path, *(loc.path for loc in app.locations.values() if loc and loc.path)}
    return {(root / p).resolve() for p in paths if p}


def restrict(report: Report, changed: set[Path], what: str) -> int:
    """Drop apps (with their findings and checks) none of whose files changed; returns how many."""
    selected = [app for app in report.apps if app_files(app) & changed]
    keep = {id(app) for app in selected}
    dropped = len(report.apps) - len(selected)
    report.apps = selected
    report.checks = [c for c in report.checks if id(c.app) in keep]
    kept_findings = {id(c.finding) for c in report.checks if c.finding is not None}
    names = {(app.kind, app.name) for app in selected}
    report.findings = [
        f for f in report.findings if id(f) in kept_findings or (not report.checks and (f.kind, f.app) in names)
    ]
    # Input errors all stay, changed or not: an unreadable part of an External Client App would
    # otherwise let the app be audited without it, and input errors never turn into a pass.
    report.messages.append(
        f"{what}: audited {len(selected)} app(s) whose files changed; {dropped} unchanged app(s) skipped"
    )
    return dropped



def project_folder(name: str, top: Path) -> Path:
    """The SFDX project a named file belongs to: the nearest folder above it holding
    sfdx-project.json, not above `top` (the git work tree, or the working folder); else `top`."""
    folder = Path(name).resolve().parent
    while folder == top or top in folder.parents:
        if (folder / "sfdx-project.json").is_file():
            return folder
        folder = folder.parent
    return top


def scan_targets(names: list[str], explicit_config: bool) -> list[str]:
    """What `--changed-files` scans: the SFDX project of each named file (so a project in a
    subfolder is read through its own sfdx-project.json, with its own .ca-audit.yaml), plus the
    named metadata files themselves (a file outside the packageDirectories is then read as named,
    with a note; files the project scan reads are not read twice).

    One run has one config. Named files in projects whose configs differ would be judged by one
    of them silently, so that is a ChangedError (exit 2) unless --config says which one applies."""
    from auditor.config import find_config
    from auditor.model import display_path
    from auditor.sources.files import is_metadata_file

    cwd = Path.cwd().resolve()
    top = next((c for c in (cwd, *cwd.parents) if (c / ".git").exists()), cwd)
    folders = list(dict.fromkeys(project_folder(name, top) for name in names)) or [cwd]
    if not explicit_config and len(folders) > 1:
        configs = {find_config(folder) for folder in folders}
        if len(configs) > 1:
            shown = ", ".join(display_path(c) if c else "none" for c in sorted(configs, key=str))
            raise ChangedError(
                f"--changed-files: the files belong to {len(folders)} SFDX projects with different configs ({shown}); "
                "run the hook once per project (`files: ^PROJECT/`) or name one with --config")
    targets = [display_path(folder) if folder != cwd else "." for folder in folders]
    return targets + [name for name in names if is_metadata_file(Path(name).name) and Path(name).is_file()]
