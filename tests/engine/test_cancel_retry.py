"""Cancel interrupts a run now; retry starts a linked copy of a finished run."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck, RunFilter, Submission
from agentdeck.domain.errors import Conflict, IllegalTransition, NotFound
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.engine.hooks import Calls
from tests.store.rows import events_of


@pytest.fixture
def entered() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(entered: asyncio.Event, calls: Calls) -> Registry:
    registry = Registry()

    @registry.workflow("slow")
    async def slow(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def think() -> str:
            calls["think"] += 1
            entered.set()
            await asyncio.sleep(3600)  # an LLM call that takes its time
            return "thought"

        return await ctx.step("think", think)

    @registry.workflow("gated")
    async def gated(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return (await ctx.wait_for_gate("review")).decision

    @registry.workflow("echo")
    async def echo(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        calls["echo"] += 1
        if inputs.get("fail"):
            raise RuntimeError("first attempt fails")
        return inputs

    return registry


async def test_cancel_interrupts_a_step_in_flight_within_a_second(
    deck: Deck, entered: asyncio.Event
) -> None:
    worker = deck.worker()
    await worker.start()
    run = await deck.submit("slow")
    await entered.wait()

    started = time.monotonic()
    requested = await deck.cancel(run.id)
    assert requested.cancel_requested_at is not None
    cancelled = await deck.wait(run.id, timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert (cancelled.status, cancelled.error) == ("cancelled", "cancelled")
    assert cancelled.finished_at is not None
    assert await deck.steps(run.id) == []  # the interrupted step left no result
    assert worker.active == 0
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("run.cancel_requested") == 1
    assert kinds.count("run.cancelled") == 1


async def test_cancel_requested_by_another_process_stops_the_run_at_the_next_heartbeat(
    deck: Deck, registry: Registry, database_url: str, entered: asyncio.Event
) -> None:
    worker = deck.worker()
    await worker.start(loops=False)
    run = await deck.submit("slow")
    executing = asyncio.create_task(worker.run_once())
    await entered.wait()
    other = Deck(fast_settings(database_url), registry=registry, migrate=False)
    try:
        await other.cancel(run.id)
    finally:
        await other.close()
    await worker.heartbeat()  # a no-op on PostgreSQL if NOTIFY got there first
    async with asyncio.timeout(5):
        await executing
    assert (await deck.get(run.id)).status == "cancelled"


async def test_cancel_of_a_queued_paused_or_waiting_run_is_immediate(
    frozen_deck: Deck, clock: FrozenClock
) -> None:
    deck = frozen_deck
    worker = deck.worker()
    await worker.start(loops=False)
    queued, paused, waiting = await deck.submit_many(
        [Submission("echo"), Submission("echo"), Submission("gated")]
    )
    await deck.pause(paused.id)
    await deck.pause(queued.id)
    assert await worker.run_once() == 1  # only the gated one, which then waits
    await deck.resume(queued.id)
    for run, state in ((queued, "queued"), (paused, "paused"), (waiting, "waiting")):
        assert (await deck.get(run.id)).status == state

        clock.advance(timedelta(seconds=5))
        cancelled = await deck.cancel(run.id)
        assert (cancelled.status, cancelled.error) == ("cancelled", "cancelled"), state
        assert cancelled.finished_at == clock.now(), state
        assert await deck.wait(run.id, timeout=1) == cancelled
        assert len(await events_of(deck, run.id, "run.cancelled")) == 1, state
    assert await worker.run_once() == 0


async def test_cancel_of_a_finished_run_is_an_illegal_transition(deck: Deck) -> None:
    worker = deck.worker()
    await worker.start(loops=False)
    run = await deck.submit("echo")
    await worker.drain()
    with pytest.raises(IllegalTransition) as raised:
        await deck.cancel(run.id)
    assert (raised.value.current, raised.value.target) == ("succeeded", "cancelled")

    other = await deck.submit("echo")
    await deck.cancel(other.id)
    with pytest.raises(IllegalTransition) as raised:
        await deck.cancel(other.id)
    assert raised.value.current == "cancelled"
    assert (await deck.get(run.id)).status == "succeeded"


async def test_retry_creates_a_linked_queued_run_with_the_same_inputs(
    deck: Deck, calls: Calls
) -> None:
    worker = deck.worker()
    await worker.start(loops=False)
    original = await deck.submit("echo", {"fail": True, "topic": "x"}, priority=7)
    await worker.drain()
    assert (await deck.get(original.id)).status == "failed"

    retry = await deck.retry(original.id)
    assert retry.id != original.id
    assert (retry.status, retry.retry_of) == ("queued", original.id)
    assert (retry.workflow, retry.inputs, retry.priority) == ("echo", original.inputs, 7)
    assert retry.idempotency_key is None
    assert (await deck.get(original.id)).status == "failed"  # the original is left as it was
    [retried] = await events_of(deck, original.id, "run.retried")
    assert retry.id in (retried.message or "")
    assert [r.id for r in (await deck.list(RunFilter(retry_of=original.id))).items] == [retry.id]
    assert await worker.drain() == 1
    assert calls == {"echo": 2}


async def test_retry_of_a_run_that_has_not_finished_is_a_conflict(
    deck: Deck, entered: asyncio.Event
) -> None:
    worker = deck.worker()
    await worker.start(loops=False)
    waiting = await deck.submit("gated")
    await worker.run_once()
    running = await deck.submit("slow")
    executing = asyncio.create_task(worker.run_once())
    await entered.wait()
    queued = await deck.submit("echo")
    before = (await deck.list()).items
    for run, state in ((queued, "queued"), (running, "running"), (waiting, "waiting")):
        assert (await deck.get(run.id)).status == state
        with pytest.raises(Conflict, match=state):
            await deck.retry(run.id)
    assert (await deck.list()).items == before
    await worker.stop(grace=timedelta(0))  # release the sleeping run instead of waiting
    await executing


async def test_steering_a_run_that_does_not_exist_raises_not_found(deck: Deck) -> None:
    missing = "run_00000000000000000000000000"
    commands = [
        deck.get(missing),
        deck.cancel(missing),
        deck.pause(missing),
        deck.resume(missing),
        deck.retry(missing),
        deck.signal(missing, "msg"),
        deck.decide(missing, "review", "approve"),
        deck.steps(missing),
    ]
    for command in commands:
        with pytest.raises(NotFound, match=missing):
            await command
