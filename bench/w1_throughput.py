"""W1 throughput: submit N no-op runs (one bulk call; one by one), then one worker drains them."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from agentdeck.deck import Submission
from bench.databases import fresh_database
from bench.harness import (
    FinishWatch,
    check_all_succeeded,
    claim_to_finish_s,
    log,
    start_deck,
)
from bench.workflows import NOOP, open_deck

NAME = "W1"
DEFAULTS: dict[str, Any] = {"runs": 2000}


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n: int = params["runs"]
    with fresh_database(db) as url:
        one = await _submit_one_by_one(url, n)
    with fresh_database(db) as url:
        bulk, process, process_wall = await _submit_bulk_then_process(url, n)
    log(f"  submit bulk {bulk:.0f}/s, one by one {one:.0f}/s; process {process:.0f}/s")
    return {
        "submit_per_s": bulk,
        "submit_per_s_bulk": bulk,
        "submit_per_s_one": one,
        "process_per_s": process,
        "process_wall_per_s": process_wall,
    }


async def _submit_one_by_one(url: str, n: int) -> float:
    """Runs per second for N sequential `await deck.submit(...)` calls (no worker running)."""
    deck = open_deck(url)
    try:
        await start_deck(deck)
        t0 = perf_counter()
        for _ in range(n):
            await deck.submit(NOOP)
        return n / (perf_counter() - t0)
    finally:
        await deck.close()


async def _submit_bulk_then_process(url: str, n: int) -> tuple[float, float, float]:
    """(bulk submits/s, processed/s first claim → last finish, processed/s worker start → last
    outcome committed)."""
    deck = open_deck(url)
    try:
        await start_deck(deck)
        submissions = [Submission(NOOP) for _ in range(n)]
        t0 = perf_counter()
        await deck.submit_many(submissions)
        bulk = n / (perf_counter() - t0)

        watch = FinishWatch(deck, n)
        worker = deck.worker()  # default concurrency
        t1 = perf_counter()
        await worker.start()
        done_at = await watch.wait(timeout=600)
        await check_all_succeeded(deck, n)
        span = await claim_to_finish_s(deck)
        return bulk, n / span, n / (done_at - t1)
    finally:
        await deck.close()
