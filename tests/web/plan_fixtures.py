"""A deck running plan runs (agents answered by the simulator), and an external agent client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from tests.conftest import fast_settings
from tests.llm.decks import PROVIDER_VARS


def plan_registry() -> Registry:
    registry = Registry()
    workflows.register(registry)
    return registry


async def open_plan_deck(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: Any
) -> Deck:
    """A started Deck with the built-in workflows, short task leases and frequent sweeps."""
    for name in PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    values: dict[str, Any] = {
        "simulator": "always",
        "task_lease_interval": timedelta(seconds=1),
        "task_sweep_interval": timedelta(milliseconds=100),
        "external_agent_unreachable_after": timedelta(seconds=30),
        "poll_interval": timedelta(milliseconds=300),
        **settings,
    }
    deck = Deck(fast_settings(database_url, **values), registry=plan_registry(), migrate=False)
    await deck.start()
    return deck


@dataclass
class ExternalAgent:
    """An external agent speaking the protocol over HTTP, as any program would."""

    http: httpx.AsyncClient
    id: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def claim(self, wait: float = 10) -> dict[str, Any] | None:
        response = await self.http.get(
            f"/api/agents/{self.id}/work", params={"wait": wait}, headers=self.headers
        )
        if response.status_code == 204:
            return None
        response.raise_for_status()
        work: dict[str, Any] = response.json()
        return work

    async def report(self, work: dict[str, Any], kind: str, **fields: Any) -> httpx.Response:
        body = {"type": kind, "lease_id": work["lease"]["id"], **fields}
        return await self.http.post(
            f"/api/tasks/{work['task']['id']}/events", json=body, headers=self.headers
        )


async def register(
    http: httpx.AsyncClient, name: str, capabilities: list[str], **headers: str
) -> ExternalAgent:
    response = await http.post(
        "/api/external-agents", json={"name": name, "capabilities": capabilities}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return ExternalAgent(http, body["id"], body["name"], body["token"])


async def asgi_client(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    from agentdeck.web.app import create_app

    transport = httpx.ASGITransport(app=create_app(deck))
    async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as c:
        yield c


def layered_tasks(layers: int, width: int, role: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"L{layer}-{i}",
            "title": f"Task {layer}-{i}",
            "role": role,
            "prerequisites": [f"L{layer - 1}-{j}" for j in range(width)] if layer else [],
        }
        for layer in range(layers)
        for i in range(width)
    ]
