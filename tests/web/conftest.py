"""Fixtures of the API tests: an app over the `deck` fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.engine.worker import Worker
from agentdeck.web.app import create_app
from tests.web import workflows


@pytest.fixture
def held() -> workflows.Held:
    return workflows.Held()


@pytest.fixture
def registry(held: workflows.Held) -> Registry:
    """The test workflows: echo (finishes), gated (waits at `review`), held (stays running)."""
    registry = Registry()
    workflows.register(registry, held)
    return registry


@pytest.fixture
def app(deck: Deck) -> FastAPI:
    return create_app(deck)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as client:
        yield client


@pytest.fixture
async def worker(deck: Deck) -> Worker:
    """A registered worker that executes only when the test calls run_once()."""
    worker = deck.worker(concurrency=4)
    await worker.start(loops=False)
    return worker
