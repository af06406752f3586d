""""Did you mean …?" for a mistyped rule id, app name or key: one near miss or a few, never a list
of every candidate (a project may hold thousands of apps)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_ID_FORM = r"([A-Za-z]+)-?0*(\d{1,4})"  # compiled on first use: only a mistake needs it


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates `word` most likely meant: the same rule id written another way (CA-1, ca1,
    CA-001 → CA-01), the same name in another case, else the closest spellings."""
    known = sorted(candidates)
    id_form = re.fullmatch(_ID_FORM, word.strip())
    if id_form:
        canonical = f"{id_form.group(1).upper()}-{int(id_form.group(2)):02d}"
        if canonical in known:
            return [canonical]
    lowered = {name.lower(): name for name in known}
    if word.lower() in lowered:
        return [lowered[word.lower()]]
    import difflib  # ~2 ms, and only a mistake needs it

    return difflib.get_close_matches(word, known, n=n, cutoff=0.6)


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'CA-01'?)` for a near miss, else an empty string."""
    close = close_matches(word, candidates)
    return " (did you mean " + " or ".join(repr(name) for name in close) + "?)" if close else ""
