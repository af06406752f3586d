"""Rule and config files are data: YAML safe loading, JSON Schema validation, nothing executed.

Validation needs `yaml` and `jsonschema` (~100 ms of imports together), and the pre-commit hook
runs ca-audit on every commit with the same rule pack. So a set of files that validated once is
cached as JSON, keyed by the tool version, the schema and the exact bytes of every file; a hit
skips both imports. Invalid files are never cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import __version__, cache
from auditor.model import APP_KINDS, FIELDS, FLOW_NAMES, RULE_TAGS, SEVERITY_WORDS, InputError

# The package folder in every install (wheel or editable); package data is read from it directly
# (importlib.resources costs ~3 ms to import).
PACKAGE_DIR = Path(__file__).resolve().parent
_SCHEMAS = PACKAGE_DIR / "schemas"


@dataclass
class DataFile:
    path: Path
    shown: str  # how the path is printed in messages
    text: str


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


def read_files(paths: list[tuple[Path, str]]) -> tuple[list[DataFile], list[InputError]]:
    files, errors = [], []
    for path, shown in paths:
        try:
            files.append(DataFile(path, shown, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            errors.append(InputError(shown, None, "the file is not valid UTF-8 text"))
        except OSError as error:
            errors.append(InputError(shown, None, f"cannot read the file: {error.strerror or error}"))
    return files, errors


def load_validated(files: list[DataFile], schema_name: str,
                   check: Callable[[Any], list[str]] | None = None) -> tuple[list[Any], list[InputError]]:
    """Parse and validate every file. Documents come back aligned with `files` (None where the
    YAML itself did not parse), so callers can keep checking the files that did validate.

    `check` adds what a schema cannot say (a regex compiles, say); its problems are errors too,
    and only a set of files with no error at all is cached."""
    key = _cache_key(files, schema_name)
    cached = cache.read(key)
    if cached is not None:
        return cached, []
    documents, errors = _parse_and_validate(files, schema_name)
    invalid = {e.path for e in errors}
    for file, document in zip(files, documents, strict=True):
        if check is not None and document is not None and file.shown not in invalid:
            errors.extend(InputError(file.shown, None, problem) for problem in check(document))
    if not errors:
        cache.write(key, documents)
    return documents, errors


def _parse_and_validate(files: list[DataFile], schema_name: str) -> tuple[list[Any], list[InputError]]:
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents: list[Any] = []
    errors: list[InputError] = []
    for file in files:
        try:
            data = _plain(_safe_load(loader, file.text))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            problem = getattr(error, "problem", None) or str(error)
            errors.append(InputError(file.shown, mark.line + 1 if mark else None, f"invalid YAML: {problem}"))
            documents.append(None)
            continue
        file_errors = [_describe(error, file) for error in validator.iter_errors(data)]
        errors.extend(sorted(file_errors, key=lambda e: e.line or 0))
        documents.append(data)
    return documents, errors


def _safe_load(loader_class: Any, text: str) -> Any:
    """What yaml.safe_load does, with the C safe loader when libyaml is there (several times faster)."""
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _describe(error: Any, file: DataFile) -> InputError:
    import jsonschema

    best = jsonschema.exceptions.best_match([error])
    # Inside oneOf (conditions) the deepest, most relevant sub-error names the real mistake.
    while best.context:
        best = jsonschema.exceptions.best_match(best.context)
    where = ".".join(str(part) for part in best.absolute_path) or "(top level)"
    unexpected = _unexpected_key(best)
    if unexpected is not None:  # point at the key itself, not at the mapping that holds it
        key, known = unexpected
        message = f"at {where}: unknown key {key!r}"
        close = _closest(key, known)
        message += f" (did you mean {close!r}?)" if close else f"; known keys: {', '.join(sorted(known))}"
        return InputError(file.shown, _key_line(file.text, list(best.absolute_path), key), message)
    return InputError(file.shown, _line_of(file.text, list(best.absolute_path)), f"at {where}: {best.message}")


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
    import difflib

    matches = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _key_line(text: str, path: list[Any], key: str) -> int | None:
    """The 1-based line of `key` in the mapping at `path` (for messages only)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            return _line_of(text, path)
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if k.value == key:
                return int(k.start_mark.line) + 1
    return _line_of(text, path)


def _line_of(text: str, path: list[Any]) -> int | None:
    """The 1-based line of a path inside a YAML document (for messages only)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings so that documents are JSON (for the schema and the cache)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _cache_key(files: list[DataFile], schema_name: str) -> str:
    digest = hashlib.sha256()
    for part in (__version__, schema_name, schema_text(schema_name), json.dumps(_VOCABULARY)):
        digest.update(part.encode())
        digest.update(b"\0")
    for file in files:
        digest.update(file.shown.encode() + b"\0" + file.text.encode() + b"\0")
    return digest.hexdigest()
