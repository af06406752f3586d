"""A rule's fix text, split by kind of app.

Fix texts of rules that apply to both kinds read "<advice for both> Connected app: …. External
client app: …. <advice for both>" (CONTRIBUTING.md, "Adding a rule"). A report about one app
shows its kind's part with the shared advice around it; `ca-audit fix` reads the Setup path and
the source change from its kind's part. A text not in that shape is used whole.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from auditor.model import CONNECTED_APP, EXTERNAL_CLIENT_APP

# Each marker once, at the start of the text or of a sentence, the connected app's first.
_MARKERS = {CONNECTED_APP: r"(?:^|(?<=\.\s))Connected app:",
            EXTERNAL_CLIENT_APP: r"(?:^|(?<=\.\s))External client app:"}
_SENTENCE_END = r"(?<=[.)])\s+(?=[A-Z])"


class FixParts(NamedTuple):
    shared_before: str
    by_kind: dict[str, str]  # each kind's part, its marker included
    shared_after: str


def split_fix(fix: str) -> FixParts | None:
    """The shared advice and each kind's part, or None when the text is not split by kind."""
    text = " ".join((fix or "").split())
    found = {kind: list(re.finditer(marker, text)) for kind, marker in _MARKERS.items()}
    if any(len(matches) != 1 for matches in found.values()):
        return None
    ca, eca = found[CONNECTED_APP][0].start(), found[EXTERNAL_CLIENT_APP][0].start()
    if ca >= eca:
        return None
    last = text[eca:]
    cut = _first_sentence_end(last)  # the external client app's part ends at its first sentence
    return FixParts(text[:ca].strip(), {CONNECTED_APP: text[ca:eca].strip(), EXTERNAL_CLIENT_APP: last[:cut].strip()},
                    last[cut:].strip())


def fix_for_kind(fix: str, kind: str) -> str:
    """The fix for an app of `kind`: its kind's part with the shared advice (the whole text when the
    text is not split by kind)."""
    parts = split_fix(fix)
    if parts is None or kind not in parts.by_kind:
        return " ".join((fix or "").split())
    return " ".join(p for p in (parts.shared_before, parts.by_kind[kind], parts.shared_after) if p)


def kind_part(fix: str, kind: str) -> str:
    """Only this kind's part, without its marker (the whole text when it is not split by kind)."""
    parts = split_fix(fix)
    if parts is None or kind not in parts.by_kind:
        return " ".join((fix or "").split())
    return parts.by_kind[kind].split(":", 1)[1].strip()


def _first_sentence_end(text: str) -> int:
    for match in re.finditer(_SENTENCE_END, text):
        if text.count("`", 0, match.start()) % 2 == 0:  # not inside a code span
            return match.start()
    return len(text)
