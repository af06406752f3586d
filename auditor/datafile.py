"""Rule and config files are data: YAML safe loading, JSON Schema validation, nothing executed.

Validation needs `yaml` and `jsonschema` (~100 ms of imports together), and the pre-commit hook
runs ca-audit on every commit with the same rule pack. So a set of files that validated once is
cached as JSON, keyed by the tool version, the schema and the exact bytes of every file; a hit
skips both imports. Invalid files are never cached, and a cache entry is checked again when it
is read (its key, its shape, the caller's checks); one that fails is dropped and the files are
parsed again.

The YAML is bounded before it is built: files are read with a size cap (auditor.safeio), aliases
are refused (an alias bomb never expands), nesting is limited to MAX_YAML_DEPTH, integers to
MAX_INT_DIGITS digits, and dates stay strings (the schema checks them, then the caller parses
them), so a value of the wrong type or an impossible date is an error with its line, never a
crash. Messages name the place and the problem, never the value: a file that is in fact a private
key must not be printed back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor import __version__, cache, safeio
from auditor.digest import sha256
from auditor.model import APP_KINDS, FIELDS, FLOW_NAMES, RULE_TAGS, SEVERITY_WORDS, InputError
from auditor.suggest import close_matches

# The package folder in every install (wheel or editable); package data is read from it directly
# (importlib.resources costs ~3 ms to import).
PACKAGE_DIR = Path(__file__).resolve().parent
_SCHEMAS = PACKAGE_DIR / "schemas"


class DataFile:
    """A rule, config or data file as read (a plain class: a dataclass costs ~0.5 ms of every run's start-up)."""

    __slots__ = ("path", "shown", "text")

    def __init__(self, path: Path, shown: str, text: str) -> None:
        self.path = path
        self.shown = shown  # how the path is printed in messages
        self.text = text


# The model's vocabulary, filled into any schema `$defs` of the same name when it is loaded, so that
# each word is written down once (auditor/model.py).
_VOCABULARY = {"field": sorted(FIELDS), "kind": list(APP_KINDS), "severity": list(SEVERITY_WORDS),
               "flow": list(FLOW_NAMES), "tag": list(RULE_TAGS)}


def schema_text(name: str) -> str:
    return (_SCHEMAS / name).read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    schema = json.loads(schema_text(name))
    for name, words in _VOCABULARY.items():
        if name in schema.get("$defs", {}):
            schema["$defs"][name] = {"enum": words}
    return schema


MAX_YAML_DEPTH = 40
MAX_INT_DIGITS = 30

# A problem `check` finds: a message, or (path inside the document, message) to get its line.
Problem = str | tuple[list[Any], str]


def read_files(paths: list[tuple[Path, str]], inside: Path | None = None) -> tuple[list[DataFile], list[InputError]]:
    files, errors = [], []
    for path, shown in paths:
        try:
            files.append(DataFile(path, shown, safeio.read_text(path, inside=inside)))
        except safeio.Refused as refused:
            errors.append(InputError(shown, None, refused.message))
    return files, errors


def load_validated(files: list[DataFile], schema_name: str,
                   check: Callable[[Any], list[Problem]] | None = None,
                   shape: Callable[[Any], bool] | None = None) -> tuple[list[Any], list[InputError]]:
    """Parse and validate every file. Documents come back aligned with `files` (None where the
    YAML itself did not parse), so callers can keep checking the files that did validate.

    `check` adds what a schema cannot say (a regex compiles, say); its problems are errors too,
    and only a set of files with no error at all is cached. `shape` is what a cached document
    must still look like (without the schema, whose import the cache exists to avoid)."""
    key = _cache_key(files, schema_name)
    cached = _verified(cache.read(key), key, files, shape)
    if cached is not None:
        return cached, []
    documents, errors = _parse_and_validate(files, schema_name)
    invalid = {e.path for e in errors}
    for file, document in zip(files, documents, strict=True):
        if check is not None and document is not None and file.shown not in invalid:
            errors.extend(_problem_error(file, problem) for problem in check(document))
    if not errors:
        cache.write(key, {"key": key, "documents": documents})
    return documents, errors


def _verified(entry: Any, key: str, files: list[DataFile], shape: Callable[[Any], bool] | None) -> list[Any] | None:
    """The cached documents, if the entry is one this code wrote for exactly these files and each
    document still has the shape; else None (the files are parsed again)."""
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    documents = entry.get("documents")
    if not isinstance(documents, list) or len(documents) != len(files):
        return None
    for document in documents:
        if safeio.depth_exceeds(document, MAX_YAML_DEPTH + 1):
            return None
        if shape is not None and not shape(document):
            return None
    # `check` is not run again: the key covers the files' bytes and this version, so its verdict on them
    # stands, and re-running it cost every run (a pre-commit hook) ~3 ms. What a planted entry could do
    # harm with is in `shape` (for rules: a catastrophic `matches` pattern is refused there too).
    return documents


def _problem_error(file: DataFile, problem: Problem) -> InputError:
    if isinstance(problem, tuple):
        path, message = problem
        where = ".".join(_shown_key(part) for part in path) or "(top level)"
        return InputError(file.shown, line_of(file.text, path), f"at {where}: {message}")
    return InputError(file.shown, None, problem)


def _parse_and_validate(files: list[DataFile], schema_name: str) -> tuple[list[Any], list[InputError]]:
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    loader = _loader_class()
    documents: list[Any] = []
    errors: list[InputError] = []
    for file in files:
        try:
            _check_events(loader, file.text)
            data = _plain(_safe_load(loader, file.text))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            problem = getattr(error, "problem", None) or "cannot be read"
            errors.append(InputError(file.shown, mark.line + 1 if mark else None, f"invalid YAML: {problem}"))
            documents.append(None)
            continue
        except RecursionError:
            errors.append(InputError(file.shown, None, f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep"))
            documents.append(None)
            continue
        file_errors = [_describe(error, file) for error in validator.iter_errors(data)]
        errors.extend(sorted(file_errors, key=lambda e: e.line or 0))
        documents.append(data)
    return documents, errors


_LOADER: Any = None


def _loader_class() -> Any:
    """The C safe loader when libyaml is there (several times faster), without the implicit
    timestamp type (dates stay strings until the schema has checked them) and with integers
    limited in length."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class BoundedLoader(base):  # type: ignore[misc, valid-type]
        pass

    timestamp = "tag:yaml.org,2002:timestamp"
    BoundedLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != timestamp]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }

    def bounded_int(loader: Any, node: Any) -> Any:
        if len(str(node.value)) > MAX_INT_DIGITS:
            raise _yaml_error(f"an integer longer than {MAX_INT_DIGITS} digits", node.start_mark)
        try:
            return base.construct_yaml_int(loader, node)
        except ValueError:
            raise _yaml_error("not a valid integer", node.start_mark) from None

    def plain_string(loader: Any, node: Any) -> Any:
        return loader.construct_scalar(node)

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", bounded_int)
    BoundedLoader.add_constructor(timestamp, plain_string)
    _LOADER = BoundedLoader
    return _LOADER


def _yaml_error(problem: str, mark: Any) -> Exception:
    """A YAMLError with a problem and a mark (its line), as the parser's own errors have."""
    import yaml

    return yaml.constructor.ConstructorError(None, None, problem, mark)


def _check_events(loader_class: Any, text: str) -> None:
    """Refuse aliases and deep nesting from the event stream, before anything is built."""
    import yaml

    loader = loader_class(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                raise _yaml_error("YAML aliases (*name) are not allowed in ca-audit files; write the value out",
                                  event.start_mark)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise _yaml_error(f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _safe_load(loader_class: Any, text: str) -> Any:
    """What yaml.safe_load does, with the bounded loader."""
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_KEY = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def _shown_key(part: Any) -> str:
    """A key or index of a path in a message; a key that does not look like a name is not shown (it
    may be a value pasted in the wrong place)."""
    text = str(part)
    return text if isinstance(part, int) or _KEY.fullmatch(text) else "…"


def _describe(error: Any, file: DataFile) -> InputError:
    import jsonschema

    best = jsonschema.exceptions.best_match([error])
    # Inside oneOf (conditions) the deepest, most relevant sub-error names the real mistake.
    while best.context:
        best = jsonschema.exceptions.best_match(best.context)
    where = ".".join(_shown_key(part) for part in best.absolute_path) or "(top level)"
    unexpected = _unexpected_key(best)
    if unexpected is not None:  # point at the key itself, not at the mapping that holds it
        key, known = unexpected
        message = f"at {where}: unknown key {_shown_key(key)!r}"
        close = _closest(key, known)
        message += f" (did you mean {close!r}?)" if close else f"; known keys: {', '.join(sorted(known))}"
        return InputError(file.shown, key_line(file.text, list(best.absolute_path), key), message)
    return InputError(file.shown, line_of(file.text, list(best.absolute_path)), f"at {where}: {_problem(best)}")


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _problem(error: Any) -> str:
    """What is wrong, in words taken from the schema only: never the offending value."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
    if keyword == "enum":
        options = [str(option) for option in expected]
        listed = ", ".join(options) if len(options) <= 12 else f"{', '.join(options[:12])}, … ({len(options)} in all)"
        return f"must be one of {listed}"
    if keyword == "const":
        return f"must be {json.dumps(expected)}"
    if keyword == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return f"lacks the required key {', '.join(missing)}" if missing else "lacks a required key"
    if keyword == "additionalProperties":
        allowed = set(error.schema.get("properties") or {})
        extra = [_shown_key(k) for k in instance if k not in allowed] if isinstance(instance, dict) else []
        return f"unknown key {', '.join(extra)}" if extra else "unknown key"
    if keyword in ("oneOf", "anyOf"):
        return "does not match any of the allowed forms"
    if keyword == "pattern":
        return f"does not match the pattern {expected}"
    if keyword == "format":
        return f"is not a valid {expected}"
    if keyword in ("minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "minProperties",
                   "maxProperties", "uniqueItems"):
        return f"breaks {keyword} {json.dumps(expected)}"
    if keyword in ("not", "propertyNames"):
        return f"is not allowed here ({keyword})"
    return f"is not valid ({keyword})"


def _unexpected_key(error: Any) -> tuple[str, list[str]] | None:
    """(the first key a mapping does not allow, the keys it does) for an additionalProperties error."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    import re

    for key in error.instance:
        if key not in known and not any(re.search(p, str(key)) for p in patterns):
            return str(key), known
    return None


def _closest(word: str, known: list[str]) -> str | None:
    matches = close_matches(word, known, n=1)
    return matches[0] if matches else None


def key_line(text: str, path: list[Any], key: str) -> int | None:
    """The 1-based line of `key` in the mapping at `path` (for messages only)."""
    import yaml

    found, complete = _walk_yaml(text, path)
    if complete and isinstance(found, yaml.MappingNode):
        for k, _v in found.value:
            if k.value == key:
                return int(k.start_mark.line) + 1
    return line_of(text, path)


def line_of(text: str, path: list[Any]) -> int | None:
    """The 1-based line of a path inside a YAML document, or of its deepest part that exists (for
    messages only)."""
    found, _complete = _walk_yaml(text, path)
    return found.start_mark.line + 1 if found is not None else None


def _walk_yaml(text: str, path: list[Any]) -> tuple[Any, bool]:
    """(the node at `path`, or the deepest node on the way to it; whether the whole path was found)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None, False
    for part in path:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        else:
            child = None
        if child is None:
            return node, False
        node = child
    return node, True


def _plain(value: Any) -> Any:
    """Documents must be JSON (for the schema and the cache): other YAML types (`!!set`, `!!binary`)
    are refused."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise _yaml_error(f"a YAML value of type {type(value).__name__} is not allowed in ca-audit files", None)


def _cache_key(files: list[DataFile], schema_name: str) -> str:
    digest = sha256()
    for part in (__version__, schema_name, schema_text(schema_name), json.dumps(_VOCABULARY)):
        digest.update(part.encode())
        digest.update(b"\0")
    for file in files:
        digest.update(file.shown.encode() + b"\0" + file.text.encode() + b"\0")
    return digest.hexdigest()
