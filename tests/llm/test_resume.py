"""A resumed run replays its journaled model calls instead of calling the model again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from agentdeck.agents import run_agent
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store.schema import usage
from tests.llm.decks import CANARY, DeckMaker, drain
from tests.llm.provider_server import Ok, ProviderServer

ONE_AGENT = """
agents:
  - name: writer
    role: producer
    models: [{model}]
"""


def register_two_calls_around_a_gate(registry: Registry) -> None:
    @registry.workflow("gated")
    async def gated(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        first = await run_agent(ctx, "writer", "first part")
        await ctx.wait_for_gate("go")
        second = await run_agent(ctx, "writer", "second part")
        return [first.text, second.text, first.model_id]


async def usage_count(deck: Deck) -> int:
    query = select(func.count()).select_from(usage)
    return int(await deck.db.read(lambda conn: conn.execute(query).scalar_one()))


async def test_a_resumed_run_does_not_call_the_provider_again_for_journaled_calls(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    provider.script("gpt-4o-mini", Ok("one"), Ok("two"))
    deck = make_deck(
        ONE_AGENT.format(model="openai:gpt-4o-mini"),
        provider_base_urls={"openai": f"{provider.url}/v1"},
    )
    register_two_calls_around_a_gate(registry)

    run = await deck.submit("gated", {})
    await drain(deck)
    assert (await deck.get(run.id)).waiting_on == "go"
    assert provider.count("gpt-4o-mini") == 1

    await deck.decide(run.id, "go", "approve")
    await drain(deck)

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result == ["one", "two", "openai:gpt-4o-mini"]
    assert provider.count("gpt-4o-mini") == 2
    assert await usage_count(deck) == 2
    keys = [s.key for s in await deck.steps(run.id)]
    assert keys.count("llm:writer:0") == 1
    assert "llm:writer:1" in keys


async def test_a_resumed_run_replays_simulated_calls_without_answering_them_again(
    make_deck: DeckMaker, registry: Registry
) -> None:
    deck = make_deck(ONE_AGENT.format(model="simulator"))
    register_two_calls_around_a_gate(registry)

    run = await deck.submit("gated", {})
    await drain(deck)
    await deck.decide(run.id, "go", "approve")
    await drain(deck)

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result[2] == "simulator"
    answered = [e for e in await deck.events(run.id) if e.kind == "llm.answered"]
    assert len(answered) == 2
    assert await usage_count(deck) == 2
