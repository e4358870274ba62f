"""W2 agent loop: N runs submitted at once, each three sequential sleeping steps."""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import Any

from agentdeck.deck import Submission
from bench.databases import fresh_database
from bench.harness import FinishWatch, check_all_succeeded, log, start_deck
from bench.workflows import AGENT_LOOP, LOOP_STEPS, open_deck

NAME = "W2"
DEFAULTS: dict[str, Any] = {"runs": 200, "concurrency": 200, "step_sleep_s": 0.2, "size": 2048}


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n: int = params["runs"]
    sleep_s: float = params["step_sleep_s"]
    ideal = len(LOOP_STEPS) * sleep_s
    with fresh_database(db) as url:
        deck = open_deck(url)
        try:
            await start_deck(deck)
            await deck.worker(params["concurrency"]).start()
            await asyncio.sleep(0.2)  # let the worker settle into waiting for a wake-up
            inputs = {"sleep_s": sleep_s, "size": params["size"]}
            submissions = [Submission(AGENT_LOOP, inputs) for _ in range(n)]
            watch = FinishWatch(deck, n)
            t0 = perf_counter()
            await deck.submit_many(submissions)
            makespan = await watch.wait(timeout=300) - t0
            await check_all_succeeded(deck, n)
        finally:
            await deck.close()
    log(f"  makespan {makespan:.3f}s (ideal {ideal:.2f}s)")
    return {
        "makespan_s": makespan,
        "overhead_s": makespan - ideal,
        "steps_per_s": n * len(LOOP_STEPS) / makespan,
    }
