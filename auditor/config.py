"""`.ca-audit.yaml`: found in the scanned folder or its parents (or given with --config)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.datafile import load_validated, read_files
from auditor.model import InputError, Severity, display_path

CONFIG_NAMES = (".ca-audit.yaml", ".ca-audit.yml")
CONFIG_SCHEMA = "config.schema.json"


@dataclass
class Waiver:
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
    folder = start if start.is_dir() else start.parent
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        for name in CONFIG_NAMES:
            if (candidate / name).is_file():
                return candidate / name
    return None


def load_config(path: Path | None) -> tuple[Config, list[InputError]]:
    if path is None:
        return Config(), []
    files, errors = read_files([(path, display_path(path))])
    if errors:
        return Config(path=path), errors
    documents, errors = load_validated(files, CONFIG_SCHEMA)
    if errors:
        return Config(path=path), errors
    config = build_config(documents[0] or {}, path)
    config.text = files[0].text
    return config, []


def param_line(config: Config, rule_id: str, name: str) -> int | None:
    """The line of `rules.ID.params.NAME` in the config file, for a message. Computed only when there is a
    problem to show: it parses the YAML again, which the cached path never does."""
    from auditor.datafile import _line_of as line_of

    return line_of(config.text, ["rules", rule_id, "params", name]) if config.text else None


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
        expires = dt.date.fromisoformat(entry["expires"]) if entry.get("expires") else None
        config.waivers.append(Waiver(entry["rule"], entry["app"], entry["reason"].strip(), expires,
                                     entry.get("owner"), entry.get("ticket")))
    return config

