"""The unified diff of a patched file, with no secret in it.

A diff's context lines are copies of the file, and a file in source control may hold a consumer
key or a committed consumer secret (CA-23). Those lines never appear in the diff: the context of a
hunk stops before them (fewer context lines still apply with `git apply`). One case needs more: a
change directly before such a line leaves its hunk with no trailing context, which plain `git apply`
anchors at the end of the file and so refuses (it never applies it elsewhere); `git apply
--unidiff-zero` applies it, and `--write` writes the same bytes. Such a diff is marked
(`unidiff_zero`). `mask_line` masks a key (first 6 characters, then `…`) or a secret (`[REDACTED]`)
for any other output. A patch that changes a consumer key or secret line is never produced: no rule
edits secrets, and `SecretLineChanged` stops one that would.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from auditor.fix.xmltext import Node, locate
from auditor.formats._safe import visible

SECRET_TAGS = ("consumerKey", "consumerSecret")
CONTEXT = 3
REDACTED = "[REDACTED]"


class SecretLineChanged(ValueError):
    """A patch would change a line holding a consumer key or secret."""


@dataclass
class Diff:
    text: str
    unidiff_zero: bool  # a hunk has no trailing context (a secret line follows): `git apply --unidiff-zero`


def _secret_lines(data: bytes) -> set[int]:
    """Indexes (0-based) of every line a consumerKey / consumerSecret element spans."""
    try:
        root = locate(data)
    except Exception:  # noqa: BLE001 - unparsable bytes: fall back to a textual match
        return {i for i, line in enumerate(data.splitlines()) if re.search(rb"<(consumerKey|consumerSecret)\b", line)}
    found: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.tag in SECRET_TAGS:
            first = data.count(b"\n", 0, node.start)
            last = data.count(b"\n", 0, max(node.end - 1, node.start))
            found.update(range(first, last + 1))
    return found


def mask_line(line: str) -> str:
    """A line of a consumer key or secret element with its value masked."""
    line = re.sub(r"(<consumerSecret\b[^>]*>)[^<]*", lambda m: m.group(1) + REDACTED, line)
    line = re.sub(r"(<consumerKey\b[^>]*>)([^<]{0,6})[^<]*", lambda m: m.group(1) + m.group(2) + "…", line)
    if "<consumerKey" not in line and "<consumerSecret" not in line and "</consumer" not in line:
        ending = line[len(line.rstrip("\r\n")):]
        return line[:len(line) - len(line.lstrip())] + REDACTED + ending  # inside a multi-line value
    return re.sub(r"^(\s*)[^<\s][^<]*(</consumer)", lambda m: m.group(1) + REDACTED + m.group(2), line)


def _range(start: int, length: int) -> str:
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def unified_diff(path: str, before: bytes, after: bytes, context: int = CONTEXT) -> Diff:
    """A `git apply`-able unified diff (line endings kept inside the lines) whose context never holds
    a consumer key or secret line."""
    old = before.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    new = after.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    secret_old, secret_new = _secret_lines(before), _secret_lines(after)
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    changes = [op for op in opcodes if op[0] != "equal"]
    for _tag, i1, i2, j1, j2 in changes:
        if secret_old & set(range(i1, i2)) or secret_new & set(range(j1, j2)):
            raise SecretLineChanged(f"{path}: the patch would change a consumer key or secret line")
    # each change's context window, cut at a secret line; windows that touch make one hunk
    hunks: list[list[int]] = []  # [old start, old end, first change index, last change index]
    unidiff_zero = False
    for index, (_tag, i1, i2, _j1, _j2) in enumerate(changes):
        start = max(i1 - context, 0)
        while any(line in secret_old for line in range(start, i1)):
            start += 1
        end = min(i2 + context, len(old))
        cut = next((line for line in range(i2, end) if line in secret_old), None)
        if cut is not None:
            end = cut
            if end == i2:  # no trailing context: plain `git apply` anchors the hunk at the end of the file
                unidiff_zero = True
        if hunks and start <= hunks[-1][1]:
            hunks[-1][1], hunks[-1][3] = max(end, hunks[-1][1]), index
        else:
            hunks.append([start, end, index, index])
    if not hunks:
        return Diff("", False)
    shown = visible(path)  # a file name may hold a newline or an escape: never a line of its own
    out = [f"--- a/{shown}\n", f"+++ b/{shown}\n"]
    for start, end, first, last in hunks:
        shift = changes[first][3] - changes[first][1]  # new index - old index before the first change
        new_start = start + shift
        new_end = end + (changes[last][4] - changes[last][2])
        out.append(f"@@ -{_range(start, end - start)} +{_range(new_start, new_end - new_start)} @@\n")
        cursor = start
        for _tag, i1, i2, j1, j2 in changes[first:last + 1]:
            out += [" " + _shown(old, line, secret_old) for line in range(cursor, i1)]
            out += ["-" + line for line in old[i1:i2]]
            out += ["+" + line for line in new[j1:j2]]
            cursor = i2
        out += [" " + _shown(old, line, secret_old) for line in range(cursor, end)]
    return Diff("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out),
                unidiff_zero)


def _shown(lines: list[str], index: int, secret: set[int]) -> str:
    return mask_line(lines[index]) if index in secret else lines[index]
