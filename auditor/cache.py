"""A small content-addressed cache of JSON documents in ~/.cache/ca-audit.

Used for work whose result depends only on bytes we can hash: validated rule packs and configs,
and parsed certificates. It lets the pre-commit path skip importing yaml, jsonschema and
cryptography on every commit. Anything that goes wrong here means "not cached", never an error, and
what is read back is checked by its reader before it is used (datafile, certificates).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from auditor import safeio


def cache_dir() -> Path | None:
    if os.environ.get("CA_AUDIT_NO_CACHE"):
        return None
    base = os.environ.get("CA_AUDIT_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "ca-audit" if base else Path.home() / ".cache" / "ca-audit"


def read(key: str) -> Any | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:  # bounded like any input: a FIFO or a huge file planted in the cache must not hang the run
        text = safeio.read_text(directory / f"{key}.json")
        if safeio.brackets_deeper_than(text, safeio.MAX_JSON_DEPTH):  # the quick check: a miss, never a crash
            return None
        return json.loads(text)
    except (safeio.Refused, ValueError, RecursionError):
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
        _prune(directory)
    except OSError:
        pass  # a read-only home is fine: the work is simply done again next time


MAX_ENTRIES = 256  # rule packs, configs and certificates; every edit of a rule file adds one


def _prune(directory: Path) -> None:
    """Keep the cache from growing without bound: drop the least recently written entries.
    Only runs on a miss (a write), so hits stay a single file read."""
    entries = list(directory.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime)
    for stale in entries[: len(entries) - MAX_ENTRIES]:
        stale.unlink(missing_ok=True)
