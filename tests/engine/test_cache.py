"""The validation cache: hits skip work, bad files are never cached, the folder stays bounded."""

from __future__ import annotations

import os
from pathlib import Path

from auditor import cache
from tests.conftest import run_cli


def test_cache_is_bounded(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CA_AUDIT_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "ca-audit"
    for index in range(cache.MAX_ENTRIES + 5):
        cache.write(f"entry-{index:04d}", {"n": index})
        os.utime(folder / f"entry-{index:04d}.json", (index, index))
    cache.write("newest", {"n": -1})
    names = {p.stem for p in folder.glob("*.json")}
    assert len(names) == cache.MAX_ENTRIES
    assert "newest" in names and "entry-0000" not in names
    assert cache.read("newest") == {"n": -1}


def test_an_invalid_rule_is_never_served_from_the_cache(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "X-1.yaml"
    rule.write_text("id: X-1\ntitle: t\nseverity: high\nmessage: m\nrequire: {field: name, exists: true}\n")
    env = {"CA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("rules", "validate", str(rules), env=env).returncode == 0
    assert run_cli("rules", "validate", str(rules), env=env).returncode == 0  # a hit
    rule.write_text(rule.read_text().replace("exists: true", "exists: maybe"))
    broken = run_cli("rules", "validate", str(rules), env=env)
    assert broken.returncode == 2 and "exists" in broken.stderr
    assert run_cli("rules", "validate", str(rules), env=env).returncode == 2  # still refused
