"""A loaded rule: plain data, validated against schemas/rule.schema.json before it is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.model import APP_KINDS, Severity


@dataclass
class Rule:
    """One rule of a pack, as loaded from its YAML file (and adjusted by the config)."""

    id: str
    title: str
    severity: Severity
    message: str
    require: dict[str, Any]
    source_path: str  # the YAML file the rule came from
    applies_to: tuple[str, ...] = APP_KINDS
    when: dict[str, Any] | None = None
    severity_if: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""
    fix: str = ""
    location: str | None = None
    references: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    patch: dict[str, Any] | None = None  # the fix as model-field edits (auditor/fix)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> description, schema, default
    default_severity: Severity | None = None  # before config overrides

    @property
    def flows(self) -> list[str]:
        """Flows the rule bears on, read from its tags (preflight uses these)."""
        from auditor.model import FLOW_NAMES

        return [t for t in self.tags if t in FLOW_NAMES]
