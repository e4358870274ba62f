"""Gates and signals: a waiting run holds no worker slot and resumes when its answer arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentdeck.deck import Deck, Submission
from agentdeck.domain.errors import Conflict, InvalidInput
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from tests.engine.hooks import Calls, Hold
from tests.store.rows import events_of, row_counts


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def hold() -> Hold:
    return Hold()


@pytest.fixture
def registry(calls: Calls, hold: Hold) -> Registry:
    registry = Registry()

    @registry.workflow("reviewed")
    async def reviewed(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        plan = await ctx.step("plan", calls.fn("plan", "the plan"))
        gate = await ctx.wait_for_gate("review")
        built = await ctx.step("build", calls.fn("build", f"built {plan}"))
        return {"decision": gate.decision, "comment": gate.comment, "built": built}

    @registry.workflow("listener")
    async def listener(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        if inputs.get("hold"):
            await ctx.step("prepare", hold)
        return [await ctx.wait_for_signal("msg") for _ in range(inputs.get("count", 1))]

    @registry.workflow("quick")
    async def quick(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return "done"

    return registry


async def started_worker(deck: Deck, concurrency: int = 4) -> Worker:
    worker = deck.worker(concurrency=concurrency)
    await worker.start(loops=False)
    return worker


async def test_gate_parks_the_run_and_frees_the_worker_slot(deck: Deck) -> None:
    worker = await started_worker(deck, concurrency=1)
    run = await deck.submit("reviewed")
    assert await worker.run_once() == 1
    waiting = await deck.get(run.id)
    assert (waiting.status, waiting.wait_kind, waiting.waiting_on) == ("waiting", "gate", "review")
    assert waiting.lease_expires_at is None
    assert worker.active == 0
    [opened] = await events_of(deck, run.id, "gate.opened")
    assert opened.data == {"name": "review"}

    # the one slot is free: another run executes while the first still waits
    other = await deck.submit("quick")
    assert await worker.run_once() == 1
    assert (await deck.get(other.id)).status == "succeeded"
    assert (await deck.get(run.id)).status == "waiting"


async def test_decisions_resume_the_run_without_executing_finished_steps_again(
    deck: Deck, calls: Calls
) -> None:
    worker = await started_worker(deck)
    runs = await deck.submit_many([Submission("reviewed") for _ in range(3)])
    assert await worker.run_once() == 3
    decisions = [("approve", None), ("reject", "too risky"), ("changes", "split phase 2")]
    for run, (decision, comment) in zip(runs, decisions, strict=True):
        queued = await deck.decide(run.id, "review", decision, comment)
        assert (queued.status, queued.wait_kind, queued.waiting_on) == ("queued", None, None)
    assert await worker.drain() == 3

    results = [(await deck.get(r.id)).result for r in runs]
    assert results == [
        {"decision": d, "comment": c, "built": "built the plan"} for d, c in decisions
    ]
    assert calls == {"plan": 3, "build": 3}  # one plan per run: never executed twice
    decided = await events_of(deck, runs[2].id, "gate.decided")
    assert [e.data for e in decided] == [
        {"name": "review", "payload": {"decision": "changes", "comment": "split phase 2"}}
    ]


async def test_decide_rejects_a_bad_decision_and_changes_without_a_comment(deck: Deck) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("reviewed")
    await worker.run_once()
    before = await row_counts(deck)
    for decision, comment, field in [
        ("changes", None, "comment"),
        ("changes", "   ", "comment"),
        ("maybe", "hmm", "decision"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            await deck.decide(run.id, "review", decision, comment)
        assert raised.value.field == field
    assert await row_counts(deck) == before
    assert (await deck.get(run.id)).status == "waiting"


async def test_decide_on_the_wrong_gate_or_a_run_not_waiting_is_a_conflict(
    deck: Deck,
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("reviewed")
    with pytest.raises(Conflict):  # queued: it has not reached the gate
        await deck.decide(run.id, "review", "approve")
    await worker.run_once()
    before = await row_counts(deck)
    with pytest.raises(Conflict, match="review"):
        await deck.decide(run.id, "deploy", "approve")
    assert await row_counts(deck) == before

    await deck.decide(run.id, "review", "approve")
    with pytest.raises(Conflict):  # decided already: queued again
        await deck.decide(run.id, "review", "reject", "changed my mind")
    await worker.drain()
    with pytest.raises(Conflict):
        await deck.decide(run.id, "review", "approve")
    assert (await deck.get(run.id)).result["decision"] == "approve"


async def test_signal_sent_before_the_run_reaches_the_wait_is_not_lost(deck: Deck) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("listener")
    still_queued = await deck.signal(run.id, "msg", {"n": 1})
    assert still_queued.status == "queued"
    assert await worker.drain() == 1
    done = await deck.get(run.id)
    assert (done.status, done.result) == ("succeeded", [{"n": 1}])


async def test_signal_sent_while_the_run_executes_a_step_is_not_lost(
    deck: Deck, hold: Hold
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("listener", {"hold": True})
    executing = asyncio.create_task(worker.run_once())
    await hold.entered.wait()
    await deck.signal(run.id, "msg", "early")
    hold.release.set()
    await executing
    done = await deck.get(run.id)
    assert (done.status, done.result) == ("succeeded", ["early"])


async def test_signal_to_a_waiting_run_wakes_it_and_signals_are_taken_in_order(
    deck: Deck,
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("listener", {"count": 3})
    await worker.run_once()
    waiting = await deck.get(run.id)
    assert (waiting.status, waiting.wait_kind, waiting.waiting_on) == ("waiting", "signal", "msg")
    await deck.signal(run.id, "other", "ignored")
    assert (await deck.get(run.id)).status == "waiting"  # another name does not wake it
    assert (await deck.signal(run.id, "msg", 1)).status == "queued"
    await worker.drain()
    assert (await deck.get(run.id)).status == "waiting"
    await deck.signal(run.id, "msg", 2)
    await deck.signal(run.id, "msg", 3)
    await worker.drain()
    done = await deck.get(run.id)
    assert (done.status, done.result) == ("succeeded", [1, 2, 3])


async def test_signal_to_a_finished_run_or_with_a_bad_name_or_payload_is_refused(
    deck: Deck,
) -> None:
    worker = await started_worker(deck)
    run = await deck.submit("listener")
    before = await row_counts(deck)
    with pytest.raises(InvalidInput):
        await deck.signal(run.id, "msg", {"tags": {"a"}})
    for name in ("", "n" * 201):  # a run can never wait on such a name
        with pytest.raises(InvalidInput) as raised:
            await deck.signal(run.id, name, 1)
        assert raised.value.field == "name"
    assert await row_counts(deck) == before
    await deck.cancel(run.id)
    with pytest.raises(Conflict, match="cancelled"):
        await deck.signal(run.id, "msg", 1)
    assert await worker.run_once() == 0


async def test_a_plain_signal_named_like_a_gate_does_not_decide_it(
    deck: Deck, registry: Registry
) -> None:
    @registry.workflow("gated_only")
    async def gated_only(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        result = await ctx.wait_for_gate("review")
        return result.decision

    worker = deck.worker(concurrency=1)
    await worker.start(loops=False)
    run = await deck.submit("gated_only")
    await deck.signal(run.id, "review", {"decision": "approve"})  # early, and not a decision
    await worker.drain()
    run = await deck.get(run.id)
    assert (run.status, run.wait_kind, run.waiting_on) == ("waiting", "gate", "review")
    with pytest.raises(InvalidInput, match="reserved"):
        await deck.signal(run.id, "gate:review", {"decision": "approve"})
    await deck.decide(run.id, "review", "reject", "not yet")
    await worker.drain()
    assert (await deck.get(run.id)).result == "reject"
