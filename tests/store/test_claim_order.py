"""Claim order: priority first, then due time, then age; runs not yet due are not claimed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store import runs as run_queries

SECOND = timedelta(seconds=1)


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return inputs

    return registry


async def claim(deck: Deck, now: datetime, limit: int = 1) -> list[str]:
    def tx(conn: Connection) -> list[str]:
        claimed = run_queries.claim(
            conn, worker_id="w", limit=limit, now=now, lease_expires_at=now + 30 * SECOND
        )
        return [r.id for r in claimed]

    return await deck.db.write(tx)


async def test_claim_takes_priority_then_due_time_then_age(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck, t0 = frozen_deck, clock.now()

    label: dict[str, str] = {}  # run id -> what sets it apart

    async def submit(name: str, priority: int = 0, due: datetime | None = None) -> None:
        run = await deck.submit("noop", {"name": name}, priority=priority, not_before=due)
        label[run.id] = name

    clock.advance(2 * SECOND)  # now t0+2
    await submit("p0 due t5 created t2", due=t0 + 5 * SECOND)
    clock.advance(-SECOND)  # now t0+1: the next run is older by created_at, newer by id
    await submit("p0 due t5 created t1", due=t0 + 5 * SECOND)
    await submit("p0 due t1")
    await submit("p0 due t3", due=t0 + 3 * SECOND)
    await submit("p7 due t9", priority=7, due=t0 + 9 * SECOND)
    await submit("p7 due t1", priority=7)
    await submit("p1000 due t8", priority=1000, due=t0 + 8 * SECOND)

    order = [label[i] for _ in label for i in await claim(deck, t0 + 10 * SECOND)]
    assert order == [
        "p1000 due t8",
        "p7 due t1",
        "p7 due t9",
        "p0 due t1",
        "p0 due t3",
        "p0 due t5 created t1",
        "p0 due t5 created t2",
    ]
    assert await claim(deck, t0 + 10 * SECOND) == []


async def test_claim_of_several_takes_the_first_ones_in_claim_order(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    runs = await frozen_deck.submit_many(
        [Submission("noop", {"n": n}, priority=p) for n, p in enumerate([1, 9, 0, 5, 9, 2])]
    )
    taken = await claim(frozen_deck, clock.now(), limit=3)
    assert set(taken) == {runs[1].id, runs[4].id, runs[3].id}
    assert len(taken) == 3


async def test_run_with_a_future_not_before_is_claimed_only_once_due(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    worker = frozen_deck.worker(concurrency=4)
    await worker.start(loops=False)
    later = await frozen_deck.submit("noop", {"n": 1}, not_before=clock.now() + 60 * SECOND)
    assert later.due_at == clock.now() + 60 * SECOND
    assert await worker.run_once() == 0
    clock.advance(60 * SECOND - timedelta(milliseconds=1))
    assert await worker.run_once() == 0
    assert (await frozen_deck.get(later.id)).status == "queued"
    clock.advance(timedelta(milliseconds=1))
    assert await worker.run_once() == 1
    assert (await frozen_deck.get(later.id)).status == "succeeded"

    past = await frozen_deck.submit("noop", not_before=clock.now() - timedelta(days=1))
    assert past.due_at == clock.now()  # a not_before in the past means now
    assert await worker.run_once() == 1


async def test_worker_does_not_claim_past_its_free_capacity(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    await frozen_deck.submit_many([Submission("noop", {"n": n}) for n in range(5)])
    worker = frozen_deck.worker(concurrency=2)
    await worker.start(loops=False)
    assert [await worker.run_once() for _ in range(4)] == [2, 2, 1, 0]
