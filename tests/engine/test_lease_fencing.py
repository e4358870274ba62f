"""Fencing: once a lease expired and the run was claimed again, its old holder writes nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.domain.errors import LeaseLost
from agentdeck.domain.runs import RunStatus
from agentdeck.engine.context import RunContext
from agentdeck.engine.fencing import FenceCounts
from agentdeck.engine.registry import Registry
from agentdeck.engine.writer import JournalWriter, Write, finished_values
from agentdeck.store import runs as run_queries
from tests.engine.hooks import Calls, Hold, rescuer
from tests.store.rows import events_of, row_counts

PAST_LEASE = timedelta(seconds=3)  # fast_settings leases last 2 s


async def claim_as(deck: Deck, worker_id: str) -> int:
    """Claim the one due run for `worker_id`, as its worker would; returns the lease epoch."""

    def tx(conn: Connection) -> int:
        now = deck.clock.now()
        [claimed] = run_queries.claim(
            conn,
            worker_id=worker_id,
            limit=1,
            now=now,
            lease_expires_at=now + deck.settings.lease_interval,
        )
        return claimed.lease_epoch

    return await deck.db.write(tx)


def stale_writes(deck: Deck, run_id: str, epoch: int) -> list[Write]:
    now = deck.clock.now()
    step = {
        "run_id": run_id,
        "key": "draft",
        "status": "succeeded",
        "result": {"text": "late"},
        "error": None,
        "attempts": 1,
        "started_at": now,
        "finished_at": now,
    }
    artifact = {
        "id": f"art_{run_id[-20:]}",
        "run_id": run_id,
        "name": "draft.md",
        "media_type": "text/markdown",
        "content": "late",
        "attempt": 1,
        "size": 4,
        "created_at": now,
    }
    usage = {"step_key": "draft", "agent": "writer", "provider": "sim", "model": "sim"}
    event = {"kind": "log", "message": "late", "data": None}
    finish = finished_values(RunStatus.SUCCEEDED, now, result={"late": True})
    return [
        Write(run_id=run_id, epoch=epoch, steps=[step]),
        Write(run_id=run_id, epoch=epoch, events=[event]),
        Write(run_id=run_id, epoch=epoch, artifacts=[artifact]),
        Write(run_id=run_id, epoch=epoch, usage=[usage]),
        Write(run_id=run_id, epoch=epoch, run_values=finish, events=[event]),
    ]


@pytest.fixture
def registry() -> Registry:
    registry = Registry()

    @registry.workflow("noop")
    async def noop(ctx: RunContext, inputs: dict[str, Any]) -> None:
        return None

    return registry


async def test_writes_of_a_rescued_and_reclaimed_lease_raise_lease_lost_and_leave_nothing(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    run = await deck.submit("noop")
    first = await claim_as(deck, "worker-a")
    clock.advance(PAST_LEASE)
    assert (await rescuer(deck).rescue()).requeued == [run.id]
    second = await claim_as(deck, "worker-b")
    assert second == first + 1

    writers = {w: JournalWriter(deck.db, deck.notifier, clock, w) for w in ("worker-a", "worker-b")}
    for writer in writers.values():
        writer.start()
    before = await row_counts(deck)
    try:
        for worker_id, epoch in [("worker-a", first), ("worker-a", second), ("worker-b", first)]:
            for write in stale_writes(deck, run.id, epoch):
                with pytest.raises(LeaseLost):
                    await writers[worker_id].write(write)
        assert await row_counts(deck) == before
        stored = await deck.get(run.id)
        assert (stored.status, stored.claimed_by, stored.lease_epoch) == (
            "running",
            "worker-b",
            second,
        )
        assert stored.result is None

        # the holder of the current lease writes the very same rows
        for write in stale_writes(deck, run.id, second):
            lease = await writers["worker-b"].write(write)
            assert (lease.claimed_by, lease.lease_epoch) == ("worker-b", second)
    finally:
        for writer in writers.values():
            await writer.stop()
    after = await row_counts(deck)
    assert {t: after[t] - before[t] for t in after} == {
        "runs": 0,
        "steps": 1,
        "events": 2,
        "artifacts": 1,
        "signals": 0,
        "usage": 1,
    }
    assert (await deck.get(run.id)).result == {"late": True}


async def test_worker_that_lost_its_lease_mid_step_records_nothing_and_the_new_owner_finishes(
    frozen_deck: Deck, registry: Registry, clock: FrozenClock
) -> None:
    deck, calls, hold = frozen_deck, Calls(), Hold()

    async def draft() -> str:
        calls["draft"] += 1
        if calls["draft"] == 1:
            await hold()  # the first executor is stuck here (a long GC, a cut network)
            return "from worker a"
        return "from worker b"

    @registry.workflow("two-steps")
    async def two_steps(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        outline = await ctx.step("outline", calls.fn("outline"))
        return {"outline": outline, "draft": await ctx.step("draft", draft)}

    run = await deck.submit("two-steps")
    worker_a, worker_b = deck.worker(), deck.worker()
    await worker_a.start(loops=False)
    await worker_b.start(loops=False)
    executing = asyncio.create_task(worker_a.run_once())
    await hold.entered.wait()

    clock.advance(PAST_LEASE)
    assert (await rescuer(deck).rescue()).requeued == [run.id]
    assert await worker_b.run_once() == 1
    hold.release.set()
    assert await executing == 1  # worker a's step returns; its write is refused

    stored = await deck.get(run.id)
    assert stored.status == "succeeded"
    assert stored.claimed_by == worker_b.id
    assert stored.result == {"outline": "outline", "draft": "from worker b"}
    assert calls == {"outline": 1, "draft": 2}  # the finished step was not executed again
    steps = {s.key: s.result for s in await deck.steps(run.id)}
    assert steps == {"outline": "outline", "draft": "from worker b"}
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("run.started") == 2
    assert kinds.count("run.lease_expired") == 1
    assert kinds.count("run.succeeded") == 1
    assert "run.failed" not in kinds
    assert worker_a.active == 0


async def test_heartbeat_of_a_worker_whose_run_was_taken_over_stops_that_run(
    frozen_deck: Deck, registry: Registry, clock: FrozenClock
) -> None:
    deck, hold = frozen_deck, Hold()

    @registry.workflow("held")
    async def held(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("wait", hold)

    run = await deck.submit("held")
    worker = deck.worker()
    await worker.start(loops=False)
    executing = asyncio.create_task(worker.run_once())
    await hold.entered.wait()
    clock.advance(PAST_LEASE)
    await rescuer(deck).rescue()
    epoch = await claim_as(deck, "worker-elsewhere")
    before = await row_counts(deck)

    await worker.heartbeat()
    async with asyncio.timeout(5):
        await executing  # the run's task was cancelled, without any release
    assert worker.active == 0
    assert not hold.release.is_set()
    assert await row_counts(deck) == before
    stored = await deck.get(run.id)
    assert (stored.status, stored.claimed_by, stored.lease_epoch) == (
        "running",
        "worker-elsewhere",
        epoch,
    )
    assert await events_of(deck, run.id, "run.cancelled") == []


async def test_worker_counts_and_logs_every_write_the_fence_refused(
    frozen_deck: Deck, registry: Registry, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    deck, hold = frozen_deck, Hold()

    async def draft() -> str:
        await hold()  # cut off here while another worker takes the run over
        return "late"

    @registry.workflow("cut-off")
    async def cut_off(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        await ctx.step("outline", lambda: "outline")
        return await ctx.step("draft", draft)

    run = await deck.submit("cut-off")
    worker = deck.worker()
    await worker.start(loops=False)
    executing = asyncio.create_task(worker.run_once())
    await hold.entered.wait()
    assert worker.fence == FenceCounts(attempted=1)  # the outline, within its lease

    clock.advance(PAST_LEASE)
    assert (await rescuer(deck).rescue()).requeued == [run.id]
    epoch = await claim_as(deck, "worker-elsewhere")
    with caplog.at_level(logging.WARNING, logger="agentdeck.engine.fencing"):
        hold.release.set()
        await executing

    assert worker.fence == FenceCounts(attempted=2, refused=1, late_attempted=1, late_refused=1)
    [line] = [r.getMessage() for r in caplog.records if "fencing refused" in r.getMessage()]
    assert line == (
        f"fencing refused a write of run {run.id} at epoch {epoch - 1} (sent past its lease): "
        f"the run is held by worker-elsewhere at epoch {epoch}"
    )
    assert [s.key for s in await deck.steps(run.id)] == ["outline"]


async def test_a_write_still_queued_when_its_run_left_the_worker_counts_as_sent_past_its_lease(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    run = await deck.submit("noop")
    first = await claim_as(deck, "worker-a")
    clock.advance(PAST_LEASE)
    await rescuer(deck).rescue()
    await claim_as(deck, "worker-b")

    writer = JournalWriter(deck.db, deck.notifier, clock, "worker-a")
    writer.start()
    try:
        # worker a last renewed its lease (as it believes) just now
        writer.fence.note_lease(run.id, clock.now() + deck.settings.lease_interval)
        queued = writer.send(stale_writes(deck, run.id, first)[1])
        # its heartbeat found the lease gone and stopped the run: the write stays queued
        writer.fence.forget_lease(run.id)
        clock.advance(PAST_LEASE)
        with pytest.raises(LeaseLost):
            await queued
    finally:
        await writer.stop()
    assert writer.fence.counts == FenceCounts(
        attempted=1, refused=1, late_attempted=1, late_refused=1
    )
