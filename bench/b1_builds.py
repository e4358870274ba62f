"""B1 builds: 20 builds of the sample repository at once on one worker.

Each build reviews the sample repository (a BaseAgent and a CodeArchitect), plans one
phase per requested class, and executes `phases` phase(s) in its own git worktree with
no gate: coding agents answered by the offline simulator after `latency_s` seconds,
the repository's tests in the bubblewrap sandbox, a commit on agentdeck/<run-id>. The
ideal makespan is the model calls of one build in sequence (review, plan, and each
coding agent's turns: one with its file tools, one with its answer) times the latency;
the tests and git come on top of it. Also measured: the
worktree setup and teardown steps (p50 and max), the worktrees' peak disk use, and the
process's peak memory (RSS, this process and its children).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentdeck import workflows
from agentdeck.deck import Deck, Submission
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from bench.databases import fresh_database
from bench.harness import FinishWatch, check_all_succeeded, log, percentile, start_deck

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.sample_repo import make_sample_repo  # noqa: E402 - the repository the tests use

NAME = "B1"
DEFAULTS: dict[str, Any] = {
    "runs": 20,
    "phases": 1,
    "latency_s": 1.0,
    "concurrency": 100,
    # the virtualenv's pytest plugins are not the sample repository's: seconds each to load
    "test_command": "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p no:cacheprovider",
}
REQUEST = "Add the 4 missing agents: BackendDeveloper, FrontendDeveloper, Tester, DevOpsEngineer"


def _disk_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).lstat().st_size
    return total


async def _sample_disk(folder: Path, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], await asyncio.to_thread(_disk_bytes, folder))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def _step_seconds(deck: Deck, run_ids: list[str], key: str) -> list[float]:
    out = []
    for run_id in run_ids:
        for step in await deck.steps(run_id):
            if step.key == key:
                out.append((step.finished_at - step.started_at).total_seconds())
    return out


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n = params["runs"]
    with tempfile.TemporaryDirectory(prefix="agentdeck-b1-") as tmp, fresh_database(db) as url:
        folder = Path(tmp)
        repo = make_sample_repo(folder / "cockpit")
        worktrees = folder / "worktrees"
        worktrees.mkdir()
        registry = Registry()
        workflows.register(registry)
        settings = Settings(
            database_url=url,
            simulator="always",
            simulator_latency=params["latency_s"],
            concurrency=params["concurrency"],
            builds_dir=folder / "builds",
        )
        deck = Deck(settings, registry=registry)
        inputs = {
            "repository": str(repo),
            "request": REQUEST,
            "plan_approval": "none",
            "diff_approval": False,
            "max_phases": params["phases"],
            "worktrees_dir": str(worktrees),
            "test_command": params["test_command"],
        }
        peak_disk = [0]
        stop = asyncio.Event()
        try:
            deck.llm.warm()
            await start_deck(deck)
            await deck.worker().start()
            sampler = asyncio.create_task(_sample_disk(worktrees, peak_disk, stop))
            watch = FinishWatch(deck, n)
            t0 = time.perf_counter()
            submitted = await deck.submit_many([Submission("build", inputs) for _ in range(n)])
            makespan = await watch.wait(timeout=900) - t0
            stop.set()
            await sampler
            await check_all_succeeded(deck, n)
            ids = [r.id for r in submitted]
            setup = await _step_seconds(deck, ids, "worktree")
            teardown = await _step_seconds(deck, ids, "worktree:remove")
            tests = await _step_seconds(deck, ids, "tests:P1:0")
            # model calls in sequence in one build (review, plan, each agent's turns)
            calls = sum(s.key.startswith("llm:") for s in await deck.steps(ids[0]))
        finally:
            stop.set()
            await deck.close()
    ideal = calls * params["latency_s"]
    rss_mb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) / 1024
    log(f"  {n} builds: makespan {makespan:.2f}s (ideal {ideal:.1f}s of model calls)")
    return {
        "makespan_s": makespan,
        "ideal_s": ideal,
        "overhead_s": makespan - ideal,
        "worktree_setup_p50_s": percentile(setup, 50),
        "worktree_setup_max_s": max(setup),
        "worktree_teardown_p50_s": percentile(teardown, 50),
        "worktree_teardown_max_s": max(teardown),
        "tests_p50_s": percentile(tests, 50),
        "peak_disk_mb": peak_disk[0] / 1e6,
        "peak_rss_mb": rss_mb,
        "model_calls_per_build": float(calls),
    }
