"""The package's shape (CONTRIBUTING.md, "The layout in one screen"): no import cycles, and every
import — inside functions too — goes down the layers, never up."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "auditor"

# Lower number = lower layer. A module may import its own layer or any layer below it.
LAYERS = {
    "auditor": 0, "auditor.model": 0, "auditor.suggest": 0, "auditor.fixtext": 0,
    "auditor.cache": 1, "auditor.datafile": 1, "auditor.config": 1, "auditor.catalogue": 1,
    "auditor.certificates": 1,
    "auditor.sources": 2, "auditor.engine": 2,
    "auditor.drift": 3, "auditor.formats": 3,
    "auditor.pipeline": 4,
    "auditor.diagnose": 5, "auditor.gate": 5, "auditor.rulefixtures": 5, "auditor.fix": 5, "auditor.access": 5,
    "auditor.cli": 6, "auditor.__main__": 6,
}
# Peers on one layer that must not know each other: rules never see XML or SOQL, sources never run rules.
SEPARATE = {("auditor.engine", "auditor.sources"), ("auditor.sources", "auditor.engine"),
            ("auditor.fix", "auditor.diagnose"), ("auditor.fix", "auditor.gate")}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                out.add(target)
    return {t for t in out if t != name and not name.startswith(t + ".")}  # a package's children may import it


def layer_of(name: str) -> tuple[str, int]:
    while name not in LAYERS:
        name = name.rpartition(".")[0]
    return name, LAYERS[name]


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_every_module_has_a_layer():
    for name in modules():
        assert layer_of(name)[0], name


def test_imports_only_go_down():
    upward = []
    for name, targets in graph().items():
        group, rank = layer_of(name)
        for target in targets:
            target_group, target_rank = layer_of(target)
            if target_rank > rank or (group, target_group) in SEPARATE:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_cycles():
    edges = graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(edges.get(node, ())):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert cycles == []
