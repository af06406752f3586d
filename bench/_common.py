"""Helpers shared by the benchmarks: locate the console script, time commands side by side."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "public-metadata"


def ca_audit() -> list[str]:
    script = Path(sys.executable).parent / "ca-audit"
    if script.exists():
        return [str(script)]
    found = shutil.which("ca-audit")
    return [found] if found else [sys.executable, "-m", "auditor"]


def bench_env(extra: dict | None = None) -> dict:
    """The environment of a user's shell: bytecode caching on (some sandboxes and CI images set
    PYTHONDONTWRITEBYTECODE, which makes every run recompile every module it imports)."""
    env = dict(os.environ, **(extra or {}))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_command(command: list[str], runs: int, env: dict | None = None, expect_findings: bool = True) -> float:
    """Median wall time of `runs` runs, in seconds. ca-audit may exit 1 (findings); nothing else may."""
    allowed = (0, 1) if expect_findings else (0,)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=bench_env(env))
        times.append(time.perf_counter() - start)
        if done.returncode not in allowed:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def time_side_by_side(commands: list[list[str]], runs: int, env: dict | None = None) -> list[float]:
    """Median wall time of each command, running them in turn (a, b, a, b, …) so that a noisy
    machine slows every command alike instead of skewing the ratio."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            samples[index].append(time_command(command, 1, env))
    return [statistics.median(times) for times in samples]
