"""Fixtures of the agent tests: the LLM tests' provider server and Decks with their own agents."""

from __future__ import annotations

from tests.llm.conftest import make_deck, no_provider_keys, provider

__all__ = ["make_deck", "no_provider_keys", "provider"]
