"""A cancel that arrives while a run parks ends it; an insert that references a run
(key-share lock) never waits on the writer's lock of that run, nor the writer on it."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.writer import JournalWriter, Write
from agentdeck.store import transitions
from tests.engine.test_lease_fencing import claim_as


async def test_cancel_arriving_while_the_run_parks_leaves_it_cancelled_not_waiting(
    frozen_deck: Deck, registry: Registry
) -> None:
    deck = frozen_deck

    @registry.workflow("parks")
    async def parks(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def cancel_from_elsewhere() -> bool:
            # another process's cancel: committed, its wake-up not yet here
            await deck.db.write(
                lambda conn: transitions.steer(
                    conn, deck.clock.now(), ctx.run_id, transitions.cancel_tx
                )
            )
            return True

        await ctx.step("before", cancel_from_elsewhere)
        return await ctx.wait_for_signal("go")

    run = await deck.submit("parks")
    worker = deck.worker()
    await worker.start(loops=False)
    assert await worker.run_once() == 1

    done = await deck.get(run.id)
    assert done.cancel_requested_at is not None
    assert (done.status, done.error) == ("cancelled", "cancelled")
    assert done.finished_at is not None
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds[-1] == "run.cancelled"


@pytest.mark.timeout(30)
async def test_writer_does_not_wait_on_an_open_insert_that_references_the_run(
    backend: str, database_url: str, frozen_deck: Deck, registry: Registry, clock: FrozenClock
) -> None:
    if backend != "postgres":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    deck = frozen_deck
    registry.workflow("noop")(_noop)
    run = await deck.submit("noop")
    epoch = await claim_as(deck, "worker-a")
    writer = JournalWriter(deck.db, deck.notifier, clock, "worker-a")
    writer.start()
    other = await psycopg.AsyncConnection.connect(database_url)
    try:
        # an open transaction holding the key-share lock an insert into signals takes
        await other.execute(
            "INSERT INTO signals (run_id, name, payload, created_at) VALUES (%s, 'x', '1', now())",
            (run.id,),
        )
        now = clock.now()
        step = {
            "run_id": run.id,
            "key": "s",
            "status": "succeeded",
            "result": 1,
            "error": None,
            "attempts": 1,
            "started_at": now,
            "finished_at": now,
        }
        write = Write(run_id=run.id, epoch=epoch, steps=[step], run_values={"stage": "on"})
        async with asyncio.timeout(10):
            lease = await writer.write(write)
        assert lease.lease_epoch == epoch
    finally:
        await other.rollback()
        await other.close()
        await writer.stop()


async def _noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
    return None


async def test_an_outcome_the_database_refuses_fails_the_run_once_saying_why(
    backend: str, deck: Deck, registry: Registry
) -> None:
    @registry.workflow("nul result")
    async def nul_result(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return "a\x00b"  # JSON, but PostgreSQL's jsonb cannot hold it

    run = await deck.submit("nul result")
    worker = deck.worker()
    await worker.start(loops=False)
    assert await worker.run_once() == 1
    done = await deck.get(run.id)
    if backend == "sqlite":
        assert (done.status, done.result) == ("succeeded", "a\x00b")
        return
    assert done.status == "failed"  # at once, not left running until its lease ran out
    assert done.error is not None
    assert done.error.startswith("the database refused how the run ended: DataError")
    assert done.lease_epoch == 1
