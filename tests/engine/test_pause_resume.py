"""Pause parks a run after its current step; resume queues it and skips the finished steps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentdeck.deck import Deck
from agentdeck.domain.errors import IllegalTransition
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from tests.conftest import fast_settings
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

    @registry.workflow("three-steps")
    async def three_steps(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        async def research() -> str:
            calls["research"] += 1
            if inputs.get("hold"):
                await hold()
            return "notes"

        notes = await ctx.step("research", research)
        draft = await ctx.step("draft", calls.fn("draft", f"draft from {notes}"))
        return await ctx.step("polish", calls.fn("polish", f"polished {draft}"))

    return registry


async def started_worker(deck: Deck) -> Worker:
    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    return worker


async def test_pause_while_running_parks_after_the_current_step_and_resume_skips_it(
    deck: Deck, calls: Calls, hold: Hold
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("three-steps", {"hold": True})
    executing = asyncio.create_task(worker.run_once())
    await hold.entered.wait()

    requested = await deck.pause(run.id)
    assert requested.status == "running"  # a running run parks only after its step
    assert requested.pause_requested_at is not None
    hold.release.set()
    await executing

    paused = await deck.get(run.id)
    assert (paused.status, paused.lease_expires_at) == ("paused", None)
    assert [s.key for s in await deck.steps(run.id)] == ["research"]
    assert calls == {"research": 1}
    assert worker.active == 0
    assert await worker.run_once() == 0  # a paused run is not claimable

    resumed = await deck.resume(run.id)
    assert (resumed.status, resumed.pause_requested_at) == ("queued", None)
    assert await worker.drain() == 1
    done = await deck.get(run.id)
    assert (done.status, done.result) == ("succeeded", "polished draft from notes")
    assert calls == {"research": 1, "draft": 1, "polish": 1}
    kinds = [e.kind for e in await deck.events(run.id)]
    for kind in ("run.pause_requested", "run.paused", "run.resumed", "run.succeeded"):
        assert kinds.count(kind) == 1, kind


async def test_pause_requested_by_another_process_is_honoured_after_the_step(
    deck: Deck, registry: Registry, database_url: str, calls: Calls, hold: Hold
) -> None:
    # The other Deck shares no in-process notifier: the step's fenced write sees the request.
    other = Deck(fast_settings(database_url), registry=registry, migrate=False)
    try:
        worker = await started_worker(deck)
        run = await deck.submit("three-steps", {"hold": True})
        executing = asyncio.create_task(worker.run_once())
        await hold.entered.wait()
        await other.pause(run.id)
        hold.release.set()
        await executing
    finally:
        await other.close()
    assert (await deck.get(run.id)).status == "paused"
    assert calls == {"research": 1}


async def test_pause_of_a_queued_run_is_immediate_and_resume_runs_it(
    deck: Deck, calls: Calls
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("three-steps")
    with pytest.raises(IllegalTransition) as raised:
        await deck.resume(run.id)  # only a paused run resumes
    assert raised.value.current == "queued"
    paused = await deck.pause(run.id)
    assert paused.status == "paused"
    assert await worker.run_once() == 0
    assert calls == {}
    await deck.resume(run.id)
    assert await worker.drain() == 1
    assert (await deck.get(run.id)).status == "succeeded"
    assert calls == {"research": 1, "draft": 1, "polish": 1}
    for command in (deck.resume, deck.pause):
        with pytest.raises(IllegalTransition) as raised:
            await command(run.id)
        assert raised.value.current == "succeeded"
    assert (await deck.get(run.id)).status == "succeeded"


async def test_deck_wait_returns_when_the_run_parks(deck: Deck, hold: Hold) -> None:
    worker = deck.worker()
    await worker.start()
    run = await deck.submit("three-steps", {"hold": True})
    await hold.entered.wait()
    await deck.pause(run.id)
    hold.release.set()
    parked = await deck.wait(run.id, timeout=5)
    assert parked.status == "paused"
    assert len(await events_of(deck, run.id, "run.paused")) == 1
