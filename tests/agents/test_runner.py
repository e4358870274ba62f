"""The agent runner inside workflows: the loop's agents, tools as steps, replies and roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from agentdeck.agents import AgentReply, run_agent
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.llm.decks import CANARY, DeckMaker, drain


def register_loop(registry: Registry, threshold: float) -> None:
    """The loop's shape, with the shipped producer, evaluator and reviser."""

    @registry.workflow("loop")
    async def loop(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        draft = await run_agent(ctx, "producer", f"Task: {inputs}", key="produce:1")
        scores = []
        for attempt in range(1, 5):
            verdict = (
                await run_agent(
                    ctx, "evaluator", f"Draft:\n{draft.text}", key=f"evaluate:{attempt}"
                )
            ).json()
            scores.append(verdict["score"])
            if verdict["score"] >= threshold:
                return {"attempt": attempt, "scores": scores}
            prompt = f"Draft:\n{draft.text}\n\nFeedback: {verdict['feedback']}"
            draft = await run_agent(ctx, "reviser", prompt, key=f"revise:{attempt}")
        return {"attempt": None, "scores": scores}


@pytest.mark.parametrize(("threshold", "passes_on"), [(0.5, 1), (0.8, 2), (0.9, 3), (0.99, None)])
async def test_the_shipped_loop_agents_pass_within_a_few_attempts_offline(
    make_deck: DeckMaker, registry: Registry, threshold: float, passes_on: int | None
) -> None:
    deck = make_deck()
    assert deck.llm.runner.offline
    register_loop(registry, threshold)
    run = await deck.submit("loop", {"topic": "why durable execution matters"})
    await drain(deck)
    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    assert done.result["attempt"] == passes_on


TOOLED = """
agents:
  - name: counter
    role: executor
    models: [simulator]
    tools: [word_count]
"""


async def test_tool_calls_are_journaled_steps_and_are_not_repeated_on_resume(
    make_deck: DeckMaker, registry: Registry
) -> None:
    deck = make_deck(TOOLED)

    @registry.workflow("count")
    async def count(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        reply = await deck.llm.runner.run(ctx, "counter", "count the words here", key="c")
        await ctx.wait_for_gate("go")
        return {"text": reply.text, "steps": reply.steps}

    run = await deck.submit("count", {})
    await drain(deck)
    await deck.decide(run.id, "go", "approve")
    await drain(deck)

    done = await deck.get(run.id)
    assert done.status == "succeeded", done.error
    keys = [s.key for s in await deck.steps(run.id)]
    tool_keys = [k for k in keys if k.startswith("tool:c:")]
    assert len(tool_keys) == 1
    assert {"llm:c", "llm:c#1", "signal:gate:go:0"} <= set(keys)
    assert done.result["steps"] == ["llm:c", tool_keys[0], "llm:c#1"]
    assert "tool word_count: 3" in done.result["text"]  # the simulator counts 3 words
    events = await deck.events(run.id)
    assert [e.kind for e in events].count("tool.called") == 1  # not again after the gate
    assert [e.kind for e in events].count("llm.answered") == 2
    assert (await deck.costs.of_run(run.id)).calls == 2


async def test_an_unknown_agent_fails_the_run_with_its_name(
    make_deck: DeckMaker, registry: Registry
) -> None:
    deck = make_deck()

    @registry.workflow("nobody")
    async def nobody(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        return (await run_agent(ctx, "ghost", "hello")).text

    run = await deck.submit("nobody", {})
    await drain(deck)
    failed = await deck.get(run.id)
    assert failed.status == "failed"
    assert "no agent 'ghost'" in (failed.error or "")


async def test_costs_roll_up_per_run_agent_model_and_day(
    make_deck: DeckMaker, registry: Registry
) -> None:
    deck: Deck = make_deck()
    register_loop(registry, 0.8)
    runs = [await deck.submit("loop", {"n": n}) for n in range(2)]
    await drain(deck)

    per_run = await deck.costs.by_run([r.id for r in runs])
    assert {t.calls for t in per_run.values()} == {4}  # produce, evaluate, revise, evaluate
    per_agent = {t.key: t for t in await deck.costs.by_agent()}
    assert {k: t.calls for k, t in per_agent.items()} == {
        "evaluator": 4,
        "producer": 2,
        "reviser": 2,
    }
    assert all(t.cost_usd == Decimal(0) and t.cost_known for t in per_agent.values())
    [per_model] = await deck.costs.by_model()
    assert (per_model.key, per_model.calls) == ("simulator:simulator", 8)
    [today] = await deck.costs.by_day()
    assert today.key == datetime.now(UTC).date().isoformat()
    assert today.calls == 8
    assert today.input_tokens > 0
    assert today.output_tokens > 0
    assert today.as_dict()["cost_usd"] == "0.00000000"
    one_run = await deck.costs.by_agent(run_id=runs[0].id)
    assert sum(t.calls for t in one_run) == 4


async def test_the_simulator_can_be_forced_even_with_keys(
    make_deck: DeckMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    assert not make_deck().llm.runner.offline
    forced = make_deck(simulator="always")
    assert forced.llm.runner.offline
    assert "AGENTDECK_SIMULATOR=always" in forced.llm.status()


def test_llm_status_says_how_to_configure_a_real_provider(make_deck: DeckMaker) -> None:
    status = make_deck().llm.status()
    assert "offline simulator" in status
    assert "OPENAI_API_KEY" in status


def reply(text: str) -> AgentReply:
    return AgentReply("a", "evaluator", text, "simulator", "simulator", 0, 0, 0, None, 0.0, True)


def test_a_reply_parses_json_with_or_without_a_fence() -> None:
    assert reply('{"score": 0.5}').json() == {"score": 0.5}
    assert reply('```json\n{"score": 0.5}\n```').json() == {"score": 0.5}
    assert reply('Here you go: {"score": 0.5} hope it helps').json() == {"score": 0.5}
    with pytest.raises(ValueError, match="is not JSON"):
        reply("no json here").json()
