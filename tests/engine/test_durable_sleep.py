"""Durable sleep: the run leaves the worker, waits on a timer, and is claimable once it is due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from tests.engine.hooks import Calls
from tests.store.rows import events_of

NAP = timedelta(minutes=5)


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(calls: Calls) -> Registry:
    registry = Registry()

    @registry.workflow("napper")
    async def napper(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        before = await ctx.step("before", calls.fn("before"))
        for _ in range(inputs.get("naps", 1)):
            await ctx.sleep(timedelta(seconds=inputs.get("seconds", NAP.total_seconds())))
        after = await ctx.step("after", calls.fn("after"))
        return [before, after, ctx.now().isoformat()]

    return registry


async def started_worker(deck: Deck) -> Worker:
    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    return worker


async def test_sleeping_run_waits_on_a_timer_and_is_claimed_only_once_due(
    frozen_deck: Deck, clock: FrozenClock, calls: Calls
) -> None:
    deck, t0 = frozen_deck, clock.now()
    worker = await started_worker(deck)
    run = await deck.submit("napper")
    assert await worker.run_once() == 1

    sleeping = await deck.get(run.id)
    assert (sleeping.status, sleeping.wait_kind, sleeping.waiting_on) == ("waiting", "timer", None)
    assert sleeping.due_at == t0 + NAP
    assert sleeping.lease_expires_at is None
    assert worker.active == 0
    assert len(await events_of(deck, run.id, "run.waiting")) == 1

    clock.advance(NAP - timedelta(milliseconds=1))
    assert await worker.run_once() == 0
    assert (await deck.get(run.id)).status == "waiting"

    clock.advance(timedelta(milliseconds=1))
    assert await worker.run_once() == 1
    done = await deck.get(run.id)
    assert done.status == "succeeded"
    assert done.result == ["before", "after", (t0 + NAP).isoformat()]
    assert calls == {"before": 1, "after": 1}  # the step before the sleep ran once


async def test_sleep_is_measured_from_when_it_started_not_from_each_resume(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck, t0 = frozen_deck, clock.now()
    worker = await started_worker(deck)
    run = await deck.submit("napper")
    await worker.run_once()
    clock.advance(timedelta(minutes=1))
    await deck.pause(run.id)  # a waiting run can be paused and resumed early
    await deck.resume(run.id)
    assert await worker.run_once() == 1
    again = await deck.get(run.id)
    assert (again.status, again.wait_kind, again.due_at) == ("waiting", "timer", t0 + NAP)
    clock.advance(timedelta(minutes=4))
    assert await worker.drain() == 1
    assert (await deck.get(run.id)).status == "succeeded"


async def test_successive_sleeps_each_park_the_run_once(
    frozen_deck: Deck, clock: FrozenClock, calls: Calls
) -> None:
    deck = frozen_deck
    worker = await started_worker(deck)
    run = await deck.submit("napper", {"naps": 3, "seconds": 10})
    for _ in range(3):
        assert await worker.run_once() == 1
        assert (await deck.get(run.id)).status == "waiting"
        assert await worker.run_once() == 0
        clock.advance(timedelta(seconds=10))
    assert await worker.run_once() == 1
    assert (await deck.get(run.id)).status == "succeeded"
    steps = [s.key for s in await deck.steps(run.id)]
    assert sorted(steps) == ["after", "before", "sleep:0", "sleep:1", "sleep:2"]
    assert calls == {"before": 1, "after": 1}
    assert len(await events_of(deck, run.id, "run.waiting")) == 3

    no_nap = await deck.submit("napper", {"seconds": 0})
    assert await worker.run_once() == 1  # a sleep already over never leaves the worker
    assert (await deck.get(no_nap.id)).status == "succeeded"
    assert await events_of(deck, no_nap.id, "run.waiting") == []
