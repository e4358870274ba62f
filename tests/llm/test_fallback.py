"""Fallback chains against real provider clients talking to a scripted server on loopback."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import calc_price
from pydantic_ai.usage import RequestUsage
from sqlalchemy import select

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.store.schema import usage
from tests.llm.decks import CANARY, DeckMaker, drain, register_ask
from tests.llm.provider_server import Malformed, Ok, ProviderServer, Slow, Status

CHAIN = """
agents:
  - name: chain
    role: producer
    models: [openai:gpt-4o-mini, anthropic:claude-haiku-4-5, groq:llama-3.3-70b-versatile]
    max_output_tokens: 100
"""


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY"):
        monkeypatch.setenv(name, CANARY)


def open_deck(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer, **overrides: Any
) -> Deck:
    urls = {"openai": f"{provider.url}/v1", "anthropic": provider.url, "groq": provider.url}
    deck = make_deck(CHAIN, provider_base_urls=overrides.pop("urls", urls), **overrides)
    register_ask(registry, lambda: deck)
    return deck


async def ask(deck: Deck) -> Any:
    run = await deck.submit("ask", {"agent": "chain", "prompt": "write a haiku"})
    await drain(deck)
    return await deck.get(run.id)


async def attempt_events(deck: Deck, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    events = await deck.events(run_id)
    return [(e.kind, e.data) for e in events if e.kind.startswith("llm.")]


async def usage_rows(deck: Deck) -> list[dict[str, Any]]:
    rows = await deck.db.read(lambda conn: conn.execute(select(usage)).mappings().all())
    return [dict(r) for r in rows]


@pytest.mark.usefixtures("online")
async def test_fallback_retries_a_429_then_moves_to_the_next_model(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Status(429))
    provider.script("claude-haiku-4-5", Ok("from claude", input_tokens=11, cached_tokens=3))
    deck = open_deck(make_deck, registry, provider)

    run = await ask(deck)

    assert run.status == "succeeded", run.error
    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    assert run.result["text"] == "from claude"
    assert [h.model for h in provider.hits] == ["gpt-4o-mini"] * 3 + ["claude-haiku-4-5"]
    assert [h.wire for h in provider.hits] == ["openai"] * 3 + ["anthropic"]
    events = await attempt_events(deck, run.id)
    assert [k for k, _ in events] == ["llm.attempt_failed"] * 3 + ["llm.answered"]
    for n, (_, data) in enumerate(events[:3], start=1):
        assert data["provider"] == "openai"
        assert data["model"] == "gpt-4o-mini"
        assert data["attempt"] == n
        assert data["status"] == 429
        assert data["error_class"] == "ModelRateLimitError"
        assert data["transient"] is True
        assert data["latency_ms"] >= 0
    answered = events[-1][1]
    assert (answered["provider"], answered["model"], answered["attempts"]) == (
        "anthropic",
        "claude-haiku-4-5",
        4,
    )
    [step] = await deck.steps(run.id)
    assert step.key == "llm:chain:0"
    assert step.result["provider"] == "anthropic"
    assert [a["ok"] for a in step.result["attempts"]] == [False, False, False, True]
    [row] = await usage_rows(deck)
    expected = calc_price(
        RequestUsage(input_tokens=11, output_tokens=7, cache_read_tokens=3),
        "claude-haiku-4-5",
        provider_id="anthropic",
    ).total_price
    assert (row["provider"], row["model"], row["agent"]) == (
        "anthropic",
        "claude-haiku-4-5",
        "chain",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"]) == (11, 7, 3)
    assert row["step_key"] == "llm:chain:0"
    assert Decimal(row["cost_usd"]) == expected > 0
    assert Decimal(run.result["cost_usd"]) == expected


@pytest.mark.usefixtures("online")
async def test_permanent_error_is_not_retried_and_5xx_is_retried_on_the_same_model(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Status(401))
    provider.script("claude-haiku-4-5", Status(500), Status(503), Ok("third time"))
    deck = open_deck(make_deck, registry, provider)

    run = await ask(deck)

    assert run.status == "succeeded", run.error
    assert run.result["text"] == "third time"
    assert [h.model for h in provider.hits] == ["gpt-4o-mini"] + ["claude-haiku-4-5"] * 3
    events = await attempt_events(deck, run.id)
    failed = [d for k, d in events if k == "llm.attempt_failed"]
    assert [(d["model"], d["status"], d["transient"]) for d in failed] == [
        ("gpt-4o-mini", 401, False),
        ("claude-haiku-4-5", 500, True),
        ("claude-haiku-4-5", 503, True),
    ]
    assert failed[0]["error_class"] == "ModelAuthenticationError"
    assert "retry_in_s" not in failed[0]
    assert failed[1]["retry_in_s"] > 0


@pytest.mark.usefixtures("online")
async def test_a_slow_answer_times_out_and_counts_as_transient(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Slow(2.0))
    deck = open_deck(
        make_deck,
        registry,
        provider,
        llm_request_timeout=timedelta(milliseconds=200),
        llm_retries=1,
    )

    run = await ask(deck)

    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    failed = [d for k, d in await attempt_events(deck, run.id) if k == "llm.attempt_failed"]
    assert [(d["model"], d["error_class"], d["transient"]) for d in failed] == [
        ("gpt-4o-mini", "TimeoutError", True)
    ] * 2
    assert all(150 <= d["latency_ms"] < 1500 for d in failed)


@pytest.mark.usefixtures("online")
async def test_a_malformed_body_is_retried_then_the_chain_moves_on(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Malformed())
    deck = open_deck(make_deck, registry, provider)

    run = await ask(deck)

    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    assert provider.count("gpt-4o-mini") == 3
    failed = [d for k, d in await attempt_events(deck, run.id) if k == "llm.attempt_failed"]
    assert {d["error_class"] for d in failed} == {"ModelAPIError"}


@pytest.mark.usefixtures("online")
async def test_a_refused_connection_is_transient_and_falls_back(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    urls = {"openai": closed, "anthropic": provider.url}
    deck = open_deck(make_deck, registry, provider, urls=urls, llm_retries=1)

    run = await ask(deck)

    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    failed = [d for k, d in await attempt_events(deck, run.id) if k == "llm.attempt_failed"]
    assert [(d["model"], d["error_class"]) for d in failed] == [
        ("gpt-4o-mini", "ModelConnectionError")
    ] * 2


@pytest.mark.usefixtures("online")
async def test_an_exhausted_chain_fails_the_step_naming_every_attempt(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    for model in ("gpt-4o-mini", "claude-haiku-4-5", "llama-3.3-70b-versatile"):
        provider.script(model, Status(400))
    deck = open_deck(make_deck, registry, provider)

    run = await ask(deck)

    assert run.status == "failed"
    assert "no model answered" in (run.error or "")
    for model_id in ("openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "groq:llama-3.3"):
        assert model_id in (run.error or "")
    assert len(provider.hits) == 3  # a 400 is never retried
    [step] = await deck.steps(run.id)
    assert step.status == "failed"
    assert await usage_rows(deck) == []


@pytest.mark.usefixtures("online")
async def test_a_model_without_a_price_costs_unknown_not_zero(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    agents = """
    agents:
      - name: chain
        role: producer
        models: [openai:in-house-model-7]
    """
    deck = make_deck(agents, provider_base_urls={"openai": f"{provider.url}/v1"})
    register_ask(registry, lambda: deck)

    run = await ask(deck)

    assert run.status == "succeeded", run.error
    assert run.result["cost_usd"] is None
    [row] = await usage_rows(deck)
    assert row["cost_usd"] is None
    total = await deck.costs.of_run(run.id)
    assert (total.calls, total.unpriced_calls, total.cost_known) == (1, 1, False)
    [answered] = [e for e in await deck.events(run.id) if e.kind == "llm.answered"]
    assert "cost unknown" in (answered.message or "")
    assert answered.data["cost_usd"] is None


async def test_a_model_whose_provider_has_no_key_is_left_out_with_one_warning(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)  # openai and groq have no key
    deck = open_deck(make_deck, registry, provider)
    agents = await deck.agents.list()

    [warning] = deck.llm.key_warnings(agents)  # at start: one line for the agent
    assert warning.startswith("agent chain: skipping models whose provider has no API key")
    assert "openai:gpt-4o-mini (set OPENAI_API_KEY)" in warning
    assert "groq:llama-3.3-70b-versatile (set GROQ_API_KEY)" in warning

    with caplog.at_level(logging.WARNING):
        first = await ask(deck)
        second = await ask(deck)

    for run in (first, second):
        assert run.result["model"] == "anthropic:claude-haiku-4-5"
        events = await attempt_events(deck, run.id)
        assert [k for k, _ in events] == ["llm.answered"]  # no failed attempt on any call
    assert "skipping models" not in caplog.text  # warned once, at start, not on each call
    assert provider.count("gpt-4o-mini") == 0


async def test_a_model_left_out_is_warned_about_once_by_the_runner_when_not_at_start(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    deck = open_deck(make_deck, registry, provider)

    with caplog.at_level(logging.WARNING):
        await ask(deck)
        await ask(deck)

    warnings = [r.getMessage() for r in caplog.records if "skipping models" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_chain_without_any_keyed_model_fails_naming_the_keys_to_set(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    deck = open_deck(make_deck, registry, provider, simulator="never")

    run = await ask(deck)

    assert run.status == "failed"
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY"):
        assert variable in (run.error or "")
    assert provider.hits == []


@pytest.mark.usefixtures("online")
async def test_a_hanging_model_costs_at_most_the_agents_timeout_then_the_next_is_tried(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Slow(10.0))
    agents = CHAIN.replace("max_output_tokens: 100", "max_output_tokens: 100\n    timeout_s: 0.5")
    urls = {"openai": f"{provider.url}/v1", "anthropic": provider.url}
    # each request may take 5 s, with 2 retries: without timeout_s gpt-4o-mini costs 15 s
    deck = make_deck(agents, provider_base_urls=urls, llm_request_timeout=timedelta(seconds=5))
    register_ask(registry, lambda: deck)

    run = await ask(deck)

    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    failed = [d for k, d in await attempt_events(deck, run.id) if k == "llm.attempt_failed"]
    assert [(d["model"], d["error_class"]) for d in failed] == [("gpt-4o-mini", "TimeoutError")]
    assert 400 <= failed[0]["latency_ms"] < 2500
    assert provider.count("gpt-4o-mini") == 1


@pytest.mark.usefixtures("online")
async def test_the_model_timeout_setting_bounds_a_model_whose_agent_sets_none(
    make_deck: DeckMaker, registry: Registry, provider: ProviderServer
) -> None:
    provider.script("gpt-4o-mini", Slow(10.0))
    deck = open_deck(
        make_deck,
        registry,
        provider,
        llm_request_timeout=timedelta(milliseconds=300),
        llm_model_timeout=timedelta(milliseconds=700),
        llm_retries=5,
    )

    run = await ask(deck)

    assert run.result["model"] == "anthropic:claude-haiku-4-5"
    failed = [d for k, d in await attempt_events(deck, run.id) if k == "llm.attempt_failed"]
    # 0.3 s tries within 0.7 s: two or three tries, never the six that retries allow
    assert 2 <= len(failed) <= 3
    assert sum(d["latency_ms"] for d in failed) < 2000


async def test_an_openai_compatible_endpoint_from_settings_is_a_provider(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_LLM_TOKEN", CANARY)
    agents = """
    agents:
      - name: chain
        role: producer
        models: [local:qwen2.5-coder, plain:llama3.2]
        instructions: Answer in one line.
        skills: [api-design]
    """
    endpoints = {
        "local": {"base_url": f"{provider.url}/v1", "api_key_env": "LOCAL_LLM_TOKEN"},
        "plain": {"base_url": f"{provider.url}/v1"},
    }
    provider.script("qwen2.5-coder", Status(404))
    deck = make_deck(agents, openai_compatible=endpoints)
    register_ask(registry, lambda: deck)
    assert not deck.llm.runner.offline  # a keyed endpoint counts as a configured provider

    run = await ask(deck)

    assert run.result["model"] == "plain:llama3.2"
    assert run.result["cost_usd"] is None  # no price is known for a self-hosted model
    first, second = provider.hits
    assert first.credential == f"Bearer {CANARY}"
    assert (first.model, second.model) == ("qwen2.5-coder", "llama3.2")
    system = second.body["messages"][0]
    assert system["role"] == "system"
    assert "role: producer" in system["content"]
    assert "Answer in one line." in system["content"]
    assert "## Skill: API design" in system["content"]
    assert second.body["messages"][1] == {"role": "user", "content": "write a haiku"}
    limit = second.body.get("max_completion_tokens", second.body.get("max_tokens"))
    assert limit == 2048  # the agent's max_output_tokens
