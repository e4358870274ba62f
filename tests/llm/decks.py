"""Decks for LLM and agent tests: an agents file of the test's own, provider URLs, fast retries."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentdeck.agents.reply import AgentReply
from agentdeck.deck import Deck
from agentdeck.engine.context import RunContext
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings

CANARY = "sk-canary-XYZ-7f3a9c21d4e8b605"
PROVIDER_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "CEREBRAS_API_KEY",
    "VLLM_API_KEY",
)


class DeckMaker:
    """Opens Decks on the test's database with the given agents and settings; closes them."""

    def __init__(self, database_url: str, registry: Registry, folder: Path) -> None:
        self.database_url = database_url
        self.registry = registry
        self.folder = folder
        self.decks: list[Deck] = []

    def __call__(self, agents_yaml: str | None = None, **overrides: Any) -> Deck:
        if agents_yaml is not None:
            path = self.folder / f"agents-{len(self.decks)}.yaml"
            path.write_text(textwrap.dedent(agents_yaml))
            overrides.setdefault("agents_file", path)
        overrides.setdefault("llm_retry_interval", timedelta(milliseconds=5))
        overrides.setdefault("llm_retry_max_interval", timedelta(milliseconds=20))
        overrides.setdefault("llm_request_timeout", timedelta(seconds=5))
        settings = fast_settings(self.database_url, **overrides)
        deck = Deck(settings, registry=self.registry, migrate=False)
        self.decks.append(deck)
        return deck

    async def close(self) -> None:
        for deck in self.decks:
            await deck.close()


def register_ask(registry: Registry, deck_of: Any) -> None:
    """Workflow `ask`: one call of `inputs.agent`, answer and model in the result."""

    @registry.workflow("ask")
    async def ask(ctx: RunContext, inputs: dict[str, Any]) -> Any:
        deck: Deck = deck_of()
        reply = await deck.llm.runner.run(ctx, inputs["agent"], inputs.get("prompt", "hi"))
        return reply_json(reply)


def reply_json(reply: AgentReply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "model": reply.model_id,
        "cost_usd": None if reply.cost_usd is None else str(reply.cost_usd),
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cached_tokens": reply.cached_tokens,
        "attempts": len(reply.attempts),
    }


async def drain(deck: Deck) -> None:
    """Execute everything due now with a fresh, loop-less worker."""
    worker = deck.worker(concurrency=50)
    await worker.start(loops=False)
    await worker.drain()
    await worker.stop()
