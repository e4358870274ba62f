"""Two Decks in one process: each hands its own agent runner to its own runs."""

from __future__ import annotations

from typing import Any

from agentdeck.agents import runner_of
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.llm.decks import DeckMaker, drain

ALPHA = """
agents:
  - name: alpha
    role: executor
    models: [simulator]
    instructions: Only the first Deck knows me.
"""
BETA = ALPHA.replace("alpha", "beta").replace("first", "second")


async def test_runs_of_each_deck_call_the_agents_of_that_deck(
    make_deck: DeckMaker, registry: Registry
) -> None:
    @registry.workflow("ask")
    async def ask(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        reply = await runner_of(ctx).run(ctx, inputs["agent"], "hello")
        return {"text": reply.text}

    first = make_deck(ALPHA)
    second = make_deck(BETA)  # opened last: a process-wide runner would be this one's
    run = await first.submit("ask", {"agent": "alpha"})
    await drain(first)
    done = await first.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result["text"]
    run = await second.submit("ask", {"agent": "beta"})
    await drain(second)
    done = await second.get(run.id)
    assert done.status == "succeeded", done.error
    run = await second.submit("ask", {"agent": "alpha"})
    await drain(second)
    refused = await second.get(run.id)
    assert refused.status == "failed"
    assert "alpha" in (refused.error or "")
