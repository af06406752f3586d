"""Evaluate rule conditions over an app's values. Pure data in, bool out: nothing is executed.

Unknown values are None. Positive tests on None are false and negative tests true, so a rule
that needs a value to be known says so with `exists: true` rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

OPERATORS = (
    "equals", "not_equals", "in", "not_in", "contains", "not_contains", "contains_any",
    "contains_all", "all_in", "exists", "empty", "matches", "less_than", "greater_than",
)


Predicate = Callable[[dict[str, Any]], bool]
# Conditions are compiled once into closures (a large scan evaluates ~100k of them). Keyed by
# id(); the condition itself is kept alongside so that its id cannot be reused.
_COMPILED: dict[int, tuple[dict[str, Any], Predicate]] = {}


def holds(condition: dict[str, Any], values: dict[str, Any]) -> bool:
    entry = _COMPILED.get(id(condition))
    if entry is None:
        entry = _COMPILED[id(condition)] = (condition, compile_condition(condition))
    return entry[1](values)


def compile_condition(condition: dict[str, Any]) -> Predicate:
    # Plain loops rather than all()/any() over a generator: about 2.5 times faster per call.
    if "all" in condition:
        parts = [compile_condition(c) for c in condition["all"]]

        def every(values: dict[str, Any]) -> bool:
            for part in parts:
                if not part(values):
                    return False
            return True

        return every
    if "any" in condition:
        parts = [compile_condition(c) for c in condition["any"]]

        def some(values: dict[str, Any]) -> bool:
            for part in parts:
                if part(values):
                    return True
            return False

        return some
    if "not" in condition:
        inner = compile_condition(condition["not"])
        return lambda values: not inner(values)
    operator = next(key for key in condition if key != "field")
    test, name, expected = _TESTS[operator], condition["field"], condition[operator]
    return lambda values: test(values.get(name), expected)


def _sequence(value: Any) -> list[Any] | str:
    if value is None:
        return []
    return value if isinstance(value, (list, str)) else [value]


def _contains(value: Any, item: Any) -> bool:
    return item in _sequence(value)


def _contains_any(sequence: list[Any] | str, items: list[Any]) -> bool:
    for item in items:
        if item in sequence:
            return True
    return False


def _contains_all(sequence: list[Any] | str, items: list[Any]) -> bool:
    for item in items:
        if item not in sequence:
            return False
    return True


@lru_cache(maxsize=256)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# `matches` runs Python's backtracking engine on values from the input, so both sides are bounded:
# a rule's pattern is refused at load time when its shape can backtrack catastrophically (see
# `pattern_problem`), and a value longer than MAX_MATCHED_CHARS is not searched at all: the run
# stops with an error rather than pass or fail on a guess.
MAX_PATTERN_CHARS = 200
MAX_MATCHED_CHARS = 1000
MAX_UNBOUNDED_REPEATS = 2
_LARGE_REPEAT = 100  # {n,m} with m above this counts as unbounded


class MatchRefused(Exception):
    """A value too long to search with a rule's `matches` pattern in bounded time."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def _matches(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
        text = str(item)
        if len(text) > MAX_MATCHED_CHARS:
            raise MatchRefused(f"a value of {len(text)} characters is longer than the {MAX_MATCHED_CHARS} a "
                               "`matches` pattern searches")
        if compiled(pattern).search(text):
            return True
    return False


def pattern_problem(pattern: str) -> str | None:
    """Why a `matches` pattern is refused, or None. Refused: patterns that do not compile, longer than
    MAX_PATTERN_CHARS, backreferences, and the shapes that backtrack super-linearly — a quantifier
    inside a repeated group (`(a+)+`, `(.*a){20}`), a repeated alternation (`(a|a)*`), and more than
    MAX_UNBOUNDED_REPEATS unbounded quantifiers in one pattern."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        re.compile(pattern)
    except re.error as error:
        return f"does not compile: {error}"
    from importlib import import_module

    try:  # the standard library's own regex parser, to see the pattern's structure
        sre_parse: Any = import_module("re._parser")
    except ImportError:  # Python 3.10
        sre_parse = import_module("sre_parse")
    tree = sre_parse.parse(pattern)
    unbounded = 0

    def repeats(items: Any) -> list[tuple[int, Any]]:
        """(max, body) of every repeat in a parsed (sub)pattern, outermost first."""
        found: list[tuple[int, Any]] = []
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                found.append((arg[1], arg[2]))
                found.extend(repeats(arg[2]))
            elif name == "SUBPATTERN":
                found.extend(repeats(arg[-1]))
            elif name == "BRANCH":
                for branch in arg[1]:
                    found.extend(repeats(branch))
            elif name in ("ASSERT", "ASSERT_NOT"):
                found.extend(repeats(arg[1]))
        return found

    def has(items: Any, wanted: tuple[str, ...]) -> bool:
        for op, arg in items:
            name = str(op)
            if name in wanted:
                return True
            if name == "SUBPATTERN" and has(arg[-1], wanted):
                return True
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and has(arg[2], wanted):
                return True
            if name in ("ASSERT", "ASSERT_NOT") and has(arg[1], wanted):
                return True
            if name == "BRANCH" and any(has(branch, wanted) for branch in arg[1]):
                return True
        return False

    if has(tree, ("GROUPREF", "GROUPREF_EXISTS")):
        return "backreferences are not supported"
    for maximum, body in repeats(tree):
        if maximum > _LARGE_REPEAT:
            unbounded += 1
        if maximum > 1 and has(body, ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")):
            return "a quantifier inside a repeated group can backtrack catastrophically; flatten it"
        if maximum > 1 and has(body, ("BRANCH",)):
            return "a repeated alternation can backtrack catastrophically; use a character class"
    if unbounded > MAX_UNBOUNDED_REPEATS:
        return f"more than {MAX_UNBOUNDED_REPEATS} unbounded quantifiers (*, +, {{n,}})"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TESTS = {
    "equals": lambda value, expected: value == expected,
    "not_equals": lambda value, expected: value != expected,
    "in": lambda value, options: value is not None and value in options,
    "not_in": lambda value, options: value not in options,
    "contains": _contains,
    "not_contains": lambda value, item: not _contains(value, item),
    "contains_any": lambda value, items: _contains_any(_sequence(value), items),
    "contains_all": lambda value, items: _contains_all(_sequence(value), items),
    # every element of the field is one of the options (an empty or unknown field holds)
    "all_in": lambda value, options: _contains_all(options, value if isinstance(value, list) else
                                                   [] if value is None else [value]),
    "exists": lambda value, wanted: (value is not None) == wanted,
    "empty": lambda value, wanted: (value is None or value == "" or value == []) == wanted,
    "matches": _matches,
    "less_than": lambda value, limit: _number(value) and value < limit,
    "greater_than": lambda value, limit: _number(value) and value > limit,
}


def leaves(condition: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The `field:` tests inside a condition, in order, however deeply nested."""
    if not condition:
        return []
    for key in ("all", "any"):
        if key in condition:
            return [leaf for c in condition[key] for leaf in leaves(c)]
    if "not" in condition:
        return leaves(condition["not"])
    return [condition]


def fields_named(condition: dict[str, Any] | None) -> list[str]:
    """Every field a condition reads, in order (for explanations and docs)."""
    return [leaf["field"] for leaf in leaves(condition)]


def patterns_in(condition: dict[str, Any] | None) -> list[str]:
    return [leaf["matches"] for leaf in leaves(condition) if "matches" in leaf]
