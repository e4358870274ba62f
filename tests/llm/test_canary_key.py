"""An API key never reaches the database, events, logs, artifacts or error messages."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from agentdeck.deck import Deck
from agentdeck.domain.errors import StepFailed
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from agentdeck.store.schema import metadata
from tests.llm.decks import CANARY, DeckMaker, drain
from tests.llm.provider_server import Ok, ProviderServer, Status

CANARIES = {
    "OPENAI_API_KEY": CANARY,
    "ANTHROPIC_API_KEY": "sk-ant-canary-4c1d9e2f7a3b8c60",
    "GROQ_API_KEY": "gsk_canary9d2e71f3a8b4c5d6",
}
AGENTS = """
agents:
  - name: chain
    role: producer
    models: [openai:gpt-4o-mini, anthropic:claude-haiku-4-5, groq:llama-3.3-70b-versatile]
"""


async def dump_database(deck: Deck) -> str:
    def read(conn: Any) -> str:
        return "\n".join(
            repr(list(conn.execute(select(table)).all())) for table in metadata.sorted_tables
        )

    return await deck.db.read(read)


async def test_canary_keys_appear_nowhere_even_when_providers_echo_them_in_401s(
    make_deck: DeckMaker,
    registry: Registry,
    provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    urls = {"openai": f"{provider.url}/v1", "anthropic": provider.url, "groq": provider.url}
    deck = make_deck(AGENTS, provider_base_urls=urls, llm_retries=1)
    raised: list[str] = []

    @registry.workflow("ask")
    async def ask(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        try:
            reply = await deck.llm.runner.run(ctx, "chain", "hello")
        except StepFailed as error:
            raised.append(str(error))
            await ctx.artifact("error.txt", str(error), media_type="text/plain")
            raise
        await ctx.artifact("reply.md", reply.text)
        return {"model": reply.model_id}

    # every provider refuses, quoting the credential it got
    provider.script("gpt-4o-mini", Status(401))
    provider.script("claude-haiku-4-5", Status(429))
    provider.script("llama-3.3-70b-versatile", Status(401))
    failed = await deck.submit("ask", {})
    await drain(deck)
    # then one answers after a refusal
    provider.script("claude-haiku-4-5", Status(500), Ok("fine"))
    answered = await deck.submit("ask", {})
    await drain(deck)

    failed_run, answered_run = await deck.get(failed.id), await deck.get(answered.id)
    assert failed_run.status == "failed"
    assert answered_run.status == "succeeded", answered_run.error
    # the providers did get the keys, and echoed them in their error bodies
    for secret in CANARIES.values():
        assert any(secret in (h.credential or "") for h in provider.hits)
    texts = [
        await dump_database(deck),
        repr(await deck.events(failed.id)),
        repr(await deck.events(answered.id)),
        repr(await deck.steps(failed.id)),
        repr(await deck.artifacts(failed.id)),
        repr(await deck.artifacts(answered.id)),
        failed_run.error or "",
        *raised,
        caplog.text,
    ]
    assert raised
    assert "401" in raised[0]
    assert "[redacted]" in repr(await deck.events(failed.id))
    for secret in CANARIES.values():
        for text in texts:
            assert secret not in text
            assert secret[:16] not in text
