"""A stored agent edited or deleted while a run waits does not change or fail that run:
its spec is journaled at the run's first call of it."""

from __future__ import annotations

from typing import Any

from agentdeck.agents import run_agent
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.llm.decks import DeckMaker, drain

SCRIBE = {"name": "scribe", "role": "producer", "models": ["simulator"], "instructions": "Write."}


def register(registry: Registry) -> None:
    @registry.workflow("asks twice")
    async def asks_twice(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        first = await run_agent(ctx, "scribe", "Task: one", key="one")
        await ctx.wait_for_signal("go")
        second = await run_agent(ctx, "scribe", "Task: two", key="two")
        return {"roles": [first.role, second.role], "second": second.text}


async def test_editing_or_deleting_a_stored_agent_mid_run_changes_nothing_for_the_run(
    make_deck: DeckMaker, registry: Registry
) -> None:
    deck = make_deck()
    register(registry)
    await deck.agents.create(SCRIBE)
    edited = await deck.submit("asks twice")
    deleted = await deck.submit("asks twice")
    await drain(deck)
    assert [(await deck.get(r.id)).status for r in (edited, deleted)] == ["waiting", "waiting"]

    await deck.agents.update("scribe", {"role": "evaluator", "instructions": "Score."})
    await deck.signal(edited.id, "go")
    await drain(deck)
    run = await deck.get(edited.id)
    assert run.status == "succeeded", run.error
    assert run.result["roles"] == ["producer", "producer"]  # the spec the run started with
    assert run.result["second"].lstrip().startswith("<!-- agentdeck:simulator")

    await deck.agents.delete("scribe")
    await deck.signal(deleted.id, "go")
    await drain(deck)
    run = await deck.get(deleted.id)
    assert run.status == "succeeded", run.error
    assert run.result["roles"] == ["producer", "producer"]
    steps = {s.key: s.result for s in await deck.steps(run.id)}
    assert steps["agent-spec:scribe"]["spec"]["instructions"] == "Write."
