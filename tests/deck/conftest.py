"""Fixtures of the Deck tests: Decks with their own agents (shared with the LLM tests)."""

from __future__ import annotations

from tests.llm.conftest import make_deck, no_provider_keys, provider

__all__ = ["make_deck", "no_provider_keys", "provider"]
