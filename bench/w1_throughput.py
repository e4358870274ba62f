"""W1 throughput: submit N no-op runs one by one (and in one bulk call), then a worker process
drains them.

Metrics:
- `submit_per_s`: N sequential `await deck.submit(...)` calls, no worker running (the way
  a user submits runs, and the way the peers' one-by-one figures are taken).
- `submit_per_s_bulk`: one `deck.submit_many` of N, on its own fresh database.
- `process_per_s`: N / (the worker process ready → this process sees the N-th run
  finished). The worker is `agentdeck worker` (default concurrency) in its own process,
  started once the N runs are queued; "ready" is its own `started_at`, stamped when it
  registers, after its imports and its database were opened. PostgreSQL: finishes are
  seen from the worker's NOTIFY; SQLite: counted every 5 ms.
- `process_claim_to_finish_per_s`: N / (first run's `started_at` → last `finished_at`),
  the database's own span: shorter, and not what the peers report.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from agentdeck.deck import Submission
from bench.databases import fresh_database
from bench.harness import (
    FinishWatch,
    check_all_succeeded,
    claim_to_finish_s,
    finished_wall,
    log,
    start_deck,
    worker_process,
    worker_ready,
)
from bench.workflows import NOOP, open_deck

NAME = "W1"
DEFAULTS: dict[str, Any] = {"runs": 2000}


async def measure(db: str, params: dict[str, Any]) -> dict[str, float]:
    n: int = params["runs"]
    with fresh_database(db) as url:
        one, process, claim_span = await _one_by_one_then_process(url, n)
    with fresh_database(db) as url:
        bulk = await _submit_bulk(url, n)
    log(f"  submit one by one {one:.0f}/s, bulk {bulk:.0f}/s; process {process:.0f}/s")
    return {
        "submit_per_s": one,
        "submit_per_s_bulk": bulk,
        "process_per_s": process,
        "process_claim_to_finish_per_s": n / claim_span,
    }


async def _one_by_one_then_process(url: str, n: int) -> tuple[float, float, float]:
    """(submits/s one by one, processed/s worker process ready → all seen finished here,
    seconds first claim → last finish)."""
    deck = open_deck(url)
    try:
        await start_deck(deck)
        t0 = perf_counter()
        for _ in range(n):
            await deck.submit(NOOP)
        one = n / (perf_counter() - t0)

        watch = FinishWatch(deck, n)
        async with worker_process(url) as proc:
            done_wall = await finished_wall(deck, n, watch, proc, timeout=600)
            ready = await worker_ready(deck, proc)
        await check_all_succeeded(deck, n)
        span = done_wall - ready.started_at.timestamp()
        return one, n / span, await claim_to_finish_s(deck)
    finally:
        await deck.close()


async def _submit_bulk(url: str, n: int) -> float:
    """Runs per second for one `submit_many` of N (no worker running)."""
    deck = open_deck(url)
    try:
        await start_deck(deck)
        submissions = [Submission(NOOP) for _ in range(n)]
        t0 = perf_counter()
        await deck.submit_many(submissions)
        return n / (perf_counter() - t0)
    finally:
        await deck.close()
