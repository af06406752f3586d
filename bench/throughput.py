"""Throughput: `ca-audit scan --format json` over N generated apps, against a floor that only
reads and parses the same files with the same XML parser (expat) in one process.

    python bench/throughput.py [--apps 5000] [--runs 3]

Two floors are printed, both in one process over the same files: expat with empty handlers (the
parser alone), and ca-audit's own reader (expat building the element tree with line numbers that
every later stage needs). The target is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, ca_audit, time_side_by_side  # noqa: E402

FLOOR = r"""
import os, sys, xml.parsers.expat
count = 0
for current, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if not name.endswith("-meta.xml"):
            continue
        with open(os.path.join(current, name), "rb") as handle:
            data = handle.read()
        parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
        parser.StartElementHandler = lambda *a: None
        parser.CharacterDataHandler = lambda *a: None
        parser.Parse(data, True)
        count += 1
if not count:
    sys.exit(3)  # nothing parsed: the bench itself is broken
"""

TREE_FLOOR = r"""
import os, sys
from auditor.sources.xmldoc import parse
count = 0
for current, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith("-meta.xml"):
            with open(os.path.join(current, name), "rb") as handle:
                parse(handle.read())
            count += 1
if not count:
    sys.exit(3)
"""

FALLBACK_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>integration@example.com</contactEmail>
    <label>{name}</label>
    <oauthConfig>
        <callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl>
        <isAdminApproved>true</isAdminApproved>
        <scopes>Api</scopes>
        <scopes>RefreshToken</scopes>
    </oauthConfig>
    <oauthPolicy>
        <ipRelaxation>ENFORCE</ipRelaxation>
        <refreshTokenPolicy>infinite</refreshTokenPolicy>
    </oauthPolicy>
    <profileName>System Administrator</profileName>
</ConnectedApp>
"""


def templates() -> list[str]:
    """Real corpus files when present (so the mix of certificates, sizes and shapes is real)."""
    files = sorted(CORPUS.rglob("*.connectedApp-meta.xml")) if CORPUS.is_dir() else []
    return [f.read_text(encoding="utf-8") for f in files] or [FALLBACK_TEMPLATE]


def generate(folder: Path, count: int) -> None:
    apps = folder / "force-app" / "main" / "default" / "connectedApps"
    apps.mkdir(parents=True)
    shapes = templates()
    for index in range(count):
        (apps / f"App_{index:05d}.connectedApp-meta.xml").write_text(
            shapes[index % len(shapes)].replace("{name}", f"App {index}"), encoding="utf-8")
    (folder / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app", "default": true}]}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        generate(folder, args.apps)
        floor, tree, audit = time_side_by_side([
            [sys.executable, "-c", FLOOR, str(folder)],
            [sys.executable, "-c", TREE_FLOOR, str(folder)],
            [*ca_audit(), "scan", str(folder), "--format", "json"],
        ], args.runs)
    print(f"apps: {args.apps}")
    print(f"floor: read + expat parse, empty handlers:       {floor:.3f} s")
    print(f"floor: read + ca-audit's expat element tree:     {tree:.3f} s")
    print(f"ca-audit scan --format json:                     {audit:.3f} s")
    print(f"throughput ratio: {audit / floor:.2f} against the parser alone, {audit / tree:.2f} against the "
          "tree reader (target <= 1.5)")


if __name__ == "__main__":
    main()
