"""Heartbeats renew every lease of a worker at once; the rescuer takes back expired ones."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck, Submission
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store import runs as run_queries
from tests.engine.hooks import Hold, rescuer
from tests.store.rows import events_of

SECOND = timedelta(seconds=1)


@pytest.fixture
def hold() -> Hold:
    return Hold(expected=3)


@pytest.fixture
def registry(hold: Hold) -> Registry:
    registry = Registry()

    @registry.workflow("held")
    async def held(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("wait", hold)

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return "done"

    return registry


async def claim_as(deck: Deck, worker_id: str, run_id: str) -> None:
    """Claim `run_id` for a worker that will then die silently."""

    def tx(conn: Connection) -> None:
        now = deck.clock.now()
        claimed = run_queries.claim(
            conn,
            worker_id=worker_id,
            limit=1,
            now=now,
            lease_expires_at=now + deck.settings.lease_interval,
        )
        assert [c.id for c in claimed] == [run_id]

    await deck.db.write(tx)


@pytest.fixture
def statements(frozen_deck: Deck) -> Iterator[list[str]]:
    """Every SQL statement the deck's engine executes while the test holds the list."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(frozen_deck.db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(frozen_deck.db.engine, "before_cursor_execute", record)


async def test_heartbeat_renews_every_lease_of_the_worker_in_one_statement(
    frozen_deck: Deck, clock: FrozenClock, hold: Hold, statements: list[str]
) -> None:
    deck, lease = frozen_deck, frozen_deck.settings.lease_interval
    worker = deck.worker(concurrency=3)
    await worker.start(loops=False)
    mine = await deck.submit_many([Submission("held") for _ in range(3)])
    executing = asyncio.create_task(worker.run_once())
    await hold.entered.wait()
    theirs = await deck.submit("noop")
    await claim_as(deck, "another-worker", theirs.id)

    clock.advance(SECOND)
    statements.clear()
    await worker.heartbeat()
    run_updates = [s for s in statements if s.startswith("UPDATE runs")]
    assert len(run_updates) == 1

    for run in mine:
        renewed = await deck.get(run.id)
        assert renewed.lease_expires_at == clock.now() + lease
        assert renewed.heartbeat_at == clock.now()
    untouched = await deck.get(theirs.id)
    assert untouched.lease_expires_at == clock.now() - SECOND + lease
    assert worker.active == 3  # nothing was cancelled: every lease is still held
    hold.release.set()
    await executing
    assert {(await deck.get(r.id)).status for r in mine} == {"succeeded"}


async def test_rescuer_queues_runs_whose_lease_expired_and_records_it(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    dead, alive = await deck.submit_many([Submission("noop"), Submission("noop")])
    await claim_as(deck, "dead-worker", dead.id)
    clock.advance(1.5 * SECOND)
    await claim_as(deck, "live-worker", alive.id)
    clock.advance(SECOND)  # dead's lease ended 0.5 s ago; alive's ends in 1.5 s

    rescue = await rescuer(deck).rescue()
    assert (rescue.requeued, rescue.cancelled, rescue.paused) == ([dead.id], [], [])
    requeued = await deck.get(dead.id)
    assert (requeued.status, requeued.claimed_by, requeued.lease_expires_at) == (
        "queued",
        None,
        None,
    )
    assert requeued.due_at == clock.now()
    [expired] = await events_of(deck, dead.id, "run.lease_expired")
    assert expired.data == {"worker": "dead-worker", "epoch": 1}
    assert (await deck.get(alive.id)).claimed_by == "live-worker"
    assert (await rescuer(deck).rescue()).requeued == []  # nothing twice

    worker = deck.worker()
    await worker.start(loops=False)
    assert await worker.drain() == 1
    finished = await deck.get(dead.id)
    assert (finished.status, finished.lease_epoch) == ("succeeded", 2)


async def test_rescue_of_a_dead_workers_run_honours_a_cancel_or_pause_request(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    to_cancel, to_pause = await deck.submit_many([Submission("noop"), Submission("noop")])
    await claim_as(deck, "dead-worker", to_cancel.id)
    await claim_as(deck, "dead-worker", to_pause.id)
    assert (await deck.cancel(to_cancel.id)).status == "running"  # requested, not done
    assert (await deck.pause(to_pause.id)).status == "running"

    clock.advance(3 * SECOND)
    rescue = await rescuer(deck).rescue()
    assert (rescue.requeued, rescue.cancelled, rescue.paused) == ([], [to_cancel.id], [to_pause.id])
    cancelled = await deck.wait(to_cancel.id, timeout=1)
    assert (cancelled.status, cancelled.error, cancelled.finished_at) == (
        "cancelled",
        "cancelled",
        clock.now(),
    )
    assert (await deck.get(to_pause.id)).status == "paused"
    assert len(await events_of(deck, to_cancel.id, "run.lease_expired")) == 1

    await deck.resume(to_pause.id)
    worker = deck.worker()
    await worker.start(loops=False)
    assert await worker.drain() == 1
    assert (await deck.get(to_pause.id)).status == "succeeded"


async def test_rescuer_marks_workers_that_stopped_heartbeating_as_lost(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    silent, beating = deck.worker(), deck.worker()
    await silent.start(loops=False)
    await beating.start(loops=False)
    clock.advance(deck.settings.worker_lost_after + SECOND)
    await beating.heartbeat()
    await rescuer(deck).rescue()  # with a 10 min threshold nobody is lost yet
    assert {w.status for w in await deck.workers()} == {"alive"}
    await rescuer(deck, deck.settings.worker_lost_after).rescue()
    status = {w.id: w.status for w in await deck.workers()}
    assert status == {silent.id: "lost", beating.id: "alive"}


async def test_heartbeat_does_not_renew_a_run_the_worker_is_not_executing(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    worker = deck.worker()
    await worker.start(loops=False)
    run = await deck.submit("noop")
    # claimed under the worker's id, but no task executes it (a claim whose task was lost)
    await claim_as(deck, worker.id, run.id)
    clock.advance(1.5 * SECOND)
    await worker.heartbeat()
    clock.advance(1.5 * SECOND)  # 3 s after the claim: a 2 s lease nobody renewed on purpose
    assert (await rescuer(deck).rescue()).requeued == [run.id]


class HeldHeartbeat:
    """Blocks the heartbeat's transaction after its first UPDATE until `release` is set."""

    def __init__(self) -> None:
        self.updated = threading.Event()
        self.release = threading.Event()

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        beat = (
            statement.startswith(("UPDATE runs", "UPDATE workers")) and "heartbeat_at" in statement
        )
        if beat and "SELECT" not in statement and not self.updated.is_set():
            self.updated.set()
            self.release.wait(10)


async def test_run_claimed_while_a_heartbeat_is_in_flight_is_not_abandoned(
    backend: str, deck: Deck, registry: Registry
) -> None:
    if backend != "postgres":
        pytest.skip("the interleaving needs two concurrent writers")
    hold = Hold()

    @registry.workflow("held-once")
    async def held_once(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("wait", hold)

    worker = deck.worker()
    await worker.start(loops=False)
    run = await deck.submit("held-once")
    held = HeldHeartbeat()
    event.listen(deck.db.engine, "after_cursor_execute", held.after)
    try:
        beating = asyncio.create_task(worker.heartbeat())
        assert await asyncio.to_thread(held.updated.wait, 10)
        executing = asyncio.create_task(worker.run_once())  # claims after the UPDATE
        await hold.entered.wait()
        held.release.set()
        await beating
    finally:
        held.release.set()
        event.remove(deck.db.engine, "after_cursor_execute", held.after)
    hold.release.set()
    await executing
    assert (await deck.get(run.id)).status == "succeeded"
