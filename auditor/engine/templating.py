"""Message templates: `{name}` and `{oauth.scopes}` style placeholders filled from model values.

Deliberately not str.format: a template is data from a rule file and must not reach attributes.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
MAX_LISTED = 10  # items of a list value shown in a message


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def render(template: str, values: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda match: _show(values.get(match.group(1))), template)


def _show(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if not value:
            return "none"
        shown = ", ".join(str(v) for v in value[:MAX_LISTED])
        # an app from a pull request may carry thousands of scopes or callback URLs: the message stays short
        return shown if len(value) <= MAX_LISTED else f"{shown}, … ({len(value)} in all)"
    return str(value)
