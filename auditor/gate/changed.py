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
from auditor.sources.ignore import GIT_TIMEOUT, git_ignored

# A change to one of these means every app is audited (the hooks' `files:` pattern names them too).
WHOLE_PROJECT_FILES = (".ca-audit.yaml", ".ca-audit.yml", ".forceignore", ".gitignore", "sfdx-project.json")


class ChangedError(Exception):
    """Changed-only mode cannot work here (no git, not a work tree, unknown revision): exit 2."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=False, check=False,
                              timeout=GIT_TIMEOUT)
    except FileNotFoundError as error:
        raise ChangedError("--changed-since needs git, and git is not installed or not on PATH") from error
    except subprocess.TimeoutExpired as error:
        raise ChangedError(f"git {args[0]} took more than {GIT_TIMEOUT} s") from error


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


def app_files(app: App) -> set[Path]:
    """Every file an app was read from: its main file and each file a field came from."""
    root = Path(app.root or ".")
    paths = {app.path, *(loc.path for loc in app.locations.values() if loc and loc.path)}
    return {(root / p).resolve() for p in paths if p}


def restrict(report: Report, changed: set[Path], what: str, folders: list[Path] | None = None) -> int:
    """Drop apps (with their findings and checks) none of whose files changed, nor lie in one of
    `folders` (the SFDX projects a changed whole-project file governs); returns how many."""
    def wanted(app: App) -> bool:
        files = app_files(app)
        return bool(files & changed) or any(f == d or d in f.parents for f in files for d in folders or [])

    selected = [app for app in report.apps if wanted(app)]
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


def is_whole_project_file(name: str) -> bool:
    """A file that changes what every app of its project is judged by (config, OAuth/OIDC settings)
    or what is audited at all (ignore files, sfdx-project.json)."""
    from auditor.sources.org_settings import SUFFIXES as SETTINGS_SUFFIXES

    base = Path(name).name.lower()
    return base in WHOLE_PROJECT_FILES or base.endswith(SETTINGS_SUFFIXES)


def project_above(path: Path, top: Path) -> Path | None:
    """The nearest folder at or above `path`'s folder holding sfdx-project.json, not above `top`."""
    folder = path.parent
    while folder == top or top in folder.parents:
        if (folder / "sfdx-project.json").is_file():
            return folder
        folder = folder.parent
    return None


# How many folders the search for the SFDX projects below a changed root file may look at.
SEARCH_LIMIT = 20_000


def _ignored_folders(folder: Path) -> set[Path]:
    """Untracked folders git ignores under `folder` (none outside a work tree or without git)."""
    return {(folder / name).resolve() for name in git_ignored(folder)[0] if name.endswith("/")}


def projects_below(folder: Path) -> tuple[list[Path], bool]:
    """The SFDX projects under `folder` (a project's own subfolders are not searched), and whether
    metadata files lie outside every one of them. Skips the folders a scan skips and those git
    ignores; a tree too large to search is a ChangedError rather than a guess."""
    from auditor.sources.files import SKIPPED_DIRS, is_metadata_file

    ignored = _ignored_folders(folder)
    projects: list[Path] = []
    loose = False
    seen = 0
    for current, dirnames, filenames in os.walk(folder):
        seen += 1
        if seen > SEARCH_LIMIT:
            raise ChangedError(
                f"--changed-files: more than {SEARCH_LIMIT} folders under {_shown(folder)} to search for the SFDX "
                "projects a changed root file governs; run the whole-project hook (ca-audit-all) instead")
        here = Path(current)
        if "sfdx-project.json" in filenames and here != folder:
            projects.append(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and (here / d).resolve() not in ignored)
        loose = loose or any(is_metadata_file(name) for name in filenames)
    return projects, loose


def governed(name: str, top: Path) -> list[Path]:
    """The folders to scan for a changed whole-project file: the SFDX project it sits in; else the
    projects below its folder that it applies to (a root .gitignore applies to all of them, a
    config file to those that find no nearer config, a .forceignore to none: only the one at a
    project root counts); else its own folder when metadata files lie under it and no project does.
    A file that governs no project and no metadata adds nothing."""
    from auditor.config import find_config

    path = Path(name).resolve()
    project = project_above(path, top)
    if project is not None:
        return [project]
    folder = path.parent
    found, loose = projects_below(folder)
    base = path.name.lower()
    if base == ".gitignore":
        projects = found
    elif base == ".forceignore":
        projects = []
    else:  # a config file: the projects that find no nearer one
        projects = [p for p in found if find_config(p) == path]
    if projects:
        return projects
    # Metadata outside any project: scanning the folder reads it (with the file's rules). With
    # projects beside it, that scan would read them too under one config: left to their own files.
    return [folder] if loose and not found else []


def _shown(folder: Path) -> str:
    from auditor.model import display_path

    return display_path(folder) if folder != Path.cwd().resolve() else "."


def _config_key(path: Path | None) -> object:
    """What makes two projects' configs the same config: the same bytes, and (as `rule_dirs` are
    relative to the config's folder) the same rule folders. Unreadable: its path, so it differs."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return path
    if b"rule_dirs" not in data:
        return data
    from auditor.config import load_config

    config, errors = load_config(path)
    return path if errors else (data, tuple(sorted(str(d.resolve()) for d in config.rule_dirs)))


class Targets:
    """What `--changed-files` scans, and which apps of it to keep."""

    def __init__(self, paths: list[str], named: set[Path], folders: list[Path]) -> None:
        self.paths = paths  # the folders and files to scan
        self.named = named  # the named files, resolved
        self.folders = folders  # every app in these is audited (projects a whole-project file governs)


def scan_targets(names: list[str], explicit_config: bool) -> Targets:
    """What `--changed-files` scans: the SFDX project of each named metadata file (so a project
    in a subfolder is read through its own sfdx-project.json, with its own .ca-audit.yaml), the
    projects each named whole-project file governs (`governed`), and the named metadata files
    themselves (a file outside the packageDirectories is then read as named, with a note; files
    the project scan reads are not read twice).

    One run has one config. Named files in projects whose configs differ would be judged by one
    of them silently, so that is a ChangedError (exit 2) unless --config says which one applies.
    Configs are compared by content, not by path (`_config_key`)."""
    from auditor.config import find_config
    from auditor.model import display_path
    from auditor.sources.files import is_metadata_file

    cwd = Path.cwd().resolve()
    top = next((c for c in (cwd, *cwd.parents) if (c / ".git").exists()), cwd)
    folders: list[Path] = []
    whole: list[Path] = []
    for name in names:
        if Path(name).name.lower() in WHOLE_PROJECT_FILES:
            found = governed(name, top)
            whole += found
            folders += found
        elif is_metadata_file(Path(name).name):
            folder = project_above(Path(name).resolve(), top) or top
            folders.append(folder)
            if is_whole_project_file(name):  # the OAuth/OIDC settings: every app of its project
                whole.append(folder)
    folders = list(dict.fromkeys(folders))
    if not explicit_config and len(folders) > 1:
        configs = {folder: find_config(folder) for folder in folders}
        if len({_config_key(c) for c in configs.values()}) > 1:
            distinct = sorted({display_path(c) if c else "none" for c in configs.values()})
            raise ChangedError(
                f"--changed-files: the files belong to {len(folders)} SFDX projects with different configs "
                f"({', '.join(distinct)}); run the hook once per project (`files: ^PROJECT/`) "
                "or name one with --config")
    paths = [_shown(folder) for folder in folders]
    paths += [name for name in names if is_metadata_file(Path(name).name) and Path(name).is_file()]
    return Targets(paths, {Path(name).resolve() for name in names}, list(dict.fromkeys(whole)))
