"""Build modes edited from the dashboard: an override changes the models of a new build's
plan; a reset goes back to the agents file's chain; bad input is a 422 naming the field."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck import workflows
from agentdeck.deck import Deck
from agentdeck.engine.registry import Registry
from agentdeck.web.app import create_app
from tests.conftest import fast_settings
from tests.llm.decks import drain
from tests.sample_repo import make_sample_repo
from tests.workflows.test_build import FAST_TESTS, REQUEST

CHEAP = "openai:gpt-4.1-nano"


@pytest.fixture
async def deck(database_url: str, tmp_path: Path) -> AsyncIterator[Deck]:
    registry = Registry()
    workflows.register(registry)
    settings = fast_settings(database_url, simulator="always", builds_dir=tmp_path / "builds")
    async with Deck(settings, registry=registry, migrate=False) as deck:
        yield deck


@pytest.fixture
async def client(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(deck))
    async with httpx.AsyncClient(transport=transport, base_url="http://agentdeck.test") as client:
        yield client


async def _tester_models(
    deck: Deck, client: httpx.AsyncClient, execute: bool = False
) -> list[list[str]]:
    """Start a build, let it plan, and give the model chains of its tester tasks; with
    `execute`, approve the plan and check the first phase's tester ran on the plan's model."""
    body = {"repository": "cockpit", "request": REQUEST, "test_command": FAST_TESTS}
    started = await client.post("/api/builds", json={**body, "max_phases": 1})
    assert started.status_code == 201, started.text
    build_id = started.json()["id"]
    await drain(deck)
    build: dict[str, Any] = (await client.get(f"/api/builds/{build_id}")).json()
    assert build["gate"] == "plan"
    tasks = [t for p in build["plan"]["phases"] for t in p["tasks"] if t["role"] == "tester"]
    assert tasks
    if execute:
        await deck.builds.decide(build_id, "plan", "approve")
        await drain(deck)
        events = await deck.events(build_id, limit=5000)
        started_with = {
            e.data["model"]
            for e in events
            if e.kind == "build.agent_started" and e.data["agent"] == "tester"
        }
        assert started_with == {tasks[0]["models"][0]}, started_with
    return [t["models"] for t in tasks]


async def test_an_override_changes_the_models_of_a_new_builds_plan(
    deck: Deck, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    repo = make_sample_repo(tmp_path / "cockpit")
    assert (await client.post("/api/repositories", json={"path": str(repo)})).status_code == 201
    shipped = (await client.get("/api/builds/modes")).json()["modes"]["balanced"]["tester"]
    assert shipped["default"][0] != CHEAP
    assert {m[0] for m in await _tester_models(deck, client)} == {shipped["default"][0]}

    key = {"mode": "balanced", "role": "tester", "kind": "default"}
    put = await client.put("/api/builds/modes", json={**key, "models": [CHEAP]})
    assert put.status_code == 200, put.text
    assert put.json()["modes"]["balanced"]["tester"]["default"] == [CHEAP]
    assert put.json()["overrides"] == {"balanced": {"tester": {"default": [CHEAP]}}}
    assert {tuple(m) for m in await _tester_models(deck, client, execute=True)} == {(CHEAP,)}

    reset = await client.put("/api/builds/modes", json={**key, "models": None})
    assert reset.json()["overrides"] == {}
    assert {m[0] for m in await _tester_models(deck, client)} == {shipped["default"][0]}

    for bad, field in (
        ({**key, "models": ["nonsense"]}, "models"),
        ({**key, "models": []}, "models"),
        ({**key, "role": "poet", "models": [CHEAP]}, "role"),
        ({**key, "kind": "poetry", "models": [CHEAP]}, "kind"),
        ({**key, "mode": "lavish", "models": [CHEAP]}, "mode"),
    ):
        answer = await client.put("/api/builds/modes", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["error"]["field"] == field, answer.text


async def test_the_modes_form_sets_and_resets_a_chain(client: httpx.AsyncClient) -> None:
    page = await client.get("/builds")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    assert 'action="/builds/modes"' in page.text
    form = {"csrf_token": found.group(1), "mode": "max", "role": "backend"}
    form |= {"kind": "auth-security"}
    no_csrf = await client.post("/builds/modes", data={**form, "csrf_token": "x", "models": CHEAP})
    assert no_csrf.status_code in (400, 403)
    bad = await client.post("/builds/modes", data={**form, "models": "gpt-4 nowhere"})
    assert bad.status_code == 422
    assert re.search(r'id="m-models"[^>]*aria-invalid="true"', bad.text)
    assert "model &#39;gpt-4&#39;" in bad.text
    done = await client.post("/builds/modes", data={**form, "models": f"{CHEAP}, openai:o3"})
    assert done.status_code == 303
    modes = (await client.get("/builds?format=json")).json()
    assert modes["modes"]["max"]["backend"]["kinds"]["auth-security"] == [CHEAP, "openai:o3"]
    assert modes["modes"]["max"]["backend"]["kinds"]["simple-crud"] != [CHEAP, "openai:o3"]
    assert 'data-testid="overridden"' in (await client.get("/builds")).text
    reset = await client.post("/builds/modes", data={**form, "action": "reset"})
    assert reset.status_code == 303
    assert (await client.get("/builds?format=json")).json()["overrides"] == {}
