"""One JSON line per (workload, database): median, min and max of each metric over the reps."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import agentdeck


def _round(value: float) -> float:
    return round(value, 3) if abs(value) >= 1 else round(value, 6)


def source_revision() -> str:
    """The commit measured, with "+dirty" when agentdeck/ or bench/ has uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "agentdeck", "bench") else "")


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: above the core count, figures grow."""
    return [round(x, 2) for x in os.getloadavg()]


def summarise(
    workload: str,
    db: str,
    reps: list[dict[str, float]],
    params: dict[str, Any],
    *,
    durability: str,
    load_before: list[float],
) -> dict[str, Any]:
    """The result record BENCH.md specifies, from one metrics dict per rep.

    Besides the metrics it states the durability the database was run at, the load
    average before the first rep and after the last (a shared machine's figures are only
    comparable at a similar load) and the git revision measured.
    """
    names = list(reps[0])
    revision = source_revision()
    return {
        "workload": workload,
        "db": db,
        "durability": durability,
        "reps": len(reps),
        "median": {k: _round(statistics.median(r[k] for r in reps)) for k in names},
        "min": {k: _round(min(r[k] for r in reps)) for k in names},
        "max": {k: _round(max(r[k] for r in reps)) for k in names},
        "loadavg": {"before": load_before, "after": load_average(), "cores": os.cpu_count()},
        "revision": revision,
        "params": {**params, "revision": revision},
        "version": agentdeck.__version__,
    }


def emit(record: dict[str, Any]) -> None:
    """Print the record as one line on stdout."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
