"""The shortest path through the engine: submit, execute, read back."""

from __future__ import annotations

from typing import Any

from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry


async def test_submitted_run_executes_its_steps_and_succeeds(
    deck: Deck, registry: Registry
) -> None:
    @registry.workflow("add")
    async def add(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        a = await ctx.step("a", lambda: inputs["x"])
        b = await ctx.step("b", lambda: a + 1)
        return {"sum": a + b}

    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    run = await deck.submit("add", {"x": 2})
    assert await worker.drain() == 1
    run = await deck.get(run.id)
    assert run.status == "succeeded"
    assert run.result == {"sum": 5}
    assert [s.key for s in await deck.steps(run.id)] == ["a", "b"]
