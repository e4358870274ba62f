"""Claim races: many claimers over one queue; every run is claimed exactly once."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store import runs as run_queries
from agentdeck.store.schema import events, runs

RUNS = 2_000
CLAIMERS = 8


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("one-step")
    async def one_step(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("only", lambda: inputs["n"])

    return registry


async def queue(deck: Deck, count: int) -> set[str]:
    submitted = await deck.submit_many([Submission("one-step", {"n": n}) for n in range(count)])
    return {r.id for r in submitted}


async def test_claimers_on_threads_each_in_its_own_transaction_claim_every_run_once(
    deck: Deck,
) -> None:
    expected = await queue(deck, RUNS)
    start = threading.Barrier(CLAIMERS)
    batches: list[list[list[str]]] = [[] for _ in range(CLAIMERS)]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        def tx(conn: Connection) -> list[str]:
            now = datetime.now(UTC)
            claimed = run_queries.claim(
                conn,
                worker_id=f"claimer-{index}",
                limit=10,
                now=now,
                lease_expires_at=now + timedelta(minutes=5),
            )
            return [r.id for r in claimed]

        try:
            start.wait()
            while batch := deck.db.write_sync(tx):
                batches[index].append(batch)
        except BaseException as error:  # reported on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    await asyncio.to_thread(lambda: [t.join() for t in threads])

    assert errors == []
    claimed = [run_id for mine in batches for batch in mine for run_id in batch]
    duplicates = [run_id for run_id, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert set(claimed) == expected
    assert all(len(batch) <= 10 for mine in batches for batch in mine)
    if deck.db.is_postgres:  # SKIP LOCKED lets claimers pass each other
        assert sum(1 for mine in batches if mine) > 1

    def owners(conn: Connection) -> dict[str, tuple[str, int]]:
        rows = conn.execute(select(runs.c.id, runs.c.claimed_by, runs.c.lease_epoch))
        return {r.id: (r.claimed_by, r.lease_epoch) for r in rows}

    stored = await deck.db.read(owners)
    claimer_of = {
        run_id: f"claimer-{i}" for i, mine in enumerate(batches) for b in mine for run_id in b
    }
    assert {run_id: owner for run_id, (owner, _) in stored.items()} == claimer_of
    assert {epoch for _, epoch in stored.values()} == {1}


async def test_workers_racing_on_one_deck_execute_every_run_exactly_once(deck: Deck) -> None:
    expected = await queue(deck, RUNS)
    workers = [deck.worker(concurrency=50) for _ in range(CLAIMERS)]
    for worker in workers:
        await worker.start(loops=False)
    while sum(await asyncio.gather(*(w.run_once() for w in workers))):
        pass

    assert sum(w.claimed for w in workers) == RUNS
    assert sum(1 for w in workers if w.claimed) > 1

    def started_per_run(conn: Connection) -> Counter[str]:
        rows = conn.execute(
            select(events.c.run_id, func.count())
            .where(events.c.kind == "run.started")
            .group_by(events.c.run_id)
        )
        return Counter({run_id: n for run_id, n in rows})

    started = await deck.db.read(started_per_run)
    assert set(started) == expected
    assert set(started.values()) == {1}
    counts = await deck.db.read(
        lambda conn: dict(
            conn.execute(select(runs.c.status, func.count()).group_by(runs.c.status)).all()
        )
    )
    assert counts == {"succeeded": RUNS}
