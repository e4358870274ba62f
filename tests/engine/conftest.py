"""Fixtures for engine tests: a Deck whose time moves only when the test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentdeck.clock import FrozenClock
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def frozen_deck(
    database_url: str, registry: Registry, clock: FrozenClock
) -> AsyncIterator[Deck]:
    """A Deck on a fresh database whose clock is frozen (not started: no LISTEN needed)."""
    deck = Deck(fast_settings(database_url), registry=registry, clock=clock, migrate=False)
    try:
        yield deck
    finally:
        await deck.close()
