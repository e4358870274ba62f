"""W4 agents at scale: N loop runs through the real agent layer and the offline simulator.

Every run is the built-in `loop` workflow (producer → evaluator → reviser → evaluator:
the simulator scores attempt 1 about 0.56 and attempt 2 about 0.85, so with the pass
threshold 0.8 every run passes on attempt 2 after 4 model calls). Each simulated call
sleeps `latency_s`; one worker in this process runs all N at once.

Metrics: `makespan_s` (`submit_many` starts → the N-th run's outcome committed),
`ideal_s` (calls per run * latency), `overhead_pct` = (makespan - ideal) / ideal * 100,
`peak_rss_mb` (this process's peak resident memory during the rep: VmHWM, reset before
the rep where the kernel allows it), `cpu_s` (this process's CPU time over the rep; the
PostgreSQL server's is not counted) and `cpu_per_call_ms`.

`python -m bench.w4_agents_at_scale --profile FILE` runs one rep under cProfile instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import resource
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from agentdeck import workflows
from agentdeck.deck import Deck, Submission
from agentdeck.engine.registry import Registry
from agentdeck.settings import Settings
from agentdeck.store.schema import runs
from bench.databases import KINDS, fresh_database
from bench.harness import FinishWatch, log, start_deck

NAME = "W4"
DEFAULTS: dict[str, Any] = {
    "runs": 2000,
    "concurrency": 2000,
    "latency_s": 1.0,
    "pass_threshold": 0.8,
    "calls_per_run": 4,
}
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def open_deck(url: str, latency_s: float) -> Deck:
    """A Deck on `url` with the built-in workflows, every agent answered by the simulator."""
    registry = Registry()
    workflows.register(registry)
    settings = Settings(
        database_url=url, simulator="always", simulator_latency=timedelta(seconds=latency_s)
    )
    return Deck(settings, registry=registry)


def submissions(n: int, threshold: float) -> list[Submission]:
    return [
        Submission(
            "loop",
            {
                "task": {"topic": f"Durable execution for AI agents, part {i}", "words": 300},
                "pass_threshold": threshold,
                "max_attempts": 3,
            },
        )
        for i in range(n)
    ]


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux: `5` > clear_refs)."""
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory: VmHWM from /proc, else getrusage's lifetime maximum."""
    with contextlib.suppress(OSError):
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def check_outcomes(deck: Deck, n: int) -> None:
    """Every run succeeded with verdict passed on attempt 2."""
    query = select(runs.c.status, runs.c.verdict, runs.c.attempt, func.count()).group_by(
        runs.c.status, runs.c.verdict, runs.c.attempt
    )
    rows = await deck.db.read(lambda conn: conn.execute(query).all())
    outcomes = {(r[0], r[1], r[2]): r[3] for r in rows}
    if outcomes != {("succeeded", "passed", 2): n}:
        raise RuntimeError(f"expected {n} runs passed on attempt 2, found {outcomes}")


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n: int = params["runs"]
    latency: float = params["latency_s"]
    ideal = params["calls_per_run"] * latency
    with fresh_database(db) as url:
        deck = open_deck(url, latency)
        try:
            await start_deck(deck)
            deck.llm.warm()
            await deck.worker(params["concurrency"]).start()
            await asyncio.sleep(0.2)  # let the worker settle into waiting for a wake-up
            batch = submissions(n, params["pass_threshold"])
            watch = FinishWatch(deck, n)
            reset_peak_rss()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            await deck.submit_many(batch)
            makespan = await watch.wait(timeout=600) - t0
            cpu = time.process_time() - cpu0
            peak = peak_rss_mb()
            await check_outcomes(deck, n)
        finally:
            await deck.close()
    overhead = (makespan - ideal) / ideal * 100
    log(
        f"  makespan {makespan:.3f}s (ideal {ideal:.2f}s, overhead {overhead:.1f}%), "
        f"peak RSS {peak:.0f} MB, CPU {cpu:.2f}s"
    )
    return {
        "makespan_s": makespan,
        "ideal_s": ideal,
        "overhead_pct": overhead,
        "peak_rss_mb": peak,
        "cpu_s": cpu,
        "cpu_per_call_ms": cpu / (n * params["calls_per_run"]) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.w4_agents_at_scale")
    parser.add_argument("--db", choices=KINDS, default="sqlite")
    parser.add_argument("--runs", type=int, default=DEFAULTS["runs"])
    parser.add_argument("--profile", type=Path, help="write cProfile stats of one rep here")
    args = parser.parse_args()
    params = {**DEFAULTS, "runs": args.runs, "concurrency": max(args.runs, 1)}
    if args.profile is None:
        log(str(asyncio.run(measure(args.db, params))))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(measure(args.db, params))
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)
    log(f"profile written to {args.profile}")


if __name__ == "__main__":
    main()
