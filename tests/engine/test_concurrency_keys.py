"""Concurrency keys: runs sharing a key never exceed its limit running at once, across Decks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from pydantic import BaseModel, Field

from agentdeck.deck import Deck
from agentdeck.domain.errors import InvalidInput
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings


class Gate:
    """Step bodies enter, report it, and leave only when the test lets one go."""

    def __init__(self) -> None:
        self.inside: set[str] = set()
        self.peak = 0
        self.entered: asyncio.Queue[str] = asyncio.Queue()
        self.left: asyncio.Queue[str] = asyncio.Queue()
        self.let_go = asyncio.Semaphore(0)

    async def hold(self, run_id: str) -> str:
        self.inside.add(run_id)
        self.peak = max(self.peak, len(self.inside))
        self.entered.put_nowait(run_id)
        await self.let_go.acquire()
        self.inside.discard(run_id)
        self.left.put_nowait(run_id)
        return run_id


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def registry(gate: Gate) -> Registry:
    registry = Registry()

    @registry.workflow("guarded")
    async def guarded(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("work", lambda: gate.hold(ctx.run.id))

    @registry.workflow("free")
    async def free(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("work", lambda: "done")

    @registry.workflow(
        "per-repo",
        inputs={"type": "object", "properties": {"repo": {"type": "string"}}},
        concurrency_key="repo:{inputs.repo}",
        concurrency_limit=3,
    )
    async def per_repo(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return None

    @registry.workflow("by-agent", inputs=ByAgent)
    async def by_agent(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return await ctx.step("work", lambda: gate.hold(ctx.run.id))

    return registry


class ByAgent(BaseModel):
    writer: str = Field(json_schema_extra={"x-agentdeck-kind": "agent"})


@pytest.fixture
async def decks(database_url: str, registry: Registry) -> AsyncIterator[list[Deck]]:
    """Three Decks on one database, as three processes would be: each its own pool and worker."""
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(3):
            deck = Deck(fast_settings(database_url), registry=registry, migrate=False)
            await deck.start()
            stack.push_async_callback(deck.close)
            found.append(deck)
        yield found


async def _max_overlap(deck: Deck, run_ids: list[str]) -> int:
    """The most steps the journal shows running at one instant (a finish before a start)."""
    moments: list[tuple[Any, int]] = []
    for run_id in run_ids:
        [step] = await deck.steps(run_id)
        moments += [(step.started_at, 1), (step.finished_at, -1)]
    moments.sort(key=lambda m: (m[0], m[1]))
    inside = peak = 0
    for _, change in moments:
        inside += change
        peak = max(peak, inside)
    return peak


async def _drive(decks: list[Deck], gate: Gate, runs: int, limit: int) -> None:
    """Let the held runs go one at a time; the next to enter must keep within the limit."""
    for _ in range(limit):
        await gate.entered.get()
    for done in range(runs):
        assert len(gate.inside) <= limit
        gate.let_go.release()
        await gate.left.get()
        if done + limit < runs:
            await gate.entered.get()
            assert len(gate.inside) <= limit


@pytest.mark.parametrize("limit", [1, 2])
async def test_runs_sharing_a_key_never_exceed_its_limit_across_workers(
    decks: list[Deck], gate: Gate, limit: int
) -> None:
    runs = 30 if limit == 2 else 10
    submitted = [
        await decks[0].submit("guarded", concurrency_key="k", concurrency_limit=limit)
        for _ in range(runs)
    ]
    assert submitted[0].concurrency_key == "k"
    assert submitted[0].concurrency_limit == limit
    for deck in decks:
        await deck.worker(concurrency=5).start()
    async with asyncio.timeout(60):
        await _drive(decks, gate, runs, limit)
        finished = [await decks[0].wait(r.id) for r in submitted]
    assert {r.status for r in finished} == {"succeeded"}
    assert gate.peak == limit  # the limit was reached, and never passed
    assert await _max_overlap(decks[0], [r.id for r in submitted]) == limit


async def test_runs_without_a_key_or_with_another_key_are_not_held_back(
    decks: list[Deck], gate: Gate
) -> None:
    held = await decks[0].submit("guarded", concurrency_key="k", concurrency_limit=1)
    waiting = await decks[0].submit("guarded", concurrency_key="k", concurrency_limit=1)
    other = await decks[0].submit("guarded", concurrency_key="other", concurrency_limit=1)
    for deck in decks:
        await deck.worker(concurrency=4).start()
    async with asyncio.timeout(30):
        first = {await gate.entered.get(), await gate.entered.get()}
        assert first in ({held.id, other.id}, {waiting.id, other.id})
        free = [await decks[1].submit("free") for _ in range(6)]
        assert {(await decks[1].wait(r.id)).status for r in free} == {"succeeded"}
        assert (await decks[0].get(waiting.id if held.id in first else held.id)).status == "queued"
        for _ in range(3):
            gate.let_go.release()
        for run in (held, waiting, other):
            assert (await decks[0].wait(run.id)).status == "succeeded"


async def test_a_workflow_declares_its_key_from_the_inputs(decks: list[Deck]) -> None:
    run = await decks[0].submit("per-repo", {"repo": "acme/site"})
    assert (run.concurrency_key, run.concurrency_limit) == ("repo:acme/site", 3)
    override = await decks[0].submit(
        "per-repo", {"repo": "x"}, concurrency_key="customer:7", concurrency_limit=2
    )
    assert (override.concurrency_key, override.concurrency_limit) == ("customer:7", 2)
    keyless = await decks[0].submit("free")
    assert (keyless.concurrency_key, keyless.concurrency_limit) == (None, None)
    assert (await decks[0].get(run.id)).concurrency_key == "repo:acme/site"


@pytest.mark.parametrize(
    ("workflow", "inputs", "options", "field"),
    [
        ("per-repo", {}, {}, "inputs.repo"),
        ("free", {}, {"concurrency_limit": 2}, "concurrency_limit"),
        ("free", {}, {"concurrency_key": "k", "concurrency_limit": 0}, "concurrency_limit"),
        ("free", {}, {"concurrency_key": "k", "concurrency_limit": True}, "concurrency_limit"),
        ("free", {}, {"concurrency_key": ""}, "concurrency_key"),
        ("free", {}, {"concurrency_key": "x" * 201}, "concurrency_key"),
    ],
)
async def test_a_bad_key_or_limit_is_refused_naming_the_field(
    decks: list[Deck], workflow: str, inputs: dict[str, Any], options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await decks[0].submit(workflow, inputs, **options)
    assert raised.value.field == field
    assert (await decks[0].list()).items == []


async def test_a_retry_keeps_the_key_and_limit(decks: list[Deck]) -> None:
    run = await decks[0].submit("free", concurrency_key="k", concurrency_limit=2)
    worker = decks[0].worker()
    await worker.start(loops=False)
    await worker.drain()
    assert (await decks[0].get(run.id)).status == "succeeded"
    retried = await decks[0].retry(run.id)
    assert (retried.concurrency_key, retried.concurrency_limit) == ("k", 2)


async def test_an_agent_with_run_concurrency_keys_the_runs_that_name_it(
    decks: list[Deck], gate: Gate
) -> None:
    await decks[0].agents.create({"name": "solo", "role": "writer", "run_concurrency": 1})
    await decks[0].agents.create({"name": "many", "role": "writer"})
    held = [await decks[0].submit("by-agent", {"writer": "solo"}) for _ in range(6)]
    assert (held[0].concurrency_key, held[0].concurrency_limit) == ("agent:solo", 1)
    unkeyed = await decks[0].submit("by-agent", {"writer": "many"})
    assert unkeyed.concurrency_key is None
    own = await decks[0].submit("by-agent", {"writer": "solo"}, concurrency_key="mine")
    assert (own.concurrency_key, own.concurrency_limit) == ("mine", 1)  # the submit's wins
    for other in (unkeyed, own):  # keyed as said; only the agent's runs go on
        await decks[0].cancel(other.id)
    for deck in decks:
        await deck.worker(concurrency=5).start()
    async with asyncio.timeout(60):
        await _drive(decks, gate, len(held), 1)
        finished = [await decks[0].wait(r.id) for r in held]
    assert {r.status for r in finished} == {"succeeded"}
    assert gate.peak == 1
    assert await _max_overlap(decks[0], [r.id for r in held]) == 1
