"""W3 latency: sequential one-step submissions on an idle system; submit → step start → result.

SQLite: the worker runs in this process and event loop. PostgreSQL: the worker is a
separate `agentdeck worker` process, woken by LISTEN/NOTIFY. Every run counts: the
first ones, which pay for cold caches and first connections, included.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agentdeck.deck import Deck
from bench.databases import fresh_database
from bench.harness import log, percentile, start_deck, worker_process, worker_ready
from bench.workflows import STAMP, open_deck

NAME = "W3"
DEFAULTS: dict[str, Any] = {"runs": 100, "concurrency": 10}


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    with fresh_database(db) as url:
        deck = open_deck(url)
        try:
            await start_deck(deck)
            async with _worker(deck, url, params["concurrency"]):
                samples = [await _one(deck) for _ in range(params["runs"])]
        finally:
            await deck.close()
    start = [s for s, _ in samples]
    result = [r for _, r in samples]
    metrics = {
        "start_p50_ms": percentile(start, 50),
        "start_p95_ms": percentile(start, 95),
        "start_p99_ms": percentile(start, 99),
        "result_p50_ms": percentile(result, 50),
        "result_p99_ms": percentile(result, 99),
    }
    log("  " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))
    return metrics


async def _one(deck: Deck) -> tuple[float, float]:
    """(submit → step starts, submit → result seen by the submitter), in milliseconds."""
    wall0, t0 = time.time(), time.perf_counter()
    run = await deck.submit(STAMP)
    done = await deck.wait(run.id, timeout=30)
    result_ms = (time.perf_counter() - t0) * 1000
    if done.status != "succeeded":
        raise RuntimeError(f"run {run.id} ended {done.status}: {done.error}")
    return (float(done.result) - wall0) * 1000, result_ms


@asynccontextmanager
async def _worker(deck: Deck, url: str, concurrency: int) -> AsyncIterator[None]:
    """A worker for the measurements: in process on SQLite, a subprocess on PostgreSQL."""
    if deck.db.is_sqlite:
        await deck.worker(concurrency).start()
        yield
        return
    async with worker_process(url, concurrency) as proc:
        await worker_ready(deck, proc)
        yield
