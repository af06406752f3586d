"""A small content-addressed cache of JSON documents in ~/.cache/ca-audit.

Used for work whose result depends only on bytes we can hash: validated rule packs and configs,
and parsed certificates. It lets the pre-commit path skip importing yaml, jsonschema and
cryptography on every commit. Anything that goes wrong here means "not cached", never an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def cache_dir() -> Path | None:
    if os.environ.get("CA_AUDIT_NO_CACHE"):
        return None
    base = os.environ.get("CA_AUDIT_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "ca-audit" if base else Path.home() / ".cache" / "ca-audit"


def read(key: str) -> Any | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write(key: str, value: Any) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f"{key}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(value), encoding="utf-8")
        temporary.replace(directory / f"{key}.json")
    except OSError:
        pass  # a read-only home is fine: the work is simply done again next time
