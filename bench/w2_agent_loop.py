"""W2 agent loop: N runs, each three sequential sleeping steps, submitted one by one.

`makespan_s`: the first of N sequential `await deck.submit(...)` calls starts → the N-th
run's outcome committed, the worker (in this process) already idle; `overhead_s` =
makespan - ideal; `steps_per_s`. `bulk_makespan_s` / `bulk_overhead_s`: the same with
all N in one `deck.submit_many`, on its own fresh database.
"""

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
    ideal = len(LOOP_STEPS) * params["step_sleep_s"]
    single = await _makespan(db, params, bulk=False)
    bulk = await _makespan(db, params, bulk=True)
    log(f"  makespan {single:.3f}s one by one, {bulk:.3f}s bulk (ideal {ideal:.2f}s)")
    return {
        "makespan_s": single,
        "overhead_s": single - ideal,
        "steps_per_s": n * len(LOOP_STEPS) / single,
        "bulk_makespan_s": bulk,
        "bulk_overhead_s": bulk - ideal,
    }


async def _makespan(db: str, params: dict[str, Any], *, bulk: bool) -> float:
    n: int = params["runs"]
    inputs = {"sleep_s": params["step_sleep_s"], "size": params["size"]}
    with fresh_database(db) as url:
        deck = open_deck(url)
        try:
            await start_deck(deck)
            await deck.worker(params["concurrency"]).start()
            await asyncio.sleep(0.2)  # let the worker settle into waiting for a wake-up
            watch = FinishWatch(deck, n)
            t0 = perf_counter()
            if bulk:
                await deck.submit_many([Submission(AGENT_LOOP, inputs) for _ in range(n)])
            else:
                for _ in range(n):
                    await deck.submit(AGENT_LOOP, inputs)
            makespan = await watch.wait(timeout=300) - t0
            await check_all_succeeded(deck, n)
        finally:
            await deck.close()
    return makespan
