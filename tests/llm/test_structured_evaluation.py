"""The loop's evaluator on a real provider client, against a server speaking OpenAI's wire
format on loopback: it is asked for structured output, answers that are readable are read
right ("rate this 9/10"), and one that cannot be read surely (two JSON objects that
disagree, a score of 1.5) is asked again once, with the reason, before the run fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.llm.decks import CANARY, DeckMaker, drain
from tests.llm.provider_server import Called, Ok, ProviderServer

AGENTS = """
agents:
  - name: producer
    role: producer
    models: [simulator]
  - name: reviser
    role: reviser
    models: [simulator]
  - name: evaluator
    role: evaluator
    models: [openai:gpt-4.1-mini]
"""
JUDGE = "gpt-4.1-mini"


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    workflows.register(registry)
    return registry


@pytest.fixture
def deck(make_deck: DeckMaker, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> Deck:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    return make_deck(AGENTS, provider_base_urls={"openai": f"{provider.url}/v1"})


async def loop_run(deck: Deck, **inputs: Any) -> Any:
    run = await deck.submit(
        "loop", {"task": {"topic": "durable queues"}, "max_attempts": 1, **inputs}
    )
    await drain(deck)
    return await deck.get(run.id)


def asked_for_structured_output(body: dict[str, Any]) -> bool:
    names = [t["function"]["name"] for t in body.get("tools", [])]
    schema = next(t["function"]["parameters"] for t in body["tools"])
    return names == ["final_result"] and set(schema["required"]) >= {"score", "feedback"}


async def test_the_evaluator_is_asked_for_structured_output_and_its_answer_is_read(
    deck: Deck, provider: ProviderServer
) -> None:
    answer = {"score": 0.85, "feedback": "add an example", "criteria": {"clarity": 0.9}}
    provider.script(JUDGE, Called("final_result", json.dumps(answer)))

    run = await loop_run(deck, pass_threshold=0.8)

    assert run.status == "succeeded", run.error
    assert run.score == 0.85
    [hit] = [h for h in provider.hits if h.model == JUDGE]
    assert asked_for_structured_output(hit.body)


async def test_rate_this_9_of_10_in_prose_is_read_as_0_9(
    deck: Deck, provider: ProviderServer
) -> None:
    provider.script(JUDGE, Ok("Solid draft. I'd rate this 9/10; add one more example."))

    run = await loop_run(deck, pass_threshold=0.8)

    assert run.status == "succeeded", run.error
    assert run.score == 0.9
    assert provider.count(JUDGE) == 1


async def test_two_json_objects_that_disagree_are_asked_again_once_with_the_reason(
    deck: Deck, provider: ProviderServer
) -> None:
    two = '{"score": 0.4, "feedback": "weak"}\n{"score": 0.9, "feedback": "strong"}'
    again = json.dumps({"score": 0.82, "feedback": "fine", "criteria": {}})
    provider.script(JUDGE, Ok(two), Called("final_result", again))

    run = await loop_run(deck, pass_threshold=0.8)

    assert run.status == "succeeded", run.error
    assert run.score == 0.82
    _, second = [h.body for h in provider.hits if h.model == JUDGE]
    told = second["messages"][-1]["content"]
    assert "could not be read" in told
    assert "2 JSON objects with different scores (0.4, 0.9)" in told
    assert asked_for_structured_output(second)
    kinds = [e.kind for e in await deck.events(run.id)]
    assert kinds.count("evaluation.unreadable") == 1


async def test_a_score_of_1_5_is_not_read_as_0_15_and_fails_after_one_more_ask(
    deck: Deck, provider: ProviderServer
) -> None:
    provider.script(JUDGE, Ok('{"score": 1.5, "feedback": "good"}'))

    run = await loop_run(deck, pass_threshold=0.1)

    assert run.status == "failed"
    assert run.score is None  # never 0.15
    assert "the score 1.5 is not one from 0 to 1" in (run.error or "")
    assert provider.count(JUDGE) == 2  # asked once more, not more
    assert "could not be read" in provider.hits[-1].body["messages"][-1]["content"]
