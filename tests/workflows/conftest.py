"""Fixtures of the workflow tests: built-in workflows, agents answered by the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import PROVIDER_VARS
from tests.workflows.simulated import SimulatedCalls


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key from the developer's environment or .env reaches a test."""
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def registry() -> Registry:
    """The built-in workflows."""
    registry = Registry()
    workflows.register(registry)
    return registry


@pytest.fixture
async def deck(database_url: str, registry: Registry) -> AsyncIterator[Deck]:
    """A started Deck whose agents are all answered by the offline simulator."""
    deck = Deck(fast_settings(database_url, simulator="always"), registry=registry, migrate=False)
    await deck.start()
    try:
        yield deck
    finally:
        await deck.close()


@pytest.fixture
def calls(deck: Deck, monkeypatch: pytest.MonkeyPatch) -> SimulatedCalls:
    """Counts the deck's simulated model calls per role; can hold one mid-flight."""
    return SimulatedCalls(deck, monkeypatch)
