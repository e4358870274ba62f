"""One JSON line per (workload, database): median, min and max of each metric over the reps."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import agentdeck


def _round(value: float) -> float:
    return round(value, 3) if abs(value) >= 1 else round(value, 6)


def source_revision() -> str:
    """The commit measured, with "+dirty" when agentdeck/ has uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "agentdeck") else "")


def summarise(
    workload: str, db: str, reps: list[dict[str, float]], params: dict[str, Any]
) -> dict[str, Any]:
    """The result record BENCH.md specifies, from one metrics dict per rep."""
    names = list(reps[0])
    return {
        "workload": workload,
        "db": db,
        "reps": len(reps),
        "median": {k: _round(statistics.median(r[k] for r in reps)) for k in names},
        "min": {k: _round(min(r[k] for r in reps)) for k in names},
        "max": {k: _round(max(r[k] for r in reps)) for k in names},
        "params": {**params, "revision": source_revision()},
        "version": agentdeck.__version__,
    }


def emit(record: dict[str, Any]) -> None:
    """Print the record as one line on stdout."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
