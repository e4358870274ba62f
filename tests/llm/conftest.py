"""Fixtures of the LLM tests: a scripted provider server, Decks with their own agents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agentdeck.engine.registry import Registry
from tests.llm.decks import PROVIDER_VARS, DeckMaker
from tests.llm.provider_server import ProviderServer


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key from the developer's environment or .env: tests set the ones they need."""
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def make_deck(
    database_url: str, registry: Registry, tmp_path: Path
) -> AsyncIterator[DeckMaker]:
    maker = DeckMaker(database_url, registry, tmp_path)
    try:
        yield maker
    finally:
        await maker.close()
