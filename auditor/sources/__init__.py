"""Where apps come from. Each source returns a SourceResult and never raises on bad input:
problems become InputErrors (path, line, message) so the rest of the input is still audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.model import App, InputError


@dataclass
class SourceResult:
    apps: list[App] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)

    def extend(self, other: SourceResult) -> None:
        self.apps.extend(other.apps)
        self.errors.extend(other.errors)
