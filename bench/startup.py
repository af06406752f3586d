"""Start-up: `ca-audit scan <one file> --format json` against `python -c "import typer"`.

    python bench/startup.py [--runs 30]

This is what a pre-commit hook pays on every commit. Prints the medians and their ratio; the
target is a ratio of at most 1.5. The first (cache-filling) run is not counted: the validated
rule pack is cached, as it is on a developer's machine after the first commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, ca_audit, time_command, time_side_by_side  # noqa: E402

SAMPLE_FILE = REPO / "sample_configs" / "force-app" / "main" / "default" / "connectedApps"


def one_file() -> Path:
    files = sorted(SAMPLE_FILE.glob("*.connectedApp-meta.xml"))
    if not files:
        raise SystemExit(f"no sample connected app under {SAMPLE_FILE}")
    return files[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    target = one_file()
    with tempfile.TemporaryDirectory() as cache:
        env = {"CA_AUDIT_CACHE_DIR": cache}
        command = [*ca_audit(), "scan", str(target), "--format", "json"]
        time_command(command, 1, env)  # fills the rule cache and writes bytecode, as any first run does
        baseline, audit = time_side_by_side([[sys.executable, "-c", "import typer"], command], args.runs, env)
    print(f"file: {target.relative_to(REPO)}")
    print(f"python -c 'import typer':          {baseline * 1000:.1f} ms")
    print(f"ca-audit scan <one file> --format json: {audit * 1000:.1f} ms")
    print(f"startup ratio: {audit / baseline:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
