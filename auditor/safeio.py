"""Bounded reading of files the tool did not write (metadata, rules, config, baselines, snapshots, keys).

A file is opened without blocking (`O_NONBLOCK`, so a FIFO cannot stall the open), then checked
with `fstat` on the open descriptor (no race with a swap of the path): only a regular file is read,
and never more than a cap (16 MiB by default; `CA_AUDIT_MAX_FILE_BYTES` changes it; org snapshots, which
grow with the org, have their own, `SNAPSHOT_MAX_BYTES`). A FIFO, a
device such as `/dev/zero`, a socket or a file over the cap is refused with a message, never read.
`inside` refuses a path whose real location leaves a folder (a symlink out of the scanned tree).

JSON is bounded too: its nesting depth is checked, so a deeply nested document is an error with a
message, not a RecursionError somewhere later.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from itertools import accumulate
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# An org snapshot (`ca-audit pull`) grows with the org: 18 MB for 20,000 users and 30,000 OAuth tokens,
# 101 MiB for 100,000 users and 200,000 tokens (measured, docs/org.md "Snapshot size"). It is read only
# when named on the command line, as JSON whose depth is bounded; parsing holds about 2.5x the file in
# memory for a real snapshot and at most ~25x for adversarial JSON (a list of empty objects), so the cap
# bounds memory too.
DEFAULT_SNAPSHOT_MAX_BYTES = 128 * 1024 * 1024
SNAPSHOT_CAP_VARIABLE = "CA_AUDIT_MAX_SNAPSHOT_BYTES"
MAX_JSON_DEPTH = 64


class Refused(Exception):
    """The file cannot or must not be read; `message` says why, without any of its content."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def max_bytes() -> int:
    return _cap("CA_AUDIT_MAX_FILE_BYTES", DEFAULT_MAX_BYTES)


def max_snapshot_bytes() -> int:
    """The cap for org snapshot files: what `pull` may write and every reader accepts."""
    return _cap(SNAPSHOT_CAP_VARIABLE, DEFAULT_SNAPSHOT_MAX_BYTES)


def _cap(variable: str, default: int) -> int:
    """A size cap from the environment. A value that is not a positive whole number of bytes is said
    once on stderr and the default applies (a silent fallback would hide a typo such as `200MB`)."""
    raw = os.environ.get(variable, "")
    try:
        value = int(raw or default)
    except ValueError:
        value = 0
    if value > 0:
        return value
    if variable not in _WARNED:
        _WARNED.add(variable)
        try:
            sys.stderr.write(f"ca-audit: {variable} must be a positive number of bytes; using {default}\n")
        except (OSError, AttributeError, ValueError):  # no stderr to say it on: the default still applies
            pass
    return default


_WARNED: set[str] = set()


def outside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether `path`, with every symlink resolved, lies outside `root` (also resolved)."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return real != base and not real.startswith(base.rstrip(os.sep) + os.sep)


def read_bytes(path: str | os.PathLike[str], *, inside: str | os.PathLike[str] | None = None,
               limit: int | None = None, variable: str = "CA_AUDIT_MAX_FILE_BYTES") -> bytes:
    """The file's bytes, refused when over `limit` (default: `max_bytes()`); `variable` is the setting
    that changes the limit, as the message names it."""
    limit = max_bytes() if limit is None else limit
    # Only a link (or a `..` in the path) can lead out of `inside`: files found by walking `inside` without
    # following links need no realpath, which is two system calls per file on every run.
    if inside is not None and (os.path.islink(path) or ".." in Path(path).parts) and os.path.exists(path) \
            and outside(path, inside):
        raise Refused("a symbolic link to a file outside the scanned folder; not read")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise Refused(f"cannot read the file: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file (a folder, FIFO, device or socket); not read")
        if info.st_size > limit:
            raise Refused(f"the file is larger than {limit} bytes ({variable}); not read")
        chunks, total = [], 0
        while True:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise Refused(f"the file is larger than {limit} bytes ({variable}); not read")
        return b"".join(chunks)
    except OSError as error:
        raise Refused(f"cannot read the file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)


def read_text(path: str | os.PathLike[str], *, inside: str | os.PathLike[str] | None = None,
              snapshot: bool = False) -> str:
    """The file as UTF-8 text; `snapshot`: an org snapshot, under the snapshot cap instead of the file cap."""
    data = read_bytes(path, inside=inside, limit=max_snapshot_bytes() if snapshot else None,
                      variable=SNAPSHOT_CAP_VARIABLE if snapshot else "CA_AUDIT_MAX_FILE_BYTES")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the file is not valid UTF-8 text") from None


def json_loads(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing documents nested deeper than `max_depth`. Raises ValueError (as
    json.loads does for bad JSON) with a message."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested more than {max_depth} levels deep") from None
    if depth_exceeds(data, max_depth):
        raise ValueError(f"JSON nested more than {max_depth} levels deep")
    return data


def brackets_deeper_than(text: str, max_depth: int) -> bool:
    """A quick, conservative depth check on JSON text: brackets inside strings count too, so it may say
    yes for a document that is not that deep. For the cache, where a yes only means a miss. (The loops
    run in C: the cache is read on every run.)"""
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    return bool(brackets) and max(accumulate(map(_STEP.__getitem__, brackets))) > max_depth


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")  # UTF-8: no other character has these bytes
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def depth_exceeds(data: Any, max_depth: int) -> bool:
    """Whether lists and mappings nest more than `max_depth` levels (the value itself is level 1). Level
    by level, not recursive: a recursive walk is what a deep document would break."""
    level = [data] if isinstance(data, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below = []
        for value in level:
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, (dict, list)):
                    below.append(child)
        level = below
    return False


def display(path: Path | str) -> str:
    """A path for messages: names that are not valid UTF-8 shown with escapes, never as an undecodable string."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
