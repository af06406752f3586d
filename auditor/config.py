"""`.ca-audit.yaml`: found in the scanned folder or its parents up to the repository root (or given
with --config).

The search stops at the folder holding `.git`: a config above the repository (in a home folder, or
a CI runner's workspace) is not the project's, and its waivers and disabled rules must not apply
silently. Outside a git work tree only the scanned folder itself is searched. The config used is
named in every report (Report.config)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import safeio
from auditor.datafile import Problem, load_validated, read_files
from auditor.model import FLOW_NAMES, SEVERITY_WORDS, InputError, Severity, display_path

CONFIG_NAMES = (".ca-audit.yaml", ".ca-audit.yml")
CONFIG_SCHEMA = "config.schema.json"


@dataclass
class Waiver:
    """A finding accepted in `.ca-audit.yaml`: rule, app, reason, and until when."""

    rule: str
    app: str
    reason: str
    expires: dt.date | None = None
    owner: str | None = None
    ticket: str | None = None
    matched: bool = False

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "app": self.app, "reason": self.reason}
        if self.expires:
            data["expires"] = self.expires.isoformat()
        for key in ("owner", "ticket"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


@dataclass
class Config:
    """`.ca-audit.yaml` as the run uses it (the defaults when there is none)."""

    path: Path | None = None
    fail_on: Severity = Severity.HIGH
    disabled_rules: set[str] = field(default_factory=set)
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    rule_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # checked against each rule's params
    text: str = ""  # the file as read, for the line of a problem found after validation
    rule_dirs: list[Path] = field(default_factory=list)
    app_flows: dict[str, list[str]] = field(default_factory=dict)
    integration_users: dict[str, list[str]] = field(default_factory=dict)
    waivers: list[Waiver] = field(default_factory=list)


def find_config(start: Path) -> Path | None:
    folder = (start if start.is_dir() else start.parent).resolve()
    candidates = [folder, *folder.parents]
    repository = next((c for c in candidates if (c / ".git").exists()), None)
    searched = candidates[: candidates.index(repository) + 1] if repository is not None else [folder]
    for candidate in searched:
        for name in CONFIG_NAMES:
            # lexists: a config that is a FIFO or a dangling link is found, then refused with a reason
            if os.path.lexists(candidate / name):
                return candidate / name
    return None


def load_config(path: Path | None) -> tuple[Config, list[InputError]]:
    if path is None:
        return Config(), []
    shown = safeio.display(display_path(path))
    files, errors = read_files([(path, shown)])
    if errors:
        return Config(path=path), errors
    documents, errors = load_validated(files, CONFIG_SCHEMA, check=config_problems, shape=config_shape)
    if errors:
        return Config(path=path), errors
    config = build_config(documents[0] or {}, path)
    config.text = files[0].text
    errors = _rule_dir_errors(config, shown)
    return (Config(path=path), errors) if errors else (config, [])


def _rule_dir_errors(config: Config, shown: str) -> list[InputError]:
    """Each `rule_dirs` entry is a folder inside the config's repository, reported at its own line."""
    assert config.path is not None
    project = _project_root(config.path.parent)
    errors = []
    for index, folder in enumerate(config.rule_dirs):
        line = config_line(config, ["rule_dirs", index])
        if safeio.outside(folder, project):  # rule_dirs are the project's: a path (or link) out of it is refused
            errors.append(InputError(shown, line, f"at rule_dirs.{index}: the folder is outside the repository "
                                                  "of the config (or a link out of it); not read"))
        elif not folder.is_dir():  # paths are relative to the config's folder, not to where ca-audit runs
            errors.append(InputError(shown, line, f"at rule_dirs.{index}: rule folder not found: "
                                                  f"{safeio.display(display_path(folder))}"))
    return errors


def _project_root(folder: Path) -> Path:
    """The git work tree holding `folder` (the config may sit below the rules it names, in a monorepo),
    or the folder itself outside git."""
    resolved = folder.resolve()
    return next((c for c in [resolved, *resolved.parents] if (c / ".git").exists()), resolved)


def config_line(config: Config, place: list[str | int]) -> int | None:
    """The line of a place in the config file (a key such as `rules.CA-01`, or a list item), for a
    message. Computed only when there is a problem to show: it parses the YAML again, which the
    cached path never does."""
    from auditor.datafile import key_line, line_of

    if not config.text:
        return None
    *parent, last = place
    return key_line(config.text, parent, last) if isinstance(last, str) else line_of(config.text, list(place))


def config_problems(data: Any) -> list[Problem]:
    """What the schema cannot say: waiver dates are real dates."""
    problems: list[Problem] = []
    waivers = data.get("waivers") if isinstance(data, dict) else None
    for index, entry in enumerate(waivers if isinstance(waivers, list) else []):
        expires = entry.get("expires") if isinstance(entry, dict) else None
        if isinstance(expires, str) and _date(expires) is None:
            problems.append((["waivers", index, "expires"], "not a real date (YYYY-MM-DD, e.g. 2027-03-31)"))
    return problems


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def config_shape(data: Any) -> bool:
    """What a cached config must still look like to be used without the schema."""
    if data is None:
        return True
    if not isinstance(data, dict) or data.get("fail_on", "high") not in SEVERITY_WORDS:
        return False
    rules, apps, waivers = data.get("rules") or {}, data.get("apps") or {}, data.get("waivers", [])
    rule_dirs = data.get("rule_dirs", [])
    strings = lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value)  # noqa: E731
    return (isinstance(rules, dict) and all(v in ("off", False) or (isinstance(v, dict) and v.get("severity", "high")
                                                                    in SEVERITY_WORDS
                                                                    and isinstance(v.get("params", {}), dict))
                                            for v in rules.values())
            and strings(rule_dirs)
            and isinstance(apps, dict) and all(v is None or (isinstance(v, dict) and strings(v.get("flows", []))
                                                             and all(f in FLOW_NAMES for f in v.get("flows", []))
                                                             and strings(v.get("integration_users", [])))
                                               for v in apps.values())
            and isinstance(waivers, list)
            and all(isinstance(w, dict) and all(isinstance(w.get(k), str) for k in ("rule", "app", "reason"))
                    and (w.get("expires") is None or (isinstance(w["expires"], str) and _date(w["expires"])))
                    for w in waivers))


def build_config(data: dict[str, Any], path: Path) -> Config:
    config = Config(path=path)
    if "fail_on" in data:
        config.fail_on = Severity.parse(data["fail_on"])
    for rule_id, setting in (data.get("rules") or {}).items():
        if setting in ("off", False):
            config.disabled_rules.add(rule_id)
            continue
        if "severity" in setting:
            config.severity_overrides[rule_id] = Severity.parse(setting["severity"])
        if "params" in setting:
            config.rule_params[rule_id] = dict(setting["params"] or {})
    config.rule_dirs = [path.parent / d for d in data.get("rule_dirs", [])]
    for app_name, settings in (data.get("apps") or {}).items():
        config.app_flows[app_name] = list((settings or {}).get("flows", []))
        config.integration_users[app_name] = list((settings or {}).get("integration_users", []))
    for entry in data.get("waivers", []):
        expires = _date(entry["expires"]) if entry.get("expires") else None
        config.waivers.append(Waiver(entry["rule"], entry["app"], entry["reason"].strip(), expires,
                                     entry.get("owner"), entry.get("ticket")))
    return config

