"""Workers register, stop cleanly, and give unfinished runs back to the queue when stopped."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
from datetime import timedelta
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.engine.collector import YOUNG_THRESHOLD
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.engine.hooks import Calls, Hold
from tests.store.rows import events_of


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def hold() -> Hold:
    return Hold()


@pytest.fixture
def registry(calls: Calls, hold: Hold) -> Registry:
    registry = Registry()

    @registry.workflow("two-steps")
    async def two_steps(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def slow() -> str:
            calls["slow"] += 1
            if calls["slow"] == 1:
                await hold()
            return "slow done"

        quick = await ctx.step("quick", calls.fn("quick"))
        return [quick, await ctx.step("slow", slow)]

    return registry


async def test_started_worker_is_registered_alive_and_stopped_after_stop(deck: Deck) -> None:
    worker = deck.worker(concurrency=7)
    await worker.start()
    [row] = await deck.workers()
    assert (row.id, row.status, row.concurrency) == (worker.id, "alive", 7)
    assert (row.hostname, row.pid) == (socket.gethostname(), os.getpid())
    assert row.stopped_at is None
    health = await deck.health()
    assert health["workers"] == {"alive": 1, "ids": [worker.id]}

    await worker.stop()
    [row] = await deck.workers()
    assert row.status == "stopped"
    assert row.stopped_at is not None
    assert (await deck.health())["workers"]["alive"] == 0


async def test_started_worker_freezes_start_up_objects_and_collects_less_often(deck: Deck) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)  # Python's default
    start_up = [object(), {"settings": "loaded"}]  # tracked by the collector until frozen
    assert gc.is_tracked(start_up)
    assert any(o is start_up for o in gc.get_objects())
    worker = deck.worker()
    await worker.start()
    try:
        assert gc.get_freeze_count() > 0
        assert not any(o is start_up for o in gc.get_objects())  # in the permanent generation
        after = [object()]
        assert any(o is after for o in gc.get_objects())  # what runs create is collected
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
    finally:
        await worker.stop()


async def test_stop_without_grace_releases_a_run_mid_step_and_another_worker_finishes_it(
    deck: Deck, calls: Calls, hold: Hold
) -> None:
    first = deck.worker()
    await first.start()
    run = await deck.submit("two-steps")
    await hold.entered.wait()

    await first.stop(grace=timedelta(0))
    released = await deck.get(run.id)
    assert (released.status, released.claimed_by, released.lease_expires_at) == (
        "queued",
        None,
        None,
    )
    assert [s.key for s in await deck.steps(run.id)] == ["quick"]
    [event] = await events_of(deck, run.id, "run.released")
    assert "stopping worker" in (event.message or "")
    assert first.active == 0

    second = deck.worker()
    await second.start(loops=False)
    assert await second.drain() == 1
    done = await deck.get(run.id)
    assert (done.status, done.result, done.claimed_by) == (
        "succeeded",
        ["quick", "slow done"],
        second.id,
    )
    assert calls == {"quick": 1, "slow": 2}  # only the interrupted step ran again


async def test_stop_with_grace_lets_a_run_in_flight_finish(
    deck: Deck, calls: Calls, hold: Hold
) -> None:
    worker = deck.worker()
    await worker.start()
    run = await deck.submit("two-steps")
    await hold.entered.wait()

    stopping = asyncio.create_task(worker.stop(grace=timedelta(seconds=30)))
    await asyncio.sleep(0)  # let stop() begin: it must wait for the run, not release it
    assert not stopping.done()
    hold.release.set()
    await asyncio.wait_for(stopping, 5)
    done = await deck.get(run.id)
    assert done.status == "succeeded"
    assert await events_of(deck, run.id, "run.released") == []
    assert [w.status for w in await deck.workers()] == ["stopped"]
