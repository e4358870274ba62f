"""What the workloads share: watching runs finish, checking outcomes, percentiles."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Sequence

from sqlalchemy import func, select

from agentdeck.deck import Deck
from agentdeck.engine.notifier import Topic
from agentdeck.store import runs as run_queries
from agentdeck.store.schema import runs


def log(message: str) -> None:
    """Progress and diagnostics: stderr only (stdout carries the JSON lines)."""
    print(message, file=sys.stderr, flush=True)


async def start_deck(deck: Deck) -> None:
    """Start the deck's wake-ups; on PostgreSQL wait until its LISTEN connection is up."""
    await deck.start()
    if deck.listener is not None:
        await asyncio.wait_for(deck.listener.connected.wait(), 30)


class FinishWatch:
    """Counts distinct runs reported finished on the deck's notifier; notes when all `n` are.

    The notice is published right after the run's final write commits, so
    `done_at` is when the last run's outcome became durable.
    """

    def __init__(self, deck: Deck, n: int) -> None:
        self.n = n
        self.done_at: float | None = None
        self._seen: set[str] = set()
        self._done = asyncio.Event()
        self._unsubscribe = deck.notifier.subscribe(self._on_notice)

    def _on_notice(self, topic: Topic, run_id: str | None) -> None:
        if topic != Topic.FINISHED or run_id is None or self._done.is_set():
            return
        self._seen.add(run_id)
        if len(self._seen) >= self.n:
            self.done_at = time.perf_counter()
            self._done.set()
            self._unsubscribe()

    async def wait(self, timeout: float) -> float:  # noqa: ASYNC109
        """perf_counter() when the n-th run finished."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            raise RuntimeError(f"only {len(self._seen)} of {self.n} runs finished") from None
        assert self.done_at is not None
        return self.done_at


async def check_all_succeeded(deck: Deck, n: int) -> None:
    counts = await deck.db.read(run_queries.count_by_status)
    if counts.get("succeeded", 0) != n or sum(counts.values()) != n:
        raise RuntimeError(f"expected {n} succeeded runs, found {counts}")


async def claim_to_finish_s(deck: Deck) -> float:
    """Seconds from the first run's claim to the last run's finish, from the runs table."""
    query = select(func.min(runs.c.started_at), func.max(runs.c.finished_at))
    first, last = await deck.db.read(lambda conn: conn.execute(query).one())
    return float((last - first).total_seconds())


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
