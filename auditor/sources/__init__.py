"""Where apps come from. Each source returns a SourceResult and never raises on bad input:
problems become InputErrors (path, line, message) so the rest of the input is still audited.

`read_inputs` is the one place that picks the sources for a run: metadata files and folders,
`.json` org snapshots, and a live org. It reads each once; `org_apps` converts what the org
sources gave into Apps, and can be called again with other integration users without reading
anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model import App, InputError

if TYPE_CHECKING:
    from auditor.sources.org.target import OrgTarget


# The holders below are plain classes, not dataclasses: every run imports them, and building a
# dataclass costs ~0.5 ms of start-up (its methods are generated and compiled on import).


class SourceResult:
    """The apps a source read, the problems it found in its input, and notes on what it left out
    (files an ignore rule excluded, named files outside the project's package directories)."""

    __slots__ = ("apps", "errors", "notes")

    def __init__(self, apps: list[App] | None = None, errors: list[InputError] | None = None,
                 notes: list[str] | None = None) -> None:
        self.apps = apps if apps is not None else []
        self.errors = errors if errors is not None else []
        self.notes = notes if notes is not None else []

    def extend(self, other: SourceResult) -> None:
        self.apps.extend(other.apps)
        self.errors.extend(other.errors)
        self.notes.extend(other.notes)


class OrgData:
    """One org's raw data — a snapshot file or a live pull — before conversion to Apps."""

    __slots__ = ("origin", "data", "errors")

    def __init__(self, origin: str, data: dict[str, Any] | None, errors: list[InputError] | None = None) -> None:
        self.origin = origin  # how messages name it: the snapshot path, or the org
        self.data = data  # None when it could not be read
        self.errors = errors if errors is not None else []


class Inputs:
    """Everything a run read, once."""

    __slots__ = ("repository", "orgs")

    def __init__(self, repository: SourceResult, orgs: list[OrgData] | None = None) -> None:
        self.repository = repository
        self.orgs = orgs if orgs is not None else []


def read_inputs(paths: list[str], org: OrgTarget | None = None, users_to_read: list[str] | None = None,
                exclude: list[str] | None = None) -> Inputs:
    """Files and folders, `.json` snapshots, and a live org when `org` is set (logging in and pulling
    the users in `users_to_read` too). `exclude`: gitignore-style globs left out of folder scans."""
    from auditor.sources.files import scan_paths

    if org is None and not any(p.lower().endswith(".json") for p in paths):
        return Inputs(scan_paths(paths, exclude))  # the pre-commit path: no snapshot or org code loaded
    from auditor.sources import snapshot

    snapshots = [p for p in paths if snapshot.looks_like_snapshot(Path(p))]
    others = [p for p in paths if p not in snapshots]
    inputs = Inputs(scan_paths(others, exclude) if others else SourceResult())
    for shown in snapshots:
        data, errors = snapshot.load(Path(shown), shown)
        inputs.orgs.append(OrgData(shown, data, errors))
    if org is not None:
        from auditor.sources.org.pull import read_org

        data, errors = read_org(org, sorted(users_to_read or []))
        inputs.orgs.append(OrgData(org.shown, data, errors))
    return inputs


def org_apps(orgs: list[OrgData], integration_users: Mapping[str, list[str]]) -> SourceResult:
    """The Apps of every org source, with `integration_users` (config `apps.*.integration_users`)
    resolved against the org's users."""
    result = SourceResult()
    if not orgs:
        return result
    from auditor.sources.org.convert import apps_from_snapshot

    for org in orgs:
        result.errors.extend(org.errors)
        if org.data is not None:
            result.extend(apps_from_snapshot(org.data, origin=org.origin, integration_users=integration_users))
    return result
